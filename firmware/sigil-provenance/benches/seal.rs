//! Provenance costs per frame: `cargo bench -p sigil-provenance` (seal = redeem + sign,
//! verify = decode + strict Ed25519 verify, frame hash of a 512×512 RGB frame).

#![allow(clippy::unwrap_used, clippy::expect_used)] // benchmarks fail by panicking

use criterion::{Criterion, criterion_group, criterion_main};
use sigil_gate::{Decision, TicketBook, Tier, Verdict};
use sigil_provenance::{
    FrameFacts, PostFilter, Review, Sealer, SigningKey, frame_hash, verify_record,
};
use std::hint::black_box;

fn facts(sealer: &Sealer) -> FrameFacts {
    FrameFacts {
        time_unix: 0,
        boot_counter: 1,
        model_digest: [3; 32],
        seed: 42,
        steps: 4,
        guidance_milli: 1500,
        width: 512,
        height: 512,
        post_filter: PostFilter {
            verdict: Verdict::Allow,
            class: None,
        },
        review: Review::NotRequired,
        watermark: sealer.watermark_for(sealer.next_seq()),
        frame_hash: [9; 32],
    }
}

fn bench(c: &mut Criterion) {
    let key = SigningKey::from_bytes(&[0x11; 32]);
    let decision = Decision {
        verdict: Verdict::Allow,
        category: None,
        tier: Tier::None,
        escalate: false,
        prompt_hash: [1; 32],
    };
    let mut sealer = Sealer::new(key.clone(), [2; 32], [4; 32]);
    let mut book = TicketBook::<16>::new();
    c.bench_function("seal", |b| {
        b.iter(|| {
            let t = book.issue(&decision, [5; 32]);
            let f = facts(&sealer);
            black_box(sealer.seal(&mut book, Some(&t), &f).unwrap())
        })
    });
    let t = book.issue(&decision, [5; 32]);
    let f = facts(&sealer);
    let record = sealer.seal(&mut book, Some(&t), &f).unwrap().to_bytes();
    let vk = key.verifying_key();
    c.bench_function("verify_record", |b| {
        b.iter(|| verify_record(black_box(&record), &vk).unwrap())
    });
    let rgb = vec![128u8; 512 * 512 * 3];
    c.bench_function("frame_hash_512", |b| {
        b.iter(|| frame_hash(512, 512, black_box(&rgb)))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
