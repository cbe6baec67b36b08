//! The one verification routine: used by the device (on resume), the host tools and the tests.

use ed25519_dalek::{Signature, VerifyingKey};

use crate::error::VerifyError;
use crate::record::{RECORD_LEN, Record, signing_message};

/// Decode `bytes` as a Record v1 and verify it against the trusted device key.
///
/// Checks, in order: the record decodes ([`VerifyError::Undecodable`]), its `device_key` is
/// `trusted` ([`VerifyError::ForeignKey`]), and its signature verifies strictly
/// (`verify_strict`: canonical S, no small-order points) over
/// `SIGNATURE_DOMAIN ‖ encoding[..SIGNED_LEN]` ([`VerifyError::BadSignature`]).
pub fn verify_record(bytes: &[u8], trusted: &VerifyingKey) -> Result<Record, VerifyError> {
    let record = Record::decode(bytes)?;
    verify_decoded(&record, trusted)?;
    Ok(record)
}

/// Verify an already decoded record (the signature over its canonical encoding).
pub fn verify_decoded(record: &Record, trusted: &VerifyingKey) -> Result<(), VerifyError> {
    if record.device_key() != trusted.as_bytes() {
        return Err(VerifyError::ForeignKey {
            found: *record.device_key(),
        });
    }
    let encoded: [u8; RECORD_LEN] = record.to_bytes();
    let signature = Signature::from_bytes(record.signature());
    trusted
        .verify_strict(&signing_message(&encoded), &signature)
        .map_err(|_| VerifyError::BadSignature)
}
