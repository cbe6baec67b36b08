//! Everything that can go wrong while framing or unframing a message.

use core::fmt::{self, Display, Formatter};

/// A frame could not be encoded or decoded. Each variant's `Display` names the problem and the
/// fix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum WireError {
    /// `encode_frame` ran out of output buffer.
    BufferTooSmall {
        /// Length of the buffer it was given.
        capacity: usize,
    },
    /// The buffer handed to `decode_frame` has no `0x00` delimiter: the frame is truncated.
    Unterminated,
    /// The buffer handed to `decode_frame` has a `0x00` before its last byte.
    UnexpectedDelimiter {
        /// Offset of the early `0x00`.
        at: usize,
    },
    /// The frame is not valid COBS (corrupted on the link, or not a sigil-wire frame).
    Cobs,
    /// The decoded frame is too short to hold a CRC and a header.
    TooShort {
        /// Decoded length in bytes.
        len: usize,
    },
    /// The CRC-32 does not match the frame's contents.
    CrcMismatch {
        /// CRC computed over the received bytes.
        computed: u32,
        /// CRC the frame carried.
        carried: u32,
    },
    /// The frame does not start with the `SW` magic.
    BadMagic {
        /// The two bytes found instead.
        found: [u8; 2],
    },
    /// The peer speaks another wire version; the body was not decoded.
    VersionMismatch {
        /// The version this build speaks.
        local: u16,
        /// The version the peer sent.
        remote: u16,
    },
    /// The body holds an enum variant this build does not know (added by a newer peer).
    UnknownVariant,
    /// The body does not decode although its CRC is valid.
    Malformed {
        /// What could not be decoded.
        what: &'static str,
    },
    /// The body decoded but bytes were left over after it.
    TrailingBytes {
        /// How many bytes were left over.
        count: usize,
    },
    /// A frame in the stream was longer than the accumulator's buffer; it was dropped up to the
    /// next delimiter.
    Overflow {
        /// The accumulator's capacity in encoded bytes, delimiter excluded.
        capacity: usize,
    },
}

impl Display for WireError {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match *self {
            WireError::BufferTooSmall { capacity } => write!(
                f,
                "output buffer of {capacity} bytes is too small for this frame: size it with \
                 max_encoded_len(), or send less (fewer records per LogChunk)"
            ),
            WireError::Unterminated => f.write_str(
                "frame has no 0x00 delimiter (truncated): pass the whole frame including its \
                 trailing 0x00, or feed the stream through FrameAccumulator",
            ),
            WireError::UnexpectedDelimiter { at } => write!(
                f,
                "0x00 delimiter at byte {at} before the end of the buffer (several frames, or \
                 corruption): pass exactly one frame, or feed the stream through FrameAccumulator"
            ),
            WireError::Cobs => f.write_str(
                "frame is not valid COBS (corrupted on the link, or not a sigil-wire frame): \
                 drop it and resend the request",
            ),
            WireError::TooShort { len } => write!(
                f,
                "frame decodes to {len} bytes, too short for a header and CRC (corrupted or not \
                 a sigil-wire frame): drop it and resend the request"
            ),
            WireError::CrcMismatch { computed, carried } => write!(
                f,
                "CRC mismatch (frame carries {carried:#010x}, contents give {computed:#010x}): \
                 the frame was corrupted on the link; drop it and resend the request"
            ),
            WireError::BadMagic { found: [a, b] } => write!(
                f,
                "frame starts with {a:#04x} {b:#04x}, not the \"SW\" magic: the peer is not \
                 speaking sigil-wire; check the port and baud rate"
            ),
            WireError::VersionMismatch { local, remote } => write!(
                f,
                "this side speaks wire v{local}, the peer sent wire v{remote}: update the device \
                 firmware or use a matching sigil-host (the side on the older version is the \
                 one to update)"
            ),
            WireError::UnknownVariant => f.write_str(
                "message holds a variant this build does not know (sent by a newer peer under \
                 the same wire version): update this side, or avoid the new request",
            ),
            WireError::Malformed { what } => write!(
                f,
                "message body is malformed ({what}) although its CRC is valid: the peer's \
                 encoder is broken; update it to a release built from sigil-wire"
            ),
            WireError::TrailingBytes { count } => write!(
                f,
                "{count} bytes left over after the message: the peer encodes a different layout \
                 under the same wire version; update it to a release built from sigil-wire"
            ),
            WireError::Overflow { capacity } => write!(
                f,
                "frame longer than the {capacity}-byte receive buffer was dropped: announce a \
                 smaller max_frame in Hello, or give the FrameAccumulator a larger buffer"
            ),
        }
    }
}

impl core::error::Error for WireError {}

impl WireError {
    /// Map a postcard decoding error to the wire error that explains it.
    pub(crate) fn from_postcard_de(e: postcard::Error) -> Self {
        use postcard::Error as P;
        let what = match e {
            P::SerdeDeCustom | P::DeserializeBadEnum => return WireError::UnknownVariant,
            P::DeserializeUnexpectedEnd => "message ends early",
            P::DeserializeBadVarint => "bad varint",
            P::DeserializeBadBool => "bad bool",
            P::DeserializeBadChar => "bad char",
            P::DeserializeBadUtf8 => "text is not UTF-8",
            P::DeserializeBadOption => "bad option tag",
            _ => "undecodable",
        };
        WireError::Malformed { what }
    }
}
