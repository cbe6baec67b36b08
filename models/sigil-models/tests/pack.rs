//! Modules through model packs: exact in f32, close in int8, refused when the pack does not fit.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use burn::tensor::{Device, Int, Tensor, TensorData};
use sigil_models::denoiser::{Denoiser, DenoiserConfig};
use sigil_models::minilm::tensor_to_vec;
use sigil_models::pack::{Storage, add_module, f32_rule, int8_rule, load_module};
use sigil_models::rng::noise;
use sigil_pack::{Pack, PackWriter};

fn cfg() -> DenoiserConfig {
    DenoiserConfig::new()
        .with_base(16)
        .with_mults(vec![1, 2])
        .with_blocks(1)
        .with_emb(32)
        .with_groups(4)
        .with_text_dim(6)
        .with_spatial_cond(true)
}

fn pack_of(m: &Denoiser, rule: fn(&str, &[usize]) -> Storage) -> Pack {
    let mut w = PackWriter::new(
        "t",
        serde_json::json!({}),
        1,
        1.0,
        "",
        serde_json::json!({}),
        vec![],
    );
    add_module(&mut w, "denoiser", m, rule).unwrap();
    Pack::from_bytes(w.to_bytes().unwrap()).unwrap()
}

fn run(m: &Denoiser, d: &Device) -> Vec<f32> {
    // Inputs from our own seeded generator, not the device's: tests in this file run on
    // parallel threads, and the device RNG is shared between them.
    let x = Tensor::<4>::from_data(
        TensorData::new(noise(7, 0, 2 * 4 * 16 * 16), [2, 4, 16, 16]),
        d,
    );
    let t = Tensor::<1>::from_data(TensorData::new(vec![0.3f32, 0.8], [2]), d);
    let text = Tensor::<2>::from_data(TensorData::new(noise(7, 1, 2 * 6), [2, 6]), d);
    let style = Tensor::<1, Int>::from_data(TensorData::new(vec![0i64, 2], [2]), d);
    tensor_to_vec(m.forward(x, t, text, style)).unwrap()
}

#[test]
fn f32_packs_reload_exactly_and_int8_packs_closely() {
    let d = Device::flex();
    d.seed(1);
    let original = cfg().init(&d);
    let want = run(&original, &d);

    d.seed(2);
    let exact = load_module(cfg().init(&d), &pack_of(&original, f32_rule), "denoiser").unwrap();
    assert_eq!(run(&exact, &d), want);

    let int8_pack = pack_of(&original, int8_rule);
    d.seed(3);
    let q = load_module(cfg().init(&d), &int8_pack, "denoiser").unwrap();
    let got = run(&q, &d);
    let num: f32 = want.iter().zip(&got).map(|(a, b)| (a - b).powi(2)).sum();
    let den: f32 = want.iter().map(|a| a * a).sum();
    let rel = (num / den).sqrt();
    assert!(rel < 0.03, "int8 output off by {rel}");
    assert!(rel > 0.0, "int8 must actually quantise something");
    let f32_bytes = pack_of(&original, f32_rule).len();
    assert!(
        int8_pack.len() * 2 < f32_bytes,
        "{} vs {f32_bytes}",
        int8_pack.len()
    );
}

#[test]
fn a_pack_for_another_architecture_is_refused_by_name() {
    let d = Device::flex();
    let small = cfg().init(&d);
    let pack = pack_of(&small, f32_rule);
    let err = load_module(cfg().with_blocks(2).init(&d), &pack, "denoiser").unwrap_err();
    assert!(err.to_string().contains("denoiser."), "{err}");
    assert!(err.to_string().contains("another architecture"), "{err}");
    let err = load_module(cfg().init(&d), &pack, "decoder").unwrap_err();
    assert!(err.to_string().contains("has no tensor `decoder."), "{err}");
}

#[test]
fn the_rule_keeps_norms_biases_and_the_timestep_mlp_in_f32() {
    assert_eq!(
        int8_rule("down.0.conv1.weight", &[16, 16, 3, 3]),
        Storage::I8 { axis: 0 }
    );
    assert_eq!(
        int8_rule("down.0.cond.weight", &[32, 32]),
        Storage::I8 { axis: 1 }
    );
    assert_eq!(int8_rule("down.0.conv1.bias", &[16]), Storage::F32);
    assert_eq!(int8_rule("down.0.norm1.gamma", &[16]), Storage::F32);
    assert_eq!(int8_rule("time_in.weight", &[16, 32]), Storage::F32);
    assert_eq!(int8_rule("time_out.weight", &[32, 32]), Storage::F32);
    assert_eq!(int8_rule("style.weight", &[3, 32]), Storage::F32);
    assert_eq!(
        int8_rule("embeddings.word_embeddings.weight", &[30522, 384]),
        Storage::I8 { axis: 0 }
    );
    assert_eq!(
        int8_rule("encoder.layer.0.attention.output.layer_norm.gamma", &[384]),
        Storage::F32
    );
}
