//! The teacher's network as training uses it: the student starts out as the teacher (its only
//! new layer, the step-size input, is zero), and a teacher step leaves the frozen prior exactly
//! where its own stage put it while the UNet moves.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail by panicking

use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::{Device, Distribution, Int, Tensor, TensorData};
use sigil_models::denoiser::DenoiserConfig;
use sigil_models::minilm::tensor_to_vec;
use sigil_models::prior::PriorConfig;
use sigil_models::rng::noise;
use sigil_train::distill::{student_config, student_from};

/// A denoiser small enough to run in milliseconds, text width 6.
fn tiny() -> DenoiserConfig {
    DenoiserConfig::new()
        .with_base(8)
        .with_mults(vec![1, 2])
        .with_blocks(1)
        .with_emb(16)
        .with_groups(4)
        .with_text_dim(6)
}

#[test]
fn a_fresh_student_computes_the_teacher_at_every_step_size() {
    let d = Device::flex();
    let cfg = tiny().with_spatial_cond(true);
    let teacher = cfg.init(&d);
    let student = student_from(&teacher, &student_config(&cfg), &d).unwrap();
    assert!(student.step_in.is_some());
    let x = Tensor::<4>::random([2, 4, 16, 16], Distribution::Normal(0.0, 1.0), &d);
    let t = Tensor::<1>::from_data(TensorData::new(vec![0.25f32, 1.0], [2]), &d);
    let text = Tensor::<2>::random([2, 6], Distribution::Normal(0.0, 1.0), &d);
    let style = Tensor::<1, Int>::from_data(TensorData::new(vec![0i64, 1], [2]), &d);
    let want =
        tensor_to_vec(teacher.forward(x.clone(), t.clone(), text.clone(), style.clone())).unwrap();
    for step in [0.0f32, 0.25, 1.0] {
        let dd = Tensor::<1>::ones([2], &d).mul_scalar(step);
        let got = tensor_to_vec(student.forward_step(
            x.clone(),
            t.clone(),
            Some(dd),
            text.clone(),
            style.clone(),
        ))
        .unwrap();
        assert_eq!(got, want, "step size {step}");
    }
    // A teacher of another shape does not fit.
    let other = cfg.clone().with_base(16).init(&d);
    assert!(student_from(&other, &student_config(&cfg), &d).is_err());
}

#[test]
fn a_teacher_step_moves_the_unet_and_not_the_prior() {
    let device = Device::flex().autodiff();
    let cfg = tiny().with_side(8).with_prior(Some(
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
