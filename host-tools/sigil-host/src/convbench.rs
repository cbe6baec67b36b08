//! `sigil-host bench --kernels`: the int8 convolution of `sigil-kernels` against burn's f32
//! conv2d, at the shipped model's 3×3 shapes, on the chosen wgpu device. Each row also checks
//! the kernel against its reference twin on this device (relative error), so a run on a new
//! GPU is a conformance check as well as a timing.

use std::time::Instant;

use anyhow::{Context, Result};
use burn::tensor::module::conv2d;
use burn::tensor::ops::ConvOptions;
use burn::tensor::{Device, Distribution, Tensor, TensorData};
use serde::Serialize;
use sigil_kernels::wgpu::I8Conv2d;
use sigil_kernels::{Conv2dSpec, reference};

use crate::bench::{Spread, spread};

/// One shape's figures.
#[derive(Debug, Clone, Serialize)]
pub struct ConvRow {
    /// `in→out @side`.
    pub shape: String,
    /// burn's f32 conv2d, ms.
    pub f32_ms: Spread,
    /// The int8 kernel, ms.
    pub int8_ms: Spread,
    /// `max |kernel − twin| / max |twin|` on this device.
    pub rel_err_vs_twin: f32,
    /// Weight bytes on the device: f32 and int8 (with scales and bias).
    pub f32_weight_bytes: usize,
    /// See `f32_weight_bytes`.
    pub int8_weight_bytes: usize,
}

/// (in, out, side) of the shipped pack's 3×3 convolutions: the denoiser's three levels
/// (48, 96, 144 channels at 16, 8, 4) and the decoder's full-resolution layer (64 at 32).
const SHAPES: [(usize, usize, usize); 4] = [(48, 48, 16), (96, 96, 8), (144, 144, 4), (64, 64, 32)];

fn time(reps: usize, mut f: impl FnMut() -> Result<()>) -> Result<Spread> {
    f()?; // compile and warm up
    let mut v = Vec::with_capacity(reps);
    for _ in 0..reps {
        let t = Instant::now();
        f()?;
        v.push(t.elapsed().as_secs_f64() * 1e3);
    }
    Ok(spread(v))
}

/// Time and check every shape on `device` (a wgpu device), `reps` runs each.
pub fn run(device: &Device, reps: usize) -> Result<Vec<ConvRow>> {
    let mut rows = Vec::new();
    for (i, o, side) in SHAPES {
        let spec = Conv2dSpec {
            in_channels: i,
            out_channels: o,
            kernel: [3, 3],
            stride: 1,
            padding: 1,
        };
        #[allow(clippy::cast_possible_truncation)]
        let q: Vec<i8> = (0..spec.weights())
            .map(|k| ((k * 37 % 255) as i32 - 127) as i8)
            .collect();
        let scales = vec![0.004f32; o];
        let bias = vec![0.01f32; o];
        let x = Tensor::<4>::random([1, i, side, side], Distribution::Normal(0.0, 1.0), device);
        let xs = x
            .clone()
            .into_data()
            .try_to_vec::<f32>()
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        let deq: Vec<f32> = q
            .iter()
            .enumerate()
            .map(|(k, &v)| f32::from(v) * scales[k / (i * 9)])
            .collect();
        let w = Tensor::<4>::from_data(TensorData::new(deq, [o, i, 3, 3]), device);
        let b = Tensor::<1>::from_data(TensorData::new(bias.clone(), [o]), device);
        let kernel = I8Conv2d::new(device, spec, &q, &scales, Some(&bias))?;
        let opts = ConvOptions::new([1, 1], [1, 1], [1, 1], 1);
        let read = |t: Tensor<4>| -> Result<Vec<f32>> {
            t.into_data()
                .try_to_vec::<f32>()
                .map_err(|e| anyhow::anyhow!("{e:?}"))
        };
        let f32_ms = time(reps, || {
            read(
                conv2d(x.clone(), w.clone(), Some(b.clone()), opts.clone()).slice([
                    0..1,
                    0..1,
                    0..1,
                    0..1,
                ]),
            )
            .map(drop)
        })?;
        let int8_ms = time(reps, || {
            read(kernel.forward(x.clone())?.slice([0..1, 0..1, 0..1, 0..1])).map(drop)
        })?;
        let got = read(kernel.forward(x.clone())?)?;
        let want = reference::conv2d_i8(&xs, [1, i, side, side], &spec, &q, &scales, Some(&bias))
            .context("reference twin")?;
        let scale = want.iter().fold(0f32, |m, v| m.max(v.abs())).max(1e-12);
        let worst = got
            .iter()
            .zip(&want)
            .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
        rows.push(ConvRow {
            shape: format!("{i}→{o} @{side}"),
            f32_ms,
            int8_ms,
            rel_err_vs_twin: worst / scale,
            f32_weight_bytes: 4 * spec.weights() + 4 * o,
            int8_weight_bytes: kernel.device_bytes(),
        });
    }
    Ok(rows)
}
