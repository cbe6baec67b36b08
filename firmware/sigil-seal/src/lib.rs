//! The sealing side of a Sigil device, in std: what turns a generated image into a released
//! frame that says what it is.
//!
//! * [`state`]: the device's state directory: an exclusive lock, the device key (created on
//!   first use when none was provisioned), the boot counter, and the append-only log, recovered
//!   on open (torn tail cut) and appended with an fsync before a frame is reported.
//! * [`compose`]: the generated image upscaled to a frame of at least 256×256, the visible
//!   "AI-generated" badge (embedded-graphics), the invisible watermark (`sigil-mark`).
//! * [`rate`]: the gate's per-user and per-device rate limits kept in the state directory
//!   across processes (`rate.bin`).
//! * [`review`]: frames held for a human, stored in the state directory until a decision.
//! * [`pngio`]: frames written atomically as PNG with the record in a chunk of its own
//!   (`sgRC`) plus a sidecar file; frames read back (PNG or JPEG) with their record, for
//!   verification.
//!
//! Signing and every check of a record stay in the no_std `sigil-provenance`; this crate only
//! stores, frames and finds.

pub mod cert;
pub mod compose;
pub mod credential;
pub mod error;
pub mod pngio;
pub mod provision;
pub mod rate;
pub mod release;
pub mod review;
pub mod slots;
pub mod state;
pub mod trust;
pub mod verify;

pub use cert::{CHAIN_FILE, CertError, ChainFacts, DeviceChain, check_chain};
pub use compose::{
    BADGE_TEXT, Composed, FRAME_SIDE, compose, compose_labelled, compose_unmarked, mark,
};
pub use error::{FrameError, RateFileError, StateError};
pub use pngio::{RECORD_CHUNK, ReadFrame, SIDECAR_EXT, encode_png, read_frame, write_frame};
pub use rate::{LoadedRates, RATE_FILE, RatesFound, unix_ms};
pub use release::{Making, ReleaseError};
pub use review::{Held, OutputFinding, ReviewError, ReviewQueue};
pub use state::{DeviceState, LOG_FILE};
pub use trust::{CoreError, TrustCore, TrustCoreAt};
pub use verify::{FrameReport, KnownBundle, RecordSource, Trust, VerifyInput, verify_frame};
