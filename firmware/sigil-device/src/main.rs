//! `sigil`, the device program. Exit codes are part of the interface (see README):
//! 0 allow / success, 10 review, 11 block, 12 rate limited, 2 bad usage or input, 1 internal
//! error.

mod check;
mod generate;
mod info;
mod outcheck;
mod release;
mod report;
mod review;
mod serve;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Sigil: offline text-to-image generation with a compiled-in policy and signed provenance.
#[derive(Debug, Parser)]
#[command(name = "sigil", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check prompts against the compiled-in policy.
    Check(check::Args),
    /// Generate an image: gate, text encoder, denoiser, decoder, PNG.
    Generate(generate::Args),
    /// Print firmware and policy digests and the policy's categories.
    Info(info::Args),
    /// Decide on frames held for review: list, show, approve, reject.
    Review(review::Args),
    /// Serve the device protocol (info, log, records, updates into the A/B slots) over TCP.
    Serve(serve::Args),
}

/// Exit codes shared by every subcommand.
pub mod exit {
    /// Allowed, or success.
    pub const OK: u8 = 0;
    /// Internal error.
    pub const INTERNAL: u8 = 1;
    /// Bad usage or input.
    pub const BAD_INPUT: u8 = 2;
    /// The prompt needs review.
    pub const REVIEW: u8 = 10;
    /// The prompt is blocked.
    pub const BLOCK: u8 = 11;
    /// A rate limit refused the request.
    pub const RATE_LIMITED: u8 = 12;
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Check(a) => check::run(&a),
        Command::Generate(a) => generate::run(&a),
        Command::Info(a) => info::run(&a),
        Command::Review(a) => review::run(&a),
        Command::Serve(a) => serve::run(&a),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        // A closed pipe (`sigil check --stdin | head`) is the reader's choice, not an error.
        Err(e)
            if e.downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe) =>
        {
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("sigil: internal error: {e:#}");
            ExitCode::from(exit::INTERNAL)
        }
    }
}
