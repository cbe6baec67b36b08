//! Composed frames: size, badge, watermark; PNG with the record chunk and the sidecar; frames
//! read back after re-encoding; damaged files.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{FIRMWARE, seal_one};
use image::codecs::jpeg::JpegEncoder;
use sigil_mark::MarkKey;
use sigil_provenance::{RECORD_LEN, Record, frame_hash};
use sigil_seal::compose::badge_area;
use sigil_seal::pngio::sidecar_path;
use sigil_seal::{DeviceState, FRAME_SIDE, FrameError, compose, read_frame, write_frame};

/// A 32×32 generated image: a red disc on white.
fn generated() -> Vec<u8> {
    let mut rgb = vec![255u8; 32 * 32 * 3];
    for y in 0..32i32 {
        for x in 0..32i32 {
            if (x - 16).pow(2) + (y - 14).pow(2) < 100 {
                let at = ((y * 32 + x) * 3) as usize;
                rgb[at..at + 3].copy_from_slice(&[220, 30, 40]);
            }
        }
    }
    rgb
}

#[test]
fn compose_upscales_badges_and_marks() {
    let key = MarkKey::sigil_default();
    let c = compose(&generated(), 32, 32, &[1, 2, 3, 4, 0, 0, 0, 9], &key).unwrap();
    assert_eq!((c.width, c.height), (FRAME_SIDE, FRAME_SIDE));
    assert!(c.mark.psnr_db >= 38.0, "{}", c.mark.psnr_db);
    // The badge: a dark plate with light text, in the bottom-left corner.
    let area = badge_area(c.height);
    let (mut dark, mut light) = (0, 0);
    let (x0, y0) = (area.top_left.x as u32, area.top_left.y as u32);
    for (x, y) in
        (y0..y0 + area.size.height).flat_map(|y| (x0..x0 + area.size.width).map(move |x| (x, y)))
    {
        let at = ((y * c.width + x) * 3) as usize;
        let v = u32::from(c.rgb[at]) + u32::from(c.rgb[at + 1]) + u32::from(c.rgb[at + 2]);
        if v < 3 * 60 {
            dark += 1;
        } else if v > 3 * 200 {
            light += 1;
        }
    }
    let n = area.size.width * area.size.height;
    assert!(
        dark > n / 2 && light > n / 20,
        "dark {dark} light {light} of {n}"
    );
    let d = sigil_mark::detect(&c.rgb, c.width, c.height, &key).unwrap();
    assert_eq!(d.payload, Some([1, 2, 3, 4, 0, 0, 0, 9]));
}

/// Dark and light pixels inside a rectangle of an RGB frame.
fn plate(rgb: &[u8], width: u32, area: embedded_graphics::primitives::Rectangle) -> (u32, u32) {
    let (mut dark, mut light) = (0, 0);
    let (x0, y0) = (area.top_left.x as u32, area.top_left.y as u32);
    for (x, y) in
        (y0..y0 + area.size.height).flat_map(|y| (x0..x0 + area.size.width).map(move |x| (x, y)))
    {
        let at = ((y * width + x) * 3) as usize;
        let v = u32::from(rgb[at]) + u32::from(rgb[at + 1]) + u32::from(rgb[at + 2]);
        if v < 3 * 60 {
            dark += 1;
        } else if v > 3 * 200 {
            light += 1;
        }
    }
    (dark, light)
}

#[test]
fn a_label_is_drawn_above_the_badge_and_only_when_asked() {
    let plain = sigil_seal::compose_unmarked(&generated(), 32, 32).unwrap();
    let labelled = sigil_seal::compose_labelled(&generated(), 32, 32, Some("alcohol")).unwrap();
    let area = sigil_seal::compose::label_area(plain.2, "alcohol".len());
    assert!(area.top_left.y + area.size.height as i32 <= badge_area(plain.2).top_left.y);
    let n = area.size.width * area.size.height;
    let (dark, light) = plate(&labelled.0, labelled.1, area);
    assert!(
        dark > n / 2 && light > n / 20,
        "dark {dark} light {light} of {n}"
    );
    let (dark, _) = plate(&plain.0, plain.1, area);
    assert!(dark < n / 4, "no plate without a label: dark {dark} of {n}");
    // Non-ASCII and overlong labels are drawn safely, not refused.
    let long = "ä".repeat(100);
    assert!(sigil_seal::compose_labelled(&generated(), 32, 32, Some(&long)).is_ok());
}

fn released(dir: &std::path::Path) -> (std::path::PathBuf, Record, Vec<u8>) {
    let mut state = DeviceState::open(&dir.join("state"), FIRMWARE).unwrap();
    let payload = state.next_watermark();
    let c = compose(&generated(), 32, 32, &payload, &MarkKey::sigil_default()).unwrap();
    let hash = frame_hash(c.width as u16, c.height as u16, &c.rgb);
    let record = seal_one(&mut state, "a red ball", hash);
    state.append(&record).unwrap();
    let (png, _) = write_frame(
        &dir.join("out"),
        "f.png",
        &c.rgb,
        c.width,
        c.height,
        &record,
        &state.frame_signer(),
    )
    .unwrap();
    (png, record, c.rgb)
}

#[test]
fn the_png_carries_the_record_and_a_sidecar_repeats_it() {
    let dir = tempfile::tempdir().unwrap();
    let (png, record, rgb) = released(dir.path());
    let mut bytes = [0u8; RECORD_LEN];
    record.encode(&mut bytes);
    let f = read_frame(&std::fs::read(&png).unwrap()).unwrap();
    assert_eq!(f.format, "png");
    assert_eq!(f.record.as_deref(), Some(&bytes[..]));
    assert_eq!(f.record_problem, None);
    assert_eq!(f.rgb, rgb);
    assert_eq!(
        frame_hash(f.width as u16, f.height as u16, &f.rgb),
        record.body().frame_hash
    );
    assert_eq!(std::fs::read(sidecar_path(&png)).unwrap(), bytes);
    // Nothing half-written is left behind.
    let names: Vec<_> = std::fs::read_dir(dir.path().join("out"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert!(names.iter().all(|n| !n.contains("partial")), "{names:?}");
}

#[test]
fn a_reencoded_frame_loses_the_chunk_but_keeps_the_watermark() {
    let dir = tempfile::tempdir().unwrap();
    let (png, record, _) = released(dir.path());
    let img = image::open(&png).unwrap();
    let mut jpeg = Vec::new();
    JpegEncoder::new_with_quality(&mut jpeg, 75)
        .encode_image(&img)
        .unwrap();
    let f = read_frame(&jpeg).unwrap();
    assert_eq!(f.format, "jpeg");
    assert_eq!(f.record, None);
    let d = sigil_mark::detect(&f.rgb, f.width, f.height, &MarkKey::sigil_default()).unwrap();
    assert_eq!(d.payload, Some(record.body().watermark));
}

#[test]
fn damaged_files_get_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let (png, _, _) = released(dir.path());
    let bytes = std::fs::read(&png).unwrap();
    // A flipped byte inside the record chunk: the CRC catches it.
    let at = bytes.windows(4).position(|w| w == b"sgRC").unwrap() + 4 + 20;
    let mut damaged = bytes.clone();
    damaged[at] ^= 0x01;
    let f = read_frame(&damaged).unwrap();
    assert_eq!(f.record, None);
    assert!(f.record_problem.unwrap().contains("CRC"));
    // Not an image at all, and a PNG cut short.
    assert!(matches!(
        read_frame(b"hello world"),
        Err(FrameError::Decode(_))
    ));
    assert!(read_frame(&bytes[..bytes.len() / 2]).is_err());
}

#[test]
fn compose_refuses_a_buffer_of_the_wrong_size() {
    let e = compose(&[0u8; 10], 32, 32, &[0; 8], &MarkKey::sigil_default()).unwrap_err();
    assert!(e.to_string().contains("32×32"), "{e}");
}

#[test]
fn a_released_frame_is_never_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let (png, record, rgb) = released(dir.path());
    let before = std::fs::read(&png).unwrap();
    let state = DeviceState::open(&dir.path().join("state"), FIRMWARE).unwrap();
    let signer = state.frame_signer();
    let e = write_frame(
        png.parent().unwrap(),
        "f.png",
        &rgb,
        256,
        256,
        &record,
        &signer,
    )
    .unwrap_err();
    assert!(e.to_string().contains("exists"), "{e}");
    assert_eq!(std::fs::read(&png).unwrap(), before);
}
