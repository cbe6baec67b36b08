//! Bundles: built, opened, and refused when damaged, truncated, foreign or malformed.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ed25519_dalek::SigningKey;
use proptest::prelude::*;
use sigil_bundle::{BundleError, Header, MAGIC, Meta, build, open};

fn maker() -> SigningKey {
    SigningKey::from_bytes(&[5; 32])
}

fn meta(chunk: u32) -> Meta {
    Meta {
        device_class: "kiosk-test".into(),
        version: 3,
        policy_digest: [9; 32],
        chunk_size: chunk,
        created_unix: 1_800_000_000,
    }
}

fn parts() -> (Vec<u8>, Vec<u8>) {
    let fw: Vec<u8> = (0..10_000u32).map(|i| (i * 7) as u8).collect();
    let model: Vec<u8> = (0..25_001u32).map(|i| (i * 13 + 1) as u8).collect();
    (fw, model)
}

#[test]
fn a_bundle_opens_under_its_makers_key_and_gives_back_both_parts() {
    let (fw, model) = parts();
    let b = build(&fw, &model, &meta(4096), &maker()).unwrap();
    assert_eq!(&b[..8], &MAGIC);
    let v = open(&b, &maker().verifying_key()).unwrap();
    assert_eq!(v.firmware, &fw[..]);
    assert_eq!(v.model, &model[..]);
    assert_eq!(v.manifest.version, 3);
    assert_eq!(v.manifest.device_class, "kiosk-test");
    assert_eq!(
        v.manifest.chunks.len(),
        (fw.len() + model.len()).div_ceil(4096)
    );
    assert_eq!(
        v.manifest.firmware_digest().unwrap(),
        sigil_bundle::sha256(&fw)
    );
    assert_eq!(v.manifest.policy().unwrap(), [9; 32]);
    // A chunk straddling the firmware/model boundary checks like any other.
    let h = Header::parse(&b, &maker().verifying_key()).unwrap();
    let payload = &b[h.len..];
    for i in 0..h.manifest.chunks.len() {
        let r = h.manifest.chunk_range(i).unwrap();
        h.manifest
            .check_chunk(i, &payload[r.start as usize..r.end as usize])
            .unwrap();
    }
    assert!(h.manifest.chunk_range(h.manifest.chunks.len()).is_none());
}

#[test]
fn a_foreign_key_a_truncation_and_another_version_are_refused() {
    let (fw, model) = parts();
    let b = build(&fw, &model, &meta(4096), &maker()).unwrap();
    let other = SigningKey::from_bytes(&[6; 32]).verifying_key();
    assert_eq!(open(&b, &other).unwrap_err(), BundleError::Signature);
    let e = open(&b[..b.len() - 1], &maker().verifying_key()).unwrap_err();
    assert!(
        matches!(
            e,
            BundleError::Truncated {
                what: "payload",
                ..
            }
        ),
        "{e}"
    );
    let e = open(&b[..40], &maker().verifying_key()).unwrap_err();
    assert!(
        matches!(e, BundleError::Truncated { what: "header", .. }),
        "{e}"
    );
    let mut v2 = b.clone();
    v2[8] = 2;
    assert_eq!(
        open(&v2, &maker().verifying_key()).unwrap_err(),
        BundleError::Version {
            found: 2,
            supported: 1
        }
    );
    assert_eq!(
        open(b"PNG not a bundle at all", &maker().verifying_key()).unwrap_err(),
        BundleError::BadMagic
    );
    let e = build(
        &fw,
        &model,
        &Meta {
            device_class: " ".into(),
            ..meta(4096)
        },
        &maker(),
    );
    assert!(e.is_err());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    /// Any single flipped bit anywhere in the file is refused.
    #[test]
    fn any_flipped_bit_is_refused(at in 0usize..36_000, bit in 0u8..8) {
        let (fw, model) = parts();
        let b = build(&fw, &model, &meta(4096), &maker()).unwrap();
        let at = at % b.len();
        let mut t = b.clone();
        t[at] ^= 1 << bit;
        prop_assert!(open(&t, &maker().verifying_key()).is_err());
    }
}
