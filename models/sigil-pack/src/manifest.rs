//! The manifest: what the pack is (architecture, sampling defaults), what it was trained on,
//! under which licences, and where each tensor lies with its digest.

use serde::{Deserialize, Serialize};

/// The pack's self-description, stored as JSON after the header.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Human name of the model, e.g. `sigil-emoji-student-4`.
    pub name: String,
    /// Architecture configs (one object per component: text encoder, denoiser, decoder).
    pub architecture: serde_json::Value,
    /// Sampling steps the model was made for.
    pub sampling_steps: u32,
    /// Classifier-free guidance scale (distilled in: 1 network evaluation a step).
    pub guidance: f32,
    /// SHA-256 (hex) of the training data manifest.
    pub data_manifest_sha256: String,
    /// Training facts (steps, wall time, seeds, teacher, figures).
    pub training: serde_json::Value,
    /// Licences of everything in the pack.
    pub licences: Vec<Licence>,
    /// Tensors, in file order.
    pub tensors: Vec<TensorEntry>,
}

/// One licensed component.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Licence {
    /// What it covers (e.g. "text encoder weights", "training images: Twemoji").
    pub component: String,
    /// SPDX identifier.
    pub licence: String,
    /// Source and attribution.
    pub source: String,
}

/// How a tensor's values are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Encoding {
    /// Little-endian f32.
    F32,
    /// Symmetric int8 with one f32 scale per index of `axis` (the output channel).
    I8PerChannel {
        /// The channel axis.
        axis: usize,
    },
    /// Opaque bytes (a tokenizer's vocabulary, a config file); shape `[len]`.
    Bytes,
}

/// A byte range of the pack and the SHA-256 of its bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Blob {
    /// Offset from the start of the file (64-byte aligned).
    pub offset: u64,
    /// Length in bytes.
    pub len: u64,
    /// SHA-256 of the bytes, hex.
    pub sha256: String,
}

/// One tensor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TensorEntry {
    /// Path in the module tree, e.g. `denoiser.down.0.conv1.weight`.
    pub name: String,
    /// Row-major shape.
    pub shape: Vec<usize>,
    /// Storage of the values.
    pub encoding: Encoding,
    /// The values.
    pub data: Blob,
    /// The per-channel scales (int8 only).
    pub scales: Option<Blob>,
}

impl TensorEntry {
    /// Number of elements.
    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }
}
