//! Why a pack could not be written or read. Every message names the problem and what to do.

use std::path::PathBuf;

/// Errors of reading, checking and writing model packs.
#[derive(Debug, thiserror::Error)]
pub enum PackError {
    /// The file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file does not start with the pack magic.
    #[error(
        "not a Sigil model pack: the file starts with {found:02x?}, a pack starts with \"SIGLPACK\"; \
         pass the .sigilpack file written by `sigil-host pack`"
    )]
    BadMagic {
        /// The first bytes found.
        found: Vec<u8>,
    },
    /// A pack of a format version this build does not read.
    #[error(
        "model pack format version {found}; this build reads version {supported}: repack the model \
         with this release's `sigil-host pack`, or update the firmware"
    )]
    UnsupportedVersion {
        /// Version in the file.
        found: u16,
        /// Version this build reads.
        supported: u16,
    },
    /// The file is shorter than its header says, or its layout is inconsistent.
    #[error("model pack is damaged: {0}; copy the pack again from its bundle")]
    Damaged(String),
    /// A digest does not match: the named part of the pack was altered or damaged.
    #[error("model pack fails its digest: {what}; copy the pack again from its bundle")]
    Digest {
        /// Which part (the whole file, the manifest, or a tensor by name).
        what: String,
    },
    /// A tensor that the loader asked for is not in the pack.
    #[error("model pack has no tensor `{0}`: the pack was made for another architecture")]
    MissingTensor(String),
    /// Input to the writer or quantiser that cannot be packed.
    #[error("cannot pack tensor `{name}`: {reason}")]
    Invalid {
        /// Tensor name.
        name: String,
        /// What is wrong with it.
        reason: String,
    },
}

impl PackError {
    pub(crate) fn io(path: &std::path::Path, source: std::io::Error) -> Self {
        PackError::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    pub(crate) fn invalid(name: &str, reason: impl Into<String>) -> Self {
        PackError::Invalid {
            name: name.to_string(),
            reason: reason.into(),
        }
    }
}
