//! `sigil-host verify FRAME`: a frame file (PNG or JPEG) against its record, the device key and
//! the device log. A thin wrapper around `sigil_seal::verify_frame`, which in turn calls the one
//! record check in `sigil-provenance`.

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Serialize;
use sigil_mark::MarkKey;
use sigil_seal::{DeviceChain, FrameReport, RecordSource, Trust, VerifyInput, verify_frame};

use crate::ca::load_cert;
use crate::exit;
use crate::keys::load_public;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The frame (PNG as released, or a re-encoded / stripped copy: PNG or JPEG).
    frame: PathBuf,
    /// The frame's record (its sidecar `*.sigil-record`), when the file lost its chunk.
    #[arg(long)]
    record: Option<PathBuf>,
    /// What vouches for the device: the maker CA's certificate (`ca.crt.pem`), which certifies
    /// the device through the chain in the frame's C2PA manifest (or --chain), or the device's
    /// own public key (`device.pub.pem`). Without it nothing is valid.
    #[arg(long)]
    trust: Option<PathBuf>,
    /// The device's certificate chain (`device.chain.pem` from its state directory), for a
    /// frame that lost its manifest (a JPEG or stripped copy) when --trust is a CA.
    #[arg(long)]
    chain: Option<PathBuf>,
    /// The device's log, to place the record in its chain and to find the record of a frame
    /// that lost it (by the watermark).
    #[arg(long)]
    log: Option<PathBuf>,
    /// A bundle the maker signed (`sigil-host pack`; repeatable): the record's firmware,
    /// policy and model digests must be one bundle's. Needs --trust CA.pem (bundles are checked
    /// against the maker CA's key).
    #[arg(long)]
    bundle: Vec<PathBuf>,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Serialize)]
struct Out {
    frame: String,
    valid: bool,
    reasons: Vec<String>,
    notes: Vec<String>,
    /// The record's position in the device's chain.
    sequence: Option<u64>,
    /// The watermark payload read from the pixels (hex), or null.
    watermark: Option<String>,
    /// `sidecar`, `chunk` or `log`.
    record_source: Option<&'static str>,
    pixels_match: bool,
    log_index: Option<usize>,
    format: &'static str,
    width: u32,
    height: u32,
    record: Option<RecordOut>,
    c2pa: C2paOut,
    /// The device certificate, when a trusted CA certified it.
    certificate: Option<CertOut>,
}

#[derive(Debug, Serialize)]
struct C2paOut {
    present: bool,
    /// `invalid`, `valid` (intact, signer not vouched for by c2pa's trust list) or `trusted`.
    state: Option<&'static str>,
    failures: Vec<String>,
    unreadable: Option<String>,
    /// Declares `c2pa.created` from `trainedAlgorithmicMedia`.
    generated: bool,
}

#[derive(Debug, Serialize)]
struct CertOut {
    device: String,
    org: String,
    serial: String,
    ca: String,
    ca_fingerprint: String,
    self_issued: bool,
}

#[derive(Debug, Serialize)]
struct RecordOut {
    device_key: String,
    time_unix: u64,
    boot_counter: u32,
    firmware_digest: String,
    policy_digest: String,
    model_digest: String,
    prompt_hash: String,
    user_hash: String,
    seed: u64,
    steps: u16,
    guidance: f64,
    gate_verdict: String,
    /// The gate's deciding category: its id under this build's policy when the record's policy
    /// digest is this build's, else its index.
    gate_category: Option<String>,
    post_filter_verdict: String,
    /// The output check's category, named the same way.
    post_filter_category: Option<String>,
    review: String,
    frame_hash: String,
}

/// A category index as its id, when the record was made under this build's policy; otherwise
/// only the policy it names can say (`#N`).
fn category_name(id: u8, policy: &[u8; 32]) -> String {
    match sigil_gate::policy::category(id) {
        Some(g) if *policy == sigil_gate::POLICY_DIGEST => g.id.to_string(),
        _ => format!("#{id}"),
    }
}

fn out(frame: &std::path::Path, r: FrameReport) -> Out {
    Out {
        frame: frame.display().to_string(),
        valid: r.valid,
        sequence: r.record.as_ref().map(|x| x.body().seq),
        watermark: r.watermark.map(hex::encode),
        record_source: r.source.map(|s| match s {
            RecordSource::Sidecar => "sidecar",
            RecordSource::Chunk => "chunk",
            RecordSource::Log => "log",
        }),
        pixels_match: r.pixels_match,
        log_index: r.log_index,
        format: r.format,
        width: r.width,
        height: r.height,
        record: r.record.as_ref().map(|rec| {
            let b = rec.body();
            RecordOut {
                device_key: hex::encode(b.device_key),
                time_unix: b.time_unix,
                boot_counter: b.boot_counter,
                firmware_digest: hex::encode(b.firmware_digest),
                policy_digest: hex::encode(b.policy_digest),
                model_digest: hex::encode(b.model_digest),
                prompt_hash: hex::encode(b.prompt_hash),
                user_hash: hex::encode(b.user_hash),
                seed: b.seed,
                steps: b.steps,
                guidance: f64::from(b.guidance_milli) / 1000.0,
                gate_verdict: format!("{:?}", b.gate.verdict).to_lowercase(),
                gate_category: b.gate.category.map(|c| category_name(c, &b.policy_digest)),
                post_filter_verdict: format!("{:?}", b.post_filter.verdict).to_lowercase(),
                post_filter_category: b
                    .post_filter
                    .class
                    .map(|c| category_name(c, &b.policy_digest)),
                review: format!("{:?}", b.review),
                frame_hash: hex::encode(b.frame_hash),
            }
        }),
        c2pa: C2paOut {
            present: r.credentials.present,
            state: r.credentials.state,
            failures: r.credentials.failures.clone(),
            unreadable: r.credentials.unreadable.clone(),
            generated: r.credentials.generated,
        },
        certificate: r.certified.as_ref().map(|f| CertOut {
            device: f.device_name.clone(),
            org: f.device_org.clone(),
            serial: f.serial.clone(),
            ca: f.ca_name.clone(),
            ca_fingerprint: f.ca_fingerprint.clone(),
            self_issued: f.self_issued,
        }),
        reasons: r.reasons,
        notes: r.notes,
    }
}

/// What a `--trust` file holds: a CA certificate, or a device's public key.
enum TrustFile {
    Ca(Vec<u8>),
    Key(sigil_provenance::VerifyingKey),
}

fn load_trust(path: &Path) -> anyhow::Result<TrustFile> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the trust anchor {}", path.display()))?;
    if text.contains("-----BEGIN CERTIFICATE-----") {
        Ok(TrustFile::Ca(load_cert(path)?))
    } else {
        Ok(TrustFile::Key(load_public(path)?))
    }
}

pub fn run(args: &Args) -> anyhow::Result<u8> {
    let frame = std::fs::read(&args.frame)
        .with_context(|| format!("cannot read the frame {}", args.frame.display()))?;
    let record = args
        .record
        .as_ref()
        .map(|p| {
            std::fs::read(p).with_context(|| format!("cannot read the record {}", p.display()))
        })
        .transpose()?;
    let trust = args.trust.as_deref().map(load_trust).transpose()?;
    let chain = args
        .chain
        .as_ref()
        .map(|p| {
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("cannot read the chain {}", p.display()))?;
            DeviceChain::from_pem(&text).with_context(|| format!("{}", p.display()))
        })
        .transpose()?;
    let log = args
        .log
        .as_ref()
        .map(|p| std::fs::read(p).with_context(|| format!("cannot read the log {}", p.display())))
        .transpose()?;
    let bundles = match (&trust, args.bundle.is_empty()) {
        (_, true) => Vec::new(),
        (Some(TrustFile::Ca(ca)), false) => {
            let maker = sigil_seal::cert::ca_key(ca).context("--trust")?;
            crate::bundle::load_known(&args.bundle, &maker)?
        }
        _ => anyhow::bail!(
            "--bundle needs --trust with the maker CA's certificate (ca.crt.pem): bundles are signed by the maker, not by a device"
        ),
    };
    let report = verify_frame(&VerifyInput {
        frame: &frame,
        record: record.as_deref(),
        trust: trust.as_ref().map(|t| match t {
            TrustFile::Ca(der) => Trust::Ca(der),
            TrustFile::Key(k) => Trust::Key(k),
        }),
        chain: chain.as_ref(),
        log: log.as_deref(),
        mark_key: &MarkKey::sigil_default(),
        bundles: &bundles,
    })
    .with_context(|| format!("{}", args.frame.display()))?;
    let o = out(&args.frame, report);
    if args.json {
        println!("{}", serde_json::to_string(&o)?);
    } else {
        println!(
            "{}: {}",
            o.frame,
            if o.valid { "VALID" } else { "NOT VALID" }
        );
        if let Some(seq) = o.sequence {
            println!(
                "  record seq {seq} (from {})",
                o.record_source.unwrap_or("?")
            );
        }
        for r in &o.reasons {
            println!("  ✗ {r}");
        }
        for n in &o.notes {
            println!("  · {n}");
        }
    }
    Ok(if o.valid {
        exit::OK
    } else {
        exit::VERIFY_FAILED
    })
}
