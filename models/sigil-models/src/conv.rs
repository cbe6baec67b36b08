//! The 3×3, padding-1 convolution every model here is built from.

use burn::nn::PaddingConfig2d;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::tensor::Device;

/// A 3×3 convolution from `i` to `o` channels with padding 1 and the given stride.
pub(crate) fn conv3(i: usize, o: usize, stride: usize, device: &Device) -> Conv2d {
    Conv2dConfig::new([i, o], [3, 3])
        .with_stride([stride, stride])
        .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
        .init(device)
}
