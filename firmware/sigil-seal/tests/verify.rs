//! `verify_frame`: good frames, tampered ones (pixels, record, signature), re-encoded and
//! stripped frames traced through the log, foreign keys, gaps.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::{Path, PathBuf};

use common::{FIRMWARE, generated, seal_one};
use image::codecs::jpeg::JpegEncoder;
use image::imageops;
use proptest::prelude::*;
use sigil_mark::MarkKey;
use sigil_provenance::{RECORD_LEN, Record, SigningKey, VerifyingKey, frame_hash};
use sigil_seal::{
    DeviceState, LOG_FILE, RecordSource, Trust, VerifyInput, compose, encode_png, verify_frame,
    write_frame,
};

struct Released {
    dir: tempfile::TempDir,
    frames: Vec<(PathBuf, Record)>,
    key: VerifyingKey,
}

impl Released {
    fn log(&self) -> Vec<u8> {
        std::fs::read(self.dir.path().join("state").join(LOG_FILE)).unwrap()
    }
}

/// Three frames released by one device.
fn release_three() -> Released {
    let dir = tempfile::tempdir().unwrap();
    let mut state = DeviceState::open(&dir.path().join("state"), FIRMWARE).unwrap();
    let key = VerifyingKey::from_bytes(&state.sealer_key()).unwrap();
    let mut frames = Vec::new();
    for (i, prompt) in ["a red ball", "a green leaf", "a yellow star"]
        .iter()
        .enumerate()
    {
        let c = compose(
            &generated(40 + 70 * i as u8),
            32,
            32,
            &state.next_watermark(),
            &MarkKey::sigil_default(),
        )
        .unwrap();
        let record = seal_one(
            &mut state,
            prompt,
            frame_hash(c.width as u16, c.height as u16, &c.rgb),
        );
        state.append(&record).unwrap();
        let (png, _) = write_frame(
            &dir.path().join("out"),
            &format!("f{i}.png"),
            &c.rgb,
            c.width,
            c.height,
            &record,
            &state.frame_signer(),
        )
        .unwrap();
        frames.push((png, record));
    }
    Released { dir, frames, key }
}

fn check(
    frame: &[u8],
    record: Option<&[u8]>,
    trust: Option<&VerifyingKey>,
    log: Option<&[u8]>,
) -> sigil_seal::FrameReport {
    verify_frame(&VerifyInput {
        frame,
        record,
        trust: trust.map(Trust::Key),
        chain: None,
        log,
        mark_key: &MarkKey::sigil_default(),
        bundles: &[],
    })
    .unwrap()
}

fn jpeg(png: &Path, half: bool) -> Vec<u8> {
    let mut img = image::open(png).unwrap().to_rgb8();
    if half {
        img = imageops::resize(
            &img,
            img.width() / 2,
            img.height() / 2,
            imageops::FilterType::Triangle,
        );
    }
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, 75)
        .encode_image(&img)
        .unwrap();
    out
}

fn record_bytes(r: &Record) -> [u8; RECORD_LEN] {
    let mut b = [0u8; RECORD_LEN];
    r.encode(&mut b);
    b
}

#[test]
fn a_released_frame_verifies_against_its_key_and_log() {
    let rel = release_three();
    let log = rel.log();
    for (i, (png, record)) in rel.frames.iter().enumerate() {
        let r = check(
            &std::fs::read(png).unwrap(),
            None,
            Some(&rel.key),
            Some(&log),
        );
        assert!(r.valid, "{:?}", r.reasons);
        assert_eq!(r.source, Some(RecordSource::Chunk));
        assert_eq!(r.record.as_ref(), Some(record));
        assert_eq!(r.watermark, Some(record.body().watermark));
        assert_eq!(r.log_index, Some(i));
        assert!(r.pixels_match);
    }
    // Without a log, and with the sidecar instead of the chunk, it verifies too.
    let (png, record) = &rel.frames[1];
    let r = check(
        &std::fs::read(png).unwrap(),
        Some(&record_bytes(record)),
        Some(&rel.key),
        None,
    );
    assert!(r.valid, "{:?}", r.reasons);
    assert_eq!(r.source, Some(RecordSource::Sidecar));
}

#[test]
fn without_a_trust_anchor_nothing_is_valid() {
    let rel = release_three();
    let r = check(&std::fs::read(&rel.frames[0].0).unwrap(), None, None, None);
    assert!(!r.valid);
    assert!(
        r.reasons.iter().any(|m| m.contains("--trust")),
        "{:?}",
        r.reasons
    );
}

#[test]
fn a_foreign_key_another_frames_record_and_a_stripped_frame_without_log_are_refused() {
    let rel = release_three();
    let frame0 = std::fs::read(&rel.frames[0].0).unwrap();
    let other = SigningKey::from_bytes(&[9; 32]).verifying_key();
    let r = check(&frame0, None, Some(&other), None);
    assert!(
        !r.valid && r.reasons.iter().any(|m| m.contains("trusted key")),
        "{:?}",
        r.reasons
    );
    // Frame 0's pixels with frame 1's record.
    let r = check(
        &frame0,
        Some(&record_bytes(&rel.frames[1].1)),
        Some(&rel.key),
        None,
    );
    assert!(!r.valid);
    assert!(
        r.reasons.iter().any(|m| m.contains("not the sealed frame")),
        "{:?}",
        r.reasons
    );
    assert!(
        r.reasons.iter().any(|m| m.contains("another frame")),
        "{:?}",
        r.reasons
    );
    // Stripped (JPEG), no log: no record to be found.
    let r = check(&jpeg(&rel.frames[0].0, false), None, Some(&rel.key), None);
    assert!(!r.valid && r.record.is_none());
    assert!(
        r.reasons.iter().any(|m| m.contains("--log")),
        "{:?}",
        r.reasons
    );
    assert_eq!(r.watermark, Some(rel.frames[0].1.body().watermark));
}

#[test]
fn reencoded_and_resized_frames_are_traced_to_their_record_in_the_log() {
    let rel = release_three();
    let log = rel.log();
    for (i, (png, record)) in rel.frames.iter().enumerate() {
        for half in [false, true] {
            let r = check(&jpeg(png, half), None, Some(&rel.key), Some(&log));
            assert_eq!(
                r.source,
                Some(RecordSource::Log),
                "frame {i} half {half}: {:?}",
                r.notes
            );
            assert_eq!(r.record.as_ref(), Some(record));
            assert_eq!(r.log_index, Some(i));
            assert_eq!(r.watermark, Some(record.body().watermark));
            // Traced, but not the sealed pixels: not valid as this exact frame.
            assert!(!r.valid && !r.pixels_match);
        }
    }
}

#[test]
fn a_log_with_a_gap_is_reported() {
    let rel = release_three();
    let log = rel.log();
    // Drop entry 1 (each entry is 8 bytes of framing + the record).
    let entry = log.len() / 3;
    let mut gapped = log[..entry].to_vec();
    gapped.extend_from_slice(&log[2 * entry..]);
    let r = check(
        &std::fs::read(&rel.frames[2].0).unwrap(),
        None,
        Some(&rel.key),
        Some(&gapped),
    );
    assert!(!r.valid);
    assert!(
        r.reasons.iter().any(|m| m.contains("intact prefix")),
        "{:?}",
        r.reasons
    );
    // Frame 0, before the gap, still sits in the intact prefix.
    let r = check(
        &std::fs::read(&rel.frames[0].0).unwrap(),
        None,
        Some(&rel.key),
        Some(&gapped),
    );
    assert!(r.valid, "{:?}", r.reasons);
    assert!(
        r.notes.iter().any(|m| m.contains("chain breaks")),
        "{:?}",
        r.notes
    );
}

#[test]
fn a_damaged_record_chunk_is_named() {
    let rel = release_three();
    let mut bytes = std::fs::read(&rel.frames[0].0).unwrap();
    let at = bytes.windows(4).position(|w| w == b"sgRC").unwrap() + 4 + 100;
    bytes[at] ^= 0x40;
    let r = check(&bytes, None, Some(&rel.key), None);
    assert!(!r.valid);
    assert!(
        r.reasons.iter().any(|m| m.contains("CRC")),
        "{:?}",
        r.reasons
    );
}

/// One released frame (its PNG bytes), its record and the device key, made once.
fn one_frame() -> &'static (Vec<u8>, Record, VerifyingKey) {
    static ONE: std::sync::OnceLock<(Vec<u8>, Record, VerifyingKey)> = std::sync::OnceLock::new();
    ONE.get_or_init(|| {
        let rel = release_three();
        let (png, record) = &rel.frames[0];
        (std::fs::read(png).unwrap(), *record, rel.key)
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    /// Any single flipped bit, in the pixels, in the signed record or in its signature, is
    /// detected.
    #[test]
    fn any_single_flipped_bit_is_detected(which in 0usize..3, pos in any::<prop::sample::Index>(), bit in 0u8..8) {
        let (png, record, key) = one_frame();
        let img = image::load_from_memory(png).unwrap().to_rgb8();
        let mut rgb = img.as_raw().clone();
        let mut rec = record_bytes(record);
        match which {
            0 => { let i = pos.index(rgb.len()); rgb[i] ^= 1 << bit; }
            1 => { let i = pos.index(RECORD_LEN - 64); rec[i] ^= 1 << bit; }
            _ => { let i = RECORD_LEN - 64 + pos.index(64); rec[i] ^= 1 << bit; }
        }
        let file = encode_png(&rgb, img.width(), img.height(), &rec).unwrap();
        let r = check(&file, None, Some(key), None);
        prop_assert!(!r.valid, "flip {which} undetected: {:?}", r.notes);
    }
}
