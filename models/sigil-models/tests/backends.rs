//! One suite, run per backend (the way tract's test-rt runs one suite per runtime): every test
//! body takes the device it runs on, and `suite!` instantiates it once for burn's flex CPU
//! backend and once for wgpu (Vulkan; Mesa's lavapipe where there is no GPU, as in CI).
//!
//! On wgpu the results are also compared with the CPU's, on the same weights: the tolerances
//! below are the contract for "the same image within a small tolerance" (README, model card).
//!
//! A build with wgpu must find an adapter: with none, the wgpu half fails and says how to get
//! one, unless `SIGIL_SKIP_WGPU=1` says the machine has none on purpose.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use burn::module::Module;
use burn::tensor::{Device, Distribution, Int, Tensor, TensorData};
use sigil_models::autoencoder::AutoencoderConfig;
use sigil_models::denoiser::{DenoiserConfig, STYLE_ANY};
use sigil_models::minilm::{TextEncoder, minilm_dir, tensor_to_vec};
use sigil_models::pack::runs_int8_convs;
use sigil_models::pipeline::Pipeline;
use sigil_models::sampler::{SamplerSpec, sample};
use sigil_pack::Pack;

/// Largest difference allowed between a backend's f32 module outputs and the CPU's, relative
/// to the largest magnitude of the CPU's output.
const MODULE_REL_TOL: f32 = 1e-3;
/// Shipped pack, whole frame, wgpu against CPU: no pixel channel more than this many levels
/// apart (of 255), and a mean difference under `FRAME_MEAN_TOL` levels.
const FRAME_MAX_TOL: u8 = 8;
const FRAME_MEAN_TOL: f64 = 0.5;

fn cpu() -> Device {
    Device::flex()
}

fn tiny_denoiser() -> DenoiserConfig {
    DenoiserConfig::new()
        .with_base(16)
        .with_mults(vec![1, 2])
        .with_blocks(1)
        .with_emb(32)
        .with_groups(4)
        .with_text_dim(12)
        .with_spatial_cond(true)
        .with_step_cond(true)
}

/// `|a - b|` at its worst, relative to `max |b|`.
fn rel_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    let scale = b.iter().fold(0f32, |m, v| m.max(v.abs())).max(1e-6);
    let worst = a.iter().zip(b).fold(0f32, |m, (x, y)| m.max((x - y).abs()));
    worst / scale
}

fn shipped_pack() -> Pack {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../sigil-emoji.sigilpack");
    Pack::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

// ---- the suite: each body takes the device under test ----

/// Decoder shapes and range, and the same numbers as on the CPU for the same weights.
fn decoder_matches_cpu(d: &Device) {
    let c = cpu();
    c.seed(3);
    let cfg = AutoencoderConfig::new().with_width(8);
    let dec = cfg.init_decoder(&c);
    let z = Tensor::<4>::random([2, 4, 16, 16], Distribution::Normal(0.0, 1.0), &c);
    let want = tensor_to_vec(dec.forward(z.clone())).unwrap();
    let got = tensor_to_vec(dec.to_device(d).forward(z.to_device(d))).unwrap();
    assert_eq!(got.len(), 2 * 3 * 32 * 32);
    assert!(got.iter().all(|v| (-1.0..=1.0).contains(v)));
    let rel = rel_diff(&got, &want);
    assert!(
        rel <= MODULE_REL_TOL,
        "decoder differs from the CPU by {rel}"
    );
}

/// Denoiser (GroupNorm, attention-free UNet, spatial text map, step conditioning) against the
/// CPU, and a whole guided sample on the device is deterministic.
fn denoiser_matches_cpu_and_sampling_is_deterministic(d: &Device) {
    let c = cpu();
    c.seed(5);
    let m = tiny_denoiser().init(&c);
    let x = Tensor::<4>::random([2, 4, 16, 16], Distribution::Normal(0.0, 1.0), &c);
    let t = Tensor::<1>::from_data(TensorData::new(vec![0.3f32, 0.9], [2]), &c);
    let text = Tensor::<2>::random([2, 12], Distribution::Normal(0.0, 1.0), &c);
    let style = Tensor::<1, Int>::from_data(TensorData::new(vec![0i64, STYLE_ANY], [2]), &c);
    let want = tensor_to_vec(m.forward(x.clone(), t.clone(), text.clone(), style.clone())).unwrap();

    let m = m.to_device(d);
    let (x, text, style) = (x.to_device(d), text.to_device(d), style.to_device(d));
    let got =
        tensor_to_vec(m.forward(x.clone(), t.to_device(d), text.clone(), style.clone())).unwrap();
    let rel = rel_diff(&got, &want);
    assert!(
        rel <= MODULE_REL_TOL,
        "denoiser differs from the CPU by {rel}"
    );

    let spec = SamplerSpec {
        steps: 2,
        guidance: 2.0,
        heun: false,
    };
    let a = tensor_to_vec(sample(&m, x.clone(), text.clone(), style.clone(), spec)).unwrap();
    let b = tensor_to_vec(sample(&m, x, text, style, spec)).unwrap();
    assert_eq!(a, b, "the same inputs gave two different samples");
    assert!(a.iter().all(|v| v.is_finite()));
}

/// MiniLM on the device against its run on the CPU (the CPU's against the numpy reference is
/// `golden.rs`): one batch with padding, so masking runs on the device too.
fn text_encoder_matches_cpu(d: &Device) {
    let texts = [
        "a grinning face with big eyes",
        "pizza",
        "a red apple on a wooden table, photographed from above",
    ];
    let dir = minilm_dir();
    let want = TextEncoder::load(&dir, &cpu())
        .expect("run models/data/fetch-minilm.sh")
        .embed_rows(&texts, 3)
        .unwrap();
    let got = TextEncoder::load(&dir, d)
        .unwrap()
        .embed_rows(&texts, 3)
        .unwrap();
    for ((g, w), t) in got.iter().zip(&want).zip(texts) {
        let dot: f32 = g.iter().zip(w).map(|(a, b)| a * b).sum();
        let norm = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>().sqrt();
        let cos = dot / (norm(g) * norm(w));
        assert!(cos >= 0.9999, "cosine {cos} against the CPU for {t:?}");
    }
}

/// The shipped int8 pack end to end: the same seed gives the same bytes twice on one backend,
/// another seed another image. Returns the frame for the cross-backend comparison.
fn shipped_pack_is_deterministic(d: &Device) -> Vec<u8> {
    let pack = shipped_pack();
    let p = Pipeline::from_pack(&pack, d).unwrap();
    // On wgpu every int8 conv weight of the pack runs as int8 (sigil-kernels); on the CPU none.
    let int8_conv_weights = pack
        .manifest()
        .tensors
        .iter()
        .filter(|t| {
            t.shape.len() == 4
                && matches!(t.encoding, sigil_pack::Encoding::I8PerChannel { .. })
                && (t.name.starts_with("denoiser.") || t.name.starts_with("decoder."))
        })
        .count();
    assert!(int8_conv_weights > 0);
    let want = if runs_int8_convs(d) {
        int8_conv_weights
    } else {
        0
    };
    assert_eq!(p.int8_convs, want, "convolutions running from int8 weights");
    let a = p.generate("a slice of pizza", STYLE_ANY, 42, None).unwrap();
    let b = p.generate("a slice of pizza", STYLE_ANY, 42, None).unwrap();
    let other = p.generate("a slice of pizza", STYLE_ANY, 43, None).unwrap();
    assert_eq!(a.image, b.image, "seed 42 gave two different frames");
    assert_ne!(
        a.image.rgb, other.image.rgb,
        "seeds 42 and 43 gave one frame"
    );
    assert_eq!(a.timings.steps_ms.len(), p.default_steps);
    a.image.rgb
}

macro_rules! suite {
    ($device:expr) => {
        #[test]
        fn decoder_matches_cpu() {
            super::decoder_matches_cpu(&$device);
        }
        #[test]
        fn denoiser_matches_cpu_and_sampling_is_deterministic() {
            super::denoiser_matches_cpu_and_sampling_is_deterministic(&$device);
        }
        #[test]
        fn text_encoder_matches_cpu() {
            super::text_encoder_matches_cpu(&$device);
        }
        #[test]
        fn shipped_pack_is_deterministic() {
            super::shipped_pack_is_deterministic(&$device);
        }
    };
}

mod cpu {
    suite!(super::cpu());
}

#[cfg(feature = "wgpu")]
mod wgpu {
    use super::*;

    /// The wgpu device, or `None` when `SIGIL_SKIP_WGPU=1` and there is none.
    pub(super) fn device() -> Option<Device> {
        match sigil_models::backend::choose(sigil_models::backend::Backend::Wgpu) {
            Ok(chosen) => {
                eprintln!("backend under test: {}", chosen.name);
                Some(chosen.device)
            }
            Err(e) if std::env::var("SIGIL_SKIP_WGPU").is_ok_and(|v| v == "1") => {
                eprintln!("wgpu half skipped (SIGIL_SKIP_WGPU=1): {e}");
                None
            }
            Err(e) => panic!(
                "{e}\nthe wgpu tests need a Vulkan driver: install mesa-vulkan-drivers \
                 (lavapipe; .ci/run does), or set SIGIL_SKIP_WGPU=1 to skip them"
            ),
        }
    }

    macro_rules! on_wgpu {
        ($($name:ident),* $(,)?) => {$(
            #[test]
            fn $name() {
                if let Some(d) = device() {
                    let _ = super::$name(&d);
                }
            }
        )*};
    }

    on_wgpu!(
        decoder_matches_cpu,
        denoiser_matches_cpu_and_sampling_is_deterministic,
        text_encoder_matches_cpu,
        shipped_pack_is_deterministic,
    );

    /// The shipped pack's frame on wgpu against the CPU's, same prompt and seed.
    #[test]
    fn shipped_frame_matches_the_cpu_within_tolerance() {
        let Some(d) = device() else { return };
        let gpu = super::shipped_pack_is_deterministic(&d);
        let pack = shipped_pack();
        let cpu = Pipeline::from_pack(&pack, &super::cpu())
            .unwrap()
            .generate("a slice of pizza", STYLE_ANY, 42, None)
            .unwrap()
            .image
            .rgb;
        assert_eq!(gpu.len(), cpu.len());
        let diffs: Vec<u8> = gpu.iter().zip(&cpu).map(|(a, b)| a.abs_diff(*b)).collect();
        let max = diffs.iter().copied().max().unwrap_or(0);
        #[allow(clippy::cast_precision_loss)]
        let mean = diffs.iter().map(|&v| f64::from(v)).sum::<f64>() / diffs.len() as f64;
        eprintln!("shipped frame, wgpu vs cpu: max {max} levels, mean {mean:.4}");
        assert!(
            max <= FRAME_MAX_TOL && mean <= FRAME_MEAN_TOL,
            "wgpu frame differs from the CPU's: max {max} levels (≤ {FRAME_MAX_TOL}), \
             mean {mean:.4} (≤ {FRAME_MEAN_TOL})"
        );
    }
}
