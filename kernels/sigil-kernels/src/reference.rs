//! The reference twin of the int8 convolution: plain loops over the same arithmetic as the
//! wgpu kernel, in the same order (for each output: Σ over input channel, row, column of
//! `x · q` in f32, then `· scale[o] + bias[o]`). Slow and obvious on purpose.

use crate::{Conv2dSpec, KernelError};

/// `input` `[n, c, h, w]` (row-major) convolved with int8 `weights` `[out, c, kh, kw]`, one
/// `scales` entry and one optional `bias` entry per output channel. Returns `[n, out, oh, ow]`.
pub fn conv2d_i8(
    input: &[f32],
    dims: [usize; 4],
    spec: &Conv2dSpec,
    weights: &[i8],
    scales: &[f32],
    bias: Option<&[f32]>,
) -> Result<Vec<f32>, KernelError> {
    let [n, c, h, w] = dims;
    if c != spec.in_channels || input.len() != n * c * h * w {
        return Err(KernelError::Shape(format!(
            "input of {} values as {dims:?} for a convolution of {} input channels",
            input.len(),
            spec.in_channels
        )));
    }
    spec.check_weights(weights.len(), scales.len(), bias.map(<[f32]>::len))?;
    let [oh, ow] = spec.out_size(h, w)?;
    let [kh, kw] = spec.kernel;
    let (s, p) = (spec.stride, spec.padding);
    let at = |v: &[f32], i: usize| v.get(i).copied().unwrap_or(0.0);
    let mut out = vec![0f32; n * spec.out_channels * oh * ow];
    for (i, slot) in out.iter_mut().enumerate() {
        let x = i % ow;
        let y = (i / ow) % oh;
        let o = (i / (ow * oh)) % spec.out_channels;
        let b = i / (ow * oh * spec.out_channels);
        let mut acc = 0f32;
        for ci in 0..c {
            for ky in 0..kh {
                let yy = y * s + ky;
                if yy < p || yy - p >= h {
                    continue;
                }
                for kx in 0..kw {
                    let xx = x * s + kx;
                    if xx < p || xx - p >= w {
                        continue;
                    }
                    let v = at(input, ((b * c + ci) * h + (yy - p)) * w + (xx - p));
                    let q = weights
                        .get(((o * c + ci) * kh + ky) * kw + kx)
                        .copied()
                        .unwrap_or(0);
                    acc += v * f32::from(q);
                }
            }
        }
        *slot = acc * at(scales, o) + bias.map_or(0.0, |b| at(b, o));
    }
    Ok(out)
}
