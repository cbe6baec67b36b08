//! `sigil-host audit` and `sigil-host verify-record`: thin std wrappers around the one
//! verification code in `sigil-provenance` (`audit_log`, `verify_record`).

use std::path::PathBuf;

use anyhow::Context;
use serde::Serialize;
use sigil_provenance::{
    AuditEvent, BreakReason, Record, Review, VerifyError, audit_log, verify_record as verify,
};

use crate::exit;
use crate::keys::load_public;

#[derive(Debug, clap::Args)]
pub struct AuditArgs {
    /// The device log (length ‖ record ‖ CRC entries).
    log: PathBuf,
    /// The device's public key (SPKI PEM, from `sigil-host keygen`).
    #[arg(long)]
    trust: PathBuf,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// A record file (a sidecar: the raw Record v1 bytes).
    file: PathBuf,
    /// The device's public key (SPKI PEM).
    #[arg(long)]
    trust: PathBuf,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

/// Stable machine-readable name of a break reason.
pub fn reason_kind(r: &BreakReason) -> &'static str {
    match r {
        BreakReason::BadSignature => "bad_signature",
        BreakReason::ForeignKey => "foreign_key",
        BreakReason::Gap { .. } => "gap",
        BreakReason::Reorder { .. } => "reorder",
        BreakReason::Duplicate { .. } => "duplicate",
        BreakReason::BrokenLink => "broken_link",
        BreakReason::Undecodable(_) => "undecodable",
        BreakReason::Corrupt => "corrupt",
        BreakReason::TruncatedTail => "truncated_tail",
        _ => "other",
    }
}

#[derive(Debug, Clone, Serialize)]
struct BreakOut {
    index: usize,
    offset: usize,
    kind: &'static str,
    reason: String,
}

#[derive(Debug, Serialize)]
struct AuditOut {
    log: String,
    bytes: usize,
    clean: bool,
    records_checked: usize,
    records_accepted: usize,
    /// Records before the first break: how far the log is valid.
    valid_prefix: usize,
    first_break: Option<BreakOut>,
    breaks: Vec<BreakOut>,
    next_seq: u64,
    head_hash: String,
}

pub fn audit(args: &AuditArgs) -> anyhow::Result<u8> {
    let key = load_public(&args.trust)?;
    let bytes = std::fs::read(&args.log)
        .with_context(|| format!("cannot read log {}", args.log.display()))?;
    let mut breaks = Vec::new();
    let summary = audit_log(&bytes, &key, |ev| {
        if let AuditEvent::Break { offset, brk } = ev {
            breaks.push(BreakOut {
                index: brk.index,
                offset,
                kind: reason_kind(&brk.reason),
                reason: brk.reason.to_string(),
            });
        }
    });
    let out = AuditOut {
        log: args.log.display().to_string(),
        bytes: bytes.len(),
        clean: summary.is_clean(),
        records_checked: summary.records_checked,
        records_accepted: summary.records_accepted,
        valid_prefix: summary.valid_prefix,
        first_break: breaks.first().cloned(),
        breaks,
        next_seq: summary.head.next_seq,
        head_hash: hex::encode(summary.head.prev_hash),
    };
    if args.json {
        println!("{}", serde_json::to_string(&out)?);
    } else {
        println!(
            "{}: {} bytes, {} records checked, {} accepted",
            out.log, out.bytes, out.records_checked, out.records_accepted
        );
        match &out.first_break {
            None => println!(
                "OK: signatures and chain intact (next seq {}, head {})",
                out.next_seq, out.head_hash
            ),
            Some(b) => {
                println!(
                    "BROKEN: valid for the first {} records; first break at entry {} (byte {}): {}",
                    out.valid_prefix, b.index, b.offset, b.reason
                );
                for b in out.breaks.iter().skip(1) {
                    println!(
                        "  also: entry {} (byte {}): {}",
                        b.index, b.offset, b.reason
                    );
                }
            }
        }
    }
    Ok(if out.clean {
        exit::OK
    } else {
        exit::VERIFY_FAILED
    })
}

#[derive(Debug, Serialize)]
struct RecordOut {
    seq: u64,
    prev_hash: String,
    device_key: String,
    time_unix: u64,
    boot_counter: u32,
    firmware: String,
    policy: String,
    model: String,
    prompt_hash: String,
    user_hash: String,
    seed: u64,
    steps: u16,
    guidance: f64,
    width: u16,
    height: u16,
    gate_verdict: &'static str,
    gate_category: Option<&'static str>,
    gate_tier: &'static str,
    escalate: bool,
    post_filter: &'static str,
    review: &'static str,
    watermark: String,
    frame_hash: String,
    record_hash: String,
}

fn record_out(r: &Record) -> RecordOut {
    let b = r.body();
    // The category name is only meaningful under the policy that made the record.
    let same_policy = b.policy_digest == sigil_gate::POLICY_DIGEST;
    RecordOut {
        seq: b.seq,
        prev_hash: hex::encode(b.prev_hash),
        device_key: hex::encode(b.device_key),
        time_unix: b.time_unix,
        boot_counter: b.boot_counter,
        firmware: hex::encode(b.firmware_digest),
        policy: hex::encode(b.policy_digest),
        model: hex::encode(b.model_digest),
        prompt_hash: hex::encode(b.prompt_hash),
        user_hash: hex::encode(b.user_hash),
        seed: b.seed,
        steps: b.steps,
        guidance: f64::from(b.guidance_milli) / 1000.0,
        width: b.width,
        height: b.height,
        gate_verdict: b.gate.verdict.as_str(),
        gate_category: b
            .gate
            .category
            .filter(|_| same_policy)
            .and_then(sigil_gate::policy::category)
            .map(|g| g.id),
        gate_tier: b.gate.tier.as_str(),
        escalate: b.gate.escalate,
        post_filter: b.post_filter.verdict.as_str(),
        review: match b.review {
            Review::NotRequired => "not_required",
            Review::Approved => "approved",
            Review::Rejected => "rejected",
        },
        watermark: hex::encode(b.watermark),
        frame_hash: hex::encode(b.frame_hash),
        record_hash: hex::encode(r.hash()),
    }
}

pub fn verify_record(args: &VerifyArgs) -> anyhow::Result<u8> {
    let key = load_public(&args.trust)?;
    let bytes = std::fs::read(&args.file)
        .with_context(|| format!("cannot read record {}", args.file.display()))?;
    match verify(&bytes, &key) {
        Ok(r) => {
            let out = record_out(&r);
            if args.json {
                println!("{}", serde_json::json!({ "valid": true, "record": out }));
            } else {
                println!(
                    "OK: record {} (seq {}) is signed by the trusted device key",
                    args.file.display(),
                    out.seq
                );
                println!(
                    "  policy {}  verdict {}  frame {}",
                    out.policy, out.gate_verdict, out.frame_hash
                );
            }
            Ok(exit::OK)
        }
        Err(VerifyError::Undecodable(e)) => {
            anyhow::bail!("{} is not a Record v1: {e}", args.file.display())
        }
        Err(e) => {
            if args.json {
                println!(
                    "{}",
                    serde_json::json!({ "valid": false, "error": e.to_string() })
                );
            }
            eprintln!(
                "sigil-host: {}: verification FAILED: {e}",
                args.file.display()
            );
            Ok(exit::VERIFY_FAILED)
        }
    }
}
