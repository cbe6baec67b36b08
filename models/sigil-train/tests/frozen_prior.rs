//! The prior inside the denoiser is frozen during teacher training: a step moves the UNet and
//! leaves the prior exactly where its own stage put it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail by panicking

use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::{Device, Int, Tensor, TensorData};
use sigil_models::denoiser::DenoiserConfig;
use sigil_models::minilm::tensor_to_vec;
use sigil_models::prior::PriorConfig;
use sigil_models::rng::noise;

#[test]
fn a_teacher_step_moves_the_unet_and_not_the_prior() {
    let device = Device::flex().autodiff();
    let cfg = DenoiserConfig::new()
        .with_base(8)
        .with_mults(vec![1, 2])
        .with_blocks(1)
        .with_emb(16)
        .with_groups(4)
        .with_text_dim(6)
        .with_side(8)
        .with_prior(Some(
            PriorConfig::new()
                .with_hidden(16)
                .with_text_dim(6)
                .with_side(8),
        ));
    let model = cfg.init(&device);
    let prior_before = tensor_to_vec(model.prior.as_ref().unwrap().out.weight.val()).unwrap();
    let stem_before = tensor_to_vec(model.stem.weight.val()).unwrap();

    let x = Tensor::<4>::from_data(
        TensorData::new(noise(1, 0, 2 * 4 * 8 * 8), [2, 4, 8, 8]),
        &device,
    );
    let t = Tensor::<1>::from_data(TensorData::new(vec![0.3f32, 0.7], [2]), &device);
    let text = Tensor::<2>::from_data(TensorData::new(noise(1, 1, 12), [2, 6]), &device);
    let style = Tensor::<1, Int>::from_data(TensorData::new(vec![0i64, 1], [2]), &device);
    let loss = model.forward(x, t, text, style).powi_scalar(2).mean();
    let grads = GradientsParams::from_grads(loss.backward(), &model);
    let model = AdamConfig::new().init().step(0.1, model, grads);

    let prior_after = tensor_to_vec(model.prior.as_ref().unwrap().out.weight.val()).unwrap();
    let stem_after = tensor_to_vec(model.stem.weight.val()).unwrap();
    assert_eq!(prior_after, prior_before, "the prior moved");
    assert_ne!(stem_after, stem_before, "the UNet did not train");
}
