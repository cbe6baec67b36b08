//! `embeddings.*`: word + position + token-type (always type 0) embeddings, then LayerNorm.

use burn::module::Module;
use burn::nn::{Embedding, EmbeddingConfig, LayerNorm, LayerNormConfig};
use burn::tensor::{Device, Int, Tensor};

use super::MiniLmConfig;

/// The embedding block.
#[derive(Module, Debug)]
pub struct Embeddings {
    /// `embeddings.word_embeddings`, `[vocab, hidden]`.
    pub word_embeddings: Embedding,
    /// `embeddings.position_embeddings`, `[max_positions, hidden]`.
    pub position_embeddings: Embedding,
    /// `embeddings.token_type_embeddings`, `[type_vocab, hidden]`.
    pub token_type_embeddings: Embedding,
    /// `embeddings.LayerNorm`.
    pub layer_norm: LayerNorm,
}

impl MiniLmConfig {
    pub(super) fn init_embeddings(&self, device: &Device) -> Embeddings {
        Embeddings {
            word_embeddings: EmbeddingConfig::new(self.vocab_size, self.hidden).init(device),
            position_embeddings: EmbeddingConfig::new(self.max_positions, self.hidden).init(device),
            token_type_embeddings: EmbeddingConfig::new(self.type_vocab, self.hidden).init(device),
            layer_norm: LayerNormConfig::new(self.hidden)
                .with_epsilon(self.eps)
                .init(device),
        }
    }
}

impl Embeddings {
    /// `[batch, seq]` ids → `[batch, seq, hidden]`.
    pub fn forward(&self, ids: Tensor<2, Int>) -> Tensor<3> {
        let [_, seq] = ids.dims();
        let device = ids.device();
        let words = self.word_embeddings.forward(ids); // [b, s, h]
        let positions =
            Tensor::<1, Int>::arange(0..i64::try_from(seq).unwrap_or(i64::MAX), &device)
                .reshape([1, seq]);
        let positions = self.position_embeddings.forward(positions); // [1, s, h]
        let hidden = words.dims()[2];
        let type0 = self
            .token_type_embeddings
            .weight
            .val()
            .slice([0..1, 0..hidden])
            .reshape([1, 1, hidden]);
        self.layer_norm.forward(words + positions + type0)
    }
}
