//! Golden byte vectors: the exact framed bytes of one fixed message per variant.
//!
//! If one of these fails, the wire format changed. Appending a variant only adds a vector; any
//! other change to an existing vector is incompatible and needs a WIRE_VERSION bump (and new
//! vectors under the new version).

mod common;

use sigil_wire::{ErrorCode, Response, decode_frame};

const GOLDEN: &[(&str, &str)] = &[
    ("request/hello", "06535701820201080180088259eb0d00"),
    ("request/info", "0653570182020601e3a7699000"),
    (
        "request/check",
        "06535701820229021e612072656420666f7820696e20736e6f772c20c3b66b6f6c6f6769736368086b696f73\
         6b2d3105edfd756800",
    ),
    (
        "request/admit",
        "06535701820229031e612072656420666f7820696e20736e6f772c20c3b66b6f6c6f6769736368086b696f73\
         6b2d310bfbd095ffbc3136aee80300",
    ),
    (
        "request/seal",
        "065357018202130407f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff660102030405060708090a0b0c0d0e0f101112\
         131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f0101030280f2d6ca060c4041424344\
         45464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5feffdb6f50d04dc0b80048004080201534947\
         494c270102808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9fa7c08d3400",
    ),
    ("request/read_log", "06535701820208052a106260ed0900"),
    ("request/bye", "065357018202060640320d0e00"),
    ("request/get_record", "06535701820207072ab85b706600"),
    (
        "request/update_begin",
        "0653570182020408a8460307a5025a0107ff01c91ff18d00",
    ),
    (
        "request/update_chunk",
        "06535701820205090707a5025a0107ff01039a12b800",
    ),
    ("request/update_commit", "065357018202060a6b7ebb0700"),
    ("request/head", "065357018202060bfd4ebc7000"),
    (
        "request/sign_credential",
        "065357018202040c07a5025a0107ff018061156c00",
    ),
    (
        "request/admit_read",
        "065357018202360d1e612072656420666f7820696e20736e6f772c20c3b66b6f6c6f67697363680c7761746572\
         20706973746f6c086b696f736b2d310bfbd095ffbc31ea39471d00",
    ),
    ("response/hello", "07535701ac020108018010a5aa65bc00"),
    (
        "response/info",
        "6c535701ac0201011112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f302223242526\
         2728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f4041e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1\
         f2f3f4f5f6f7f8f9fafbfcfdfeff2143333a00",
    ),
    (
        "response/decision",
        "1d535701ac0201020201010301f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff140102030405060708090a0b0c0d0e\
         0f5331fdb200",
    ),
    (
        "response/admitted",
        "19535701ac02010307f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff380102030405060708090a0b0c0d0e0f101112\
         131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f0101030252fe073b00",
    ),
    ("response/rate_limited", "0e535701ac020104dc0ba186b64500"),
    (
        "response/sealed",
        "0a535701ac02010507a5025a0107ff0103b474de00",
    ),
    (
        "response/log_chunk",
        "0b535701ac0201062a07a5025a0108ff0101aa81b58800",
    ),
    (
        "response/error",
        "21535701ac02010702137469636b657420616c7265616479207573656433b7b05c00",
    ),
    (
        "response/record",
        "0a535701ac02010807a5025a0107ff0154533b2f00",
    ),
    (
        "response/update_progress",
        "0f535701ac020109038005aad534af00",
    ),
    ("response/update_staged", "0e535701ac02010a0107d25c087200"),
    (
        "response/head",
        "2d535701ac02010b2a606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f503ace2400",
    ),
    (
        "response/signature",
        "0a535701ac02010c07a5025a0107ff015802d77200",
    ),
    ("response/limited", "0f535701ac02010d01dc0bcca964d200"),
];

/// Exhaustive on purpose: a new response variant fails to compile here until it gets a vector.
fn response_name(r: &Response<'_>) -> &'static str {
    match r {
        Response::Hello { .. } => "hello",
        Response::Info { .. } => "info",
        Response::Decision(_) => "decision",
        Response::Admitted(_) => "admitted",
        Response::RateLimited { .. } => "rate_limited",
        Response::Sealed { .. } => "sealed",
        Response::LogChunk { .. } => "log_chunk",
        Response::Error { .. } => "error",
        Response::Record { .. } => "record",
        Response::UpdateProgress { .. } => "update_progress",
        Response::UpdateStaged { .. } => "update_staged",
        Response::Head { .. } => "head",
        Response::Signature { .. } => "signature",
        Response::Limited(_) => "limited",
    }
}

#[test]
fn every_variant_has_a_golden_vector() {
    let envelopes = common::envelopes();
    assert_eq!(envelopes.len(), GOLDEN.len());
    for ((name, _), (golden_name, _)) in envelopes.iter().zip(GOLDEN) {
        assert_eq!(name, golden_name);
    }
    for (name, r) in common::requests() {
        assert_eq!(name, r.name());
    }
    for (name, r) in common::responses() {
        assert_eq!(name, response_name(&r));
    }
}

#[test]
fn encoding_matches_golden_bytes() {
    for ((name, envelope), (_, golden)) in common::envelopes().iter().zip(GOLDEN) {
        let framed = common::frame(envelope);
        assert_eq!(hex::encode(&framed), *golden, "{name}: wire format changed");
    }
}

#[test]
fn golden_bytes_decode_to_the_fixed_messages() {
    for ((name, envelope), (_, golden)) in common::envelopes().iter().zip(GOLDEN) {
        let mut bytes = hex::decode(golden).unwrap();
        assert_eq!(decode_frame(&mut bytes).as_ref(), Ok(envelope), "{name}");
    }
}

#[test]
fn golden_bytes_match_the_reference_framer() {
    for ((name, envelope), (_, golden)) in common::envelopes().iter().zip(GOLDEN) {
        assert_eq!(
            hex::encode(common::reference_frame(envelope)),
            *golden,
            "{name}"
        );
    }
}

#[test]
fn error_codes_keep_their_bytes() {
    let names = [
        "bad_request",
        "prompt_rejected",
        "ticket_refused",
        "busy",
        "internal",
        "unsupported",
        "version_mismatch",
        "frame_too_large",
        "update_refused",
        "not_found",
    ];
    assert_eq!(ErrorCode::ALL.len(), names.len());
    for (i, (code, name)) in ErrorCode::ALL.iter().zip(names).enumerate() {
        let byte = u8::try_from(i).unwrap();
        assert_eq!(code.as_u8(), byte, "{name}");
        assert_eq!(code.as_str(), name);
        assert_eq!(ErrorCode::from_u8(byte), Some(*code));
        let mut buf = [0u8; 4];
        assert_eq!(
            postcard::to_slice(code, &mut buf).unwrap(),
            &[byte],
            "{name}"
        );
    }
    assert_eq!(ErrorCode::from_u8(u8::try_from(names.len()).unwrap()), None);
}
