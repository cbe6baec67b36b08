//! `sigil review list|show|approve|reject`: the human decision on held frames.
//!
//! Approving seals the held frame with the decision `approved` in its record and releases it
//! into `--out`; rejecting seals a record with the decision `rejected` (so the log shows the
//! frame existed and was refused) and releases nothing. Either way the prompt is gated again
//! under the compiled-in policy: a policy that now blocks it refuses the approval.

use std::path::PathBuf;

use anyhow::{Context, Result};
use serde::Serialize;
use sigil_gate::Verdict;
use sigil_provenance::Review;
use sigil_seal::{Held, ReviewError, ReviewQueue, TrustCoreAt};

use crate::exit;
use crate::release;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    action: Action,
    /// The device's state directory (as for `generate`).
    #[arg(long, global = true)]
    state: Option<PathBuf>,
    /// Print JSON.
    #[arg(long, global = true)]
    json: bool,
    /// Where the trust core runs (as for `generate`).
    #[arg(long, global = true, default_value = "in-process")]
    trust_core: TrustCoreAt,
}

#[derive(Debug, clap::Subcommand)]
enum Action {
    /// The frames held now, oldest first.
    List,
    /// One held frame: its facts and where its picture is.
    Show {
        /// The id `generate` printed.
        id: String,
    },
    /// Release a held frame: sealed with the decision "approved".
    Approve {
        /// The id `generate` printed.
        id: String,
        /// Where the released frame goes.
        #[arg(long, default_value = "out")]
        out: PathBuf,
    },
    /// Refuse a held frame: a record with the decision "rejected", nothing released.
    Reject {
        /// The id `generate` printed.
        id: String,
    },
}

#[derive(Debug, Serialize)]
struct Decided {
    id: String,
    status: &'static str,
    sequence: u64,
    png: Option<String>,
    record: Option<String>,
    watermark: String,
}

pub fn run(args: &Args) -> Result<u8> {
    let queue = ReviewQueue::new(&release::state_dir(args.state.as_deref()));
    match &args.action {
        Action::List => {
            let held = queue.list()?;
            if args.json {
                println!("{}", serde_json::to_string(&held)?);
            } else if held.is_empty() {
                println!("no frames held");
            } else {
                for h in &held {
                    println!(
                        "{}  {}  {:<14} {:?}",
                        h.id,
                        h.reason,
                        h.category.as_deref().unwrap_or("-"),
                        h.prompt
                    );
                }
            }
            Ok(exit::OK)
        }
        Action::Show { id } => match queue.get(id) {
            Ok((h, _)) => {
                let frame = queue.frame_path(id).display().to_string();
                if args.json {
                    let mut v = serde_json::to_value(&h)?;
                    v["frame"] = serde_json::Value::String(frame);
                    println!("{v}");
                } else {
                    println!(
                        "{} held ({}), category {}",
                        h.id,
                        h.reason,
                        h.category.as_deref().unwrap_or("-")
                    );
                    println!("  prompt  {:?}  (user {:?})", h.prompt, h.user);
                    println!(
                        "  seed {}  steps {}  {}×{}",
                        h.seed, h.steps, h.width, h.height
                    );
                    println!("  frame   {frame}");
                }
                Ok(exit::OK)
            }
            Err(e) => refuse(&e),
        },
        Action::Approve { id, out } => decide(args, &queue, id, Some(out)),
        Action::Reject { id } => decide(args, &queue, id, None),
    }
}

fn refuse(e: &ReviewError) -> Result<u8> {
    eprintln!("sigil review: {e}");
    Ok(exit::BAD_INPUT)
}

fn decide(args: &Args, queue: &ReviewQueue, id: &str, out: Option<&PathBuf>) -> Result<u8> {
    let mut state = match release::open_state(args.state.as_deref(), &args.trust_core) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("sigil review: {e:#}");
            return Ok(exit::BAD_INPUT);
        }
    };
    let (held, rgb): (Held, Vec<u8>) = match queue.get(id) {
        Ok(x) => x,
        Err(e) => return refuse(&e),
    };
    if let Some(out) = out
        && let Err(e) = release::probe_writable(out)
    {
        eprintln!("sigil review: {e:#}");
        return Ok(exit::BAD_INPUT);
    }
    // A decision takes the held user's token from the same buckets `generate` uses, and the
    // spent token is saved before anything is sealed.
    if let Err(e) = release::restore_rates(&mut state, "sigil review") {
        eprintln!("sigil review: {e}");
        return Ok(exit::BAD_INPUT);
    }
    let now_ms = sigil_seal::rate::unix_ms();
    let admitted = state
        .core_mut()
        .admit(&held.prompt, held.user.as_bytes(), now_ms);
    let ticket = match release::spend_token(
        &state,
        admitted,
        "sigil review",
        "the held prompt cannot be checked again: ",
    ) {
        Ok(t) => t,
        Err(code) => return Ok(code),
    };
    if out.is_some() && ticket.verdict == Verdict::Block {
        eprintln!(
            "sigil review: this firmware's policy blocks the held prompt now; it cannot be approved (reject it)"
        );
        return Ok(exit::BLOCK);
    }
    let mut model_digest = [0u8; 32];
    hex::decode_to_slice(&held.model_digest, &mut model_digest)
        .map_err(|e| anyhow::anyhow!("held entry {id}: bad model digest: {e}"))?;
    let decision = if out.is_some() {
        Review::Approved
    } else {
        Review::Rejected
    };
    // The output check's verdict when the frame was held goes into the record as it was.
    let post_filter = crate::outcheck::post_filter_of(held.output.as_ref())
        .with_context(|| format!("held entry {id}"))?;
    if post_filter.verdict == Verdict::Block && out.is_some() {
        eprintln!(
            "sigil review: the output check blocked this frame under this firmware's policy; it cannot be approved (reject it)"
        );
        return Ok(exit::BLOCK);
    }
    let making = release::making(
        held.seed,
        held.steps,
        held.guidance_milli,
        model_digest,
        post_filter,
        decision,
    );
    // A decision begun earlier (a process killed between the log append and removing the
    // entry) is finished from its record, never sealed twice.
    if let Some(seq) = queue.deciding(id)
        && let Some(record) = state.record(seq)?
        && record.body().prompt_hash == ticket.prompt_hash
        && record.body().seed == held.seed
        && matches!(record.body().review, Review::Approved | Review::Rejected)
    {
        return finish_decided(args, &state, queue, id, &held, rgb, &record, out);
    }
    queue.mark_deciding(id, state.core().head().next_seq)?;
    let sealed = release::seal_frame(
        &mut state,
        &ticket,
        rgb,
        held.width,
        held.height,
        &making,
        out.map(PathBuf::as_path),
    )?;
    // The decision is in the log (and the frame on disk): the entry has done its work.
    queue.remove(id)?;
    print_decided(args, id, sealed)
}

/// Finish a decision whose record an earlier run sealed: write the approved frame (marked as
/// its record says, and only if it is not on disk yet) and remove the entry.
#[allow(clippy::too_many_arguments)]
fn finish_decided(
    args: &Args,
    state: &sigil_seal::DeviceState,
    queue: &ReviewQueue,
    id: &str,
    held: &Held,
    rgb: Vec<u8>,
    record: &sigil_provenance::Record,
    out: Option<&PathBuf>,
) -> Result<u8> {
    let b = *record.body();
    let wanted = if out.is_some() {
        Review::Approved
    } else {
        Review::Rejected
    };
    if b.review != wanted {
        queue.remove(id)?;
        let was = if b.review == Review::Approved {
            "approved"
        } else {
            "rejected"
        };
        eprintln!(
            "sigil review: {id} was already {was} in record {} (an earlier run stopped before removing it); that decision stands",
            b.seq
        );
        return Ok(exit::BAD_INPUT);
    }
    let mut png = None;
    if let Some(out) = out {
        let path = out.join(release::frame_name(record));
        if !path.is_file() {
            let marked = sigil_seal::mark(
                rgb,
                held.width,
                held.height,
                &b.watermark,
                &sigil_mark::MarkKey::sigil_default(),
            )?;
            let (w, h) = (
                u16::try_from(held.width).context("frame too large")?,
                u16::try_from(held.height).context("frame too large")?,
            );
            anyhow::ensure!(
                sigil_provenance::frame_hash(w, h, &marked.rgb) == b.frame_hash,
                "held entry {id}: the frame does not match its sealed record {} (the entry was changed after sealing); nothing released",
                b.seq
            );
            release::write_released(state, out, record, &marked.rgb, held.width, held.height)?;
        }
        png = Some(path);
    }
    queue.remove(id)?;
    let sidecar = png.as_deref().map(sigil_seal::pngio::sidecar_path);
    print_decided(
        args,
        id,
        release::Sealed {
            png,
            sidecar,
            sequence: b.seq,
            watermark: b.watermark,
        },
    )
}

/// Print a decision: released (with its frame) or rejected.
fn print_decided(args: &Args, id: &str, sealed: release::Sealed) -> Result<u8> {
    let d = &Decided {
        id: id.to_string(),
        status: if sealed.png.is_some() {
            "released"
        } else {
            "rejected"
        },
        sequence: sealed.sequence,
        png: sealed.png.map(|p| p.display().to_string()),
        record: sealed.sidecar.map(|p| p.display().to_string()),
        watermark: hex::encode(sealed.watermark),
    };
    if args.json {
        println!("{}", serde_json::to_string(d)?);
    } else {
        match &d.png {
            Some(p) => println!("approved {id}: released {p} (record {})", d.sequence),
            None => println!(
                "rejected {id}: record {} says so; nothing released",
                d.sequence
            ),
        }
    }
    Ok(exit::OK)
}
