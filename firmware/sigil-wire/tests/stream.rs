//! FrameAccumulator: frames split at any chunk boundary, garbage, lone delimiters, over-long
//! frames.

mod common;

use common::arb::{build, parts};
use proptest::prelude::*;
use sigil_wire::{Envelope, Feed, FrameAccumulator, Request, Response, WireError};

/// What the accumulator reported: each decoded frame re-encoded (so it outlives the buffer), or
/// the error.
type Events = Vec<Result<Vec<u8>, WireError>>;

fn feed_all<const N: usize>(acc: &mut FrameAccumulator<N>, chunks: &[&[u8]]) -> Events {
    let mut events = Vec::new();
    for chunk in chunks {
        let mut window = *chunk;
        while !window.is_empty() {
            window = match acc.feed(window) {
                Feed::Consumed => break,
                Feed::Frame {
                    envelope,
                    remaining,
                } => {
                    events.push(Ok(common::frame(&envelope)));
                    remaining
                }
                Feed::Error { error, remaining } => {
                    events.push(Err(error));
                    remaining
                }
            };
        }
    }
    events
}

fn small(id: u32) -> Vec<u8> {
    common::frame(&Envelope::request(
        id,
        Request::ReadLog {
            from_seq: 1,
            max_records: 2,
        },
    ))
}

#[test]
fn whole_stream_in_one_chunk_and_byte_by_byte() {
    let frames: Vec<Vec<u8>> = common::envelopes()
        .iter()
        .map(|(_, e)| common::frame(e))
        .collect();
    let stream = frames.concat();
    let expected: Events = frames.iter().cloned().map(Ok).collect();

    let mut acc = FrameAccumulator::<512>::new();
    assert_eq!(feed_all(&mut acc, &[&stream]), expected);

    let bytes: Vec<&[u8]> = stream.chunks(1).collect();
    let mut acc = FrameAccumulator::<512>::new();
    assert_eq!(feed_all(&mut acc, &bytes), expected);
    assert_eq!(acc.pending(), 0);
}

#[test]
fn lone_delimiters_are_skipped() {
    let mut acc = FrameAccumulator::<64>::new();
    assert_eq!(feed_all(&mut acc, &[&[0, 0, 0]]), vec![]);
    let mut stream = vec![0, 0];
    stream.extend(small(1));
    stream.extend([0, 0]);
    assert_eq!(feed_all(&mut acc, &[&stream]), vec![Ok(small(1))]);
}

#[test]
fn delimited_garbage_costs_one_error_and_nothing_else() {
    let mut stream = b"\xff\x13garbage".to_vec();
    stream.push(0);
    stream.extend(small(1));
    stream.extend(small(2));
    let mut acc = FrameAccumulator::<64>::new();
    let events = feed_all(&mut acc, &[&stream]);
    assert_eq!(events.len(), 3);
    assert!(events[0].is_err());
    assert_eq!(events[1..], [Ok(small(1)), Ok(small(2))]);
}

#[test]
fn undelimited_garbage_spoils_only_the_next_frame() {
    let mut stream = small(1);
    stream.extend(b"line noise");
    stream.extend(small(2));
    stream.extend(small(3));
    let mut acc = FrameAccumulator::<64>::new();
    let events = feed_all(&mut acc, &[&stream]);
    assert_eq!(events.len(), 3);
    assert_eq!(events[0], Ok(small(1)));
    assert!(events[1].is_err());
    assert_eq!(events[2], Ok(small(3)));
}

#[test]
fn overlong_frame_is_dropped_and_reported_once() {
    let records = [0x42u8; 200];
    let big = common::frame(&Envelope::response(
        9,
        Response::LogChunk {
            first_seq: 0,
            records: &records,
            more: false,
        },
    ));
    let mut stream = small(1);
    stream.extend(&big);
    stream.extend(small(2));
    let expected = vec![
        Ok(small(1)),
        Err(WireError::Overflow { capacity: 64 }),
        Ok(small(2)),
    ];

    let mut acc = FrameAccumulator::<64>::new();
    assert_eq!(feed_all(&mut acc, &[&stream]), expected);

    // Same stream in 7-byte chunks: still one report, and recovery.
    let chunks: Vec<&[u8]> = stream.chunks(7).collect();
    let mut acc = FrameAccumulator::<64>::new();
    assert_eq!(feed_all(&mut acc, &chunks), expected);
}

#[test]
fn frame_of_exactly_capacity_fits() {
    let frame = small(1);
    const N: usize = 13;
    assert_eq!(frame.len(), N + 1, "fixture size changed; adjust N");
    assert_eq!(FrameAccumulator::<N>::MAX_FRAME, frame.len());
    let mut acc = FrameAccumulator::<N>::new();
    assert_eq!(feed_all(&mut acc, &[&frame]), vec![Ok(frame.clone())]);
    let mut tight = FrameAccumulator::<{ N - 1 }>::new();
    assert_eq!(
        feed_all(&mut tight, &[&frame]),
        vec![Err(WireError::Overflow { capacity: N - 1 })]
    );
}

#[test]
fn reset_forgets_a_partial_frame() {
    let frame = small(1);
    let mut acc = FrameAccumulator::<64>::default();
    assert!(matches!(acc.feed(&frame[..5]), Feed::Consumed));
    assert_eq!(acc.pending(), 5);
    acc.reset();
    assert_eq!(acc.pending(), 0);
    assert_eq!(feed_all(&mut acc, &[&frame]), vec![Ok(frame)]);
}

#[test]
fn feed_returns_the_rest_after_each_frame() {
    let mut stream = small(1);
    stream.extend(small(2));
    let mut acc = FrameAccumulator::<64>::new();
    match acc.feed(&stream) {
        Feed::Frame {
            envelope,
            remaining,
        } => {
            assert_eq!(envelope.id, 1);
            assert_eq!(remaining, &small(2)[..]);
        }
        other => panic!("expected a frame, got {other:?}"),
    }
}

/// Split `stream` at the given cut points (taken modulo its length).
fn split<'s>(stream: &'s [u8], cuts: &[usize]) -> Vec<&'s [u8]> {
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (stream.len() + 1)).collect();
    points.sort_unstable();
    let mut chunks = Vec::new();
    let mut start = 0;
    for p in points.into_iter().chain([stream.len()]) {
        chunks.push(&stream[start..p]);
        start = p;
    }
    chunks
}

proptest! {
    #[test]
    fn frames_survive_arbitrary_chunking(
        msgs in proptest::collection::vec(parts(), 1..6),
        cuts in proptest::collection::vec(any::<usize>(), 0..40),
    ) {
        let frames: Vec<Vec<u8>> = msgs.iter().map(|p| common::frame(&build(p))).collect();
        let stream = frames.concat();
        let mut acc = FrameAccumulator::<2048>::new();
        let events = feed_all(&mut acc, &split(&stream, &cuts));
        prop_assert_eq!(events, frames.into_iter().map(Ok).collect::<Events>());
    }

    #[test]
    fn sync_after_any_garbage(
        garbage in proptest::collection::vec(any::<u8>(), 0..300),
        msgs in proptest::collection::vec(parts(), 1..4),
        cuts in proptest::collection::vec(any::<usize>(), 0..20),
    ) {
        let frames: Vec<Vec<u8>> = msgs.iter().map(|p| common::frame(&build(p))).collect();
        let mut stream = garbage;
        stream.push(0);
        stream.extend(frames.concat());
        let mut acc = FrameAccumulator::<1024>::new();
        let events = feed_all(&mut acc, &split(&stream, &cuts));
        let good: Events = events.into_iter().filter(|e| e.is_ok()).collect();
        // Garbage may (with odds of 2^-32) pass as a frame; the real frames always come last.
        prop_assert!(good.len() >= frames.len());
        prop_assert_eq!(&good[good.len() - frames.len()..], &frames.into_iter().map(Ok).collect::<Events>()[..]);
    }
}
