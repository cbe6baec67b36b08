//! Everything that can go wrong while decoding, verifying, framing or sealing a record. Each
//! variant's `Display` names the problem and the fix.

use core::fmt::{self, Display, Formatter};

use sigil_gate::TicketError;

use crate::record::{RECORD_LEN, RECORD_MAGIC, RECORD_VERSION};

/// A byte string is not a well-formed Record v1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum RecordError {
    /// Fewer bytes than the field being read needs (header or whole record).
    TooShort {
        /// How many bytes there were.
        len: usize,
        /// How many bytes were needed.
        needed: usize,
    },
    /// The record does not start with `b"SGRC"`.
    BadMagic {
        /// The four bytes found instead.
        found: [u8; 4],
    },
    /// The record is in a format version this build does not read.
    UnsupportedVersion {
        /// The version the record carries.
        found: u16,
    },
    /// Bytes are left over after a complete record.
    TrailingBytes {
        /// How many bytes were left over.
        count: usize,
    },
    /// A one-byte enum field holds a value this build does not know.
    BadEnum {
        /// The field, e.g. `"gate.verdict"`.
        field: &'static str,
        /// The byte found.
        value: u8,
    },
    /// postcard could not decode the fields although the length was right (should not happen for
    /// a fixed-size layout; reported rather than trusted).
    Malformed,
}

impl Display for RecordError {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match *self {
            RecordError::TooShort { len, needed } => write!(
                f,
                "record is {len} bytes, {needed} needed (Record v1 is {RECORD_LEN} bytes): the \
                 record was truncated; read it whole from the PNG chunk, sidecar or log"
            ),
            RecordError::BadMagic {
                found: [a, b, c, d],
            } => write!(
                f,
                "record starts with {a:#04x} {b:#04x} {c:#04x} {d:#04x}, not the \"SGRC\" magic \
                 ({RECORD_MAGIC:?}): these bytes are not a sigil record; check the input file"
            ),
            RecordError::UnsupportedVersion { found } if found > RECORD_VERSION => write!(
                f,
                "record format version {found}, this build reads version {RECORD_VERSION}: \
                 upgrade sigil-host"
            ),
            RecordError::UnsupportedVersion { found } => write!(
                f,
                "record format version {found} was never released (this build reads version \
                 {RECORD_VERSION}): the record is corrupt or forged; re-read it from the device log"
            ),
            RecordError::TrailingBytes { count } => write!(
                f,
                "{count} bytes left over after a {RECORD_LEN}-byte Record v1: pass exactly one \
                 record (strip the log framing or PNG chunk header first)"
            ),
            RecordError::BadEnum { field, value } => write!(
                f,
                "record field `{field}` holds {value}, which Record v1 does not define: the \
                 record is corrupt or was written by a broken encoder; re-read it from the device log"
            ),
            RecordError::Malformed => f.write_str(
                "record fields do not decode although the length is right: the record is \
                 corrupt; re-read it from the device log",
            ),
        }
    }
}

impl core::error::Error for RecordError {}

/// A record could not be verified against a trusted device key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum VerifyError {
    /// The bytes are not a Record v1.
    Undecodable(RecordError),
    /// The record names another device key than the trusted one.
    ForeignKey {
        /// The device key the record carries.
        found: [u8; 32],
    },
    /// The Ed25519 signature does not verify (strictly) over the record.
    BadSignature,
}

impl Display for VerifyError {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            VerifyError::Undecodable(e) => e.fmt(f),
            VerifyError::ForeignKey { found } => write!(
                f,
                "record was signed by device key {:02x}{:02x}{:02x}{:02x}…, not the trusted key: \
                 verify it against that device's key, or treat it as foreign",
                found[0], found[1], found[2], found[3]
            ),
            VerifyError::BadSignature => f.write_str(
                "record signature does not verify: the record was altered after signing (or \
                 forged); do not trust any of its fields",
            ),
        }
    }
}

impl core::error::Error for VerifyError {}

impl From<RecordError> for VerifyError {
    fn from(e: RecordError) -> Self {
        VerifyError::Undecodable(e)
    }
}

/// A record could not be framed for the append-only log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum LogError {
    /// The output buffer cannot hold the framed entry.
    BufferTooSmall {
        /// Bytes the entry needs.
        needed: usize,
        /// Bytes the buffer has.
        capacity: usize,
    },
    /// The record is empty or longer than [`MAX_RECORD_LEN`](crate::log::MAX_RECORD_LEN).
    BadRecordLen {
        /// The record's length.
        len: usize,
    },
}

impl Display for LogError {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match *self {
            LogError::BufferTooSmall { needed, capacity } => write!(
                f,
                "log entry needs {needed} bytes, the buffer has {capacity}: size it with \
                 frame_len(record.len())"
            ),
            LogError::BadRecordLen { len } => write!(
                f,
                "a {len}-byte record cannot be logged (entries hold 1..={} bytes): pass an \
                 encoded record, not an empty or concatenated buffer",
                crate::log::MAX_RECORD_LEN
            ),
        }
    }
}

impl core::error::Error for LogError {}

/// The trust core refused to seal a frame. Nothing was signed and the chain head did not move.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum SealError {
    /// No ticket was presented.
    NoTicket,
    /// The ticket book refused the ticket (unknown, already used, expired or altered).
    Ticket(TicketError),
    /// The ticket's verdict is block. The ticket was consumed.
    Blocked,
    /// The ticket (or the output check) requires human review, but no decision was given. The
    /// ticket was not consumed.
    ReviewPending,
    /// The frame's watermark payload is not the one for this record's sequence number.
    WrongWatermark {
        /// What `watermark_for(next_seq)` gives.
        expected: [u8; 8],
        /// What the facts carry.
        found: [u8; 8],
    },
    /// `Sealer::resume` was given a record signed by another device key.
    ForeignRecord,
    /// `Sealer::resume` was given a record whose signature does not verify.
    InvalidRecord,
    /// The sequence number space is used up.
    ChainExhausted,
    /// A content credential to sign begins with the record signature domain: signing it would
    /// make a record signature.
    CredentialDomain,
}

impl Display for SealError {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            SealError::NoTicket => f.write_str(
                "no ticket presented: every frame must be gated first; pass the ticket the gate \
                 issued for this prompt",
            ),
            SealError::Ticket(e) => e.fmt(f),
            SealError::Blocked => f.write_str(
                "the prompt's verdict is block, so the frame cannot be sealed (the ticket is now \
                 used up): do not release the frame",
            ),
            SealError::ReviewPending => f.write_str(
                "this frame requires human review but was sealed with review \"not required\": \
                 hold it until a reviewer approves or rejects, then seal with that decision",
            ),
            SealError::WrongWatermark { expected, found } => write!(
                f,
                "frame watermark {found:02x?} is not the payload for this record \
                 ({expected:02x?}): embed watermark_for(next_seq()) and recompose the frame"
            ),
            SealError::ForeignRecord => f.write_str(
                "cannot resume from a record signed by another device key: resume from the last \
                 valid record of this device's own log",
            ),
            SealError::InvalidRecord => f.write_str(
                "cannot resume from a record whose signature does not verify: recover the log \
                 and resume from its last valid record",
            ),
            SealError::ChainExhausted => f.write_str(
                "the record sequence number is at its maximum: start a new log with a new \
                 device key",
            ),
            SealError::CredentialDomain => f.write_str(
                "refused to sign a content credential that begins with the record signature \
                 domain: only records are signed under that domain, and only through `seal`",
            ),
        }
    }
}

impl core::error::Error for SealError {}

impl From<TicketError> for SealError {
    fn from(e: TicketError) -> Self {
        SealError::Ticket(e)
    }
}
