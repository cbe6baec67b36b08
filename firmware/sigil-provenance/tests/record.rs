//! Record v1 encoding: golden byte vectors, round trips and every decoder error path.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{device_key, sample_body};
use proptest::prelude::*;
use sigil_gate::{Tier, Verdict};
use sigil_provenance::{
    GateFacts, PostFilter, RECORD_LEN, Record, RecordBody, RecordError, Review, SIGNED_LEN,
    frame_hash, verify_record,
};

/// The encoding of `sample_body()` signed with `SigningKey::from_bytes(&[0x11; 32])`, without the
/// signature. Changing it means a new record format version.
const GOLDEN_BODY_HEX: &str = concat!(
    "53475243",                                                         // magic "SGRC"
    "0100",                                                             // version 1
    "0807060504030201",                                                 // seq
    "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1", // prev_hash
    "d04ab232742bb4ab3a1368bd4615e4e6d0224ab71a016baf8520a332c9778737", // device_key
    "00b9556900000000",                                                 // time_unix
    "2a000000",                                                         // boot_counter
    "f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1", // firmware_digest
    "b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0", // policy_digest
    "c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3", // model_digest
    "d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4", // prompt_hash
    "e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5", // user_hash
    "0df0ad0befbeadde",                                                 // seed
    "0400",                                                             // steps
    "4c1d0000",                                                         // guidance_milli
    "0002",                                                             // width
    "8001",                                                             // height
    "01030200",         // gate: verdict, category, tier, escalate
    "00ff",             // post_filter: verdict, class (none)
    "01",               // review: approved
    "5757575757575757", // watermark
    "9999999999999999999999999999999999999999999999999999999999999999", // frame_hash
);
/// The Ed25519 signature over `b"sigil/record/v1\0" ‖ GOLDEN_BODY` (Ed25519 is deterministic).
const GOLDEN_SIGNATURE_HEX: &str = concat!(
    "3204836c49447cc22a8c1184dc6394ef8274507ca21a6dc0c895126d3e1ffc54",
    "a4866b5101e9ff05a6054c019fd32a88c1e0ed6102ad75d44b2deaa229cbc907",
);
/// SHA-256 of the whole golden record: the next record's `prev_hash`.
const GOLDEN_HASH_HEX: &str = "75c12afca66ff3eacce420d31085e029e814357c01a472c468f62251bc4fc043";

#[test]
fn record_len_is_pinned() {
    assert_eq!(RECORD_LEN, 379);
    assert_eq!(SIGNED_LEN, 315);
}

#[test]
fn golden_record_v1() {
    let record = Record::sign(sample_body(), &device_key());
    let bytes = record.to_bytes();
    assert_eq!(hex::encode(&bytes[..SIGNED_LEN]), GOLDEN_BODY_HEX);
    assert_eq!(hex::encode(&bytes[SIGNED_LEN..]), GOLDEN_SIGNATURE_HEX);
    assert_eq!(hex::encode(record.hash()), GOLDEN_HASH_HEX);
    assert_eq!(
        record.device_key(),
        &device_key().verifying_key().to_bytes()
    );
    let decoded = verify_record(&bytes, &device_key().verifying_key()).unwrap();
    assert_eq!(decoded, record);
}

#[test]
fn golden_frame_hash() {
    // SHA-256(b"sigil/frame/v1\0" ‖ 2u16 LE ‖ 1u16 LE ‖ rgb)
    let h = frame_hash(2, 1, &[255, 0, 0, 0, 0, 255]);
    assert_eq!(
        hex::encode(h),
        "dfce6f9b7c268efa302bc5fb4309df0c8dd49ce27c911584d877f651ba0e6e26"
    );
    // The size is bound into the hash: the same pixels as 1×2 hash differently.
    assert_ne!(frame_hash(1, 2, &[255, 0, 0, 0, 0, 255]), h);
}

fn golden_bytes() -> [u8; RECORD_LEN] {
    Record::sign(sample_body(), &device_key()).to_bytes()
}

#[test]
fn decode_rejects_short_input() {
    let bytes = golden_bytes();
    for len in [0, 3, 5] {
        assert_eq!(
            Record::decode(&bytes[..len]),
            Err(RecordError::TooShort { len, needed: 6 })
        );
    }
    for len in [6, 100, RECORD_LEN - 1] {
        assert_eq!(
            Record::decode(&bytes[..len]),
            Err(RecordError::TooShort {
                len,
                needed: RECORD_LEN
            })
        );
    }
}

#[test]
fn decode_rejects_trailing_bytes() {
    let mut long = golden_bytes().to_vec();
    long.extend_from_slice(&[0, 0, 0]);
    assert_eq!(
        Record::decode(&long),
        Err(RecordError::TrailingBytes { count: 3 })
    );
}

#[test]
fn decode_rejects_wrong_magic() {
    let mut bytes = golden_bytes();
    bytes[..4].copy_from_slice(b"SGRX");
    assert_eq!(
        Record::decode(&bytes),
        Err(RecordError::BadMagic { found: *b"SGRX" })
    );
    // Magic is checked before length: a 4-byte foreign header is named as such.
    assert_eq!(
        Record::decode(b"\x89PNG"),
        Err(RecordError::BadMagic { found: *b"\x89PNG" })
    );
}

#[test]
fn decode_rejects_future_version_before_length() {
    let mut bytes = golden_bytes().to_vec();
    bytes[4..6].copy_from_slice(&2u16.to_le_bytes());
    bytes.truncate(100); // a v2 record may have another length: the version is what is reported
    let err = Record::decode(&bytes).unwrap_err();
    assert_eq!(err, RecordError::UnsupportedVersion { found: 2 });
    assert_eq!(
        err.to_string(),
        "record format version 2, this build reads version 1: upgrade sigil-host"
    );
    bytes[4..6].copy_from_slice(&0u16.to_le_bytes());
    assert_eq!(
        Record::decode(&bytes),
        Err(RecordError::UnsupportedVersion { found: 0 })
    );
}

#[test]
fn decode_rejects_unknown_enum_bytes() {
    // Offsets of the one-byte fields in the fixed layout.
    const GATE_VERDICT: usize = 268;
    let cases = [
        (GATE_VERDICT, 3, "gate.verdict"),
        (GATE_VERDICT + 2, 4, "gate.tier"),
        (GATE_VERDICT + 3, 2, "gate.escalate"),
        (GATE_VERDICT + 4, 0xFF, "post_filter.verdict"),
        (GATE_VERDICT + 6, 3, "review"),
    ];
    for (offset, value, field) in cases {
        let mut bytes = golden_bytes();
        bytes[offset] = value;
        assert_eq!(
            Record::decode(&bytes),
            Err(RecordError::BadEnum { field, value }),
            "{field}"
        );
    }
    // Category and class accept any byte; 0xFF is "none".
    let mut bytes = golden_bytes();
    bytes[GATE_VERDICT + 1] = 0xFF;
    assert_eq!(Record::decode(&bytes).unwrap().body().gate.category, None);
}

#[test]
fn errors_name_problem_and_fix() {
    let e = RecordError::TooShort {
        len: 10,
        needed: RECORD_LEN,
    };
    assert!(e.to_string().contains("truncated"));
    let e = RecordError::BadEnum {
        field: "review",
        value: 9,
    };
    assert!(e.to_string().contains("`review` holds 9"));
}

fn verdict() -> impl Strategy<Value = Verdict> {
    prop_oneof![
        Just(Verdict::Allow),
        Just(Verdict::Review),
        Just(Verdict::Block)
    ]
}

fn tier() -> impl Strategy<Value = Tier> {
    prop_oneof![
        Just(Tier::None),
        Just(Tier::Label),
        Just(Tier::Review),
        Just(Tier::Block)
    ]
}

fn review() -> impl Strategy<Value = Review> {
    prop_oneof![
        Just(Review::NotRequired),
        Just(Review::Approved),
        Just(Review::Rejected)
    ]
}

fn opt_byte() -> impl Strategy<Value = Option<u8>> {
    prop_oneof![Just(None), (0u8..0xFF).prop_map(Some)]
}

prop_compose! {
    fn body()(
        (seq, prev_hash, device_key, time_unix, boot_counter) in
            (any::<u64>(), any::<[u8; 32]>(), any::<[u8; 32]>(), any::<u64>(), any::<u32>()),
        (firmware_digest, policy_digest, model_digest, prompt_hash, user_hash) in
            (any::<[u8; 32]>(), any::<[u8; 32]>(), any::<[u8; 32]>(), any::<[u8; 32]>(), any::<[u8; 32]>()),
        (seed, steps, guidance_milli, width, height) in
            (any::<u64>(), any::<u16>(), any::<u32>(), any::<u16>(), any::<u16>()),
        (gv, gc, gt, ge) in (verdict(), opt_byte(), tier(), any::<bool>()),
        (pv, pc, review, watermark, frame_hash) in
            (verdict(), opt_byte(), review(), any::<[u8; 8]>(), any::<[u8; 32]>()),
    ) -> RecordBody {
        RecordBody {
            seq, prev_hash, device_key, time_unix, boot_counter, firmware_digest, policy_digest,
            model_digest, prompt_hash, user_hash, seed, steps, guidance_milli, width, height,
            gate: GateFacts { verdict: gv, category: gc, tier: gt, escalate: ge },
            post_filter: PostFilter { verdict: pv, class: pc },
            review, watermark, frame_hash,
        }
    }
}

proptest! {
    #[test]
    fn encode_decode_round_trip(body in body(), r in any::<[u8; 32]>(), s in any::<[u8; 32]>()) {
        let mut signature = [0; 64];
        signature[..32].copy_from_slice(&r);
        signature[32..].copy_from_slice(&s);
        let record = Record::from_parts(body, signature);
        let mut bytes = [0; RECORD_LEN];
        record.encode(&mut bytes);
        prop_assert_eq!(&bytes[..4], b"SGRC");
        let decoded = Record::decode(&bytes).unwrap();
        prop_assert_eq!(decoded, record);
        prop_assert_eq!(decoded.to_bytes(), bytes);
    }

    #[test]
    fn decode_is_canonical(bytes in proptest::collection::vec(any::<u8>(), RECORD_LEN)) {
        let mut bytes = bytes;
        bytes[..6].copy_from_slice(b"SGRC\x01\x00");
        // Whatever decodes re-encodes to the same bytes, so signatures are checked over the
        // bytes as received.
        if let Ok(record) = Record::decode(&bytes) {
            prop_assert_eq!(&record.to_bytes()[..], &bytes[..]);
        }
    }

    #[test]
    fn signed_records_verify(body in body()) {
        let key = device_key();
        let record = Record::sign(body, &key);
        prop_assert_eq!(verify_record(&record.to_bytes(), &key.verifying_key()).unwrap(), record);
    }
}
