//! The encoder's shape, read from the checkpoint's `config.json`.

use std::path::Path;

use burn::config::Config;
use serde::Deserialize;

use crate::error::ModelError;

/// Shape of a BERT encoder (the fields of Hugging Face's `config.json` that matter here).
#[derive(Config, Debug, PartialEq)]
pub struct MiniLmConfig {
    /// Vocabulary size.
    #[config(default = 30522)]
    pub vocab_size: usize,
    /// Width of the token states.
    #[config(default = 384)]
    pub hidden: usize,
    /// Transformer layers.
    #[config(default = 6)]
    pub layers: usize,
    /// Attention heads.
    #[config(default = 12)]
    pub heads: usize,
    /// Width of the feed-forward layer.
    #[config(default = 1536)]
    pub intermediate: usize,
    /// Positions the position embedding covers.
    #[config(default = 512)]
    pub max_positions: usize,
    /// Token types.
    #[config(default = 2)]
    pub type_vocab: usize,
    /// LayerNorm epsilon.
    #[config(default = 1e-12)]
    pub eps: f64,
}

#[derive(Deserialize)]
struct HfConfig {
    model_type: String,
    hidden_act: String,
    vocab_size: usize,
    hidden_size: usize,
    num_hidden_layers: usize,
    num_attention_heads: usize,
    intermediate_size: usize,
    max_position_embeddings: usize,
    type_vocab_size: usize,
    layer_norm_eps: f64,
    #[serde(default)]
    position_embedding_type: Option<String>,
}

impl MiniLmConfig {
    /// Read and check a Hugging Face BERT `config.json`.
    pub fn from_hf_json(path: &Path) -> Result<Self, ModelError> {
        let text = std::fs::read_to_string(path).map_err(|e| ModelError::io(path, e))?;
        Self::from_hf_str(&text).map_err(|reason| ModelError::format(path, reason))
    }

    /// Parse and check the text of a `config.json`.
    pub fn from_hf_str(text: &str) -> Result<Self, String> {
        let hf: HfConfig =
            serde_json::from_str(text).map_err(|e| format!("not a BERT config.json: {e}"))?;
        if hf.model_type != "bert" || hf.hidden_act != "gelu" {
            return Err(format!(
                "expected a BERT model with GELU, found model_type {:?} and hidden_act {:?}",
                hf.model_type, hf.hidden_act
            ));
        }
        if let Some(kind) = hf.position_embedding_type.filter(|k| k != "absolute") {
            return Err(format!(
                "position_embedding_type {kind:?} is not supported (only absolute)"
            ));
        }
        if hf.num_attention_heads == 0 || !hf.hidden_size.is_multiple_of(hf.num_attention_heads) {
            return Err(format!(
                "hidden_size {} is not a multiple of num_attention_heads {}",
                hf.hidden_size, hf.num_attention_heads
            ));
        }
        Ok(MiniLmConfig {
            vocab_size: hf.vocab_size,
            hidden: hf.hidden_size,
            layers: hf.num_hidden_layers,
            heads: hf.num_attention_heads,
            intermediate: hf.intermediate_size,
            max_positions: hf.max_position_embeddings,
            type_vocab: hf.type_vocab_size,
            eps: hf.layer_norm_eps,
        })
    }
}
