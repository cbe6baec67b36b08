//! The CubeCL kernel: one invocation per output value, int8 weights read four to a word.

use burn::cubecl;
use cubecl::prelude::*;

/// `output[n, o, y, x] = scale[o] · Σ_{c, ky, kx} input[n, c, y·s + ky − p, x·s + kx − p] ·
/// q[o, c, ky, kx] + bias[o]`, with out-of-image taps skipped (zero padding). `weight` holds
/// the row-major `[out, in, kh, kw]` int8 values packed by [`crate::pack_i8`].
#[cube(launch)]
pub(crate) fn conv2d_i8_kernel(
    input: &Tensor<f32>,
    weight: &[u32],
    scale: &[f32],
    bias: &[f32],
    output: &mut Tensor<f32>,
    kh: usize,
    kw: usize,
    stride: usize,
    pad: usize,
) {
    if ABSOLUTE_POS >= output.len() {
        terminate!();
    }
    let ow_n = output.shape(3);
    let oh_n = output.shape(2);
    let o_n = output.shape(1);
    let x = ABSOLUTE_POS % ow_n;
    let y = (ABSOLUTE_POS / ow_n) % oh_n;
    let o = (ABSOLUTE_POS / (ow_n * oh_n)) % o_n;
    let n = ABSOLUTE_POS / (ow_n * oh_n * o_n);
    let c_n = input.shape(1);
    let h_n = input.shape(2);
    let w_n = input.shape(3);
    let base_n = n * input.stride(0);

    let mut acc = 0.0f32;
    for c in 0..c_n {
        let base_c = base_n + c * input.stride(1);
        for ky in 0..kh {
            let yy = y * stride + ky;
            if yy >= pad && yy < h_n + pad {
                let base_y = base_c + (yy - pad) * input.stride(2);
                for kx in 0..kw {
                    let xx = x * stride + kx;
                    if xx >= pad && xx < w_n + pad {
                        let v = input[base_y + (xx - pad) * input.stride(3)];
                        let widx = ((o * c_n + c) * kh + ky) * kw + kx;
                        let shift = u32::cast_from((widx % 4) * 8);
                        let raw = (weight[widx / 4] >> shift) & 255u32;
                        // Two's complement by hand: chained casts are folded into one.
                        let q = i32::cast_from(raw) - i32::cast_from(raw >= 128u32) * 256i32;
                        acc += v * f32::cast_from(q);
                    }
                }
            }
        }
    }
    output[ABSOLUTE_POS] = acc * scale[o] + bias[o];
}
