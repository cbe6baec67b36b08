//! Hot operations of a frame on the CPU backend (flex): `cargo bench -p sigil-models`.
//! Shapes are the shipped model's (teacher/student base 48, mults [1, 2, 3], 16×16 latents;
//! decoder width 64; MiniLM-L6). `sigil-host bench` times the whole pipeline per stage.

#![allow(clippy::unwrap_used, clippy::expect_used)] // benchmarks fail by panicking

use std::hint::black_box;

use burn::nn::PaddingConfig2d;
use burn::nn::conv::Conv2dConfig;
use burn::tensor::{Device, Distribution, Int, Tensor, TensorData};
use criterion::{Criterion, criterion_group, criterion_main};
use sigil_models::autoencoder::AutoencoderConfig;
use sigil_models::denoiser::DenoiserConfig;
use sigil_models::minilm::{TextEncoder, minilm_dir, tensor_to_vec};

fn ops(c: &mut Criterion) {
    let d = Device::flex();
    for (ch, side) in [(48usize, 16usize), (96, 8), (144, 4)] {
        let conv = Conv2dConfig::new([ch, ch], [3, 3])
            .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
            .init(&d);
        let x = Tensor::<4>::random([1, ch, side, side], Distribution::Normal(0.0, 1.0), &d);
        c.bench_function(&format!("conv3x3 {ch}ch {side}x{side}"), |b| {
            b.iter(|| tensor_to_vec(conv.forward(black_box(x.clone()))).unwrap());
        });
    }
    let cfg = DenoiserConfig::new()
        .with_base(48)
        .with_mults(vec![1, 2, 3])
        .with_blocks(1)
        .with_spatial_cond(true)
        .with_step_cond(true);
    let den = cfg.init(&d);
    let x = Tensor::<4>::random([1, 4, 16, 16], Distribution::Normal(0.0, 1.0), &d);
    let t = Tensor::<1>::ones([1], &d);
    let text = Tensor::<2>::random([1, 384], Distribution::Normal(0.0, 0.05), &d);
    let style = Tensor::<1, Int>::from_data(TensorData::new(vec![2i64], [1]), &d);
    c.bench_function("denoiser step (student, 1 image)", |b| {
        b.iter(|| {
            let v = den.forward_step(
                black_box(x.clone()),
                t.clone(),
                Some(t.clone()),
                text.clone(),
                style.clone(),
            );
            tensor_to_vec(v).unwrap()
        });
    });
    let dec = AutoencoderConfig::new().init_decoder(&d);
    c.bench_function("decoder 16x16 latent -> 32x32", |b| {
        b.iter(|| tensor_to_vec(dec.forward(black_box(x.clone()))).unwrap());
    });
    if let Ok(enc) = TextEncoder::load(&minilm_dir(), &d) {
        c.bench_function("text encoder, one short prompt", |b| {
            b.iter(|| tensor_to_vec(enc.embed(black_box(&["a red apple on a table"]), 1)).unwrap());
        });
    }
}

criterion_group!(benches, ops);
criterion_main!(benches);
