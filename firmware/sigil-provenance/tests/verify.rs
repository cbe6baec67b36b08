//! verify_record: every single-bit flip is refused, foreign keys are named, forgeries fail.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{device_key, other_key, sample_body};
use std::sync::LazyLock;

use ed25519_dalek::Signer;
use proptest::prelude::*;
use sigil_provenance::{
    RECORD_LEN, Record, RecordError, SIGNATURE_DOMAIN, SIGNED_LEN, VerifyError, verify_record,
};

#[test]
fn genuine_record_verifies() {
    let record = Record::sign(sample_body(), &device_key());
    assert_eq!(
        verify_record(&record.to_bytes(), &device_key().verifying_key()),
        Ok(record)
    );
}

static GENUINE: LazyLock<[u8; RECORD_LEN]> =
    LazyLock::new(|| Record::sign(sample_body(), &device_key()).to_bytes());

/// Flip one bit; assert the refusal is the one that bit's position calls for.
fn assert_flip_refused(bytes: &[u8; RECORD_LEN], bit: usize) {
    let trusted = device_key().verifying_key();
    {
        let mut flipped = *bytes;
        flipped[bit / 8] ^= 1 << (bit % 8);
        let err = verify_record(&flipped, &trusted).unwrap_err();
        let byte = bit / 8;
        match err {
            VerifyError::BadSignature => {}
            VerifyError::ForeignKey { .. } => assert!((46..78).contains(&byte), "byte {byte}"),
            VerifyError::Undecodable(RecordError::BadMagic { .. }) => assert!(byte < 4),
            VerifyError::Undecodable(RecordError::UnsupportedVersion { .. }) => {
                assert!((4..6).contains(&byte))
            }
            VerifyError::Undecodable(RecordError::BadEnum { .. }) => {
                assert!((268..275).contains(&byte))
            }
            other => panic!("bit {bit}: unexpected {other:?}"),
        }
        // A flip in the signed fields that still decodes is caught by the signature.
        if byte >= SIGNED_LEN {
            assert_eq!(err, VerifyError::BadSignature, "bit {bit}");
        }
    }
}

#[test]
fn a_flipped_bit_in_every_byte_is_refused() {
    // Ed25519 verification is slow in debug builds: one bit per byte (cycling through the
    // bit positions) here, arbitrary bits in the property test below.
    for byte in 0..RECORD_LEN {
        assert_flip_refused(&GENUINE, byte * 8 + byte % 8);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn any_flipped_bit_is_refused(bit in 0..RECORD_LEN * 8) {
        assert_flip_refused(&GENUINE, bit);
    }
}

#[test]
fn foreign_key_is_named() {
    let record = Record::sign(sample_body(), &other_key());
    let err = verify_record(&record.to_bytes(), &device_key().verifying_key()).unwrap_err();
    assert_eq!(
        err,
        VerifyError::ForeignKey {
            found: other_key().verifying_key().to_bytes()
        }
    );
}

#[test]
fn record_claiming_our_key_but_signed_by_another_is_bad_signature() {
    let genuine = Record::sign(sample_body(), &device_key());
    let forged_sig = other_key().sign(&genuine.signing_message()).to_bytes();
    let forged = Record::from_parts(*genuine.body(), forged_sig);
    let err = verify_record(&forged.to_bytes(), &device_key().verifying_key()).unwrap_err();
    assert_eq!(err, VerifyError::BadSignature);
}

#[test]
fn signature_covers_domain_separator() {
    let genuine = Record::sign(sample_body(), &device_key());
    let bytes = genuine.to_bytes();
    // A signature over the bare bytes (no domain) must not verify.
    let bare = device_key().sign(&bytes[..SIGNED_LEN]).to_bytes();
    let forged = Record::from_parts(*genuine.body(), bare);
    assert_eq!(
        verify_record(&forged.to_bytes(), &device_key().verifying_key()),
        Err(VerifyError::BadSignature)
    );
    assert_eq!(
        &genuine.signing_message()[..SIGNATURE_DOMAIN.len()],
        SIGNATURE_DOMAIN
    );
}

#[test]
fn undecodable_bytes_are_reported_as_such() {
    let err = verify_record(b"SGRC", &device_key().verifying_key()).unwrap_err();
    assert_eq!(
        err,
        VerifyError::Undecodable(RecordError::TooShort { len: 4, needed: 6 })
    );
}
