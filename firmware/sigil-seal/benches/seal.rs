//! What sealing adds to a frame on the CPU: composition (upscale 32 → 256, badge), the
//! watermark, signing + fsync'd log append, and the PNG with its record chunk.
//!
//! `cargo bench -p sigil-seal`

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use criterion::{Criterion, criterion_group, criterion_main};
use sigil_mark::MarkKey;
use sigil_provenance::{PostFilter, RECORD_LEN, Review};
use sigil_seal::{DeviceState, Making, compose_unmarked, encode_png, mark, write_frame};

/// A generated-looking 32×32 image: a shaded disc with an outline on white (emoji-like: flat
/// regions, edges, saturated colour).
fn generated() -> Vec<u8> {
    let mut rgb = vec![255u8; 32 * 32 * 3];
    for y in 0..32i32 {
        for x in 0..32i32 {
            let r2 = (x - 16).pow(2) + (y - 15).pow(2);
            let px = match r2 {
                0..=143 => [250, (150 + 2 * y) as u8, 20],
                144..=195 => [90, 40, 10],
                _ => continue,
            };
            let at = ((y * 32 + x) * 3) as usize;
            rgb[at..at + 3].copy_from_slice(&px);
        }
    }
    rgb
}

fn bench(c: &mut Criterion) {
    let key = MarkKey::sigil_default();
    let img = generated();
    let (rgb, w, h) = compose_unmarked(&img, 32, 32).unwrap();
    c.bench_function("compose_unmarked 32->256 + badge", |b| {
        b.iter(|| compose_unmarked(&img, 32, 32).unwrap())
    });
    c.bench_function("watermark embed 256x256", |b| {
        b.iter(|| mark(rgb.clone(), w, h, &[1, 2, 3, 4, 5, 6, 7, 8], &key).unwrap())
    });
    let marked = mark(rgb.clone(), w, h, &[1, 2, 3, 4, 5, 6, 7, 8], &key).unwrap();
    c.bench_function("watermark detect 256x256", |b| {
        b.iter(|| sigil_mark::detect(&marked.rgb, w, h, &key).unwrap())
    });
    let dir = tempfile::tempdir().unwrap();
    let mut state = DeviceState::open(dir.path(), [0; 32]).unwrap();
    let mut now_ms = 0u64;
    let making = Making {
        time_unix: 0,
        model_digest: [0; 32],
        seed: 1,
        steps: 4,
        guidance_milli: 2000,
        post_filter: PostFilter {
            verdict: sigil_gate::Verdict::Allow,
            class: None,
        },
        review: Review::NotRequired,
    };
    c.bench_function("mark + frame hash + seal + fsync'd log append", |b| {
        b.iter(|| {
            // A minute later each time on the limiter's clock: not a bench of rate limits.
            now_ms += 60_000;
            let ticket = state
                .core_mut()
                .admit("a red apple", b"bench", now_ms)
                .unwrap();
            state
                .seal_frame(&ticket, (rgb.clone(), w, h), &making, &key)
                .unwrap()
        })
    });
    let (_, sealed) = {
        now_ms += 60_000;
        let ticket = state
            .core_mut()
            .admit("a red apple", b"bench", now_ms)
            .unwrap();
        state
            .seal_frame(&ticket, (rgb.clone(), w, h), &making, &key)
            .unwrap()
    };
    let out = dir.path().join("out");
    let mut n = 0u64;
    c.bench_function(
        "write frame: sidecar + PNG, each fsync'd and linked in",
        |b| {
            b.iter(|| {
                n += 1;
                write_frame(
                    &out,
                    &format!("f{n}.png"),
                    &marked.rgb,
                    w,
                    h,
                    &sealed,
                    &state.frame_signer(),
                )
                .unwrap()
            })
        },
    );
    let mut sealed_bytes = [0u8; RECORD_LEN];
    sealed.encode(&mut sealed_bytes);
    let png = encode_png(&marked.rgb, w, h, &sealed_bytes).unwrap();
    c.bench_function("C2PA manifest: build, sign (Ed25519), embed", |b| {
        b.iter(|| {
            sigil_seal::credential::add_credentials(&png, &sealed, &state.frame_signer(), "f.png")
                .unwrap()
        })
    });
    let record = [7u8; RECORD_LEN];
    c.bench_function("PNG encode with record chunk", |b| {
        b.iter(|| encode_png(&marked.rgb, w, h, &record).unwrap())
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
