//! Content Credentials: every released PNG carries a C2PA manifest signed by the device under
//! its chain; `verify_frame` checks it against a trusted maker CA, and a stripped, damaged,
//! swapped or foreign manifest gets a clear verdict.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{FIRMWARE, release};
use ed25519_dalek::SigningKey;
use image::codecs::jpeg::JpegEncoder;
use sigil_mark::MarkKey;
use sigil_seal::cert::new_ca;
use sigil_seal::credential::{SOURCE_TYPE, read_credentials};
use sigil_seal::provision::{MakerCa, provision};
use sigil_seal::{
    DeviceChain, DeviceState, FrameReport, LOG_FILE, Trust, VerifyInput, verify_frame,
};

struct Maker {
    key: SigningKey,
    cert: Vec<u8>,
}

fn maker(seed: u8) -> Maker {
    let key = SigningKey::from_bytes(&[seed; 32]);
    let cert = new_ca(&key, "Example Kiosks Ltd", "Example Kiosks device CA").unwrap();
    Maker { key, cert }
}

/// A provisioned device that released two frames.
struct Device {
    dir: tempfile::TempDir,
    frames: Vec<std::path::PathBuf>,
}

impl Device {
    fn log(&self) -> Vec<u8> {
        std::fs::read(self.dir.path().join("state").join(LOG_FILE)).unwrap()
    }
    fn chain(&self) -> DeviceChain {
        let text = std::fs::read_to_string(self.dir.path().join("state").join("device.chain.pem"))
            .unwrap();
        DeviceChain::from_pem(&text).unwrap()
    }
}

fn device(m: Option<&Maker>) -> Device {
    let dir = tempfile::tempdir().unwrap();
    let state_dir = dir.path().join("state");
    if let Some(m) = m {
        let ca = MakerCa {
            key: &m.key,
            cert: &m.cert,
        };
        provision(&state_dir, &ca, Some("kiosk-0042"), false).unwrap();
    }
    let mut state = DeviceState::open(&state_dir, FIRMWARE).unwrap();
    let out = dir.path().join("out");
    let frames = ["a red ball", "a green leaf"]
        .iter()
        .enumerate()
        .map(|(i, p)| release(&mut state, &out, &format!("f{i}.png"), p, 40 + 90 * i as u8).0)
        .collect();
    Device { dir, frames }
}

fn check(frame: &[u8], ca: &[u8], chain: Option<&DeviceChain>, log: Option<&[u8]>) -> FrameReport {
    verify_frame(&VerifyInput {
        frame,
        record: None,
        trust: Some(Trust::Ca(ca)),
        chain,
        log,
        mark_key: &MarkKey::sigil_default(),
        bundles: &[],
    })
    .unwrap()
}

/// Byte range of the data of the first chunk of `kind`.
fn chunk(png: &[u8], kind: &[u8; 4]) -> std::ops::Range<usize> {
    let mut at = 8;
    loop {
        let len = u32::from_be_bytes(png[at..at + 4].try_into().unwrap()) as usize;
        if &png[at + 4..at + 8] == kind {
            return at + 8..at + 8 + len;
        }
        at += 12 + len;
    }
}

fn without_chunk(png: &[u8], kind: &[u8; 4]) -> Vec<u8> {
    let data = chunk(png, kind);
    let mut out = png[..data.start - 8].to_vec();
    out.extend_from_slice(&png[data.end + 4..]);
    out
}

fn any_reason(r: &FrameReport, needle: &str) -> bool {
    r.reasons.iter().any(|x| x.contains(needle))
}

#[test]
fn a_released_frame_carries_a_manifest_that_a_trusted_maker_ca_verifies() {
    let m = maker(1);
    let d = device(Some(&m));
    let png = std::fs::read(&d.frames[0]).unwrap();
    let c = read_credentials(&png, "png", Some(&m.cert));
    assert!(c.present && c.unreadable.is_none(), "{c:?}");
    assert_eq!(c.state, Some("trusted"), "{c:?}");
    assert!(c.failures.is_empty(), "{:?}", c.failures);
    assert!(c.generated, "c2pa.created from {SOURCE_TYPE}");
    assert_eq!(c.device_chain().unwrap(), d.chain());
    // Without an anchor the manifest is intact but nobody vouches for its signer.
    assert_eq!(read_credentials(&png, "png", None).state, Some("valid"));

    let log = d.log();
    let r = check(&png, &m.cert, None, Some(&log));
    assert!(r.valid, "{:?}", r.reasons);
    let cert = r.certified.unwrap();
    assert_eq!(cert.device_name, "kiosk-0042");
    assert_eq!(cert.device_org, "Example Kiosks Ltd");
    assert_eq!(r.log_index, Some(0));
    assert_eq!(
        r.credentials.record.as_deref(),
        Some(&r.record.unwrap().to_bytes()[..])
    );
}

#[test]
fn another_maker_or_an_unprovisioned_device_is_not_trusted() {
    let m = maker(1);
    let other = maker(2);
    let d = device(Some(&m));
    let png = std::fs::read(&d.frames[0]).unwrap();
    let r = check(&png, &other.cert, None, None);
    assert!(!r.valid);
    assert!(
        any_reason(&r, "not certified by the trusted CA"),
        "{:?}",
        r.reasons
    );

    // A device never provisioned still seals every frame with a manifest, under a chain it
    // issued itself; no maker CA vouches for it.
    let u = device(None);
    let png = std::fs::read(&u.frames[0]).unwrap();
    let c = read_credentials(&png, "png", None);
    assert!(c.present && c.failures.is_empty() && c.generated, "{c:?}");
    assert!(u.chain().facts().unwrap().self_issued);
    let r = check(&png, &m.cert, None, None);
    assert!(!r.valid);
    assert!(
        any_reason(&r, "not certified by the trusted CA"),
        "{:?}",
        r.reasons
    );
}

#[test]
fn stripped_damaged_and_swapped_manifests_are_named() {
    let m = maker(1);
    let d = device(Some(&m));
    let a = std::fs::read(&d.frames[0]).unwrap();
    let b = std::fs::read(&d.frames[1]).unwrap();

    // Stripped: the PNG still has its record chunk and pixels, but no manifest.
    let stripped = without_chunk(&a, b"caBX");
    let r = check(&stripped, &m.cert, Some(&d.chain()), None);
    assert!(!r.valid);
    assert!(any_reason(&r, "no C2PA manifest"), "{:?}", r.reasons);
    assert!(r.pixels_match, "the pixels are untouched");

    // A byte of the manifest's box header: unreadable, never a panic.
    let mut damaged = a.clone();
    let at = chunk(&a, b"caBX").start + 5;
    damaged[at] ^= 0xff;
    let r = check(&damaged, &m.cert, Some(&d.chain()), None);
    assert!(!r.valid);
    assert!(
        any_reason(&r, "damaged") || any_reason(&r, "C2PA manifest check failed"),
        "{:?}",
        r.reasons
    );

    // Every single byte in the manifest's body: whatever it hits, the frame is not valid. The
    // one exception is by design: the zero run of the COSE signature's unprotected `pad`
    // header (the space reserved for the signature, which no signature covers).
    let body = chunk(&a, b"caBX");
    let padding = |at: usize| {
        let zero = |i: &usize| a[*i] == 0;
        let before = (body.start..=at).rev().take_while(zero).count();
        let after = (at..body.end).take_while(zero).count();
        before + after > 64
    };
    let mut tried = 0;
    for at in (body.start + 64..body.end).step_by(37) {
        if padding(at) {
            continue;
        }
        tried += 1;
        let mut t = a.clone();
        t[at] ^= 0x01;
        let r = check(&t, &m.cert, Some(&d.chain()), None);
        assert!(
            !r.valid,
            "a flipped bit at byte {at} of the manifest went unnoticed"
        );
    }
    assert!(tried > 40, "only {tried} bytes tried");

    // Frame B's manifest moved onto frame A: its binding and its record are B's.
    let mut swapped = a[..chunk(&a, b"caBX").start - 8].to_vec();
    let bm = chunk(&b, b"caBX");
    swapped.extend_from_slice(&b[bm.start - 8..bm.end + 4]);
    swapped.extend_from_slice(&a[chunk(&a, b"caBX").end + 4..]);
    let r = check(&swapped, &m.cert, None, None);
    assert!(!r.valid);
    assert!(
        any_reason(&r, "another record") || any_reason(&r, "C2PA manifest check failed"),
        "{:?}",
        r.reasons
    );

    // A pixel changed: the record's frame hash and the manifest's data hash both fail.
    let mut edited = a.clone();
    let idat = chunk(&a, b"IDAT");
    edited[idat.start + idat.len() / 2] ^= 0x10;
    let r = verify_frame(&VerifyInput {
        frame: &edited,
        record: Some(&std::fs::read(format!("{}.sigil-record", d.frames[0].display())).unwrap()),
        trust: Some(Trust::Ca(&m.cert)),
        chain: None,
        log: None,
        mark_key: &MarkKey::sigil_default(),
        bundles: &[],
    });
    // A flipped bit in compressed data may not even decode: an error, not a panic.
    if let Ok(r) = r {
        assert!(!r.valid);
    }
}

#[test]
fn a_jpeg_copy_is_certified_through_the_devices_chain_and_its_log() {
    let m = maker(1);
    let d = device(Some(&m));
    let img = image::open(&d.frames[1]).unwrap().to_rgb8();
    let mut jpeg = Vec::new();
    JpegEncoder::new_with_quality(&mut jpeg, 75)
        .encode_image(&img)
        .unwrap();
    let log = d.log();
    // Without the chain, a CA cannot vouch for anything: say what to pass.
    let r = check(&jpeg, &m.cert, None, Some(&log));
    assert!(!r.valid);
    assert!(any_reason(&r, "--chain"), "{:?}", r.reasons);
    let r = check(&jpeg, &m.cert, Some(&d.chain()), Some(&log));
    assert_eq!(r.log_index, Some(1), "{:?} {:?}", r.reasons, r.notes);
    assert!(r.certified.is_some());
    // The copy is not the sealed frame, so it is not valid; but it is traced.
    assert!(!r.pixels_match);
    assert!(!r.credentials.present);
}

#[test]
fn a_chain_from_another_device_is_refused() {
    let m = maker(1);
    let d1 = device(Some(&m));
    let d2 = device(Some(&m));
    let img = image::open(&d1.frames[0]).unwrap().to_rgb8();
    let mut jpeg = Vec::new();
    JpegEncoder::new_with_quality(&mut jpeg, 90)
        .encode_image(&img)
        .unwrap();
    let r = check(&jpeg, &m.cert, Some(&d2.chain()), Some(&d1.log()));
    assert!(!r.valid);
    assert!(any_reason(&r, "another device"), "{:?}", r.reasons);
}
