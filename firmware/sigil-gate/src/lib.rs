//! Sigil's policy gate: the first half of the trust core (DESIGN §2–§3).
//!
//! The policy in `firmware/policy/*.toml` is compiled into static tables by the build script;
//! [`POLICY_DIGEST`] is a constant of the binary, and changing the policy means new firmware.
//! A prompt is folded by the [`normalise`] pass, matched word-boundary-aware by the
//! [`matcher`], combined by the policy's rules and decided by tier ([`check_with`]). The
//! stateful [`Gate`] adds per-user and per-device rate limits ([`rate`]) and single-use
//! [`Ticket`]s that bind an allowed prompt's hash to a later seal.
//!
//! `no_std`, and no heap on the check path: all working memory is a caller-provided
//! [`Scratch`] (heapless buffers).
#![cfg_attr(not(any(test, feature = "std")), no_std)]

pub mod error;
pub mod gate;
mod glyph;
pub mod matcher;
mod nfa;
pub mod normalise;
pub mod policy;
pub mod rate;
mod reserve;
pub mod ticket;
mod units;
pub mod verdict;

pub use error::{InputError, MAX_PROMPT_BYTES};
pub use gate::{Admission, AdmitError, Gate, Outcome, check_with, user_hash};
#[cfg(any(test, feature = "std"))]
pub use gate::{check, check_bytes};
pub use matcher::Scratch;
#[cfg(any(test, feature = "std"))]
pub use normalise::prompt_hash;
pub use normalise::validate_bytes;
pub use policy::{POLICY_DIGEST, POLICY_NAME, POLICY_VERSION};
pub use rate::{Limit, RateConfig, RateLimited, RateLimiter, Scope};
pub use ticket::{Ticket, TicketBook, TicketError};
pub use verdict::{CategoryId, Decision, Tier, Verdict};
