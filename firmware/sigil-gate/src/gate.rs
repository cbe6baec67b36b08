//! The gate: one prompt in, one decision out; plus the stateful admission path (rate limits and
//! single-use tickets) that the trust core runs before a frame may be sealed.

use sha2::{Digest, Sha256};

use crate::error::InputError;
use crate::matcher::{Hits, Scratch, apply_combinations, deciding_category, find_hits};
use crate::normalise::fold_and_hash;
#[cfg(any(test, feature = "std"))]
use crate::normalise::validate_bytes;
use crate::policy::{CATEGORY_COUNT, GLYPH_TERMS_TEXT, GROUPS, TERMS_TEXT};
use crate::rate::{RateConfig, RateLimited, RateLimiter};
use crate::ticket::{Ticket, TicketBook};
use crate::verdict::{CategoryId, Decision, Tier};

/// Domain separator of user hashes.
pub const USER_HASH_DOMAIN: &[u8] = b"sigil/user/v1\0";

/// A decision with the evidence behind it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    /// The decision.
    pub decision: Decision,
    /// Every category that hit (bit = category id), after combination rules and escalations.
    pub categories: u32,
    /// Every signal and category that hit, and the first term per group.
    pub hits: Hits,
}

impl Outcome {
    /// The policy text of the first term that hit in a category (or signal), if a term did.
    pub fn matched_term(&self, group: CategoryId) -> Option<&'static str> {
        let ti = usize::from(*self.hits.first_term.get(usize::from(group))?);
        TERMS_TEXT
            .get(ti)
            .or_else(|| GLYPH_TERMS_TEXT.get(ti.checked_sub(TERMS_TEXT.len())?))
            .copied()
    }
}

/// Check a prompt against the compiled-in policy.
///
/// `escalate` is a category bit set from the application's semantic layer: it may add
/// categories (and so tighten the verdict), never remove one.
pub fn check_with(
    prompt: &str,
    escalate: u32,
    scratch: &mut Scratch,
) -> Result<Outcome, InputError> {
    let prompt_hash = fold_and_hash(prompt, &mut scratch.units)?;
    let hits = find_hits(scratch).ok_or(InputError::TooLongNormalised)?;
    let valid_categories = if CATEGORY_COUNT >= 32 {
        u32::MAX
    } else {
        (1u32 << CATEGORY_COUNT) - 1
    };
    let groups = apply_combinations(hits.groups | u64::from(escalate & valid_categories));
    let categories = (groups & u64::from(valid_categories)) as u32;
    let category = deciding_category(groups);
    let group = category.and_then(|c| GROUPS.get(usize::from(c)));
    let tier = group.map_or(Tier::None, |g| g.tier);
    let decision = Decision {
        verdict: tier.verdict(),
        category,
        tier,
        escalate: group.is_some_and(|g| g.escalate),
        prompt_hash,
    };
    Ok(Outcome {
        decision,
        categories,
        hits,
    })
}

/// Check a prompt with no escalations, using fresh scratch space (std convenience: the scratch
/// is about 41 KiB; embedded callers use [`check_with`] and a static `Scratch`).
#[cfg(any(test, feature = "std"))]
pub fn check(prompt: &str) -> Result<Outcome, InputError> {
    let mut scratch = std::boxed::Box::new(Scratch::new());
    check_with(prompt, 0, &mut scratch)
}

/// Check raw bytes (validates UTF-8, length and NUL first).
#[cfg(any(test, feature = "std"))]
pub fn check_bytes(prompt: &[u8]) -> Result<Outcome, InputError> {
    check(validate_bytes(prompt)?)
}

/// SHA-256 of a user identifier, as records and rate limits use it.
pub fn user_hash(user_id: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(USER_HASH_DOMAIN);
    h.update(user_id);
    h.finalize().into()
}

/// Why admission failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum AdmitError {
    /// The prompt could not be checked.
    Input(InputError),
    /// A rate limit refused the request (nothing was checked or issued).
    RateLimited(RateLimited),
}

impl core::fmt::Display for AdmitError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            AdmitError::Input(e) => e.fmt(f),
            AdmitError::RateLimited(e) => e.fmt(f),
        }
    }
}

impl core::error::Error for AdmitError {}

/// An admitted prompt: the decision and the ticket that `seal` will redeem.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Admission {
    /// The decision, with evidence.
    pub outcome: Outcome,
    /// The single-use ticket (issued for every verdict; `seal` refuses blocked ones).
    pub ticket: Ticket,
}

/// The stateful gate of one device: rate limits and the ticket book.
#[derive(Debug)]
pub struct Gate<const TICKETS: usize, const USERS: usize> {
    limiter: RateLimiter<USERS>,
    /// Outstanding tickets; `sigil_provenance::Sealer::seal` redeems them.
    pub book: TicketBook<TICKETS>,
}

impl<const TICKETS: usize, const USERS: usize> Gate<TICKETS, USERS> {
    /// A gate with full buckets and no tickets.
    pub const fn new(rate: RateConfig) -> Self {
        Self {
            limiter: RateLimiter::new(rate),
            book: TicketBook::new(),
        }
    }

    /// A gate that continues with `limiter`'s buckets (for example restored from a
    /// [`crate::rate::RateState`] saved by an earlier process) and no tickets.
    pub const fn with_rates(limiter: RateLimiter<USERS>) -> Self {
        Self {
            limiter,
            book: TicketBook::new(),
        }
    }

    /// The rate limiter, for saving its buckets ([`RateLimiter::state`]).
    pub const fn rates(&self) -> &RateLimiter<USERS> {
        &self.limiter
    }

    /// Rate-limit, check and issue a ticket. A refused rate limit consumes nothing and issues
    /// nothing; a bad prompt still consumes a token (so malformed floods are limited too).
    pub fn admit(
        &mut self,
        prompt: &str,
        user_id: &[u8],
        now_ms: u64,
        escalate: u32,
        scratch: &mut Scratch,
    ) -> Result<Admission, AdmitError> {
        let user = self.take(user_id, now_ms)?;
        let outcome = check_with(prompt, escalate, scratch).map_err(AdmitError::Input)?;
        let ticket = self.book.issue(&outcome.decision, user);
        Ok(Admission { outcome, ticket })
    }

    /// Take the user's (and the device's) token; the user's hash.
    fn take(&mut self, user_id: &[u8], now_ms: u64) -> Result<[u8; 32], AdmitError> {
        let user = user_hash(user_id);
        self.limiter
            .take(&user, now_ms)
            .map_err(AdmitError::RateLimited)?;
        Ok(user)
    }
}

impl<const TICKETS: usize, const USERS: usize> Gate<TICKETS, USERS> {
    /// Rate-limit once, check the prompt and what the model read it as, and issue one ticket
    /// for the stricter of the two decisions (the prompt's on a tie), carrying the prompt's
    /// hash. The outcome is the stricter check's.
    pub fn admit_read(
        &mut self,
        prompt: &str,
        reading: &str,
        user_id: &[u8],
        now_ms: u64,
        escalate: u32,
        scratch: &mut Scratch,
    ) -> Result<Admission, AdmitError> {
        let user = self.take(user_id, now_ms)?;
        let asked = check_with(prompt, escalate, scratch).map_err(AdmitError::Input)?;
        let read = check_with(reading, escalate, scratch).map_err(AdmitError::Input)?;
        let mut outcome = if read.decision.verdict > asked.decision.verdict {
            read
        } else {
            asked
        };
        outcome.decision.prompt_hash = asked.decision.prompt_hash;
        let ticket = self.book.issue(&outcome.decision, user);
        Ok(Admission { outcome, ticket })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rate::{Limit, Scope};
    use crate::ticket::TicketError;
    use crate::verdict::Verdict;

    const RATE: RateConfig = RateConfig {
        user: Limit {
            burst: 2,
            refill_ms: 1000,
        },
        device: Limit {
            burst: 10,
            refill_ms: 100,
        },
    };

    #[test]
    fn admit_read_issues_one_ticket_for_the_stricter_reading() {
        let mut gate = Gate::<4, 4>::new(RATE);
        let mut scratch = std::boxed::Box::new(Scratch::new());
        let asked = check("a toy that squirts water").unwrap().decision;
        let a = gate
            .admit_read(
                "a toy that squirts water",
                "water pistol",
                b"u",
                0,
                0,
                &mut scratch,
            )
            .unwrap();
        assert_eq!(asked.verdict, Verdict::Allow);
        assert_eq!(a.ticket.verdict, Verdict::Review);
        assert_eq!(
            a.ticket
                .category
                .and_then(crate::policy::category)
                .map(|g| g.id),
            Some("weapons")
        );
        // The record binds what the user typed.
        assert_eq!(a.ticket.prompt_hash, asked.prompt_hash);
        // A stricter prompt is not relaxed by a harmless reading.
        let b = gate
            .admit_read("a swastika flag", "a red flag", b"v", 0, 0, &mut scratch)
            .unwrap();
        assert_eq!(b.ticket.verdict, Verdict::Block);
        // One token per admission: u's second request of the burst of 2 is the last.
        assert!(
            gate.admit_read("a cat", "cat", b"u", 0, 0, &mut scratch)
                .is_ok()
        );
        assert!(matches!(
            gate.admit_read("a cat", "cat", b"u", 0, 0, &mut scratch),
            Err(AdmitError::RateLimited(_))
        ));
        // A bad reading is an input error, like a bad prompt.
        assert!(matches!(
            gate.admit_read("a cat", "", b"w", 0, 0, &mut scratch),
            Err(AdmitError::Input(InputError::Empty))
        ));
    }

    #[test]
    fn admit_limits_checks_and_issues_redeemable_tickets() {
        let mut gate = Gate::<4, 4>::new(RATE);
        let mut scratch = std::boxed::Box::new(Scratch::new());
        let a = gate
            .admit("a red fox in the snow", b"alice", 0, 0, &mut scratch)
            .unwrap();
        assert_eq!(a.outcome.decision.verdict, Verdict::Allow);
        assert_eq!(a.ticket.prompt_hash, a.outcome.decision.prompt_hash);
        assert_eq!(a.ticket.user_hash, user_hash(b"alice"));
        // Blocked prompts get a ticket too (seal refuses it), and use up the user's budget.
        let b = gate
            .admit("swastika", b"alice", 0, 0, &mut scratch)
            .unwrap();
        assert_eq!(b.ticket.verdict, Verdict::Block);
        match gate.admit("a cat", b"alice", 0, 0, &mut scratch) {
            Err(AdmitError::RateLimited(r)) => assert_eq!(r.scope, Scope::User),
            other => panic!("expected a rate limit, got {other:?}"),
        }
        // Another user is not limited by alice; bad input is an input error.
        assert!(matches!(
            gate.admit("", b"bob", 0, 0, &mut scratch),
            Err(AdmitError::Input(InputError::Empty))
        ));
        assert_eq!(gate.book.redeem(&a.ticket), Ok(a.ticket));
        assert_eq!(gate.book.redeem(&a.ticket), Err(TicketError::AlreadyUsed));
    }
}
