//! Requests: host to device.

use serde::{Deserialize, Serialize};
use sigil_gate::Ticket;

use crate::WireFrameFacts;

/// What the host asks of the trust core.
///
/// Variant order is part of the wire format: append new requests at the end, never reorder or
/// remove one without bumping [`WIRE_VERSION`](crate::WIRE_VERSION). A device that receives a
/// request appended after its build answers [`ErrorCode::Unsupported`](crate::ErrorCode).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Request<'a> {
    /// Open a session. Answered by [`Response::Hello`](crate::Response::Hello).
    Hello {
        /// The wire version the host speaks ([`WIRE_VERSION`](crate::WIRE_VERSION)).
        host_version: u16,
        /// The largest frame the host can receive, in encoded bytes including the delimiter.
        max_frame: u32,
    },
    /// Ask for the device's identity. Answered by [`Response::Info`](crate::Response::Info).
    Info,
    /// Run the policy gate on a prompt without issuing a ticket (a dry run for UIs).
    /// Answered by [`Response::Decision`](crate::Response::Decision).
    Check {
        /// The prompt as the user typed it; the device normalises it.
        prompt: &'a str,
        /// Opaque user identifier; the device hashes it.
        user: &'a [u8],
    },
    /// Gate a prompt, apply the rate limit and issue a single-use ticket.
    /// Answered by [`Response::Admitted`](crate::Response::Admitted) or
    /// [`Response::RateLimited`](crate::Response::RateLimited).
    Admit {
        /// The prompt as the user typed it; the device normalises it.
        prompt: &'a str,
        /// Opaque user identifier; the device hashes it.
        user: &'a [u8],
        /// The host's monotonic clock in milliseconds, for the rate limiter.
        now_ms: u64,
    },
    /// Redeem a ticket and sign a provenance record for a generated frame.
    /// Answered by [`Response::Sealed`](crate::Response::Sealed).
    Seal {
        /// The ticket exactly as [`Response::Admitted`](crate::Response::Admitted) returned it.
        ticket: Ticket,
        /// What was generated.
        facts: WireFrameFacts,
    },
    /// Read signed records from the device log.
    /// Answered by [`Response::LogChunk`](crate::Response::LogChunk).
    ReadLog {
        /// Sequence number of the first record wanted.
        from_seq: u64,
        /// At most this many records in the answer (fewer if the frame would be too large).
        max_records: u16,
    },
    /// End the session.
    Bye,
    /// Fetch one record of the device log by sequence number. Answered by
    /// [`Response::Record`](crate::Response::Record).
    GetRecord {
        /// The record's sequence number.
        seq: u64,
    },
    /// Start (or resume) an update with the bundle's header (prefix, manifest, signature), sent
    /// in parts when it is longer than a frame. Once every part is in, the header is checked
    /// against the maker key, device class and version counter before anything is stored.
    /// Answered by [`Response::UpdateProgress`](crate::Response::UpdateProgress): with `total`
    /// 0 while parts are missing, then with the first chunk the device still needs.
    UpdateBegin {
        /// The header's whole length.
        header_len: u32,
        /// Where `part` starts in the header.
        offset: u32,
        /// Bytes `offset..offset + part.len()` of the header.
        part: &'a [u8],
    },
    /// One payload chunk of the update begun. Answered by `UpdateProgress`.
    UpdateChunk {
        /// The chunk's index.
        index: u32,
        /// Its bytes.
        bytes: &'a [u8],
    },
    /// Every chunk is in: check the whole bundle and make its slot the one to boot next.
    /// Answered by [`Response::UpdateStaged`](crate::Response::UpdateStaged).
    UpdateCommit,
    /// Where the trust core's chain stands. Answered by [`Response::Head`](crate::Response::Head).
    /// A host that keeps the log compares it with its own last record before sealing.
    Head,
    /// Sign a content credential (the COSE `Sig_structure` of a frame's C2PA claim) with the
    /// device key. Refused when `msg` starts with the record signature domain, so a credential
    /// signature can never stand for a record's. Answered by
    /// [`Response::Signature`](crate::Response::Signature).
    SignCredential {
        /// The exact bytes to sign.
        msg: &'a [u8],
    },
    /// Gate a prompt *and* what the model read it as (the caption it snapped to) in one
    /// admission: one rate-limit token, one ticket, whose verdict and category are the stricter
    /// of the two checks and whose prompt hash is the prompt's. Answered like
    /// [`Request::Admit`].
    AdmitRead {
        /// The prompt as the user typed it; the device normalises it.
        prompt: &'a str,
        /// What the model reads the prompt as; gated with the same policy.
        reading: &'a str,
        /// Opaque user identifier; the device hashes it.
        user: &'a [u8],
        /// The host's monotonic clock in milliseconds, for the rate limiter.
        now_ms: u64,
    },
}

impl Request<'_> {
    /// The request's name in snake case, for logs (`"admit"`, `"seal"`, …).
    pub const fn name(&self) -> &'static str {
        match self {
            Request::Hello { .. } => "hello",
            Request::Info => "info",
            Request::Check { .. } => "check",
            Request::Admit { .. } => "admit",
            Request::Seal { .. } => "seal",
            Request::ReadLog { .. } => "read_log",
            Request::Bye => "bye",
            Request::GetRecord { .. } => "get_record",
            Request::UpdateBegin { .. } => "update_begin",
            Request::UpdateChunk { .. } => "update_chunk",
            Request::UpdateCommit => "update_commit",
            Request::Head => "head",
            Request::SignCredential { .. } => "sign_credential",
            Request::AdmitRead { .. } => "admit_read",
        }
    }
}
