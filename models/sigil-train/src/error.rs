//! Training and evaluation errors: each names the file or setting and the fix.

use sigil_models::ModelError;

/// What went wrong.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// A file could not be read or written.
    #[error("{file}: {source}")]
    Io {
        /// The file.
        file: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// Input data that is not what it must be.
    #[error("{file}: {reason}")]
    Data {
        /// The file.
        file: String,
        /// What is wrong and the fix.
        reason: String,
    },
    /// A checkpoint that does not belong to this run.
    #[error("{file}: {reason}")]
    Checkpoint {
        /// The checkpoint file.
        file: String,
        /// What is wrong and the fix.
        reason: String,
    },
    /// A model could not be loaded or run.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// A model pack could not be written or read.
    #[error(transparent)]
    Pack(#[from] sigil_pack::PackError),
}

impl TrainError {
    /// An I/O error on `path`.
    pub fn io(path: &std::path::Path, source: std::io::Error) -> Self {
        TrainError::Io {
            file: path.display().to_string(),
            source,
        }
    }

    /// A data error on `path`.
    pub fn data(path: &std::path::Path, reason: impl Into<String>) -> Self {
        TrainError::Data {
            file: path.display().to_string(),
            reason: reason.into(),
        }
    }
}
