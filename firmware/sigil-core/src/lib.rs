//! The trust core as a service: one [`Core`] holds the policy gate (rate limits, ticket book),
//! the sealer (device key, chain head) and the gate's scratch space, and answers
//! [`sigil_wire::Request`]s with [`sigil_wire::Response`]s.
//!
//! The same code runs in two places (DESIGN §2, the trust boundary):
//!
//! * in the device program, in-process (`sigil generate --trust-core in-process`), where the
//!   host calls [`Core::handle`] directly;
//! * on the trust-core microcontroller (`firmware/sigil-mcu`), where [`serve_frame`] turns one
//!   received frame into one response frame over the UART.
//!
//! Either way the key never leaves the core: the only ways to use it are
//! [`Request::Seal`](sigil_wire::Request::Seal), which redeems a single-use ticket the same core
//! issued, and [`Request::SignCredential`](sigil_wire::Request::SignCredential), which refuses
//! the record signature domain.
//!
//! `no_std`, no heap: the scratch space is the caller's (a `Box` on the host, a static on the
//! MCU), every response borrows from buffers inside the core.
#![cfg_attr(not(any(test, feature = "std")), no_std)]

mod dispatch;
mod serve;
mod service;

pub use serve::{ServeError, Served, respond, serve_frame};
pub use service::{Core, DETAIL_LEN, frame_facts_to_wire, wire_facts_to_frame_facts};
