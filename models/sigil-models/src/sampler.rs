//! Sampling the flow: from noise at t = 1 to a latent at t = 0 with Euler or Heun steps and
//! classifier-free guidance (`v = v_uncond + w·(v_cond − v_uncond)`; the unconditional branch sees
//! a zero text embedding, which is what condition dropout trained).

use burn::tensor::{Int, Tensor};

use crate::denoiser::Denoiser;

/// How to integrate the flow.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SamplerSpec {
    /// Number of steps.
    pub steps: usize,
    /// Guidance weight (1 = no guidance).
    pub guidance: f32,
    /// Heun's second-order correction (two model evaluations per step but the last).
    pub heun: bool,
}

impl Default for SamplerSpec {
    fn default() -> Self {
        SamplerSpec {
            steps: 20,
            guidance: 3.0,
            heun: true,
        }
    }
}

/// Guided velocity at time `t` (one batched evaluation for both branches).
pub fn guided_velocity(
    model: &Denoiser,
    x: Tensor<4>,
    t: f32,
    text: Tensor<2>,
    style: Tensor<1, Int>,
    guidance: f32,
) -> Tensor<4> {
    let [b, _, _, _] = x.dims();
    let tt = Tensor::<1>::ones([b], &x.device()).mul_scalar(t);
    guided_velocity_at(model, x, tt, text, style, guidance)
}

/// Guided velocity with a time per row `t` `[b]`.
pub fn guided_velocity_at(
    model: &Denoiser,
    x: Tensor<4>,
    t: Tensor<1>,
    text: Tensor<2>,
    style: Tensor<1, Int>,
    guidance: f32,
) -> Tensor<4> {
    let [b, _, _, _] = x.dims();
    if (guidance - 1.0).abs() < f32::EPSILON {
        return model.forward(x, t, text, style);
    }
    let null = text.zeros_like();
    let v = model.forward(
        Tensor::cat(vec![x.clone(), x], 0),
        Tensor::cat(vec![t.clone(), t], 0),
        Tensor::cat(vec![text, null], 0),
        Tensor::cat(vec![style.clone(), style], 0),
    );
    let cond = v.clone().narrow(0, 0, b);
    let uncond = v.narrow(0, b, b);
    uncond.clone() + (cond - uncond).mul_scalar(guidance)
}

/// Integrate from `noise` (t = 1) to t = 0.
pub fn sample(
    model: &Denoiser,
    noise: Tensor<4>,
    text: Tensor<2>,
    style: Tensor<1, Int>,
    spec: SamplerSpec,
) -> Tensor<4> {
    let steps = spec.steps.max(1);
    let mut x = noise;
    #[allow(clippy::cast_precision_loss)] // step counts are small
    let time = |i: usize| 1.0 - i as f32 / steps as f32;
    for i in 0..steps {
        let (t0, t1) = (time(i), time(i + 1));
        let dt = t0 - t1;
        let v0 = guided_velocity(
            model,
            x.clone(),
            t0,
            text.clone(),
            style.clone(),
            spec.guidance,
        );
        let euler = x.clone() - v0.clone().mul_scalar(dt);
        x = if spec.heun && i + 1 < steps {
            let v1 = guided_velocity(model, euler, t1, text.clone(), style.clone(), spec.guidance);
            x - (v0 + v1).mul_scalar(dt / 2.0)
        } else {
            euler
        };
    }
    x
}

/// Few-step sampling with a shortcut-model student (`step_cond`): `steps` jumps of size
/// `d = 1/steps` from t = 1 to 0, one network evaluation each; guidance is distilled in.
pub fn sample_shortcut(
    model: &Denoiser,
    noise: Tensor<4>,
    text: Tensor<2>,
    style: Tensor<1, Int>,
    steps: usize,
) -> Tensor<4> {
    let steps = steps.max(1);
    let [b, _, _, _] = noise.dims();
    let device = noise.device();
    #[allow(clippy::cast_precision_loss)] // step counts are small
    let d = 1.0 / steps as f32;
    let mut x = noise;
    for i in 0..steps {
        #[allow(clippy::cast_precision_loss)]
        let t = 1.0 - i as f32 * d;
        let tt = Tensor::<1>::ones([b], &device).mul_scalar(t);
        let dd = Tensor::<1>::ones([b], &device).mul_scalar(d);
        let v = model.forward_step(x.clone(), tt, Some(dd), text.clone(), style.clone());
        x = x - v.mul_scalar(d);
    }
    x
}
