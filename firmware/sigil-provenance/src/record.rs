//! Record v1: the signed provenance record of one frame, its fixed-size encoding, its hash and
//! the frame-hash helper.
//!
//! The encoding is postcard with every integer fixed-width little-endian
//! (`postcard::fixint::le`) and every array raw, so every record is exactly [`RECORD_LEN`]
//! bytes and fields sit at fixed offsets. The layout is frozen; the golden byte vectors in the
//! tests pin it. Any change means a new [`RECORD_VERSION`].

use ed25519_dalek::{Signature, Signer, SigningKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::RecordError;
use crate::fields::{self, GateFacts, PostFilter, Review, byte_to_opt, opt_to_byte};

/// The first four bytes of every record.
pub const RECORD_MAGIC: [u8; 4] = *b"SGRC";
/// The format version this build writes and reads.
pub const RECORD_VERSION: u16 = 1;
/// Bytes of magic + version, checked before anything else is decoded.
pub const HEADER_LEN: usize = 6;
/// Length of an Ed25519 signature.
pub const SIGNATURE_LEN: usize = 64;
/// Length of an encoded Record v1.
pub const RECORD_LEN: usize = 379;
/// Length of the signed part of a record: everything before the signature.
pub const SIGNED_LEN: usize = RECORD_LEN - SIGNATURE_LEN;
/// Domain separator prefixed to the signed bytes to form the Ed25519 message.
pub const SIGNATURE_DOMAIN: &[u8; 16] = b"sigil/record/v1\0";
/// Domain separator of [`frame_hash`].
pub const FRAME_HASH_DOMAIN: &[u8; 15] = b"sigil/frame/v1\0";

/// Everything a record states about a frame, i.e. the signed content (all but the signature).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct RecordBody {
    /// Position in the device's chain, from 0.
    pub seq: u64,
    /// Hash of the previous record ([`Record::hash`]); all zero for seq 0.
    pub prev_hash: [u8; 32],
    /// The signing device's Ed25519 public key.
    pub device_key: [u8; 32],
    /// Wall-clock time, seconds since the Unix epoch; 0 when the device has no RTC.
    pub time_unix: u64,
    /// The device's boot counter.
    pub boot_counter: u32,
    /// SHA-256 of the firmware image.
    pub firmware_digest: [u8; 32],
    /// The compiled-in policy's digest (`sigil_gate::POLICY_DIGEST`).
    pub policy_digest: [u8; 32],
    /// SHA-256 of the model pack.
    pub model_digest: [u8; 32],
    /// SHA-256 of the normalised prompt (`sigil_gate::prompt_hash`).
    pub prompt_hash: [u8; 32],
    /// SHA-256 of the user identifier (`sigil_gate::user_hash`).
    pub user_hash: [u8; 32],
    /// Sampler seed.
    pub seed: u64,
    /// Denoiser steps.
    pub steps: u16,
    /// Classifier-free guidance × 1000.
    pub guidance_milli: u32,
    /// Frame width in pixels.
    pub width: u16,
    /// Frame height in pixels.
    pub height: u16,
    /// The gate's decision for the prompt.
    pub gate: GateFacts,
    /// The output check's decision for the frame.
    pub post_filter: PostFilter,
    /// The human review decision.
    pub review: Review,
    /// The invisible watermark payload embedded in the frame.
    pub watermark: [u8; 8],
    /// [`frame_hash`] of the released frame.
    pub frame_hash: [u8; 32],
}

/// A record: its body and the device's Ed25519 signature over it.
///
/// A `Record` value says nothing about validity by itself: one returned by
/// [`verify_record`](crate::verify_record) or [`Sealer::seal`](crate::Sealer::seal) is verified;
/// one from [`Record::decode`] or [`Record::from_parts`] is not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Record {
    body: RecordBody,
    signature: [u8; SIGNATURE_LEN],
}

/// The wire layout. Field order is the format; do not reorder.
#[derive(Serialize, Deserialize)]
struct Wire {
    magic: [u8; 4],
    #[serde(with = "postcard::fixint::le")]
    version: u16,
    #[serde(with = "postcard::fixint::le")]
    seq: u64,
    prev_hash: [u8; 32],
    device_key: [u8; 32],
    #[serde(with = "postcard::fixint::le")]
    time_unix: u64,
    #[serde(with = "postcard::fixint::le")]
    boot_counter: u32,
    firmware_digest: [u8; 32],
    policy_digest: [u8; 32],
    model_digest: [u8; 32],
    prompt_hash: [u8; 32],
    user_hash: [u8; 32],
    #[serde(with = "postcard::fixint::le")]
    seed: u64,
    #[serde(with = "postcard::fixint::le")]
    steps: u16,
    #[serde(with = "postcard::fixint::le")]
    guidance_milli: u32,
    #[serde(with = "postcard::fixint::le")]
    width: u16,
    #[serde(with = "postcard::fixint::le")]
    height: u16,
    gate_verdict: u8,
    gate_category: u8,
    gate_tier: u8,
    gate_escalate: u8,
    post_filter_verdict: u8,
    post_filter_class: u8,
    review: u8,
    watermark: [u8; 8],
    frame_hash: [u8; 32],
    // serde derives arrays only up to 32 elements: the signature travels as R ‖ S.
    signature_r: [u8; 32],
    signature_s: [u8; 32],
}

impl Record {
    /// Sign `body` with the device key. `body.device_key` is set to `key`'s public key, so the
    /// record always names the key that signed it.
    pub fn sign(mut body: RecordBody, key: &SigningKey) -> Record {
        body.device_key = key.verifying_key().to_bytes();
        let mut record = Record {
            body,
            signature: [0; SIGNATURE_LEN],
        };
        let msg = signing_message(&record.to_bytes());
        let signature: Signature = key.sign(&msg);
        record.signature = signature.to_bytes();
        record
    }

    /// Assemble a record from parts without checking anything (for host tools and tests).
    pub const fn from_parts(body: RecordBody, signature: [u8; SIGNATURE_LEN]) -> Record {
        Record { body, signature }
    }

    /// The signed content.
    pub const fn body(&self) -> &RecordBody {
        &self.body
    }

    /// The Ed25519 signature (R ‖ S).
    pub const fn signature(&self) -> &[u8; SIGNATURE_LEN] {
        &self.signature
    }

    /// Position in the chain.
    pub const fn seq(&self) -> u64 {
        self.body.seq
    }

    /// Hash of the previous record.
    pub const fn prev_hash(&self) -> &[u8; 32] {
        &self.body.prev_hash
    }

    /// The signing device's public key bytes.
    pub const fn device_key(&self) -> &[u8; 32] {
        &self.body.device_key
    }

    /// Encode into exactly [`RECORD_LEN`] bytes.
    pub fn encode(&self, out: &mut [u8; RECORD_LEN]) {
        // Cannot fail: the layout has no variable-length part and encodes to exactly
        // RECORD_LEN bytes. The golden vectors pin that, and this assertion checks it on every
        // encode in debug builds (so every test and the round-trip property exercise it).
        let written = postcard::to_slice(&self.wire(), out).map(|w| w.len());
        debug_assert_eq!(written, Ok(RECORD_LEN));
    }

    fn wire(&self) -> Wire {
        let b = &self.body;
        let (mut signature_r, mut signature_s) = ([0; 32], [0; 32]);
        let (r, s) = self.signature.split_at(32);
        signature_r.copy_from_slice(r);
        signature_s.copy_from_slice(s);
        Wire {
            magic: RECORD_MAGIC,
            version: RECORD_VERSION,
            seq: b.seq,
            prev_hash: b.prev_hash,
            device_key: b.device_key,
            time_unix: b.time_unix,
            boot_counter: b.boot_counter,
            firmware_digest: b.firmware_digest,
            policy_digest: b.policy_digest,
            model_digest: b.model_digest,
            prompt_hash: b.prompt_hash,
            user_hash: b.user_hash,
            seed: b.seed,
            steps: b.steps,
            guidance_milli: b.guidance_milli,
            width: b.width,
            height: b.height,
            gate_verdict: b.gate.verdict as u8,
            gate_category: opt_to_byte(b.gate.category),
            gate_tier: b.gate.tier as u8,
            gate_escalate: u8::from(b.gate.escalate),
            post_filter_verdict: b.post_filter.verdict as u8,
            post_filter_class: opt_to_byte(b.post_filter.class),
            review: b.review.as_u8(),
            watermark: b.watermark,
            frame_hash: b.frame_hash,
            signature_r,
            signature_s,
        }
    }

    /// The encoding as an array.
    pub fn to_bytes(&self) -> [u8; RECORD_LEN] {
        let mut out = [0; RECORD_LEN];
        self.encode(&mut out);
        out
    }

    /// Decode a Record v1. Checks, in order: enough bytes for the header, magic, version, exact
    /// length, then every enum byte. Does **not** check the signature: use
    /// [`verify_record`](crate::verify_record) for that.
    pub fn decode(bytes: &[u8]) -> Result<Record, RecordError> {
        let too_short = |needed| RecordError::TooShort {
            len: bytes.len(),
            needed,
        };
        let magic = bytes.get(..4).ok_or(too_short(HEADER_LEN))?;
        if magic != RECORD_MAGIC {
            let mut found = [0; 4];
            found.copy_from_slice(magic);
            return Err(RecordError::BadMagic { found });
        }
        let version = match bytes.get(4..HEADER_LEN) {
            Some(&[lo, hi]) => u16::from_le_bytes([lo, hi]),
            _ => return Err(too_short(HEADER_LEN)),
        };
        if version != RECORD_VERSION {
            return Err(RecordError::UnsupportedVersion { found: version });
        }
        if bytes.len() < RECORD_LEN {
            return Err(too_short(RECORD_LEN));
        }
        if bytes.len() > RECORD_LEN {
            return Err(RecordError::TrailingBytes {
                count: bytes.len() - RECORD_LEN,
            });
        }
        let (w, rest) =
            postcard::take_from_bytes::<Wire>(bytes).map_err(|_| RecordError::Malformed)?;
        if !rest.is_empty() {
            return Err(RecordError::TrailingBytes { count: rest.len() });
        }
        let gate = GateFacts {
            verdict: fields::verdict("gate.verdict", w.gate_verdict)?,
            category: byte_to_opt(w.gate_category),
            tier: fields::tier("gate.tier", w.gate_tier)?,
            escalate: fields::flag("gate.escalate", w.gate_escalate)?,
        };
        let post_filter = PostFilter {
            verdict: fields::verdict("post_filter.verdict", w.post_filter_verdict)?,
            class: byte_to_opt(w.post_filter_class),
        };
        let review = fields::review("review", w.review)?;
        let mut signature = [0; SIGNATURE_LEN];
        let (r, s) = signature.split_at_mut(32);
        r.copy_from_slice(&w.signature_r);
        s.copy_from_slice(&w.signature_s);
        let body = RecordBody {
            seq: w.seq,
            prev_hash: w.prev_hash,
            device_key: w.device_key,
            time_unix: w.time_unix,
            boot_counter: w.boot_counter,
            firmware_digest: w.firmware_digest,
            policy_digest: w.policy_digest,
            model_digest: w.model_digest,
            prompt_hash: w.prompt_hash,
            user_hash: w.user_hash,
            seed: w.seed,
            steps: w.steps,
            guidance_milli: w.guidance_milli,
            width: w.width,
            height: w.height,
            gate,
            post_filter,
            review,
            watermark: w.watermark,
            frame_hash: w.frame_hash,
        };
        Ok(Record { body, signature })
    }

    /// The record's chain hash: SHA-256 of its full encoding, signature included. The next
    /// record's `prev_hash` must equal it.
    pub fn hash(&self) -> [u8; 32] {
        record_hash(&self.to_bytes())
    }

    /// The Ed25519 message this record's signature covers:
    /// [`SIGNATURE_DOMAIN`] ‖ the first [`SIGNED_LEN`] bytes of the encoding.
    pub fn signing_message(&self) -> [u8; SIGNATURE_DOMAIN.len() + SIGNED_LEN] {
        signing_message(&self.to_bytes())
    }
}

/// SHA-256 of an encoded record (what [`Record::hash`] computes), for callers holding bytes.
pub fn record_hash(encoded: &[u8; RECORD_LEN]) -> [u8; 32] {
    Sha256::digest(encoded).into()
}

/// [`SIGNATURE_DOMAIN`] ‖ the signed prefix of an encoded record.
pub(crate) fn signing_message(
    encoded: &[u8; RECORD_LEN],
) -> [u8; SIGNATURE_DOMAIN.len() + SIGNED_LEN] {
    let mut msg = [0; SIGNATURE_DOMAIN.len() + SIGNED_LEN];
    let (domain, signed) = msg.split_at_mut(SIGNATURE_DOMAIN.len());
    domain.copy_from_slice(SIGNATURE_DOMAIN);
    signed.copy_from_slice(encoded.split_at(SIGNED_LEN).0);
    msg
}

/// SHA-256 of a frame's canonical pixels, bound to its size:
/// `SHA-256(b"sigil/frame/v1\0" ‖ width u16 LE ‖ height u16 LE ‖ rgb)`.
///
/// `rgb` is the released frame as packed 8-bit RGB, row-major, top row first, no padding:
/// `width × height × 3` bytes (the caller's responsibility; the size is hashed as given).
pub fn frame_hash(width: u16, height: u16, rgb: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(FRAME_HASH_DOMAIN);
    h.update(width.to_le_bytes());
    h.update(height.to_le_bytes());
    h.update(rgb);
    h.finalize().into()
}
