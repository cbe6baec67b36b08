//! Sigil wire protocol: the versioned messages a host application exchanges with the trust core
//! running on a secure MCU, and the framing that carries them over UART, USB or TCP.
//!
//! # Framing
//!
//! One message is one frame:
//!
//! ```text
//! COBS( postcard(Envelope) ‖ CRC-32/ISO-HDLC(postcard bytes), little-endian ) ‖ 0x00
//! ```
//!
//! * [`postcard`] gives a compact, deterministic encoding; messages borrow strings and byte
//!   strings straight from the receive buffer, so nothing here allocates.
//! * The CRC-32 (`crc::CRC_32_ISO_HDLC`, the Ethernet/zlib CRC) covers the postcard bytes and
//!   catches link corruption: a frame whose CRC does not match is dropped, never half-parsed.
//! * COBS removes every `0x00` from the encoded bytes so a single `0x00` delimits frames. A
//!   receiver that joins mid-stream or sees garbage resynchronises at the next `0x00`; a sender
//!   may emit a lone `0x00` at any time to flush a peer's half-received frame.
//!
//! [`encode_frame`] writes one frame (delimiter included), [`decode_frame`] decodes one frame in
//! place, and [`FrameAccumulator`] cuts frames out of an arbitrarily chunked byte stream.
//! [`max_encoded_len`] sizes buffers.
//!
//! # Versioning
//!
//! Every [`Envelope`] starts with a frozen header: the magic bytes `b"SW"`, the wire version
//! ([`WIRE_VERSION`]) and the request id, in that order and that encoding, in every version past
//! and future. The decoder checks magic and version *before* it looks at the body, so a body from
//! another version is never misparsed; it is refused with [`WireError::VersionMismatch`], which
//! names both versions.
//!
//! postcard encodes an enum variant as its position. Therefore, for [`Body`], [`Request`],
//! [`Response`], [`ErrorCode`] and every struct they carry:
//!
//! * **appending** a new variant at the end is compatible: old peers keep decoding everything
//!   they knew and refuse the new variant with [`WireError::UnknownVariant`] (a device answers
//!   [`ErrorCode::Unsupported`]);
//! * **reordering, removing or changing** a variant or a field is incompatible and requires
//!   bumping [`WIRE_VERSION`] (the golden byte vectors in the tests fail to remind you).
//!
//! This is the same rule defmt applies to its `_defmt_version_` symbol: the version changes
//! exactly when old and new bytes stop meaning the same thing.
//!
//! # Session
//!
//! The host opens with [`Request::Hello`], stating its wire version and the largest frame it can
//! receive; the device answers [`Response::Hello`] likewise. Every response echoes the id of the
//! request it answers. [`Request::Bye`] ends the session.
#![cfg_attr(not(any(test, feature = "std")), no_std)]

mod envelope;
mod error;
mod facts;
mod frame;
mod request;
mod response;
mod stream;

pub use envelope::{Body, Envelope};
pub use error::WireError;
pub use facts::WireFrameFacts;
pub use frame::{CRC_LEN, decode_frame, encode_frame, max_encoded_len};
pub use request::Request;
pub use response::{ErrorCode, Response};
pub use stream::{Feed, FrameAccumulator};

/// The wire protocol version this build speaks. Bump it on any incompatible change (see the
/// crate documentation); appending enum variants does not need a bump.
pub const WIRE_VERSION: u16 = 1;

/// The two bytes every envelope starts with.
pub const MAGIC: [u8; 2] = *b"SW";
