//! Single-use tickets: the gate's promise that a prompt passed this policy, redeemed once by
//! `sigil_provenance::seal`.
//!
//! The book is the authority: a ticket presented for sealing must be outstanding in the book and
//! identical to what was issued, so a ticket cannot be forged, altered (say, a block verdict
//! turned into allow) or used twice. The book holds at most `N` outstanding tickets; issuing one
//! more evicts the oldest, which then reads as expired.

use heapless::Vec;
use serde::{Deserialize, Serialize};

use crate::verdict::{CategoryId, Decision, Tier, Verdict};

/// A ticket as issued for one gated prompt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Ticket {
    /// Monotonic per book, starting at 1. Never reused.
    pub id: u64,
    /// SHA-256 of the normalised prompt.
    pub prompt_hash: [u8; 32],
    /// SHA-256 of the user identifier the caller gave.
    pub user_hash: [u8; 32],
    /// The gate's verdict for the prompt.
    pub verdict: Verdict,
    /// The deciding category, if any.
    pub category: Option<CategoryId>,
    /// That category's tier.
    pub tier: Tier,
}

/// Why a ticket could not be redeemed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum TicketError {
    /// This book never issued a ticket with this id (forged, or from another device/boot).
    Unknown,
    /// The ticket was issued and has already been redeemed.
    AlreadyUsed,
    /// The ticket was evicted unredeemed because too many newer tickets were issued.
    Expired,
    /// The presented ticket differs from the one issued under its id (altered).
    Mismatch,
}

impl core::fmt::Display for TicketError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            TicketError::Unknown => "ticket was never issued by this gate (forged or from another boot); gate the prompt again",
            TicketError::AlreadyUsed => "ticket was already used for a seal; every frame needs a fresh gate check",
            TicketError::Expired => "ticket expired (evicted by newer tickets); gate the prompt again",
            TicketError::Mismatch => "ticket does not match the one issued under its id (altered); gate the prompt again",
        })
    }
}

impl core::error::Error for TicketError {}

/// Outstanding tickets, at most `N` at a time.
#[derive(Debug)]
pub struct TicketBook<const N: usize> {
    next_id: u64,
    outstanding: Vec<Ticket, N>,
    /// Ids below this were issued and then evicted or redeemed; tracked only to tell the two apart.
    evicted: Vec<u64, N>,
}

impl<const N: usize> Default for TicketBook<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> TicketBook<N> {
    /// An empty book. Ids start at 1.
    pub const fn new() -> Self {
        Self {
            next_id: 1,
            outstanding: Vec::new(),
            evicted: Vec::new(),
        }
    }

    /// Issue a ticket for a decision. Tickets are issued for every verdict, block included, so the
    /// caller holds one handle per gated prompt; `seal` refuses blocked ones.
    pub fn issue(&mut self, decision: &Decision, user_hash: [u8; 32]) -> Ticket {
        let ticket = Ticket {
            id: self.next_id,
            prompt_hash: decision.prompt_hash,
            user_hash,
            verdict: decision.verdict,
            category: decision.category,
            tier: decision.tier,
        };
        self.next_id = self.next_id.saturating_add(1);
        if self.outstanding.is_full() && !self.outstanding.is_empty() {
            let old = self.outstanding.remove(0);
            self.remember_evicted(old.id);
        }
        // Cannot fail: a slot was freed above when full (N == 0 books drop every ticket).
        let _ = self.outstanding.push(ticket);
        ticket
    }

    fn remember_evicted(&mut self, id: u64) {
        if self.evicted.is_full() && !self.evicted.is_empty() {
            self.evicted.remove(0);
        }
        let _ = self.evicted.push(id);
    }

    /// Redeem a ticket: it must be outstanding and identical to what was issued. On success it is
    /// removed, so a second redeem fails with [`TicketError::AlreadyUsed`].
    pub fn redeem(&mut self, presented: &Ticket) -> Result<Ticket, TicketError> {
        if presented.id == 0 || presented.id >= self.next_id {
            return Err(TicketError::Unknown);
        }
        match self.outstanding.iter().position(|t| t.id == presented.id) {
            Some(i) => {
                let issued = self
                    .outstanding
                    .get(i)
                    .copied()
                    .ok_or(TicketError::Unknown)?;
                if issued != *presented {
                    return Err(TicketError::Mismatch);
                }
                self.outstanding.remove(i);
                Ok(issued)
            }
            None if self.evicted.contains(&presented.id) => Err(TicketError::Expired),
            None => Err(TicketError::AlreadyUsed),
        }
    }

    /// How many tickets are waiting to be redeemed.
    pub fn outstanding(&self) -> usize {
        self.outstanding.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decision(verdict: Verdict) -> Decision {
        Decision {
            verdict,
            category: None,
            tier: Tier::None,
            escalate: false,
            prompt_hash: [7; 32],
        }
    }

    #[test]
    fn redeem_once_then_already_used() {
        let mut book = TicketBook::<4>::new();
        let t = book.issue(&decision(Verdict::Allow), [1; 32]);
        assert_eq!(book.redeem(&t), Ok(t));
        assert_eq!(book.redeem(&t), Err(TicketError::AlreadyUsed));
    }

    #[test]
    fn unknown_and_altered_tickets_are_refused() {
        let mut book = TicketBook::<4>::new();
        let t = book.issue(&decision(Verdict::Block), [1; 32]);
        let forged = Ticket { id: 99, ..t };
        assert_eq!(book.redeem(&forged), Err(TicketError::Unknown));
        let altered = Ticket {
            verdict: Verdict::Allow,
            ..t
        };
        assert_eq!(book.redeem(&altered), Err(TicketError::Mismatch));
        // The genuine one is still redeemable after a failed attempt.
        assert_eq!(book.redeem(&t), Ok(t));
    }

    #[test]
    fn oldest_ticket_expires_when_book_is_full() {
        let mut book = TicketBook::<2>::new();
        let a = book.issue(&decision(Verdict::Allow), [1; 32]);
        let b = book.issue(&decision(Verdict::Allow), [1; 32]);
        let c = book.issue(&decision(Verdict::Allow), [1; 32]);
        assert_eq!(book.redeem(&a), Err(TicketError::Expired));
        assert_eq!(book.redeem(&b), Ok(b));
        assert_eq!(book.redeem(&c), Ok(c));
        assert_eq!(book.outstanding(), 0);
    }
}
