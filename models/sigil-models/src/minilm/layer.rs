//! `encoder.layer.N`: post-LayerNorm self-attention and feed-forward, as in BERT.

use burn::module::Module;
use burn::nn::{LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::tensor::activation::{gelu, softmax};
use burn::tensor::{Device, Tensor};

use super::MiniLmConfig;

/// `attention.self`: the query, key and value projections.
#[derive(Module, Debug)]
pub struct SelfAttention {
    /// `query`.
    pub query: Linear,
    /// `key`.
    pub key: Linear,
    /// `value`.
    pub value: Linear,
    /// Number of heads (not a weight).
    pub heads: usize,
}

/// A projection followed by residual add and LayerNorm (`attention.output`, `output`).
#[derive(Module, Debug)]
pub struct Output {
    /// `dense`.
    pub dense: Linear,
    /// `LayerNorm`.
    pub layer_norm: LayerNorm,
}

/// `intermediate`: the feed-forward expansion.
#[derive(Module, Debug)]
pub struct Intermediate {
    /// `dense`.
    pub dense: Linear,
}

/// `attention`: self-attention and its output block.
#[derive(Module, Debug)]
pub struct Attention {
    /// `attention.self` (remapped to `self_attn` when loading).
    pub self_attn: SelfAttention,
    /// `attention.output`.
    pub output: Output,
}

/// One transformer layer.
#[derive(Module, Debug)]
pub struct Layer {
    /// Self-attention.
    pub attention: Attention,
    /// Feed-forward expansion with GELU.
    pub intermediate: Intermediate,
    /// Feed-forward projection, residual, LayerNorm.
    pub output: Output,
}

impl MiniLmConfig {
    pub(super) fn init_layer(&self, device: &Device) -> Layer {
        let linear = |i, o| LinearConfig::new(i, o).init(device);
        let norm = || {
            LayerNormConfig::new(self.hidden)
                .with_epsilon(self.eps)
                .init(device)
        };
        Layer {
            attention: Attention {
                self_attn: SelfAttention {
                    query: linear(self.hidden, self.hidden),
                    key: linear(self.hidden, self.hidden),
                    value: linear(self.hidden, self.hidden),
                    heads: self.heads,
                },
                output: Output {
                    dense: linear(self.hidden, self.hidden),
                    layer_norm: norm(),
                },
            },
            intermediate: Intermediate {
                dense: linear(self.hidden, self.intermediate),
            },
            output: Output {
                dense: linear(self.intermediate, self.hidden),
                layer_norm: norm(),
            },
        }
    }
}

impl SelfAttention {
    /// `[b, s, h]` states and a `[b, 1, 1, s]` additive mask → `[b, s, h]` context.
    pub fn forward(&self, x: Tensor<3>, bias: Tensor<4>) -> Tensor<3> {
        let [b, s, h] = x.dims();
        let heads = self.heads.max(1);
        let dh = h / heads;
        let split = |t: Tensor<3>| t.reshape([b, s, heads, dh]).swap_dims(1, 2); // [b, nh, s, dh]
        let q = split(self.query.forward(x.clone()));
        let k = split(self.key.forward(x.clone()));
        let v = split(self.value.forward(x));
        #[allow(clippy::cast_precision_loss)] // dh is a small head width
        let scale = 1.0 / (dh as f64).sqrt();
        let scores = q.matmul(k.swap_dims(2, 3)).mul_scalar(scale) + bias; // [b, nh, s, s]
        let ctx = softmax(scores, 3).matmul(v); // [b, nh, s, dh]
        ctx.swap_dims(1, 2).reshape([b, s, h])
    }
}

impl Output {
    /// `layer_norm(residual + dense(x))`.
    pub fn forward(&self, x: Tensor<3>, residual: Tensor<3>) -> Tensor<3> {
        self.layer_norm.forward(residual + self.dense.forward(x))
    }
}

impl Layer {
    /// `[b, s, h]` → `[b, s, h]`.
    pub fn forward(&self, x: Tensor<3>, bias: Tensor<4>) -> Tensor<3> {
        let ctx = self.attention.self_attn.forward(x.clone(), bias);
        let x = self.attention.output.forward(ctx, x);
        let inner = gelu(self.intermediate.dense.forward(x.clone()));
        self.output.forward(inner, x)
    }
}
