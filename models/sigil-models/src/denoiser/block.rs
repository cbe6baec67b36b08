//! A residual block whose second GroupNorm is scaled and shifted by the conditioning vector.

use crate::conv::Conv;
use burn::module::Module;
use burn::nn::{GroupNorm, GroupNormConfig, Linear, LinearConfig};

use crate::conv::{conv1, conv3};
use burn::tensor::activation::silu;
use burn::tensor::{Device, Tensor};

/// norm → SiLU → conv → norm·(1 + scale) + shift → SiLU → conv, plus a (1×1 if needed) skip.
#[derive(Module, Debug)]
pub struct ResBlock {
    /// First norm.
    pub norm1: GroupNorm,
    /// First convolution.
    pub conv1: Conv,
    /// Conditioning → scale and shift.
    pub cond: Linear,
    /// Second norm.
    pub norm2: GroupNorm,
    /// Second convolution.
    pub conv2: Conv,
    /// 1×1 convolution on the skip path when the width changes.
    pub skip: Option<Conv>,
}

impl ResBlock {
    /// A block from `i` to `o` channels, conditioned by a vector of width `emb`.
    pub fn new(i: usize, o: usize, emb: usize, groups: usize, device: &Device) -> Self {
        ResBlock {
            norm1: GroupNormConfig::new(groups, i).init(device),
            conv1: conv3(i, o, 1, device),
            cond: LinearConfig::new(emb, 2 * o).init(device),
            norm2: GroupNormConfig::new(groups, o).init(device),
            conv2: conv3(o, o, 1, device),
            skip: (i != o).then(|| conv1(i, o, device)),
        }
    }

    /// Every convolution with its module path under `prefix`.
    pub(crate) fn convs_mut<'a>(&'a mut self, prefix: &str, out: &mut Vec<(String, &'a mut Conv)>) {
        out.push((format!("{prefix}.conv1"), &mut self.conv1));
        out.push((format!("{prefix}.conv2"), &mut self.conv2));
        if let Some(s) = &mut self.skip {
            out.push((format!("{prefix}.skip"), s));
        }
    }

    /// `[b, i, s, s]`, conditioning `[b, emb]` → `[b, o, s, s]`.
    pub fn forward(&self, x: Tensor<4>, cond: Tensor<2>) -> Tensor<4> {
        let h = self.conv1.forward(silu(self.norm1.forward(x.clone())));
        let [b, o, _, _] = h.dims();
        let ss = self.cond.forward(cond).reshape([b, 2 * o, 1, 1]);
        let scale = ss.clone().narrow(1, 0, o);
        let shift = ss.narrow(1, o, o);
        let h = self.norm2.forward(h) * (scale + 1.0) + shift;
        let h = self.conv2.forward(silu(h));
        let skip = match &self.skip {
            Some(s) => s.forward(x),
            None => x,
        };
        skip + h
    }
}
