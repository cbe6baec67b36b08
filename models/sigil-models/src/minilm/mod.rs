//! all-MiniLM-L6-v2: a 6-layer BERT encoder with mean pooling and L2 normalisation, giving the
//! 384-d sentence embedding that conditions the denoiser. Field names mirror the checkpoint
//! (`embeddings.word_embeddings`, `encoder.layer.N.attention.self.query`, …); the two names Rust
//! cannot spell (`self`, `LayerNorm`) are remapped when loading.

mod config;
mod embeddings;
mod layer;
mod load;

use burn::module::Module;
use burn::tensor::{Device, Int, Tensor, TensorData};

pub use config::MiniLmConfig;
pub use embeddings::Embeddings;
pub use layer::{Intermediate, Layer, Output, SelfAttention};
pub use load::{TextEncoder, minilm_dir, tensor_to_vec};

/// The stack of transformer layers (`encoder.layer.N`).
#[derive(Module, Debug)]
pub struct Encoder {
    /// One entry per layer, named `layer.0` … `layer.5` as in the checkpoint.
    pub layer: Vec<Layer>,
}

/// The BERT body of all-MiniLM-L6-v2.
#[derive(Module, Debug)]
pub struct MiniLm {
    /// Word, position and token-type embeddings with their LayerNorm.
    pub embeddings: Embeddings,
    /// The transformer layers.
    pub encoder: Encoder,
}

impl MiniLmConfig {
    /// A model with freshly initialised weights (load the checkpoint into it).
    pub fn init(&self, device: &Device) -> MiniLm {
        MiniLm {
            embeddings: self.init_embeddings(device),
            encoder: Encoder {
                layer: (0..self.layers).map(|_| self.init_layer(device)).collect(),
            },
        }
    }
}

impl MiniLm {
    /// Token states `[batch, seq, hidden]` for ids `[batch, seq]` and a 0/1 mask `[batch, seq]`.
    pub fn forward(&self, ids: Tensor<2, Int>, mask: Tensor<2>) -> Tensor<3> {
        let [batch, seq] = ids.dims();
        // Additive attention bias: 0 where a token is real, a large negative number on padding.
        let bias = (mask.clone() - 1.0)
            .mul_scalar(1.0e9)
            .reshape([batch, 1, 1, seq]);
        let mut x = self.embeddings.forward(ids);
        for layer in &self.encoder.layer {
            x = layer.forward(x, bias.clone());
        }
        x
    }

    /// Sentence embeddings `[batch, hidden]`: the mean of the token states over the mask,
    /// L2-normalised.
    pub fn sentence_embedding(&self, ids: Tensor<2, Int>, mask: Tensor<2>) -> Tensor<2> {
        let states = self.forward(ids, mask.clone());
        let [batch, seq, hidden] = states.dims();
        let m = mask.reshape([batch, seq, 1]);
        let summed = (states * m.clone()).sum_dim(1).reshape([batch, hidden]);
        let count = m.sum_dim(1).reshape([batch, 1]).clamp_min(1.0e-9);
        l2_normalise(summed / count)
    }
}

/// Rows scaled to unit length (rows of zeros stay zero).
pub fn l2_normalise(x: Tensor<2>) -> Tensor<2> {
    let norm = x
        .clone()
        .powi_scalar(2)
        .sum_dim(1)
        .sqrt()
        .clamp_min(1.0e-12);
    x / norm
}

/// Pad a batch of id sequences to one length: ids `[batch, seq]` (pad id 0) and a 0/1 mask.
pub fn pad_batch(batch: &[Vec<u32>], device: &Device) -> (Tensor<2, Int>, Tensor<2>) {
    let seq = batch.iter().map(Vec::len).max().unwrap_or(0).max(1);
    let mut ids = vec![0i64; batch.len() * seq];
    let mut mask = vec![0.0f32; batch.len() * seq];
    for (row, seq_ids) in batch.iter().enumerate() {
        for (col, &id) in seq_ids.iter().enumerate() {
            if let Some(slot) = ids.get_mut(row * seq + col) {
                *slot = i64::from(id);
            }
            if let Some(slot) = mask.get_mut(row * seq + col) {
                *slot = 1.0;
            }
        }
    }
    let shape = [batch.len(), seq];
    (
        Tensor::from_data(TensorData::new(ids, shape), device),
        Tensor::from_data(TensorData::new(mask, shape), device),
    )
}
