//! Sinusoidal timestep features.

use burn::tensor::{Tensor, TensorData};

/// `[b]` times in [0, 1] → `[b, dim]` sinusoidal features (of `1000·t`, as in DDPM/DiT).
pub fn timestep_embedding(t: Tensor<1>, dim: usize) -> Tensor<2> {
    let [b] = t.dims();
    let half = (dim / 2).max(1);
    #[allow(clippy::cast_precision_loss)] // half is small
    let freqs: Vec<f32> = (0..half)
        .map(|i| (-(10_000f32.ln()) * i as f32 / half as f32).exp())
        .collect();
    let freqs =
        Tensor::<1>::from_data(TensorData::new(freqs, [half]), &t.device()).reshape([1, half]);
    let args = t.mul_scalar(1000.0).reshape([b, 1]) * freqs; // [b, half]
    Tensor::cat(vec![args.clone().sin(), args.cos()], 1)
}
