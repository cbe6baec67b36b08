//! The device protocol over std byte streams.
//!
//! * [`frame`]: `sigil-wire` envelopes as `0x00`-delimited frames over any `Read`/`Write`,
//!   with a bound ([`MAX_FRAME`]) on what a peer may send.
//! * [`client`]: the host's side: connect (`tcp:HOST:PORT`), hello, device info, pull the log
//!   from a sequence number, fetch one record, and flash a bundle chunk by chunk, resuming
//!   after a dropped link where the device says it stands.
//!
//! The device's side (`sigil serve`) lives in the device program; what it does with an update
//! is `sigil_seal::slots`.

pub mod client;
pub mod frame;

pub use client::{Client, ClientError, Endpoint, FlashReport};
pub use frame::{LinkError, MAX_FRAME, recv, send};
