//! Helpers shared by the black-box tests of `sigil-host`.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use sigil_mark::MarkKey;
use sigil_provenance::{PostFilter, Review};
use sigil_seal::{DeviceState, LOG_FILE, Making, compose_unmarked, write_frame};

pub fn host(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sigil-host"))
        .args(args)
        .output()
        .unwrap()
}

pub fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {} {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// Run `sigil-host` with `args` (which ask for `--json`), expect exit 0 (showing stdout
/// otherwise) and parse what it printed.
pub fn host_ok(args: &[&str]) -> serde_json::Value {
    let o = host(args);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    json(&o)
}

/// A device state with one released frame: (frame, public key, log).
pub fn release(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    release_with(dir, [5; 32], [1; 32])
}

/// As [`release`], for a device running firmware and a model with these digests.
pub fn release_with(
    dir: &Path,
    firmware: [u8; 32],
    model: [u8; 32],
) -> (PathBuf, PathBuf, PathBuf) {
    let state_dir = dir.join("state");
    let mut state = DeviceState::open(&state_dir, firmware).unwrap();
    let png = release_frame(&mut state, &dir.join("out"), "a yellow star", model);
    (
        png,
        state_dir.join("device.pub.pem"),
        state_dir.join(LOG_FILE),
    )
}

/// Admit `prompt` through `state`'s trust core, seal a 32×32 star frame (shown 256×256) made
/// by a model with digest `model`, log it and write it into `out`; its path.
pub fn release_frame(
    state: &mut DeviceState,
    out: &Path,
    prompt: &str,
    model: [u8; 32],
) -> PathBuf {
    let ticket = state
        .core_mut()
        .admit(prompt, b"kiosk", sigil_seal::unix_ms())
        .unwrap();
    let mut rgb = vec![250u8; 32 * 32 * 3];
    for (i, px) in rgb.chunks_mut(3).enumerate() {
        if (i % 32).abs_diff(16) + (i / 32).abs_diff(16) < 10 {
            px.copy_from_slice(&[250, 210, 30]);
        }
    }
    let (unmarked, w, h) = compose_unmarked(&rgb, 32, 32).unwrap();
    let making = Making {
        time_unix: 0,
        model_digest: model,
        seed: 9,
        steps: 4,
        guidance_milli: 2000,
        post_filter: PostFilter {
            verdict: sigil_gate::Verdict::Allow,
            class: None,
        },
        review: Review::NotRequired,
    };
    let (c, record) = state
        .seal_frame(
            &ticket,
            (unmarked, w, h),
            &making,
            &MarkKey::sigil_default(),
        )
        .unwrap();
    let signer = state.frame_signer();
    let (png, _) = write_frame(
        out,
        &format!("star-{}.png", record.body().seq),
        &c.rgb,
        256,
        256,
        &record,
        &signer,
    )
    .unwrap();
    png
}

pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}
