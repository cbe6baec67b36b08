//! The bundle manifest (JSON, signed).

use serde::{Deserialize, Serialize};

use crate::{BundleError, FORMAT_VERSION, sha256};

/// One part of the payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Part {
    /// Length in bytes.
    pub len: u64,
    /// SHA-256, hex: for the firmware, the digest records carry as the firmware digest; for
    /// the model pack, the model digest.
    pub sha256: String,
}

/// What a bundle holds and is for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Equal to the header's format version.
    pub format: u16,
    /// The hardware the bundle is for.
    pub device_class: String,
    /// Anti-downgrade counter.
    pub version: u64,
    /// The firmware (the `sigil` program).
    pub firmware: Part,
    /// The model pack.
    pub model: Part,
    /// The policy digest the firmware enforces, hex.
    pub policy_digest: String,
    /// Payload chunk size.
    pub chunk_size: u32,
    /// SHA-256 of every payload chunk, hex, in order.
    pub chunks: Vec<String>,
    /// Seconds since the Unix epoch when made.
    pub created_unix: u64,
    /// The maker key that signed it, hex (informational: the signature is checked against the
    /// key the verifier trusts, never this one).
    pub signer: String,
}

fn digest32(s: &str, what: &str) -> Result<[u8; 32], BundleError> {
    let v = hex::decode(s).map_err(|_| BundleError::Manifest(format!("{what} is not hex")))?;
    v.try_into()
        .map_err(|_| BundleError::Manifest(format!("{what} is not 32 bytes")))
}

impl Manifest {
    /// Payload bytes: firmware then model.
    pub fn payload_len(&self) -> u64 {
        self.firmware.len.saturating_add(self.model.len)
    }

    /// The firmware digest.
    pub fn firmware_digest(&self) -> Result<[u8; 32], BundleError> {
        digest32(&self.firmware.sha256, "firmware.sha256")
    }

    /// The model digest.
    pub fn model_digest(&self) -> Result<[u8; 32], BundleError> {
        digest32(&self.model.sha256, "model.sha256")
    }

    /// The policy digest.
    pub fn policy(&self) -> Result<[u8; 32], BundleError> {
        digest32(&self.policy_digest, "policy_digest")
    }

    /// Consistency of the manifest with itself.
    pub(crate) fn check_shape(&self) -> Result<(), BundleError> {
        if self.format != FORMAT_VERSION {
            return Err(BundleError::Manifest(format!(
                "manifest format {} under header version {FORMAT_VERSION}",
                self.format
            )));
        }
        if self.chunk_size == 0 {
            return Err(BundleError::Manifest("chunk size 0".into()));
        }
        let want = self.payload_len().div_ceil(u64::from(self.chunk_size));
        if self.chunks.len() as u64 != want {
            return Err(BundleError::Manifest(format!(
                "{} chunk digests for {} payload bytes in chunks of {} (want {want})",
                self.chunks.len(),
                self.payload_len(),
                self.chunk_size
            )));
        }
        self.firmware_digest()?;
        self.model_digest()?;
        self.policy()?;
        for (i, c) in self.chunks.iter().enumerate() {
            digest32(c, &format!("chunk {i}"))?;
        }
        Ok(())
    }

    /// Byte range of chunk `index` within the payload.
    pub fn chunk_range(&self, index: usize) -> Option<std::ops::Range<u64>> {
        let start = (index as u64).checked_mul(u64::from(self.chunk_size))?;
        (start < self.payload_len())
            .then(|| start..(start + u64::from(self.chunk_size)).min(self.payload_len()))
    }

    /// Check one payload chunk as it arrives.
    pub fn check_chunk(&self, index: usize, bytes: &[u8]) -> Result<(), BundleError> {
        let range = self
            .chunk_range(index)
            .ok_or(BundleError::Chunk { index })?;
        if bytes.len() as u64 != range.end - range.start
            || self.chunks.get(index).map(String::as_str)
                != Some(hex::encode(sha256(bytes)).as_str())
        {
            return Err(BundleError::Chunk { index });
        }
        Ok(())
    }
}
