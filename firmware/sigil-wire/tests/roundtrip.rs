//! Every message survives encode_frame → decode_frame unchanged, and the encoder agrees byte for
//! byte with an independent reference framer (postcard + crc + cobs).

mod common;

use common::arb::{build, parts};
use proptest::prelude::*;
use sigil_wire::{
    Body, Envelope, MAGIC, Request, Response, WIRE_VERSION, WireError, decode_frame, encode_frame,
    max_encoded_len,
};

#[test]
fn every_fixed_message_round_trips() {
    for (name, envelope) in common::envelopes() {
        let mut framed = common::frame(&envelope);
        assert_eq!(
            framed.last(),
            Some(&0),
            "{name}: frame ends with the delimiter"
        );
        assert_eq!(
            framed.iter().filter(|&&b| b == 0).count(),
            1,
            "{name}: one delimiter"
        );
        assert_eq!(decode_frame(&mut framed), Ok(envelope), "{name}");
    }
}

#[test]
fn constructors_fill_the_header() {
    let e = Envelope::request(9, Request::Bye);
    assert_eq!((e.magic, e.version, e.id), (MAGIC, WIRE_VERSION, 9));
    assert_eq!(e.body, Body::Request(Request::Bye));
    let r = Envelope::response(9, Response::RateLimited { retry_after_ms: 1 });
    assert_eq!(
        r,
        Envelope::new(
            9,
            Body::Response(Response::RateLimited { retry_after_ms: 1 })
        )
    );
    assert_eq!(MAGIC, *b"SW");
}

/// Long nonzero runs cross COBS's 254-byte block boundary at every alignment, including a frame
/// ending exactly on one; the encoder must stay canonical (identical to `cobs::encode`).
#[test]
fn block_boundaries_match_reference_and_round_trip() {
    for len in 0..1100 {
        for fill in [0x5Au8, 0x00] {
            let records: Vec<u8> = (0..len)
                .map(|i| if i % 97 == 96 { fill } else { 0xA5 })
                .collect();
            let envelope = Envelope::response(
                7,
                Response::LogChunk {
                    first_seq: 1,
                    records: &records,
                    more: false,
                },
            );
            let mut framed = common::frame(&envelope);
            assert_eq!(framed, common::reference_frame(&envelope), "len {len}");
            assert!(framed.len() <= max_encoded_len(common::postcard_bytes(&envelope).len()));
            assert_eq!(decode_frame(&mut framed), Ok(envelope), "len {len}");
        }
    }
}

#[test]
fn exact_buffer_suffices_and_one_less_is_too_small() {
    for (name, envelope) in common::envelopes() {
        let needed = common::frame(&envelope).len();
        let mut out = vec![0u8; needed];
        assert_eq!(encode_frame(&envelope, &mut out), Ok(needed), "{name}");
        for short in 0..needed {
            let mut out = vec![0u8; short];
            assert_eq!(
                encode_frame(&envelope, &mut out),
                Err(WireError::BufferTooSmall { capacity: short }),
                "{name} into {short} bytes"
            );
        }
    }
}

proptest! {
    #[test]
    fn arbitrary_messages_round_trip(p in parts()) {
        let envelope = build(&p);
        let mut framed = common::frame(&envelope);
        prop_assert_eq!(&framed, &common::reference_frame(&envelope));
        prop_assert!(framed.len() <= max_encoded_len(common::postcard_bytes(&envelope).len()));
        prop_assert_eq!(decode_frame(&mut framed), Ok(envelope));
    }

    #[test]
    fn arbitrary_ids_survive_the_header(id in any::<u32>(), p in parts()) {
        let envelope = Envelope { id, ..build(&p) };
        let mut framed = common::frame(&envelope);
        prop_assert_eq!(decode_frame(&mut framed).map(|e| e.id), Ok(id));
    }
}
