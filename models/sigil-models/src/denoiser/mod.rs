//! The latent denoiser: a small UNet that predicts the flow-matching velocity `v = noise − x0`
//! for a noisy latent `x_t = (1 − t)·x0 + t·noise`, conditioned on the timestep, the MiniLM
//! sentence embedding of the prompt (zeros = unconditional, for classifier-free guidance) and a
//! style id (Twemoji, Noto, or "any").
//!
//! The conditioning reaches every residual block as a per-channel scale and shift (adaptive
//! GroupNorm), which carries *what* but not *where*. With `spatial_cond`, it is also projected to
//! a feature map at the lowest resolution and added before the middle blocks, so the prompt can
//! lay out the coarse composition directly even when the input is almost pure noise.
//!
//! With `prior`, a text → latent MLP (`crate::prior`) predicts the latent from the prompt alone
//! and its prediction is concatenated to the noisy input, so the UNet refines a composition
//! instead of having to recall it through noise.
//!
//! With `step_cond` (the few-step student), the step size `d` the network is asked to jump is a
//! further input: its sinusoidal features pass through a zero-initialised linear layer into the
//! conditioning, so a student initialised from a teacher starts out computing the teacher.

mod block;
mod embed;

use crate::conv::Conv;
use burn::config::Config;
use burn::module::Module;
use burn::nn::{
    Embedding, EmbeddingConfig, GroupNorm, GroupNormConfig, Initializer, Linear, LinearConfig,
};
use burn::tensor::activation::silu;
use burn::tensor::{Device, Int, Tensor};

pub use block::ResBlock;
pub use embed::timestep_embedding;

use crate::prior::{Prior, PriorConfig};

use crate::conv::conv3;

/// Style ids: the two artwork styles of the dataset and "any".
pub const STYLE_TWITTER: i64 = 0;
/// Noto (Google) style.
pub const STYLE_GOOGLE: i64 = 1;
/// No particular style (also what condition dropout trains).
pub const STYLE_ANY: i64 = 2;

/// Shape of the denoiser.
#[derive(Config, Debug, PartialEq)]
pub struct DenoiserConfig {
    /// Latent channels.
    #[config(default = 4)]
    pub latent: usize,
    /// Channels at full latent resolution.
    #[config(default = 64)]
    pub base: usize,
    /// Channel multipliers per resolution level (each level after the first halves the side).
    #[config(default = "vec![1, 2, 2]")]
    pub mults: Vec<usize>,
    /// Residual blocks per level on the way down.
    #[config(default = 2)]
    pub blocks: usize,
    /// Width of the text embedding.
    #[config(default = 384)]
    pub text_dim: usize,
    /// Number of style ids.
    #[config(default = 3)]
    pub styles: usize,
    /// Width of the conditioning vector.
    #[config(default = 256)]
    pub emb: usize,
    /// GroupNorm groups.
    #[config(default = 8)]
    pub groups: usize,
    /// Side of the latents the denoiser is built for (the spatial conditioning map depends on it).
    #[config(default = 16)]
    pub side: usize,
    /// Project the conditioning to a feature map at the lowest resolution (see the module docs).
    #[config(default = false)]
    pub spatial_cond: bool,
    /// Take the step size as an input (shortcut-model student).
    #[config(default = false)]
    pub step_cond: bool,
    /// A text → latent prior whose prediction enters as extra input channels (see `prior`).
    pub prior: Option<PriorConfig>,
}

/// The UNet.
#[derive(Module, Debug)]
pub struct Denoiser {
    /// Sinusoidal timestep features → conditioning width.
    pub time_in: Linear,
    /// Second layer of the timestep MLP.
    pub time_out: Linear,
    /// Text embedding → conditioning width.
    pub text: Linear,
    /// Style embedding.
    pub style: Embedding,
    /// Latent → base channels.
    pub stem: Conv,
    /// Residual blocks on the way down.
    pub down: Vec<ResBlock>,
    /// Stride-2 convolutions between levels.
    pub downsample: Vec<Conv>,
    /// Blocks at the lowest resolution.
    pub mid: Vec<ResBlock>,
    /// Residual blocks on the way up (each takes a skip connection).
    pub up: Vec<ResBlock>,
    /// Convolutions after each ×2 upsampling.
    pub upsample: Vec<Conv>,
    /// Step-size features → conditioning width (`step_cond`; zero-initialised).
    pub step_in: Option<Linear>,
    /// The text → latent prior (its output is concatenated to the input latent).
    pub prior: Option<Prior>,
    /// Conditioning → `[channels, side, side]` at the lowest resolution (`spatial_cond`).
    pub cond_map: Option<Linear>,
    /// Final norm.
    pub out_norm: GroupNorm,
    /// Base channels → velocity.
    pub out: Conv,
    /// Width of the sinusoidal features (not a weight).
    pub time_features: usize,
    /// Blocks per level (not a weight).
    pub blocks: usize,
}

impl DenoiserConfig {
    /// Read a config written by any version of this code: fields added since (such as
    /// `spatial_cond`, `step_cond`) take their defaults, which is what older models were.
    pub fn from_json(text: &str) -> Result<Self, String> {
        let given: serde_json::Value =
            serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
        let mut merged = serde_json::to_value(DenoiserConfig::new()).map_err(|e| e.to_string())?;
        match (merged.as_object_mut(), given.as_object()) {
            (Some(m), Some(g)) => {
                for (k, v) in g {
                    m.insert(k.clone(), v.clone());
                }
            }
            _ => return Err("not a JSON object".into()),
        }
        serde_json::from_value(merged).map_err(|e| e.to_string())
    }

    /// A fresh denoiser.
    pub fn init(&self, device: &Device) -> Denoiser {
        let levels = self.mults.len().max(1);
        let ch = |l: usize| self.base * self.mults.get(l).copied().unwrap_or(1);
        let res = |i, o| ResBlock::new(i, o, self.emb, self.groups, device);
        let mut down = Vec::new();
        let mut downsample = Vec::new();
        let mut skips = vec![self.base];
        let mut c = self.base;
        for l in 0..levels {
            for _ in 0..self.blocks {
                down.push(res(c, ch(l)));
                c = ch(l);
                skips.push(c);
            }
            if l + 1 < levels {
                downsample.push(conv3(c, c, 2, device));
                skips.push(c);
            }
        }
        let low_side = (self.side >> (levels - 1)).max(1);
        let cond_map = self
            .spatial_cond
            .then(|| LinearConfig::new(self.emb, c * low_side * low_side).init(device));
        let mid = vec![res(c, c), res(c, c)];
        let mut up = Vec::new();
        let mut upsample = Vec::new();
        for l in (0..levels).rev() {
            for _ in 0..=self.blocks {
                let skip = skips.pop().unwrap_or(self.base);
                up.push(res(c + skip, ch(l)));
                c = ch(l);
            }
            if l > 0 {
                upsample.push(conv3(c, c, 1, device));
            }
        }
        Denoiser {
            time_in: LinearConfig::new(self.base, self.emb).init(device),
            time_out: LinearConfig::new(self.emb, self.emb).init(device),
            text: LinearConfig::new(self.text_dim, self.emb).init(device),
            style: EmbeddingConfig::new(self.styles, self.emb).init(device),
            stem: conv3(
                self.latent + self.prior.as_ref().map_or(0, |p| p.latent),
                self.base,
                1,
                device,
            ),
            down,
            downsample,
            mid,
            up,
            upsample,
            prior: self.prior.as_ref().map(|p| p.init(device)),
            step_in: self.step_cond.then(|| {
                LinearConfig::new(self.base, self.emb)
                    .with_initializer(Initializer::Zeros)
                    .init(device)
            }),
            cond_map,
            out_norm: GroupNormConfig::new(self.groups, c).init(device),
            out: conv3(c, self.latent, 1, device),
            time_features: self.base,
            blocks: self.blocks,
        }
    }
}

impl Denoiser {
    /// Every convolution with its module path (as in packs, without the `denoiser.` prefix).
    pub fn convs_mut(&mut self) -> Vec<(String, &mut Conv)> {
        let mut out = vec![("stem".to_string(), &mut self.stem)];
        for (i, b) in self.down.iter_mut().enumerate() {
            b.convs_mut(&format!("down.{i}"), &mut out);
        }
        for (i, c) in self.downsample.iter_mut().enumerate() {
            out.push((format!("downsample.{i}"), c));
        }
        for (i, b) in self.mid.iter_mut().enumerate() {
            b.convs_mut(&format!("mid.{i}"), &mut out);
        }
        for (i, b) in self.up.iter_mut().enumerate() {
            b.convs_mut(&format!("up.{i}"), &mut out);
        }
        for (i, c) in self.upsample.iter_mut().enumerate() {
            out.push((format!("upsample.{i}"), c));
        }
        out.push(("out".to_string(), &mut self.out));
        out
    }

    /// Velocity `[b, latent, s, s]` for noisy latents `x` `[b, latent, s, s]`, times `t` `[b]`
    /// in [0, 1], text embeddings `[b, text_dim]` and style ids `[b]`. With `spatial_cond`,
    /// `s` must be the config's `side`.
    pub fn forward(
        &self,
        x: Tensor<4>,
        t: Tensor<1>,
        text: Tensor<2>,
        style: Tensor<1, Int>,
    ) -> Tensor<4> {
        self.forward_step(x, t, None, text, style)
    }

    /// As [`Denoiser::forward`], for a student asked to jump a step of size `d` `[b]` (0 = the
    /// instantaneous velocity). A denoiser without `step_cond` ignores `d`.
    pub fn forward_step(
        &self,
        x: Tensor<4>,
        t: Tensor<1>,
        d: Option<Tensor<1>>,
        text: Tensor<2>,
        style: Tensor<1, Int>,
    ) -> Tensor<4> {
        let temb = timestep_embedding(t, self.time_features);
        let mut temb = self.time_out.forward(silu(self.time_in.forward(temb)));
        if let (Some(step_in), Some(d)) = (&self.step_in, d) {
            temb = temb + step_in.forward(timestep_embedding(d, self.time_features));
        }
        let [b, _] = text.dims();
        let semb = self.style.forward(style.clone().reshape([b, 1]));
        let [_, _, e] = semb.dims();
        let x = match &self.prior {
            // [b, 2·latent, s, s]: the noisy latent and the prior's prediction. The prior is
            // trained on its own objective (`sigil-train`'s prior stage) and frozen here: the
            // flow loss's gradient through it erodes what it memorised (measured: labels top-5
            // of the prior alone 39.5 % → 25.8 % after 1,300 joint teacher steps). Frozen by
            // taking its parameters out of the autodiff graph, so that its forward records
            // nothing; detaching its output instead leaks, since burn-autodiff 0.22.1 keeps the
            // nodes of a branch that backward never reaches (~0.8 MB a teacher step, measured).
            Some(p) => {
                let frozen = p.clone().no_grad();
                Tensor::cat(vec![x, frozen.forward(text.clone(), style.clone())], 1)
            }
            None => x,
        };
        let cond = silu(temb + self.text.forward(text) + semb.reshape([b, e])); // [b, emb]

        let mut h = self.stem.forward(x);
        let mut skips = vec![h.clone()];
        let per_level = self.blocks.max(1);
        let mut downs = self.downsample.iter();
        for (i, block) in self.down.iter().enumerate() {
            h = block.forward(h, cond.clone());
            skips.push(h.clone());
            if (i + 1).is_multiple_of(per_level)
                && let Some(d) = downs.next()
            {
                h = d.forward(h);
                skips.push(h.clone());
            }
        }
        if let Some(map) = &self.cond_map {
            let [_, c, hs, ws] = h.dims();
            h = h + map.forward(cond.clone()).reshape([b, c, hs, ws]); // [b, c, s/2^L, s/2^L]
        }
        for block in &self.mid {
            h = block.forward(h, cond.clone());
        }
        let mut ups = self.upsample.iter();
        for (i, block) in self.up.iter().enumerate() {
            if let Some(skip) = skips.pop() {
                h = Tensor::cat(vec![h, skip], 1);
            }
            h = block.forward(h, cond.clone());
            if (i + 1).is_multiple_of(per_level + 1)
                && let Some(u) = ups.next()
            {
                h = u.forward(crate::autoencoder::upsample2(h));
            }
        }
        self.out.forward(silu(self.out_norm.forward(h)))
    }
}
