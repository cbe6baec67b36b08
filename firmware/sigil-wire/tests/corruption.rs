//! Damaged, foreign, future and malformed frames are refused with the right error, never
//! accepted as a different message.

mod common;

use common::arb::{build, parts};
use proptest::prelude::*;
use sigil_wire::{
    Envelope, MAGIC, Request, Response, WIRE_VERSION, WireError, decode_frame, encode_frame,
};

fn decode(mut bytes: Vec<u8>) -> Result<String, WireError> {
    decode_frame(&mut bytes).map(|e| format!("{e:?}"))
}

#[test]
fn every_single_bit_flip_is_rejected() {
    for (name, envelope) in common::envelopes() {
        let framed = common::frame(&envelope);
        for byte in 0..framed.len() {
            for bit in 0..8 {
                let mut damaged = framed.clone();
                damaged[byte] ^= 1 << bit;
                let result = decode_frame(&mut damaged);
                assert!(
                    result.is_err(),
                    "{name}: flip of byte {byte} bit {bit} accepted: {result:?}"
                );
            }
        }
    }
}

#[test]
fn truncated_frames_are_rejected() {
    for (name, envelope) in common::envelopes() {
        let framed = common::frame(&envelope);
        // `framed[..len - 1]` is the whole frame minus its delimiter: every shorter cut loses data.
        for cut in 0..framed.len() - 1 {
            // Cut off, delimiter lost with it.
            assert_eq!(
                decode(framed[..cut].to_vec()),
                Err(WireError::Unterminated),
                "{name} {cut}"
            );
            // Cut off, then a delimiter (what a receiver sees after a dropped tail).
            let mut short = framed[..cut].to_vec();
            short.push(0);
            assert!(
                decode(short).is_err(),
                "{name}: truncated to {cut} accepted"
            );
        }
    }
}

#[test]
fn empty_frame_is_too_short() {
    assert_eq!(decode(vec![0]), Err(WireError::TooShort { len: 0 }));
    assert_eq!(decode(vec![]), Err(WireError::Unterminated));
    assert!(matches!(
        decode(common::frame_raw(&[])),
        Err(WireError::TooShort { .. })
    ));
}

#[test]
fn bytes_after_the_delimiter_are_refused() {
    let mut two = common::frame(&Envelope::request(1, Request::Info));
    let first_len = two.len();
    two.extend(common::frame(&Envelope::request(2, Request::Bye)));
    assert_eq!(
        decode(two),
        Err(WireError::UnexpectedDelimiter { at: first_len - 1 })
    );
    let mut leading = vec![0];
    leading.extend(common::frame(&Envelope::request(1, Request::Info)));
    assert_eq!(
        decode(leading),
        Err(WireError::UnexpectedDelimiter { at: 0 })
    );
}

#[test]
fn bad_cobs_is_refused() {
    // Code byte 0x05 promises four data bytes but only two follow.
    assert_eq!(decode(vec![0x05, 0x53, 0x57, 0x00]), Err(WireError::Cobs));
}

#[test]
fn bad_magic_is_refused_before_anything_else() {
    let mut payload = common::postcard_bytes(&Envelope::request(1, Request::Info));
    payload[..2].copy_from_slice(b"XY");
    assert_eq!(
        decode(common::frame_raw(&payload)),
        Err(WireError::BadMagic { found: *b"XY" })
    );
    // Foreign bytes that merely pass the CRC.
    assert_eq!(
        decode(common::frame_raw(b"{\"json\":1}")),
        Err(WireError::BadMagic { found: *b"{\"" })
    );
}

#[test]
fn future_version_is_refused_with_both_numbers() {
    let future = Envelope {
        version: WIRE_VERSION + 1,
        ..Envelope::request(5, Request::Info)
    };
    let err = decode(common::frame(&future)).unwrap_err();
    assert_eq!(
        err,
        WireError::VersionMismatch {
            local: 1,
            remote: 2
        }
    );
    let text = err.to_string();
    assert!(
        text.contains("wire v1") && text.contains("wire v2"),
        "{text}"
    );
    assert!(text.contains("update the device firmware"), "{text}");
}

#[test]
fn future_version_body_is_never_parsed() {
    // A v2 body this build cannot parse at all still reports the version, not a parse error.
    let mut payload = vec![MAGIC[0], MAGIC[1], 2, 9, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF];
    assert_eq!(
        decode(common::frame_raw(&payload)),
        Err(WireError::VersionMismatch {
            local: 1,
            remote: 2
        })
    );
    // Version 300 (a two-byte varint) too.
    payload.splice(2..3, [0xAC, 0x02]);
    assert_eq!(
        decode(common::frame_raw(&payload)),
        Err(WireError::VersionMismatch {
            local: 1,
            remote: 300
        })
    );
}

#[test]
fn trailing_bytes_inside_the_frame_are_refused() {
    let mut payload = common::postcard_bytes(&Envelope::response(
        3,
        Response::RateLimited { retry_after_ms: 9 },
    ));
    payload.extend([0xEE, 0x01]);
    assert_eq!(
        decode(common::frame_raw(&payload)),
        Err(WireError::TrailingBytes { count: 2 })
    );
}

#[test]
fn appended_variants_are_unknown_not_misparsed() {
    // The next request and response a future build might append.
    let next = |body: u8, count: usize| [MAGIC[0], MAGIC[1], 1, 4, body, count as u8];
    for appended in [
        next(0, common::requests().len()),
        next(1, common::responses().len()),
    ] {
        assert_eq!(
            decode(common::frame_raw(&appended)),
            Err(WireError::UnknownVariant)
        );
    }
    // Body index 2: neither request nor response.
    let next_body = [MAGIC[0], MAGIC[1], 1, 4, 2];
    assert_eq!(
        decode(common::frame_raw(&next_body)),
        Err(WireError::UnknownVariant)
    );
    // ErrorCode index 10.
    let next_code = [MAGIC[0], MAGIC[1], 1, 4, 1, 7, 10, 0];
    assert_eq!(
        decode(common::frame_raw(&next_code)),
        Err(WireError::UnknownVariant)
    );
}

#[test]
fn malformed_bodies_are_refused() {
    // Check { prompt: invalid UTF-8 }.
    let bad_utf8 = [MAGIC[0], MAGIC[1], 1, 4, 0, 2, 2, 0xC3, 0x28, 0];
    assert!(matches!(
        decode(common::frame_raw(&bad_utf8)),
        Err(WireError::Malformed { .. })
    ));
    // LogChunk { more: 2 }.
    let bad_bool = [MAGIC[0], MAGIC[1], 1, 4, 1, 6, 1, 0, 2];
    assert!(matches!(
        decode(common::frame_raw(&bad_bool)),
        Err(WireError::Malformed { .. })
    ));
    // Check whose prompt length runs past the end.
    let short = [MAGIC[0], MAGIC[1], 1, 4, 0, 2, 40, b'a'];
    assert!(matches!(
        decode(common::frame_raw(&short)),
        Err(WireError::Malformed { .. })
    ));
}

#[test]
fn every_error_explains_itself() {
    let all = [
        WireError::BufferTooSmall { capacity: 8 },
        WireError::Unterminated,
        WireError::UnexpectedDelimiter { at: 3 },
        WireError::Cobs,
        WireError::TooShort { len: 2 },
        WireError::CrcMismatch {
            computed: 1,
            carried: 2,
        },
        WireError::BadMagic { found: *b"XY" },
        WireError::VersionMismatch {
            local: 1,
            remote: 2,
        },
        WireError::UnknownVariant,
        WireError::Malformed { what: "bad bool" },
        WireError::TrailingBytes { count: 1 },
        WireError::Overflow { capacity: 64 },
    ];
    for e in all {
        let text = e.to_string();
        // Problem, then fix, separated by a colon or semicolon.
        assert!(text.contains(':') || text.contains(';'), "{text}");
        let _: &dyn core::error::Error = &e;
    }
}

proptest! {
    #[test]
    fn a_random_bit_flip_in_a_random_message_is_rejected(
        p in parts(),
        pos in any::<prop::sample::Index>(),
        bit in 0u8..8,
    ) {
        let envelope = build(&p);
        let mut framed = common::frame(&envelope);
        let at = pos.index(framed.len());
        framed[at] ^= 1 << bit;
        let result = decode_frame(&mut framed);
        prop_assert!(result.is_err(), "flip at {} accepted: {:?}", at, result);
    }

    #[test]
    fn random_bytes_never_panic(mut bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = decode_frame(&mut bytes);
    }

    #[test]
    fn encode_into_random_buffers_never_panics(p in parts(), cap in 0usize..1000) {
        let mut out = vec![0u8; cap];
        match encode_frame(&build(&p), &mut out) {
            Ok(n) => prop_assert!(n <= cap),
            Err(e) => prop_assert_eq!(e, WireError::BufferTooSmall { capacity: cap }),
        }
    }
}
