//! Shapes and basic behaviour of the generator's modules on the flex backend, with tiny
//! configs: autoencoder round trip, denoiser in/out, guidance arithmetic, sampler determinism.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use burn::tensor::{Device, Int, Tensor, TensorData};
use sigil_models::autoencoder::{AutoencoderConfig, upsample2};
use sigil_models::denoiser::{DenoiserConfig, STYLE_ANY, STYLE_TWITTER};
use sigil_models::judge::JudgeConfig;
use sigil_models::minilm::tensor_to_vec;
use sigil_models::sampler::{SamplerSpec, guided_velocity, sample};

fn tiny_denoiser() -> DenoiserConfig {
    DenoiserConfig::new()
        .with_base(8)
        .with_mults(vec![1, 2])
        .with_blocks(1)
        .with_emb(16)
        .with_groups(4)
        .with_text_dim(6)
}

#[test]
fn autoencoder_shapes_and_range() {
    let d = Device::flex();
    let cfg = AutoencoderConfig::new().with_width(8);
    let ae = cfg.init(&d);
    let x = Tensor::<4>::random(
        [2, 3, 32, 32],
        burn::tensor::Distribution::Uniform(-1.0, 1.0),
        &d,
    );
    let z = ae.encode(x);
    assert_eq!(z.dims(), [2, 4, 16, 16]);
    assert_eq!(cfg.latent_side(32), 16);
    let y = tensor_to_vec(ae.decode(z)).unwrap();
    assert_eq!(y.len(), 2 * 3 * 32 * 32);
    assert!(y.iter().all(|v| (-1.0..=1.0).contains(v)));
}

#[test]
fn latent_normalisation_round_trips() {
    let d = Device::flex();
    let mut cfg = AutoencoderConfig::new();
    cfg.latent_mean = vec![0.5, -1.0, 2.0, 0.0];
    cfg.latent_std = vec![2.0, 0.5, 1.0, 4.0];
    let z = Tensor::<4>::random(
        [1, 4, 2, 2],
        burn::tensor::Distribution::Normal(0.0, 3.0),
        &d,
    );
    let back = cfg.denormalise(cfg.normalise(z.clone()));
    let diff = tensor_to_vec((back - z).abs().max()).unwrap();
    assert!(diff[0] < 1e-5);
}

#[test]
fn upsample_repeats_each_pixel() {
    let d = Device::flex();
    let x = Tensor::<4>::from_data(
        TensorData::new(vec![1.0f32, 2.0, 3.0, 4.0], [1, 1, 2, 2]),
        &d,
    );
    let y = tensor_to_vec(upsample2(x)).unwrap();
    assert_eq!(
        y,
        vec![
            1., 1., 2., 2., 1., 1., 2., 2., 3., 3., 4., 4., 3., 3., 4., 4.
        ]
    );
}

#[test]
fn denoiser_keeps_the_latent_shape() {
    let d = Device::flex();
    let m = tiny_denoiser().init(&d);
    let x = Tensor::<4>::zeros([3, 4, 16, 16], &d);
    let t = Tensor::<1>::from_data(TensorData::new(vec![0.1f32, 0.5, 0.9], [3]), &d);
    let text = Tensor::<2>::zeros([3, 6], &d);
    let style = Tensor::<1, Int>::from_data(TensorData::new(vec![0i64, 1, 2], [3]), &d);
    assert_eq!(m.forward(x, t, text, style).dims(), [3, 4, 16, 16]);
}

#[test]
fn guidance_one_is_the_conditional_velocity_and_sampling_is_deterministic() {
    let d = Device::flex();
    let m = tiny_denoiser().init(&d);
    let x = Tensor::<4>::random(
        [2, 4, 16, 16],
        burn::tensor::Distribution::Normal(0.0, 1.0),
        &d,
    );
    let text = Tensor::<2>::random([2, 6], burn::tensor::Distribution::Normal(0.0, 1.0), &d);
    let style =
        Tensor::<1, Int>::from_data(TensorData::new(vec![STYLE_TWITTER, STYLE_ANY], [2]), &d);
    let v1 = guided_velocity(&m, x.clone(), 0.7, text.clone(), style.clone(), 1.0);
    let direct = m.forward(
        x.clone(),
        Tensor::<1>::ones([2], &d).mul_scalar(0.7),
        text.clone(),
        style.clone(),
    );
    let diff = tensor_to_vec((v1.clone() - direct).abs().max()).unwrap()[0];
    assert!(diff < 1e-5, "{diff}");
    // w = 0 is the unconditional branch (zero text); w = 2 extrapolates: v2 = 2·v1 − v0.
    let v0 = guided_velocity(&m, x.clone(), 0.7, text.clone(), style.clone(), 0.0);
    let v2 = guided_velocity(&m, x.clone(), 0.7, text.clone(), style.clone(), 2.0);
    let diff = tensor_to_vec((v2 - (v1.mul_scalar(2.0) - v0)).abs().max()).unwrap()[0];
    assert!(diff < 1e-4, "{diff}");
    let spec = SamplerSpec {
        steps: 3,
        guidance: 2.0,
        heun: true,
    };
    let a = tensor_to_vec(sample(&m, x.clone(), text.clone(), style.clone(), spec)).unwrap();
    let b = tensor_to_vec(sample(&m, x, text, style, spec)).unwrap();
    assert_eq!(a, b);
    assert!(a.iter().all(|v| v.is_finite()));
}

#[test]
fn judge_feature_width() {
    let d = Device::flex();
    let cfg = JudgeConfig::new(7).with_width(4).with_stages(2);
    let j = cfg.init(&d);
    let x = Tensor::<4>::zeros([2, 3, 32, 32], &d);
    assert_eq!(j.features(x.clone()).dims(), [2, cfg.features()]);
    assert_eq!(j.forward(x).dims(), [2, 7]);
}

#[test]
fn spatial_conditioning_adds_a_lowest_level_map_driven_by_the_text() {
    let d = Device::flex();
    let cfg = tiny_denoiser().with_spatial_cond(true);
    let plain = tiny_denoiser().init(&d);
    let m = cfg.init(&d);
    // emb 16 → 16 channels × 8 × 8 at the lowest level of a two-level net on 16×16 latents.
    let map = m.cond_map.as_ref().expect("spatial_cond builds the map");
    assert_eq!(map.weight.dims(), [16, 16 * 8 * 8]);
    assert!(plain.cond_map.is_none());
    let x = Tensor::<4>::random(
        [2, 4, 16, 16],
        burn::tensor::Distribution::Normal(0.0, 1.0),
        &d,
    );
    let t = Tensor::<1>::ones([2], &d).mul_scalar(0.9);
    let style = Tensor::<1, Int>::from_data(TensorData::new(vec![0i64, 0], [2]), &d);
    let a = Tensor::<2>::random([2, 6], burn::tensor::Distribution::Normal(0.0, 1.0), &d);
    let b = Tensor::<2>::random([2, 6], burn::tensor::Distribution::Normal(0.0, 1.0), &d);
    let va = m.forward(x.clone(), t.clone(), a, style.clone());
    assert_eq!(va.dims(), [2, 4, 16, 16]);
    let vb = m.forward(x, t, b, style);
    let diff = tensor_to_vec((va - vb).abs().max()).unwrap()[0];
    assert!(diff > 1e-4, "the text must change the velocity ({diff})");
}

#[test]
fn flops_match_hand_counts() {
    let d = Device::flex();
    // Decoder, width 8, one ×2 level, latent 4 → RGB, on a 16×16 latent:
    // stem 4→8 @16, block 3× 8→8 @16, up 8→8 @32, last block 3× 8→8 @32, head 8→3 @32.
    let dec = AutoencoderConfig::new().with_width(8).init_decoder(&d);
    let conv = |o: u64, i: u64, k: u64, side: u64| 2 * o * i * k * k * side * side;
    let want = conv(8, 4, 3, 16)
        + 3 * conv(8, 8, 3, 16)
        + conv(8, 8, 3, 32)
        + 3 * conv(8, 8, 3, 32)
        + conv(3, 8, 3, 32);
    assert_eq!(sigil_models::flops::decoder(&dec, 16), want);
    assert_eq!(want, 6_193_152);

    // One-level denoiser, base 8, emb 16, text 6, on a 4×4 latent: time MLP and text linear;
    // stem; one down block; two mid blocks; two up blocks taking 8+8 channels (1×1 skip);
    // output conv. Each block: two 3×3 convs and its conditioning linear 16→2·8.
    let den = DenoiserConfig::new()
        .with_base(8)
        .with_mults(vec![1])
        .with_blocks(1)
        .with_emb(16)
        .with_groups(4)
        .with_text_dim(6)
        .init(&d);
    let lin = |i: u64, o: u64| 2 * i * o;
    let block = |i: u64| conv(8, i, 3, 4) + conv(8, 8, 3, 4) + lin(16, 16);
    let want = lin(8, 16)
        + lin(16, 16)
        + lin(6, 16)
        + conv(8, 4, 3, 4)
        + 3 * block(8)
        + 2 * (block(16) + conv(8, 16, 1, 4))
        + conv(4, 8, 3, 4);
    assert_eq!(sigil_models::flops::denoiser(&den, 4), want);
    assert_eq!(want, 251_328);
}

#[test]
fn configs_written_before_new_fields_load_with_the_old_behaviour() {
    let old = r#"{"latent":4,"base":8,"mults":[1,2],"blocks":1,"text_dim":6,"styles":3,"emb":16,"groups":4}"#;
    let cfg = DenoiserConfig::from_json(old).unwrap();
    assert!(!cfg.spatial_cond && !cfg.step_cond);
    assert_eq!(cfg.side, 16);
    assert_eq!(cfg.base, 8);
    let err = DenoiserConfig::from_json(r#"{"base":"wide"}"#).unwrap_err();
    assert!(err.contains("base") || err.contains("invalid"), "{err}");
    assert!(DenoiserConfig::from_json("[1]").is_err());
}
