//! Responses: device to host, and the error codes they may carry.

use serde::{Deserialize, Serialize};
use sigil_gate::{Decision, RateLimited, Ticket};

/// What the trust core answers. Every response echoes the request's envelope id.
///
/// Variant order is part of the wire format: append new responses at the end, never reorder or
/// remove one without bumping [`WIRE_VERSION`](crate::WIRE_VERSION).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Response<'a> {
    /// Answer to [`Request::Hello`](crate::Request::Hello).
    Hello {
        /// The wire version the device speaks ([`WIRE_VERSION`](crate::WIRE_VERSION)).
        device_version: u16,
        /// The largest frame the device can receive, in encoded bytes including the delimiter.
        max_frame: u32,
    },
    /// Answer to [`Request::Info`](crate::Request::Info): what this device is and runs.
    Info {
        /// SHA-256 of the running firmware image.
        firmware_digest: [u8; 32],
        /// Digest of the compiled-in policy (stamped into every record).
        policy_digest: [u8; 32],
        /// The device's Ed25519 public key.
        device_key: [u8; 32],
    },
    /// Answer to [`Request::Check`](crate::Request::Check): the gate's decision, no ticket.
    Decision(Decision),
    /// Answer to [`Request::Admit`](crate::Request::Admit): the ticket (issued for every verdict,
    /// block included; sealing refuses blocked ones).
    Admitted(Ticket),
    /// Answer to [`Request::Admit`](crate::Request::Admit) when the user is over the rate limit.
    RateLimited {
        /// Try again after this many milliseconds.
        retry_after_ms: u64,
    },
    /// Answer to [`Request::Seal`](crate::Request::Seal): the signed record, opaque to the wire.
    Sealed {
        /// The record bytes as the provenance crate encodes them.
        record: &'a [u8],
    },
    /// Answer to [`Request::ReadLog`](crate::Request::ReadLog).
    LogChunk {
        /// Sequence number of the first record in `records`.
        first_seq: u64,
        /// Consecutive records as the device log frames them; opaque to the wire.
        records: &'a [u8],
        /// More records follow: ask again from the next sequence number.
        more: bool,
    },
    /// The request failed.
    Error {
        /// What kind of failure, for programs.
        code: ErrorCode,
        /// What went wrong and what to do, for people.
        detail: &'a str,
    },
    /// Answer to [`Request::GetRecord`](crate::Request::GetRecord).
    Record {
        /// The record bytes; opaque to the wire.
        record: &'a [u8],
    },
    /// Answer to `UpdateBegin` and `UpdateChunk`: where the transfer stands.
    UpdateProgress {
        /// The first chunk the device does not hold yet (= `total` when all are in).
        next_chunk: u32,
        /// Chunks in the bundle.
        total: u32,
    },
    /// Answer to `UpdateCommit`: the bundle is checked and staged in a slot; the device boots it
    /// next, and keeps it only if it passes its health check.
    UpdateStaged {
        /// The slot written (0 = A, 1 = B).
        slot: u8,
        /// The bundle's version counter.
        version: u64,
    },
    /// Answer to [`Request::Head`](crate::Request::Head): the chain head of the sealer.
    Head {
        /// The sequence number the next record will carry (0: nothing sealed yet).
        next_seq: u64,
        /// The hash of the last record sealed (all zero before the first).
        prev_hash: [u8; 32],
    },
    /// Answer to [`Request::SignCredential`](crate::Request::SignCredential): the Ed25519
    /// signature (64 bytes) by the device key.
    Signature {
        /// The signature bytes.
        signature: &'a [u8],
    },
    /// Answer to [`Request::Admit`](crate::Request::Admit) over a rate limit, saying which
    /// limit (this user's, the device's, or too many users at once) and when to retry. Cores
    /// of this version answer this instead of [`Response::RateLimited`], which stays decodable.
    Limited(RateLimited),
}

/// Why a request failed.
///
/// Encoded as its position, which equals the explicit discriminant; append new codes at the end
/// (see the crate documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(u8)]
pub enum ErrorCode {
    /// The request was malformed or out of place (e.g. `Seal` before `Hello`); fix the host.
    BadRequest = 0,
    /// The prompt could not be gated at all (empty, too long, not normalisable). A policy block
    /// is not an error: it comes back as a decision or ticket with a block verdict.
    PromptRejected = 1,
    /// `Seal` refused the ticket (unknown, used, expired, altered, or blocked); gate again.
    TicketRefused = 2,
    /// The device is busy (e.g. writing its log); retry shortly.
    Busy = 3,
    /// The device hit an internal fault (storage, key); see the detail and the device log.
    Internal = 4,
    /// The device does not know this request (a newer host); update the device firmware.
    Unsupported = 5,
    /// The frame spoke another wire version; the detail names both.
    VersionMismatch = 6,
    /// The request frame exceeded the device's `max_frame`; send less.
    FrameTooLarge = 7,
    /// An update was refused (signature, device class, downgrade, damaged chunk); the detail
    /// says which.
    UpdateRefused = 8,
    /// A record that the log does not hold.
    NotFound = 9,
}

impl ErrorCode {
    /// Every code, in wire order.
    pub const ALL: [ErrorCode; 10] = [
        ErrorCode::BadRequest,
        ErrorCode::PromptRejected,
        ErrorCode::TicketRefused,
        ErrorCode::Busy,
        ErrorCode::Internal,
        ErrorCode::Unsupported,
        ErrorCode::VersionMismatch,
        ErrorCode::FrameTooLarge,
        ErrorCode::UpdateRefused,
        ErrorCode::NotFound,
    ];

    /// The wire byte.
    pub const fn as_u8(self) -> u8 {
        self as u8
    }

    /// Decode the wire byte; `None` for a code this build does not know.
    pub const fn from_u8(v: u8) -> Option<Self> {
        match v {
            0 => Some(ErrorCode::BadRequest),
            1 => Some(ErrorCode::PromptRejected),
            2 => Some(ErrorCode::TicketRefused),
            3 => Some(ErrorCode::Busy),
            4 => Some(ErrorCode::Internal),
            5 => Some(ErrorCode::Unsupported),
            6 => Some(ErrorCode::VersionMismatch),
            7 => Some(ErrorCode::FrameTooLarge),
            8 => Some(ErrorCode::UpdateRefused),
            9 => Some(ErrorCode::NotFound),
            _ => None,
        }
    }

    /// The snake-case name used in JSON and logs.
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BadRequest => "bad_request",
            ErrorCode::PromptRejected => "prompt_rejected",
            ErrorCode::TicketRefused => "ticket_refused",
            ErrorCode::Busy => "busy",
            ErrorCode::Internal => "internal",
            ErrorCode::Unsupported => "unsupported",
            ErrorCode::VersionMismatch => "version_mismatch",
            ErrorCode::FrameTooLarge => "frame_too_large",
            ErrorCode::UpdateRefused => "update_refused",
            ErrorCode::NotFound => "not_found",
        }
    }
}

impl core::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}
