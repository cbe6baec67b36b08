//! Sigil provenance: signed, chained records of generated frames (DESIGN §4). `no_std`, no heap.
//!
//! # Record v1
//!
//! postcard, every integer fixed-width little-endian, every array raw, so every record is
//! exactly [`RECORD_LEN`] (379) bytes:
//!
//! ```text
//! magic b"SGRC" | version u16 = 1 | seq u64 | prev_hash [32] | device_key [32] (Ed25519)
//! | time_unix u64 | boot_counter u32 | firmware_digest [32] | policy_digest [32]
//! | model_digest [32] | prompt_hash [32] | user_hash [32] | seed u64 | steps u16
//! | guidance_milli u32 | width u16 | height u16
//! | gate: verdict u8, category u8 (0xFF none), tier u8, escalate u8
//! | post_filter: verdict u8, class u8 (0xFF none) | review u8 | watermark [8]
//! | frame_hash [32] | signature [64]
//! ```
//!
//! The decoder checks magic and version before anything else and names what mismatched.
//!
//! **Signature**: Ed25519 (verified strictly) over
//! `b"sigil/record/v1\0" ‖ encoding[..SIGNED_LEN]` (everything before the signature).
//!
//! **Chain**: a record's hash is SHA-256 of its full encoding, signature included. The first
//! record has seq 0 and an all-zero `prev_hash`; record n+1 has seq n+1 and
//! `prev_hash = hash(record n)`.
//!
//! # Modules
//!
//! [`record`] (layout, [`frame_hash`]), [`verify`] (the one verification routine), [`chain`]
//! (chain rule, [`ChainChecker`]), [`log`] (append-only log framing, torn-tail [`recover`]),
//! [`audit`] (log + chain, every break reported), [`seal`] ([`Sealer`]: ticket in, record out).
#![cfg_attr(not(any(test, feature = "std")), no_std)]

pub mod audit;
pub mod chain;
pub mod error;
pub mod fields;
pub mod log;
pub mod record;
pub mod seal;
pub mod verify;

pub use audit::{AuditEvent, AuditSummary, audit_log, audit_log_with};
pub use chain::{Break, BreakReason, ChainChecker, ChainHead};
pub use ed25519_dalek::{SigningKey, VerifyingKey};
pub use error::{LogError, RecordError, SealError, VerifyError};
pub use fields::{GateFacts, NONE_BYTE, PostFilter, Review};
pub use log::{
    DefectKind, Entry, FRAME_OVERHEAD, LogDefect, LogReader, MAX_RECORD_LEN, Recovery,
    append_frame, frame_len, recover,
};
pub use record::{
    FRAME_HASH_DOMAIN, RECORD_LEN, RECORD_MAGIC, RECORD_VERSION, Record, RecordBody,
    SIGNATURE_DOMAIN, SIGNED_LEN, frame_hash, record_hash,
};
pub use seal::{FrameFacts, Sealer, watermark_payload};
pub use verify::{verify_decoded, verify_record};
