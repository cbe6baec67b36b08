#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use sigil_gate::{Gate, RateConfig, Scratch};
use sigil_provenance::{FrameFacts, PostFilter, Record, Review};
use sigil_seal::DeviceState;

pub const FIRMWARE: [u8; 32] = [7; 32];

/// Admit `prompt` and seal a record for a frame with `frame_hash` in `state`.
pub fn seal_one(state: &mut DeviceState, prompt: &str, frame_hash: [u8; 32]) -> Record {
    let mut gate = Gate::<4, 4>::new(RateConfig::default());
    let mut scratch = Box::new(Scratch::new());
    let admitted = gate.admit(prompt, b"tester", 0, 0, &mut scratch).unwrap();
    let sealer = state.sealer();
    let facts = FrameFacts {
        time_unix: 1_700_000_000,
        boot_counter: 1,
        model_digest: [3; 32],
        seed: 42,
        steps: 4,
        guidance_milli: 2000,
        width: 256,
        height: 256,
        post_filter: PostFilter {
            verdict: sigil_gate::Verdict::Allow,
            class: None,
        },
        review: Review::NotRequired,
        watermark: sealer.watermark_for(sealer.next_seq()),
        frame_hash,
    };
    sealer
        .seal(&mut gate.book, Some(&admitted.ticket), &facts)
        .unwrap()
}
