//! The text → latent prior: an MLP from the sentence embedding (and the style) straight to a
//! latent. Trained by plain regression on the training latents, it learns the composition of
//! every concept many times faster than the denoiser can through noise; the denoiser then takes
//! its prediction as extra input channels and refines it (a two-stage cascade, conditioned on
//! the text both ways). With the text dropped (all zeros, for guidance), its output is masked to
//! zeros, so the unconditional branch sees neither.

use burn::config::Config;
use burn::module::Module;
use burn::nn::{Embedding, EmbeddingConfig, Linear, LinearConfig};
use burn::tensor::activation::silu;
use burn::tensor::{Device, Int, Tensor};

/// Shape of the prior.
#[derive(Config, Debug, PartialEq)]
pub struct PriorConfig {
    /// Width of the text embedding.
    #[config(default = 384)]
    pub text_dim: usize,
    /// Number of style ids.
    #[config(default = 3)]
    pub styles: usize,
    /// Hidden width.
    #[config(default = 1024)]
    pub hidden: usize,
    /// Hidden layers.
    #[config(default = 2)]
    pub layers: usize,
    /// Latent channels.
    #[config(default = 4)]
    pub latent: usize,
    /// Latent side.
    #[config(default = 16)]
    pub side: usize,
}

/// The MLP.
#[derive(Module, Debug)]
pub struct Prior {
    /// Text embedding → hidden.
    pub text: Linear,
    /// Style → hidden.
    pub style: Embedding,
    /// Hidden layers.
    pub hidden: Vec<Linear>,
    /// Hidden → latent.
    pub out: Linear,
    /// Output shape `[latent, side, side]` (not weights).
    pub shape: [usize; 3],
}

impl PriorConfig {
    /// A fresh prior.
    pub fn init(&self, device: &Device) -> Prior {
        let h = self.hidden;
        Prior {
            text: LinearConfig::new(self.text_dim, h).init(device),
            style: EmbeddingConfig::new(self.styles, h).init(device),
            hidden: (1..self.layers.max(1))
                .map(|_| LinearConfig::new(h, h).init(device))
                .collect(),
            out: LinearConfig::new(h, self.latent * self.side * self.side).init(device),
            shape: [self.latent, self.side, self.side],
        }
    }
}

impl Prior {
    /// Text `[b, text_dim]` and style ids `[b]` → latent `[b, latent, side, side]`; rows whose
    /// text is all zeros (dropped for guidance) give zeros.
    pub fn forward(&self, text: Tensor<2>, style: Tensor<1, Int>) -> Tensor<4> {
        let [b, _] = text.dims();
        let present = text.clone().abs().sum_dim(1).greater_elem(0.0).float(); // [b, 1]
        let s = self.style.forward(style.reshape([b, 1]));
        let [_, _, h] = s.dims();
        let mut x = silu(self.text.forward(text) + s.reshape([b, h]));
        for layer in &self.hidden {
            x = silu(layer.forward(x));
        }
        let [c, side, _] = self.shape;
        (self.out.forward(x) * present).reshape([b, c, side, side])
    }
}
