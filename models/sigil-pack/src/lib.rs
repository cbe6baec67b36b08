//! Sigil model packs.
//!
//! A pack is one file that a device loads and a record names by its digest:
//!
//! ```text
//! offset  size  field
//! 0       8     magic "SIGLPACK"
//! 8       2     format version, u16 LE (this build: FORMAT_VERSION)
//! 10      2     flags, u16 LE (0; any other value is refused)
//! 12      4     manifest length M, u32 LE
//! 16      M     manifest, UTF-8 JSON (see Manifest)
//! …             tensor blobs, each 64-byte aligned, offsets and SHA-256 in the manifest
//! end−32  32    SHA-256 of every byte before it
//! ```
//!
//! The **pack digest** (what provenance records carry as the model digest) is the SHA-256 of the
//! whole file. Reading checks, in order: magic, version, flags, manifest, every tensor's digest
//! (so a damaged tensor is named), then the trailer (which covers the manifest and padding).
//! Any incompatible change to this layout or to the manifest bumps `FORMAT_VERSION`.

#![cfg_attr(not(test), forbid(unsafe_code))]

mod error;
mod manifest;
pub mod quant;
mod read;
mod write;

pub use error::PackError;
pub use manifest::{Blob, Encoding, Licence, Manifest, TensorEntry};
pub use read::Pack;
pub use write::PackWriter;

/// First eight bytes of every pack.
pub const MAGIC: [u8; 8] = *b"SIGLPACK";
/// The layout version this build writes and reads.
pub const FORMAT_VERSION: u16 = 1;
/// Bytes before the manifest.
pub const HEADER_LEN: usize = 16;
/// Bytes of the trailing digest.
pub const TRAILER_LEN: usize = 32;
/// Alignment of tensor blobs.
pub const ALIGN: usize = 64;
/// Largest manifest accepted (a sanity bound, far above any real model's).
pub const MAX_MANIFEST: usize = 16 << 20;

/// SHA-256 of `bytes`.
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).into()
}
