//! `sigil-host verify` as a black box: a released frame, its stripped JPEG copy traced through
//! the log, a frame without trust anchor, and files that are not frames.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail by panicking

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use image::codecs::jpeg::JpegEncoder;
use sigil_gate::{Gate, RateConfig, Scratch};
use sigil_mark::MarkKey;
use sigil_provenance::{PostFilter, Review};
use sigil_seal::{DeviceState, LOG_FILE, Making, compose_unmarked, write_frame};

fn host(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sigil-host"))
        .args(args)
        .output()
        .unwrap()
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {} {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// A device state with one released frame: (frame, public key, log).
fn release(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let state_dir = dir.join("state");
    let mut state = DeviceState::open(&state_dir, [5; 32]).unwrap();
    let mut gate = Gate::<4, 4>::new(RateConfig::default());
    let mut scratch = Box::new(Scratch::new());
    let ticket = gate
        .admit("a yellow star", b"kiosk", 0, 0, &mut scratch)
        .unwrap()
        .ticket;
    let mut rgb = vec![250u8; 32 * 32 * 3];
    for (i, px) in rgb.chunks_mut(3).enumerate() {
        if (i % 32).abs_diff(16) + (i / 32).abs_diff(16) < 10 {
            px.copy_from_slice(&[250, 210, 30]);
        }
    }
    let (unmarked, w, h) = compose_unmarked(&rgb, 32, 32).unwrap();
    let making = Making {
        time_unix: 0,
        model_digest: [1; 32],
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
            &mut gate.book,
            &ticket,
            (unmarked, w, h),
            &making,
            &MarkKey::sigil_default(),
        )
        .unwrap();
    let signer = state.frame_signer();
    let (png, _) = write_frame(
        &dir.join("out"),
        "star.png",
        &c.rgb,
        256,
        256,
        &record,
        &signer,
    )
    .unwrap();
    (
        png,
        state_dir.join("device.pub.pem"),
        state_dir.join(LOG_FILE),
    )
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn a_released_frame_is_valid_and_a_stripped_copy_is_traced() {
    let tmp = tempfile::tempdir().unwrap();
    let (png, key, log) = release(tmp.path());
    let o = host(&[
        "verify",
        s(&png),
        "--trust",
        s(&key),
        "--log",
        s(&log),
        "--json",
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    let j = json(&o);
    assert_eq!(j["valid"], true);
    assert_eq!(j["sequence"], 0);
    assert_eq!(j["record_source"], "chunk");
    assert_eq!(j["reasons"].as_array().unwrap().len(), 0);
    assert_eq!(j["watermark"].as_str().unwrap().len(), 16);

    // Stripped of metadata and re-encoded: not valid as the sealed frame (exit 3), but its
    // watermark finds its record in the log.
    let img = image::open(&png).unwrap();
    let mut bytes = Vec::new();
    JpegEncoder::new_with_quality(&mut bytes, 75)
        .encode_image(&img)
        .unwrap();
    let jpg = tmp.path().join("copy.jpg");
    std::fs::write(&jpg, bytes).unwrap();
    let o = host(&[
        "verify",
        s(&jpg),
        "--trust",
        s(&key),
        "--log",
        s(&log),
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(3));
    let j = json(&o);
    assert_eq!(j["valid"], false);
    assert_eq!(j["record_source"], "log");
    assert_eq!(j["sequence"], 0);
    assert_eq!(j["pixels_match"], false);
    assert!(!j["watermark"].is_null());

    // No trust anchor: never valid, and says what to pass.
    let o = host(&["verify", s(&png), "--json"]);
    assert_eq!(o.status.code(), Some(3));
    assert!(json(&o)["reasons"].to_string().contains("--trust"));
}

#[test]
fn files_that_are_not_frames_get_clear_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let o = host(&["verify", s(&tmp.path().join("missing.png"))]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("cannot read the frame"));
    let junk = tmp.path().join("junk.png");
    std::fs::write(&junk, b"definitely not an image").unwrap();
    let o = host(&["verify", s(&junk)]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("not a PNG or JPEG"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}
