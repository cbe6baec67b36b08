//! The shape of a 2-D convolution (square stride and padding, no dilation, one group) and the
//! device layout of its int8 weights.

use crate::KernelError;

/// A convolution from `in_channels` to `out_channels` with a `kernel[0] × kernel[1]` window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Conv2dSpec {
    /// Input channels.
    pub in_channels: usize,
    /// Output channels.
    pub out_channels: usize,
    /// Window height and width.
    pub kernel: [usize; 2],
    /// Step in both directions (≥ 1).
    pub stride: usize,
    /// Zero padding on every side.
    pub padding: usize,
}

impl Conv2dSpec {
    /// Number of weights: `out × in × kh × kw`.
    pub fn weights(&self) -> usize {
        self.out_channels * self.in_channels * self.kernel[0] * self.kernel[1]
    }

    /// Output height and width for an `h × w` input, or an error naming what does not fit.
    pub fn out_size(&self, h: usize, w: usize) -> Result<[usize; 2], KernelError> {
        if self.stride == 0 {
            return Err(KernelError::Shape(
                "stride 0: use a stride of at least 1".into(),
            ));
        }
        let [kh, kw] = self.kernel;
        let (ph, pw) = (h + 2 * self.padding, w + 2 * self.padding);
        if kh == 0 || kw == 0 || ph < kh || pw < kw {
            return Err(KernelError::Shape(format!(
                "a {kh}×{kw} window does not fit a {h}×{w} input padded by {}",
                self.padding
            )));
        }
        Ok([(ph - kh) / self.stride + 1, (pw - kw) / self.stride + 1])
    }

    /// Check int8 weights `[out, in, kh, kw]`, their per-output-channel scales and the bias.
    pub fn check_weights(
        &self,
        weights: usize,
        scales: usize,
        bias: Option<usize>,
    ) -> Result<(), KernelError> {
        if weights != self.weights() {
            return Err(KernelError::Shape(format!(
                "{weights} weights for a {}→{} {}×{} convolution, which has {}",
                self.in_channels,
                self.out_channels,
                self.kernel[0],
                self.kernel[1],
                self.weights()
            )));
        }
        if scales != self.out_channels || bias.is_some_and(|b| b != self.out_channels) {
            return Err(KernelError::Shape(format!(
                "{scales} scales and {} biases for {} output channels: give one of each per channel",
                bias.map_or("no".into(), |b| b.to_string()),
                self.out_channels
            )));
        }
        Ok(())
    }
}

/// int8 values packed four to a little-endian `u32` (value `k` of a word in bits `8k..8k+8`, two's
/// complement), the last word padded with zeros. This is the layout the wgpu kernel reads.
pub fn pack_i8(values: &[i8]) -> Vec<u32> {
    values
        .chunks(4)
        .map(|c| {
            let mut b = [0u8; 4];
            for (dst, v) in b.iter_mut().zip(c) {
                *dst = v.to_le_bytes()[0];
            }
            u32::from_le_bytes(b)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packs_little_endian_twos_complement() {
        assert_eq!(
            pack_i8(&[1, -1, 127, -127, 5]),
            vec![0x81_7F_FF_01, 0x0000_0005]
        );
        assert!(pack_i8(&[]).is_empty());
    }

    #[test]
    fn output_sizes_and_refusals() {
        let s = Conv2dSpec {
            in_channels: 3,
            out_channels: 8,
            kernel: [3, 3],
            stride: 2,
            padding: 1,
        };
        assert_eq!(s.out_size(32, 31).ok(), Some([16, 16]));
        assert_eq!(s.weights(), 8 * 3 * 9);
        // An empty input padded by 1 is 2×2: too small for the 3×3 window.
        assert!(s.out_size(0, 0).is_err());
        let big = Conv2dSpec {
            kernel: [5, 5],
            padding: 0,
            ..s
        };
        assert!(
            big.out_size(4, 4)
                .unwrap_err()
                .to_string()
                .contains("does not fit")
        );
        let zero = Conv2dSpec { stride: 0, ..s };
        assert!(zero.out_size(8, 8).is_err());
        assert!(s.check_weights(216, 8, Some(8)).is_ok());
        assert!(
            s.check_weights(215, 8, None)
                .unwrap_err()
                .to_string()
                .contains("215 weights")
        );
        assert!(s.check_weights(216, 7, None).is_err());
    }
}
