//! `sigil-host`, the host tools. Exit codes (see README): 0 success;
//! 2 bad usage or input; 3 verification failed (bad signature, broken chain, foreign key);
//! 4 red-team targets missed.

mod audit;
mod bench;
mod bundle;
mod ca;
mod coldstart;
#[cfg(feature = "wgpu")]
mod convbench;
mod corpus;
mod dataset;
mod device;
mod eval;
mod keys;
mod outcheck;
mod pack_model;
mod redteam;
mod train;
mod verify;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Host tools for Sigil devices: keys, verification, audits, red-team runs.
#[derive(Debug, Parser)]
#[command(name = "sigil-host", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Generate an Ed25519 device key pair (PKCS#8 / SPKI PEM).
    Keygen(keys::KeygenArgs),
    /// The maker's certificate authority (`ca init`).
    Ca(ca::CaArgs),
    /// Issue a device certificate under the maker CA into a state directory (or for a public key).
    Provision(ca::ProvisionArgs),
    /// Make a signed, versioned update bundle: firmware and model pack, chunked, with digests.
    Pack(bundle::PackArgs),
    /// Flash a bundle to a device (`sigil serve`): chunked, resumable, staged in its A/B slots.
    Flash(device::FlashArgs),
    /// Pull a device's log over the device protocol.
    PullLog(device::PullLogArgs),
    /// Check every record's signature and the hash chain of a device log.
    Audit(audit::AuditArgs),
    /// Verify one record file (sidecar) against a trusted device key.
    VerifyRecord(audit::VerifyArgs),
    /// Verify a frame (PNG or a re-encoded copy): signature, pixels, watermark, place in the log.
    Verify(verify::Args),
    /// Run the compiled-in policy over a labelled prompt corpus and report block rates.
    Redteam(redteam::Args),
    /// Build the licence-clean emoji training dataset from the pinned npm packages.
    Dataset(dataset::Args),
    /// Train the autoencoder, the flow-matching teacher and the judge (resumable).
    Train(train::Args),
    /// Score a model with the judge: prompt fidelity, Fréchet distance, contact sheet.
    Eval(eval::Args),
    /// The output check's precision and recall on generated images.
    EvalOutcheck(outcheck::Args),
    /// Pack a trained model and the text encoder into one model pack (int8 by default).
    PackModel(pack_model::Args),
    /// Time the generation pipeline per stage; memory, FLOPs and the share of the matmul peak.
    Bench(bench::Args),
}

/// Exit codes.
pub mod exit {
    /// Success.
    pub const OK: u8 = 0;
    /// Bad usage or input (unreadable file, malformed key).
    pub const BAD_INPUT: u8 = 2;
    /// A signature, chain or key check failed.
    pub const VERIFY_FAILED: u8 = 3;
    /// Red-team targets were missed.
    pub const TARGETS_MISSED: u8 = 4;
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Keygen(a) => keys::keygen(a).map(|()| exit::OK),
        Command::Ca(a) => ca::ca(a).map(|()| exit::OK),
        Command::Provision(a) => ca::run_provision(a).map(|()| exit::OK),
        Command::Pack(a) => bundle::pack(a).map(|()| exit::OK),
        Command::Flash(a) => device::run_flash(a).map(|()| exit::OK),
        Command::PullLog(a) => device::run_pull_log(a).map(|()| exit::OK),
        Command::Audit(a) => audit::audit(a),
        Command::VerifyRecord(a) => audit::verify_record(a),
        Command::Verify(a) => verify::run(a),
        Command::Redteam(a) => {
            redteam::run(a).map(|met| if met { exit::OK } else { exit::TARGETS_MISSED })
        }
        Command::Dataset(a) => dataset::run(a).map(|()| exit::OK),
        Command::Train(a) => train::run(a).map(|()| exit::OK),
        Command::Eval(a) => eval::run(a).map(|()| exit::OK),
        Command::EvalOutcheck(a) => outcheck::run(a).map(|()| exit::OK),
        Command::PackModel(a) => pack_model::run(a).map(|()| exit::OK),
        Command::Bench(a) => bench::run(a).map(|()| exit::OK),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            // Errors reaching here are about the input the user gave (files, keys, corpus):
            // every one names the file and the fix.
            eprintln!("sigil-host: {e:#}");
            ExitCode::from(exit::BAD_INPUT)
        }
    }
}
