//! The judge: a small classifier trained on real images only, used to score generated images
//! (top-1/top-5 against the prompt's concept) and as the feature space for the Fréchet distance.

use crate::conv::Conv;
use burn::config::Config;
use burn::module::Module;

use crate::conv::conv3;
use burn::nn::{GroupNorm, GroupNormConfig, Linear, LinearConfig};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};

/// Shape of the judge.
#[derive(Config, Debug, PartialEq)]
pub struct JudgeConfig {
    /// Number of concepts.
    pub classes: usize,
    /// Width of the first stage; each stride-2 stage doubles it.
    #[config(default = 32)]
    pub width: usize,
    /// Stride-2 stages.
    #[config(default = 3)]
    pub stages: usize,
}

/// Conv stages → global average → features → logits.
#[derive(Module, Debug)]
pub struct Judge {
    /// Image → width.
    pub stem: Conv,
    /// Pairs of (stride-2 conv, 3×3 conv) per stage.
    pub stages: Vec<Conv>,
    /// A GroupNorm after the stem and after every stage convolution.
    pub norms: Vec<GroupNorm>,
    /// Features → concept logits.
    pub head: Linear,
}

impl JudgeConfig {
    /// Width of the feature vector.
    pub fn features(&self) -> usize {
        self.width << self.stages
    }

    /// A fresh judge.
    pub fn init(&self, device: &Device) -> Judge {
        let mut stages = Vec::new();
        let norm = |c: usize| GroupNormConfig::new(8.min(c), c).init(device);
        let mut norms = vec![norm(self.width)];
        let mut w = self.width;
        for _ in 0..self.stages {
            stages.push(conv3(w, w * 2, 2, device));
            stages.push(conv3(w * 2, w * 2, 1, device));
            norms.push(norm(w * 2));
            norms.push(norm(w * 2));
            w *= 2;
        }
        Judge {
            stem: conv3(3, self.width, 1, device),
            stages,
            norms,
            head: LinearConfig::new(w, self.classes).init(device),
        }
    }
}

impl Judge {
    /// `[b, 3, s, s]` images in [-1, 1] → `[b, features]`.
    pub fn features(&self, x: Tensor<4>) -> Tensor<2> {
        let mut norms = self.norms.iter();
        let mut h = self.stem.forward(x);
        if let Some(n) = norms.next() {
            h = n.forward(h);
        }
        h = relu(h);
        for c in &self.stages {
            h = c.forward(h);
            if let Some(n) = norms.next() {
                h = n.forward(h);
            }
            h = relu(h);
        }
        let [b, c, hh, ww] = h.dims();
        h.reshape([b, c, hh * ww]).mean_dim(2).reshape([b, c])
    }

    /// `[b, 3, s, s]` → logits `[b, classes]`.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        self.head.forward(self.features(x))
    }
}
