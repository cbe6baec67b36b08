//! Sigil's policy gate: the first half of the trust core.
#![cfg_attr(not(any(test, feature = "std")), no_std)]

pub mod ticket;
pub mod verdict;

pub use ticket::{Ticket, TicketBook, TicketError};
pub use verdict::{CategoryId, Decision, Tier, Verdict};
