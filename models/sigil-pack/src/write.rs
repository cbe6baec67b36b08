//! Building a pack in memory and writing it atomically.

use std::io::Write;
use std::path::Path;

use crate::error::PackError;
use crate::manifest::{Blob, Encoding, Licence, Manifest, TensorEntry};
use crate::quant::quantize;
use crate::{ALIGN, FORMAT_VERSION, HEADER_LEN, MAGIC, MAX_MANIFEST, sha256};

/// Collects tensors, then lays out and writes the pack.
#[derive(Debug)]
pub struct PackWriter {
    manifest: Manifest,
    /// Blob bytes, in order; offsets are assigned by `to_bytes`.
    blobs: Vec<Vec<u8>>,
}

impl PackWriter {
    /// A pack with these facts and no tensors yet.
    pub fn new(
        name: &str,
        architecture: serde_json::Value,
        sampling_steps: u32,
        guidance: f32,
        data_manifest_sha256: &str,
        training: serde_json::Value,
        licences: Vec<Licence>,
    ) -> Self {
        PackWriter {
            manifest: Manifest {
                name: name.to_string(),
                architecture,
                sampling_steps,
                guidance,
                data_manifest_sha256: data_manifest_sha256.to_string(),
                training,
                licences,
                tensors: Vec::new(),
            },
            blobs: Vec::new(),
        }
    }

    fn check(&self, name: &str, data: &[f32], shape: &[usize]) -> Result<(), PackError> {
        if self.manifest.tensors.iter().any(|t| t.name == name) {
            return Err(PackError::invalid(name, "added twice"));
        }
        if shape.iter().product::<usize>() != data.len() {
            return Err(PackError::invalid(
                name,
                format!("{} values for shape {shape:?}", data.len()),
            ));
        }
        Ok(())
    }

    fn push(&mut self, name: &str, shape: &[usize], encoding: Encoding, blobs: Vec<Vec<u8>>) {
        let mut placeholders = blobs.iter().map(|b| Blob {
            offset: 0,
            len: b.len() as u64,
            sha256: hex::encode(sha256(b)),
        });
        let data = placeholders.next().unwrap_or(Blob {
            offset: 0,
            len: 0,
            sha256: hex::encode(sha256(&[])),
        });
        let scales = placeholders.next();
        self.manifest.tensors.push(TensorEntry {
            name: name.to_string(),
            shape: shape.to_vec(),
            encoding,
            data,
            scales,
        });
        self.blobs.extend(blobs);
    }

    /// Add a tensor stored as f32.
    pub fn add_f32(&mut self, name: &str, shape: &[usize], data: &[f32]) -> Result<(), PackError> {
        self.check(name, data, shape)?;
        let bytes = data.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.push(name, shape, Encoding::F32, vec![bytes]);
        Ok(())
    }

    /// Add an opaque file (stored as is, shape `[len]`).
    pub fn add_bytes(&mut self, name: &str, bytes: &[u8]) -> Result<(), PackError> {
        if self.manifest.tensors.iter().any(|t| t.name == name) {
            return Err(PackError::invalid(name, "added twice"));
        }
        self.push(name, &[bytes.len()], Encoding::Bytes, vec![bytes.to_vec()]);
        Ok(())
    }

    /// Add a tensor quantised to int8 with one scale per index of `axis`.
    pub fn add_i8(
        &mut self,
        name: &str,
        shape: &[usize],
        data: &[f32],
        axis: usize,
    ) -> Result<(), PackError> {
        self.check(name, data, shape)?;
        let q = quantize(name, data, shape, axis)?;
        let values = q.values.iter().map(|v| v.to_le_bytes()[0]).collect();
        let scales = q.scales.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.push(
            name,
            shape,
            Encoding::I8PerChannel { axis },
            vec![values, scales],
        );
        Ok(())
    }

    /// The finished file.
    pub fn to_bytes(&self) -> Result<Vec<u8>, PackError> {
        // Offsets depend on the manifest's length, which depends on the offsets' digits: lay out
        // until the length is stable (two or three rounds; offsets only grow).
        let mut manifest = self.manifest.clone();
        let mut json = Vec::new();
        let mut stable = false;
        for _ in 0..8 {
            let mut at = align(HEADER_LEN + json.len());
            let mut blobs = self.blobs.iter();
            for t in &mut manifest.tensors {
                for b in std::iter::once(&mut t.data).chain(t.scales.as_mut()) {
                    b.offset = at as u64;
                    at = align(at + blobs.next().map_or(0, Vec::len));
                }
            }
            let next = serde_json::to_vec(&manifest)
                .map_err(|e| PackError::invalid("manifest", e.to_string()))?;
            stable = next.len() == json.len();
            json = next;
            if stable {
                break;
            }
        }
        if !stable {
            return Err(PackError::invalid(
                "manifest",
                "layout did not settle (offsets keep changing the manifest's length)",
            ));
        }
        if json.len() > MAX_MANIFEST {
            return Err(PackError::invalid(
                "manifest",
                format!("{} bytes, over the {MAX_MANIFEST} limit", json.len()),
            ));
        }
        let manifest_len = u32::try_from(json.len())
            .map_err(|_| PackError::invalid("manifest", "longer than 4 GiB"))?;
        let mut out = Vec::new();
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(&manifest_len.to_le_bytes());
        out.extend_from_slice(&json);
        for b in &self.blobs {
            out.resize(align(out.len()), 0);
            out.extend_from_slice(b);
        }
        out.resize(align(out.len()), 0);
        let digest = sha256(&out);
        out.extend_from_slice(&digest);
        Ok(out)
    }

    /// Write the pack to `path` atomically (a temporary file beside it, synced, then renamed), so
    /// that a crash leaves either the old file or the complete new one. Returns the pack digest.
    pub fn write(&self, path: &Path) -> Result<[u8; 32], PackError> {
        let bytes = self.to_bytes()?;
        let dir = path.parent().filter(|p| !p.as_os_str().is_empty());
        let dir = dir.unwrap_or_else(|| Path::new("."));
        let file_name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "pack".into());
        let tmp = dir.join(format!(".{file_name}.partial"));
        let mut f = std::fs::File::create(&tmp).map_err(|e| PackError::io(&tmp, e))?;
        f.write_all(&bytes).map_err(|e| PackError::io(&tmp, e))?;
        f.sync_all().map_err(|e| PackError::io(&tmp, e))?;
        drop(f);
        std::fs::rename(&tmp, path).map_err(|e| PackError::io(path, e))?;
        if let Ok(d) = std::fs::File::open(dir) {
            // Persist the rename; not every platform can sync a directory, hence no error.
            let _ = d.sync_all();
        }
        Ok(sha256(&bytes))
    }
}

/// `n` rounded up to the blob alignment.
pub(crate) fn align(n: usize) -> usize {
    n.div_ceil(ALIGN) * ALIGN
}
