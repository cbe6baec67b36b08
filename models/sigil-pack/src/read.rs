//! Opening a pack: every check before any tensor is handed out.

use std::path::Path;

use crate::error::PackError;
use crate::manifest::{Blob, Encoding, Manifest, TensorEntry};
use crate::quant::dequantize;
use crate::{FORMAT_VERSION, HEADER_LEN, MAGIC, MAX_MANIFEST, TRAILER_LEN, sha256};

/// A checked pack in memory.
#[derive(Debug, Clone)]
pub struct Pack {
    bytes: Vec<u8>,
    manifest: Manifest,
    digest: [u8; 32],
}

fn le_u16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn le_u32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

impl Pack {
    /// Read and check the pack at `path`.
    pub fn open(path: &Path) -> Result<Pack, PackError> {
        let bytes = std::fs::read(path).map_err(|e| PackError::io(path, e))?;
        Pack::from_bytes(bytes)
    }

    /// Check a pack held in memory.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Pack, PackError> {
        let head = bytes.get(..MAGIC.len().min(bytes.len())).unwrap_or(&[]);
        if head != MAGIC {
            return Err(PackError::BadMagic {
                found: head.to_vec(),
            });
        }
        let version = le_u16(&bytes, 8)
            .ok_or_else(|| PackError::Damaged("the header is cut short".into()))?;
        if version != FORMAT_VERSION {
            return Err(PackError::UnsupportedVersion {
                found: version,
                supported: FORMAT_VERSION,
            });
        }
        let flags = le_u16(&bytes, 10)
            .ok_or_else(|| PackError::Damaged("the header is cut short".into()))?;
        if flags != 0 {
            return Err(PackError::Damaged(format!(
                "unknown header flags {flags:#06x} (this build knows none)"
            )));
        }
        let manifest_len = le_u32(&bytes, 12)
            .ok_or_else(|| PackError::Damaged("the header is cut short".into()))?
            as usize;
        if manifest_len > MAX_MANIFEST {
            return Err(PackError::Damaged(format!(
                "the header gives a {manifest_len}-byte manifest (limit {MAX_MANIFEST})"
            )));
        }
        let body_end = bytes
            .len()
            .checked_sub(TRAILER_LEN)
            .filter(|&end| end >= HEADER_LEN + manifest_len)
            .ok_or_else(|| {
                PackError::Damaged(format!(
                    "{} bytes is too short for a {manifest_len}-byte manifest and the digest \
                     (the file is truncated)",
                    bytes.len()
                ))
            })?;
        let json = bytes
            .get(HEADER_LEN..HEADER_LEN + manifest_len)
            .ok_or_else(|| PackError::Damaged("the manifest is cut short".into()))?;
        let manifest: Manifest = serde_json::from_slice(json)
            .map_err(|e| PackError::Damaged(format!("the manifest does not parse ({e})")))?;
        let data_start = HEADER_LEN + manifest_len;
        for t in &manifest.tensors {
            check_entry(&bytes, t, data_start, body_end)?;
        }
        let (body, trailer) = bytes.split_at(body_end);
        if sha256(body).as_slice() != trailer {
            return Err(PackError::Digest {
                what: "the whole-file digest (the manifest or header was altered)".into(),
            });
        }
        let digest = sha256(&bytes);
        Ok(Pack {
            bytes,
            manifest,
            digest,
        })
    }

    /// The manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// SHA-256 of the whole file: the model digest that records carry.
    pub fn digest(&self) -> [u8; 32] {
        self.digest
    }

    /// Size of the file in bytes.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Whether the file is empty (never, for a checked pack).
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The entry of tensor `name`.
    pub fn entry(&self, name: &str) -> Result<&TensorEntry, PackError> {
        self.manifest
            .tensors
            .iter()
            .find(|t| t.name == name)
            .ok_or_else(|| PackError::MissingTensor(name.to_string()))
    }

    fn blob(&self, b: &Blob) -> &[u8] {
        // Bounds were checked when the pack was opened.
        let (start, end) = (b.offset as usize, (b.offset + b.len) as usize);
        self.bytes.get(start..end).unwrap_or(&[])
    }

    /// Tensor `name` as f32 values (int8 tensors dequantised) and its shape.
    pub fn f32(&self, name: &str) -> Result<(Vec<f32>, Vec<usize>), PackError> {
        let t = self.entry(name)?;
        let values = match t.encoding {
            Encoding::F32 => self
                .blob(&t.data)
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
            Encoding::I8PerChannel { axis } => {
                let (q, scales) = self.i8(name)?;
                dequantize(name, &q, &scales, &t.shape, axis)?
            }
            Encoding::Bytes => {
                return Err(PackError::invalid(name, "holds bytes, not numbers"));
            }
        };
        Ok((values, t.shape.clone()))
    }

    /// An opaque file stored with [`crate::PackWriter::add_bytes`].
    pub fn bytes(&self, name: &str) -> Result<&[u8], PackError> {
        let t = self.entry(name)?;
        if t.encoding != Encoding::Bytes {
            return Err(PackError::invalid(name, "holds numbers, not bytes"));
        }
        Ok(self.blob(&t.data))
    }

    /// An int8 tensor's values and per-channel scales, as stored (for int8 kernels).
    pub fn i8(&self, name: &str) -> Result<(Vec<i8>, Vec<f32>), PackError> {
        let t = self.entry(name)?;
        let Some(scales) = &t.scales else {
            return Err(PackError::invalid(name, "is not stored as int8"));
        };
        let values = self
            .blob(&t.data)
            .iter()
            .map(|b| i8::from_le_bytes([*b]))
            .collect();
        let scales = self
            .blob(scales)
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        Ok((values, scales))
    }
}

/// Bounds, sizes and digests of one tensor's blobs.
fn check_entry(
    bytes: &[u8],
    t: &TensorEntry,
    data_start: usize,
    body_end: usize,
) -> Result<(), PackError> {
    let numel = t
        .shape
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .ok_or_else(|| PackError::Damaged(format!("tensor `{}` has an absurd shape", t.name)))?;
    let (value_bytes, scales) = match t.encoding {
        Encoding::F32 => (numel.checked_mul(4), None),
        Encoding::Bytes => (Some(numel), None),
        Encoding::I8PerChannel { axis } => {
            let channels = t.shape.get(axis).copied().ok_or_else(|| {
                PackError::Damaged(format!(
                    "tensor `{}`: axis {axis} is outside its shape {:?}",
                    t.name, t.shape
                ))
            })?;
            (Some(numel), Some(channels * 4))
        }
    };
    let expect = |b: &Blob, len: Option<usize>, part: &str| -> Result<(), PackError> {
        let start = usize::try_from(b.offset).unwrap_or(usize::MAX);
        let blen = usize::try_from(b.len).unwrap_or(usize::MAX);
        let end = start.saturating_add(blen);
        if Some(blen) != len || start < data_start || end > body_end {
            return Err(PackError::Damaged(format!(
                "tensor `{}`: its {part} ({} bytes at {}) does not fit its shape {:?} or the file",
                t.name, b.len, b.offset, t.shape
            )));
        }
        let got = bytes.get(start..end).map(sha256).unwrap_or_default();
        if hex::encode(got) != b.sha256 {
            return Err(PackError::Digest {
                what: format!("tensor `{}` ({part})", t.name),
            });
        }
        Ok(())
    };
    expect(&t.data, value_bytes, "values")?;
    match (&t.scales, scales) {
        (Some(b), Some(len)) => expect(b, Some(len), "scales"),
        (None, None) => Ok(()),
        _ => Err(PackError::Damaged(format!(
            "tensor `{}`: scales do not match its encoding",
            t.name
        ))),
    }
}
