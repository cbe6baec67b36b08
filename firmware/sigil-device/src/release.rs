//! Sealing a composed frame: the one path from "the trust core may sign this" to "the frame is
//! on disk", shared by `generate` and `review approve|reject`.
//!
//! Order: mark with the next sequence number's payload → frame hash → seal against the ticket
//! (the trust core refuses anything else) → append to the log with an fsync → only then write
//! the sidecar and the PNG (each atomically). A crash leaves at worst a logged record whose
//! frame was never written, never a frame without its record.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use sigil_gate::Ticket;
use sigil_mark::MarkKey;
use sigil_provenance::{PostFilter, Review};
use sigil_seal::{DeviceState, Making, TrustCoreAt, write_frame};

/// A sealed, logged frame (written unless it was rejected).
#[derive(Debug)]
pub struct Sealed {
    pub png: Option<PathBuf>,
    pub sidecar: Option<PathBuf>,
    pub sequence: u64,
    pub watermark: [u8; 8],
}

/// What the record says about how a frame was made, now.
pub fn making(
    seed: u64,
    steps: u16,
    guidance_milli: u32,
    model_digest: [u8; 32],
    post_filter: PostFilter,
    review: Review,
) -> Making {
    Making {
        time_unix: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
        model_digest,
        seed,
        steps,
        guidance_milli,
        post_filter,
        review,
    }
}

/// Mark, seal, log and (with `out`) write a composed, unmarked frame.
#[allow(clippy::too_many_arguments)]
pub fn seal_frame(
    state: &mut DeviceState,
    ticket: &Ticket,
    rgb: Vec<u8>,
    width: u32,
    height: u32,
    making: &Making,
    out: Option<&Path>,
) -> Result<Sealed> {
    let (frame, record) = state.seal_frame(
        ticket,
        (rgb, width, height),
        making,
        &MarkKey::sigil_default(),
    )?;
    let sequence = record.body().seq;
    let watermark = record.body().watermark;
    let Some(out) = out else {
        return Ok(Sealed {
            png: None,
            sidecar: None,
            sequence,
            watermark,
        });
    };
    write_released(state, out, &record, &frame.rgb, frame.width, frame.height)
}

/// A released frame's file name: `sigil-DEVICETAG-SEQ-PROMPTHASH-SEED.png`.
pub fn frame_name(record: &sigil_provenance::Record) -> String {
    let b = record.body();
    format!(
        "sigil-{}-{:06}-{}-{}.png",
        hex::encode(b.watermark.get(..4).unwrap_or_default()),
        b.seq,
        hex::encode(b.prompt_hash.get(..6).unwrap_or_default()),
        b.seed
    )
}

/// Write a sealed frame into `out` under its name: device tag (the watermark's first 4
/// bytes), sequence number, prompt hash and seed, all from its record — unique per device, so
/// frames of several devices can share one folder.
pub fn write_released(
    state: &DeviceState,
    out: &Path,
    record: &sigil_provenance::Record,
    rgb: &[u8],
    width: u32,
    height: u32,
) -> Result<Sealed> {
    let (sequence, watermark) = (record.body().seq, record.body().watermark);
    let name = frame_name(record);
    let (png, sidecar) = write_frame(
        out,
        &name,
        rgb,
        width,
        height,
        record,
        &state.frame_signer(),
    )
    .with_context(|| {
        format!(
            "frame {sequence} is sealed and logged but could not be written to {}",
            out.display()
        )
    })?;
    Ok(Sealed {
        png: Some(png),
        sidecar: Some(sidecar),
        sequence,
        watermark,
    })
}

/// Refuse an output directory that cannot take a frame before anything is generated or sealed,
/// and clear temporary files a killed run left there (never reported, safe to drop).
pub fn probe_writable(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| {
        format!(
            "cannot create the output directory {}: pass a writable --out",
            dir.display()
        )
    })?;
    let probe = dir.join(format!(".sigil-probe-{}", std::process::id()));
    std::fs::write(&probe, b"").with_context(|| {
        format!(
            "cannot write into the output directory {}: pass a writable --out",
            dir.display()
        )
    })?;
    let _ = std::fs::remove_file(&probe);
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let name = e.file_name();
            let name = name.to_string_lossy();
            if name.starts_with(".sigil-") && name.ends_with(".partial") {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
    Ok(())
}

/// The state directory to use: `--state`, else $SIGIL_STATE, else $XDG_DATA_HOME/sigil, else
/// ~/.local/share/sigil.
pub fn state_dir(arg: Option<&Path>) -> PathBuf {
    if let Some(p) = arg {
        return p.to_path_buf();
    }
    if let Some(p) = std::env::var_os("SIGIL_STATE") {
        return PathBuf::from(p);
    }
    if let Some(p) = std::env::var_os("XDG_DATA_HOME") {
        return PathBuf::from(p).join("sigil");
    }
    std::env::var_os("HOME").map_or_else(
        || PathBuf::from("sigil-state"),
        |h| PathBuf::from(h).join(".local/share/sigil"),
    )
}

/// Open the state directory with the trust core `at`, saying what a first use or a recovery
/// did.
pub fn open_state(arg: Option<&Path>, at: &TrustCoreAt) -> Result<DeviceState> {
    let path = state_dir(arg);
    let fw = firmware_digest_cached(&path)?;
    let state = DeviceState::open_with(&path, fw, at)?;
    if state.created_key() {
        eprintln!(
            "sigil: no device key was provisioned: created one in {} (its public key: device.pub.pem)",
            path.display()
        );
    }
    if state.created_chain() {
        eprintln!(
            "sigil: no maker certificate was provisioned: the device issued itself one (self-issued, trusted by nobody) so its frames carry Content Credentials; provision it with `sigil-host provision --state {} --ca CA_DIR`",
            path.display()
        );
    }
    let r = state.recovery();
    if r.torn_tail_bytes > 0 {
        eprintln!(
            "sigil: the log ended in a cut-off write ({} bytes, from a crash or power loss): removed; {} records kept",
            r.torn_tail_bytes, r.entries
        );
    }
    Ok(state)
}

/// The ticket of an admission, with its spent token saved before anything else happens (a
/// process killed after this has spent it). `Err` is the exit code, once stderr says why, each
/// line prefixed with `cmd` (`failed` comes before a refusal that is not a rate limit).
pub fn spend_token(
    state: &DeviceState,
    admitted: Result<Ticket, sigil_seal::CoreError>,
    cmd: &str,
    failed: &str,
) -> Result<Ticket, u8> {
    match admitted {
        Ok(t) => match state.save_core_rates() {
            Ok(()) => Ok(t),
            Err(e) => {
                eprintln!("{cmd}: the rate limits cannot be saved: {e}");
                Err(crate::exit::BAD_INPUT)
            }
        },
        Err(
            e @ (sigil_seal::CoreError::RateLimited(_)
            | sigil_seal::CoreError::RateLimitedAfter { .. }),
        ) => {
            eprintln!("{cmd}: {e}");
            Err(crate::exit::RATE_LIMITED)
        }
        Err(e) => {
            eprintln!("{cmd}: {failed}{e}");
            Err(crate::exit::BAD_INPUT)
        }
    }
}

/// Continue an in-process core's rate limits from earlier processes (`STATE/rate.bin`, Unix
/// ms), so every command that admits a prompt (`generate`, `review approve|reject`) draws from
/// the same buckets; a remote core keeps its own. A damaged file is kept aside and the limits
/// restart empty, never full (said on stderr, prefixed with `cmd`). `Err` is an unreadable
/// state directory.
pub fn restore_rates(state: &mut DeviceState, cmd: &str) -> Result<(), sigil_seal::StateError> {
    if state.core().remote() {
        return Ok(());
    }
    let rates = state.load_rates::<{ sigil_seal::trust::RATE_USERS }>(
        sigil_gate::RateConfig::default(),
        sigil_seal::rate::unix_ms(),
    )?;
    if let sigil_seal::RatesFound::Damaged(e) = &rates.found {
        eprintln!(
            "{cmd}: {}: {e}: kept as {}; the rate limits restart empty and refill with time",
            state.dir().join(sigil_seal::RATE_FILE).display(),
            sigil_seal::rate::RATE_DAMAGED_FILE
        );
    }
    state.core_mut().restore_rates(rates.limiter);
    Ok(())
}

/// The firmware digest (SHA-256 of the running executable), remembered in the state directory
/// under the executable's path, size and modification time: hashing a 64 MB program costs about
/// 180 ms of every cold start. A changed executable (new size or time) is hashed again. Anyone
/// who can replace the program while keeping both could as well patch it to lie; on a flashed
/// device the bundle's signed digest is the authority (issue 6).
fn firmware_digest_cached(state: &Path) -> Result<[u8; 32]> {
    let key = std::env::current_exe().ok().and_then(|exe| {
        let meta = std::fs::metadata(&exe).ok()?;
        let mtime = meta
            .modified()
            .ok()?
            .duration_since(std::time::UNIX_EPOCH)
            .ok()?
            .as_nanos();
        Some(format!("{} {} {mtime}", exe.display(), meta.len()))
    });
    let cache = state.join("firmware.sha256");
    if let (Some(key), Ok(text)) = (&key, std::fs::read_to_string(&cache))
        && let Some((stored, digest)) = text.trim_end().rsplit_once('\n')
        && stored == key
    {
        let mut out = [0u8; 32];
        if hex::decode_to_slice(digest, &mut out).is_ok() {
            return Ok(out);
        }
    }
    let digest = crate::info::firmware_digest()?;
    if let Some(key) = key {
        // Best effort: a cache that cannot be written only costs the next start the hash.
        let tmp = state.join(format!(".firmware.sha256.{}.partial", std::process::id()));
        let body = format!("{key}\n{}\n", hex::encode(digest));
        if std::fs::create_dir_all(state).is_ok() && std::fs::write(&tmp, body).is_ok() {
            let _ = std::fs::rename(&tmp, &cache);
        }
    }
    Ok(digest)
}
