//! `sigil-host verify` as a black box: a released frame, its stripped JPEG copy traced through
//! the log, a frame without trust anchor, and files that are not frames.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail by panicking

mod common;

use common::{host, host_ok, json, release, s};
use image::codecs::jpeg::JpegEncoder;

#[test]
fn a_released_frame_is_valid_and_a_stripped_copy_is_traced() {
    let tmp = tempfile::tempdir().unwrap();
    let (png, key, log) = release(tmp.path());
    let j = host_ok(&[
        "verify",
        s(&png),
        "--trust",
        s(&key),
        "--log",
        s(&log),
        "--json",
    ]);
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
