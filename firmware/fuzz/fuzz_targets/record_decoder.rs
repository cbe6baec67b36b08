//! Record v1 decoding and verification on arbitrary bytes: never panic; whatever decodes
//! re-encodes to the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sigil_provenance::{Record, SigningKey, verify_record};

fuzz_target!(|data: &[u8]| {
    let key = SigningKey::from_bytes(&[7; 32]).verifying_key();
    let _ = verify_record(data, &key);
    if let Ok(r) = Record::decode(data) {
        assert_eq!(&r.to_bytes()[..], data, "decode/encode not inverse");
    }
});
