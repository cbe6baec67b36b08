//! Sigil update bundles: what a maker signs and a device flashes.
//!
//! ```text
//! offset  size  field
//! 0       8     magic "SIGLBNDL"
//! 8       2     format version, u16 LE (this build: FORMAT_VERSION)
//! 10      2     flags, u16 LE (0; any other value is refused)
//! 12      4     manifest length M, u32 LE
//! 16      M     manifest, UTF-8 JSON (see Manifest)
//! 16+M    64    Ed25519 signature by the maker key over SIGNATURE_DOMAIN ‖ bytes 0..16+M
//! 80+M    …     payload: firmware ‖ model pack, cut into chunks of `chunk_size` bytes
//! ```
//!
//! The manifest names the device class, the anti-downgrade version counter, the firmware's and
//! the model pack's length and SHA-256 (the digests a record carries), the policy digest the
//! firmware enforces, and the SHA-256 of every payload chunk, so a device can check each chunk
//! as it arrives and resume a cut transfer at the first chunk it lacks. The signature covers
//! the header and manifest, hence (through the digests) every payload byte.
//!
//! [`open`] is the one check of a whole bundle: magic → version → flags → manifest → signature
//! → length → every chunk → both parts. [`Header::parse`] and [`Manifest::check_chunk`] are the
//! pieces a streaming receiver uses. Any incompatible change bumps [`FORMAT_VERSION`].

mod error;
mod manifest;

use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use sha2::{Digest, Sha256};

pub use error::BundleError;
pub use manifest::{Manifest, Part};

/// First eight bytes of every bundle.
pub const MAGIC: [u8; 8] = *b"SIGLBNDL";
/// The layout version this build writes and reads.
pub const FORMAT_VERSION: u16 = 1;
/// Bytes before the manifest.
pub const PREFIX_LEN: usize = 16;
/// Bytes of the signature after the manifest.
pub const SIGNATURE_LEN: usize = 64;
/// What the maker's signature covers first: never a record's or a credential's message.
pub const SIGNATURE_DOMAIN: &[u8; 16] = b"sigil/bundle/v1\0";
/// Largest manifest accepted.
pub const MAX_MANIFEST: usize = 4 << 20;
/// Default payload chunk: 64 KiB, a few hundred milliseconds at 921600 baud.
pub const DEFAULT_CHUNK: u32 = 64 * 1024;

/// SHA-256 of `bytes`.
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// What goes into a bundle besides the payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Meta {
    /// The device class the bundle is for (e.g. "kiosk-rk3588"); a device refuses others.
    pub device_class: String,
    /// The anti-downgrade counter: a device refuses a version below the one it runs.
    pub version: u64,
    /// The policy digest the firmware enforces (`sigil info --json`'s `policy`).
    pub policy_digest: [u8; 32],
    /// Payload chunk size in bytes.
    pub chunk_size: u32,
    /// Seconds since the Unix epoch when the bundle was made.
    pub created_unix: u64,
}

/// Build and sign a bundle from the firmware and the model pack.
pub fn build(
    firmware: &[u8],
    model: &[u8],
    meta: &Meta,
    maker: &SigningKey,
) -> Result<Vec<u8>, BundleError> {
    if meta.chunk_size == 0 {
        return Err(BundleError::Manifest("chunk size 0".into()));
    }
    if meta.device_class.trim().is_empty() {
        return Err(BundleError::Manifest(
            "the device class is empty: name the hardware the bundle is for".into(),
        ));
    }
    let payload_len = firmware.len() + model.len();
    let mut chunks = Vec::with_capacity(payload_len / meta.chunk_size as usize + 1);
    let cs = meta.chunk_size as usize;
    let mut at = 0;
    while at < payload_len {
        let end = (at + cs).min(payload_len);
        let mut h = Sha256::new();
        for (part, off) in [(firmware, 0usize), (model, firmware.len())] {
            let lo = at.max(off);
            let hi = end.min(off + part.len());
            if lo < hi {
                h.update(part.get(lo - off..hi - off).unwrap_or_default());
            }
        }
        chunks.push(hex::encode(h.finalize()));
        at = end;
    }
    let manifest = Manifest {
        format: FORMAT_VERSION,
        device_class: meta.device_class.clone(),
        version: meta.version,
        firmware: Part {
            len: firmware.len() as u64,
            sha256: hex::encode(sha256(firmware)),
        },
        model: Part {
            len: model.len() as u64,
            sha256: hex::encode(sha256(model)),
        },
        policy_digest: hex::encode(meta.policy_digest),
        chunk_size: meta.chunk_size,
        chunks,
        created_unix: meta.created_unix,
        signer: hex::encode(maker.verifying_key().as_bytes()),
    };
    let json = serde_json::to_vec(&manifest).map_err(|e| BundleError::Manifest(e.to_string()))?;
    let mlen = u32::try_from(json.len())
        .ok()
        .filter(|l| (*l as usize) <= MAX_MANIFEST)
        .ok_or(BundleError::Manifest("manifest too large".into()))?;
    let mut out = Vec::with_capacity(PREFIX_LEN + json.len() + SIGNATURE_LEN + payload_len);
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&mlen.to_le_bytes());
    out.extend_from_slice(&json);
    let sig = maker.sign(&signed_message(&out));
    out.extend_from_slice(&sig.to_bytes());
    out.extend_from_slice(firmware);
    out.extend_from_slice(model);
    Ok(out)
}

fn signed_message(head: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(SIGNATURE_DOMAIN.len() + head.len());
    m.extend_from_slice(SIGNATURE_DOMAIN);
    m.extend_from_slice(head);
    m
}

/// A bundle's header: the manifest and where the payload starts, signature checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// The manifest.
    pub manifest: Manifest,
    /// Bytes before the payload (prefix, manifest, signature).
    pub len: usize,
}

/// Check the fixed prefix (magic → version → flags → manifest bound) and return the manifest's
/// length.
fn manifest_len(bytes: &[u8]) -> Result<usize, BundleError> {
    let prefix = bytes.get(..PREFIX_LEN).ok_or(BundleError::Truncated {
        what: "header",
        need: PREFIX_LEN as u64,
        have: bytes.len() as u64,
    })?;
    if prefix.get(..8) != Some(&MAGIC[..]) {
        return Err(BundleError::BadMagic);
    }
    let word = |i: usize| u16::from_le_bytes([prefix[i], prefix[i + 1]]);
    let version = word(8);
    if version != FORMAT_VERSION {
        return Err(BundleError::Version {
            found: version,
            supported: FORMAT_VERSION,
        });
    }
    let flags = word(10);
    if flags != 0 {
        return Err(BundleError::Flags(flags));
    }
    let mlen = u32::from_le_bytes([prefix[12], prefix[13], prefix[14], prefix[15]]) as usize;
    if mlen > MAX_MANIFEST {
        return Err(BundleError::Manifest(format!(
            "manifest length {mlen} exceeds {MAX_MANIFEST}"
        )));
    }
    Ok(mlen)
}

impl Header {
    /// The header as a sender reads it, **without** checking the signature: where the payload
    /// starts and how it is cut. Only for sending a bundle on; a receiver uses [`Header::parse`].
    pub fn peek(bytes: &[u8]) -> Result<Self, BundleError> {
        let mlen = manifest_len(bytes)?;
        let json = bytes
            .get(PREFIX_LEN..PREFIX_LEN + mlen)
            .ok_or(BundleError::Truncated {
                what: "header",
                need: (PREFIX_LEN + mlen) as u64,
                have: bytes.len() as u64,
            })?;
        let manifest: Manifest =
            serde_json::from_slice(json).map_err(|e| BundleError::Manifest(e.to_string()))?;
        manifest.check_shape()?;
        Ok(Self {
            manifest,
            len: PREFIX_LEN + mlen + SIGNATURE_LEN,
        })
    }

    /// Parse and check the header at the start of `bytes` (which may hold only the header, as
    /// during a transfer) against the maker's key.
    pub fn parse(bytes: &[u8], maker: &VerifyingKey) -> Result<Self, BundleError> {
        let mlen = manifest_len(bytes)?;
        let len = PREFIX_LEN + mlen + SIGNATURE_LEN;
        let head = bytes.get(..len).ok_or(BundleError::Truncated {
            what: "header",
            need: len as u64,
            have: bytes.len() as u64,
        })?;
        let (signed, sig) = head.split_at(PREFIX_LEN + mlen);
        let sig = Signature::from_slice(sig).map_err(|_| BundleError::Signature)?;
        maker
            .verify(&signed_message(signed), &sig)
            .map_err(|_| BundleError::Signature)?;
        // Parsed only after the signature holds: nobody else's JSON reaches serde.
        let manifest: Manifest =
            serde_json::from_slice(signed.get(PREFIX_LEN..).unwrap_or_default())
                .map_err(|e| BundleError::Manifest(e.to_string()))?;
        manifest.check_shape()?;
        Ok(Self { manifest, len })
    }
}

/// A whole bundle, checked: header, signature, every chunk, both parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified<'a> {
    /// The manifest.
    pub manifest: Manifest,
    /// The firmware bytes.
    pub firmware: &'a [u8],
    /// The model pack bytes.
    pub model: &'a [u8],
}

/// Check a whole bundle against the maker's key.
pub fn open<'a>(bytes: &'a [u8], maker: &VerifyingKey) -> Result<Verified<'a>, BundleError> {
    let header = Header::parse(bytes, maker)?;
    let m = header.manifest;
    let payload = bytes.get(header.len..).unwrap_or_default();
    let need = m.payload_len();
    if (payload.len() as u64) != need {
        return Err(BundleError::Truncated {
            what: "payload",
            need,
            have: payload.len() as u64,
        });
    }
    for (i, chunk) in payload.chunks(m.chunk_size as usize).enumerate() {
        m.check_chunk(i, chunk)?;
    }
    let split = usize::try_from(m.firmware.len)
        .map_err(|_| BundleError::Manifest("firmware too large".into()))?;
    let (firmware, model) = payload.split_at(split.min(payload.len()));
    for (part, name, bytes) in [
        (&m.firmware, "firmware", firmware),
        (&m.model, "model pack", model),
    ] {
        if hex::encode(sha256(bytes)) != part.sha256 {
            return Err(BundleError::PartDigest(name));
        }
    }
    Ok(Verified {
        manifest: m,
        firmware,
        model,
    })
}
