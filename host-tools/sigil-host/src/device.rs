//! `sigil-host flash` and `sigil-host pull-log`: talking to a device over the device protocol
//! (`sigil-link`).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use sigil_link::{Client, Endpoint, client::flash};

use crate::keys::write_new;

#[derive(Debug, clap::Args)]
pub struct FlashArgs {
    /// The device: `tcp:HOST:PORT` (where `sigil serve` listens).
    #[arg(long)]
    device: String,
    /// The bundle (`sigil-host pack`).
    bundle: PathBuf,
    /// Seconds to wait for any one answer before the link counts as dropped.
    #[arg(long, default_value_t = 10)]
    timeout_s: u64,
    /// Times to reconnect and resume after a dropped link.
    #[arg(long, default_value_t = 5)]
    retries: u32,
    /// Print the result as JSON (no progress bar).
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Args)]
pub struct PullLogArgs {
    /// The device: `tcp:HOST:PORT`.
    #[arg(long)]
    device: String,
    /// Where to write the log (then `sigil-host audit LOG --trust …`).
    #[arg(long, short = 'o')]
    out: PathBuf,
    /// Pull from this sequence number on.
    #[arg(long, default_value_t = 0)]
    from: u64,
    /// Seconds to wait for any one answer.
    #[arg(long, default_value_t = 10)]
    timeout_s: u64,
    /// Replace an existing file.
    #[arg(long)]
    force: bool,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run_flash(a: &FlashArgs) -> anyhow::Result<()> {
    let endpoint: Endpoint = a.device.parse()?;
    let bundle = std::fs::read(&a.bundle)
        .with_context(|| format!("cannot read the bundle {}", a.bundle.display()))?;
    let bar = if a.json {
        ProgressBar::hidden()
    } else {
        let b = ProgressBar::new(bundle.len() as u64);
        b.set_style(
            ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {bytes_per_sec} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        b
    };
    let chunk = sigil_bundle::Header::peek(&bundle)
        .map(|h| u64::from(h.manifest.chunk_size))
        .with_context(|| format!("{}", a.bundle.display()))?;
    let started = Instant::now();
    let report = flash(
        &endpoint,
        &bundle,
        Duration::from_secs(a.timeout_s.max(1)),
        a.retries,
        |done, total| {
            bar.set_position((u64::from(done) * chunk).min(bundle.len() as u64));
            bar.set_message(format!("chunk {done}/{total}"));
        },
    )
    .with_context(|| format!("flashing {} to {}", a.bundle.display(), a.device))?;
    bar.finish_and_clear();
    let secs = started.elapsed().as_secs_f64();
    let mb_s = bundle.len() as f64 / 1e6 / secs.max(1e-9);
    if a.json {
        let j = serde_json::json!({
            "bundle": a.bundle, "device": a.device, "slot": report.slot,
            "version": report.version, "chunks_sent": report.sent, "chunks": report.total,
            "reconnects": report.reconnects, "seconds": secs, "mb_per_s": mb_s,
        });
        println!("{j}");
    } else {
        println!(
            "staged version {} in slot {} ({} of {} chunks sent, {} reconnects, {:.1} MB/s); the device boots it next and keeps it only if it passes its health check",
            report.version, report.slot, report.sent, report.total, report.reconnects, mb_s
        );
    }
    Ok(())
}

pub fn run_pull_log(a: &PullLogArgs) -> anyhow::Result<()> {
    let endpoint: Endpoint = a.device.parse()?;
    let mut c = Client::connect(&endpoint, Duration::from_secs(a.timeout_s.max(1)))
        .with_context(|| format!("connecting to {}", a.device))?;
    let info = c.info()?;
    let log = c.pull_log(a.from)?;
    write_new(&a.out, &log, false, a.force)?;
    let records = sigil_provenance::LogReader::new(&log)
        .filter(Result::is_ok)
        .count();
    if a.json {
        let j = serde_json::json!({
            "out": a.out, "bytes": log.len(), "records": records, "from": a.from,
            "device_key": hex::encode(info.device_key),
            "firmware": hex::encode(info.firmware_digest),
            "policy": hex::encode(info.policy_digest),
        });
        println!("{j}");
    } else {
        println!(
            "wrote {} ({} records from seq {}) from device {}",
            a.out.display(),
            records,
            a.from,
            hex::encode(info.device_key)
        );
    }
    Ok(())
}
