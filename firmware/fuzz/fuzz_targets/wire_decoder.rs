//! Wire frames on arbitrary bytes: never panic; a decoded envelope re-encodes to a frame that
//! decodes to the same envelope; the stream accumulator survives any chunking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sigil_wire::{FrameAccumulator, decode_frame, encode_frame};

fuzz_target!(|data: &[u8]| {
    let mut buf = data.to_vec();
    if let Ok(env) = decode_frame(&mut buf) {
        let mut out = vec![0u8; data.len() * 2 + 16];
        let n = encode_frame(&env, &mut out).expect("a decoded envelope re-encodes");
        let mut again = out[..n].to_vec();
        let env2 = decode_frame(&mut again).expect("re-encoded frame decodes");
        assert_eq!(env, env2);
    }
    let mut acc = FrameAccumulator::<512>::new();
    let split = data.first().map_or(1, |b| usize::from(*b % 17) + 1);
    for chunk in data.chunks(split) {
        let mut rest = chunk;
        loop {
            match acc.feed(rest) {
                sigil_wire::Feed::Consumed => break,
                sigil_wire::Feed::Frame { remaining, .. } | sigil_wire::Feed::Error { remaining, .. } => {
                    if remaining.is_empty() {
                        break;
                    }
                    rest = remaining;
                }
            }
        }
    }
});
