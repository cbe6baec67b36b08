//! Sealing: the trust core signs a record for a frame only against a valid, unused ticket, and
//! only then advances its chain head.

use ed25519_dalek::{SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};
use sigil_gate::{Ticket, TicketBook, Tier, Verdict};

use crate::chain::ChainHead;
use crate::error::SealError;
use crate::fields::{GateFacts, PostFilter, Review};
use crate::record::{Record, RecordBody};
use crate::verify::verify_decoded;

/// What the caller knows about the generated frame. Everything about the prompt (its hash, the
/// user hash, the gate's decision) comes from the redeemed ticket instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct FrameFacts {
    /// Seconds since the Unix epoch; 0 without an RTC.
    pub time_unix: u64,
    /// The device's boot counter.
    pub boot_counter: u32,
    /// SHA-256 of the model pack.
    pub model_digest: [u8; 32],
    /// Sampler seed.
    pub seed: u64,
    /// Denoiser steps.
    pub steps: u16,
    /// Guidance × 1000.
    pub guidance_milli: u32,
    /// Frame width in pixels.
    pub width: u16,
    /// Frame height in pixels.
    pub height: u16,
    /// The output check's decision.
    pub post_filter: PostFilter,
    /// The human review decision.
    pub review: Review,
    /// The watermark payload embedded in the frame; must be `watermark_for(next_seq())`.
    pub watermark: [u8; 8],
    /// [`frame_hash`](crate::frame_hash) of the released frame.
    pub frame_hash: [u8; 32],
}

/// The watermark payload linking a frame to (device, sequence number):
/// the first 4 bytes of SHA-256(device public key) ‖ the low 32 bits of `seq`, big-endian.
///
/// The key tag lets a verifier find the device's log; the sequence number (which wraps after
/// 2³² frames, far beyond a device's life) finds the record in it.
pub fn watermark_payload(device_key: &[u8; 32], seq: u64) -> [u8; 8] {
    let tag = Sha256::digest(device_key);
    let mut out = [0; 8];
    let (head, tail) = out.split_at_mut(4);
    head.copy_from_slice(tag.split_at(4).0);
    tail.copy_from_slice(seq.to_be_bytes().split_at(4).1);
    out
}

/// The device's sealing state: its signing key, chain head and firmware/policy digests.
#[derive(Debug)]
pub struct Sealer {
    key: SigningKey,
    public: [u8; 32],
    head: ChainHead,
    firmware_digest: [u8; 32],
    policy_digest: [u8; 32],
}

impl Sealer {
    /// A sealer for an empty log: the first record will be seq 0 with a zero `prev_hash`.
    pub fn new(key: SigningKey, firmware_digest: [u8; 32], policy_digest: [u8; 32]) -> Self {
        let public = key.verifying_key().to_bytes();
        Self {
            key,
            public,
            head: ChainHead::GENESIS,
            firmware_digest,
            policy_digest,
        }
    }

    /// A sealer that continues after `last`, the last valid record of the device's log (as
    /// found by [`recover`](crate::recover) and verified). Refuses a record signed by another
    /// key ([`SealError::ForeignRecord`]) or with a bad signature ([`SealError::InvalidRecord`]).
    pub fn resume(
        key: SigningKey,
        firmware_digest: [u8; 32],
        policy_digest: [u8; 32],
        last: &Record,
    ) -> Result<Self, SealError> {
        let mut sealer = Self::new(key, firmware_digest, policy_digest);
        if *last.device_key() != sealer.public {
            return Err(SealError::ForeignRecord);
        }
        verify_decoded(last, &sealer.verifying_key()).map_err(|_| SealError::InvalidRecord)?;
        sealer.head = ChainHead::after(last).ok_or(SealError::ChainExhausted)?;
        Ok(sealer)
    }

    /// The device's public key.
    pub fn verifying_key(&self) -> VerifyingKey {
        self.key.verifying_key()
    }

    /// Sign a content credential with the device key: the COSE `Sig_structure` of a frame's
    /// C2PA claim, whose certificate chain certifies this key. The signature is over `msg` as
    /// given; a message that begins with [`SIGNATURE_DOMAIN`](crate::SIGNATURE_DOMAIN) is
    /// refused, so a credential signature can never stand for a record's (every record
    /// signature covers that domain first, and only [`Sealer::seal`] makes one).
    pub fn sign_credential(&self, msg: &[u8]) -> Result<[u8; 64], SealError> {
        use ed25519_dalek::Signer;
        if msg.starts_with(crate::SIGNATURE_DOMAIN) {
            return Err(SealError::CredentialDomain);
        }
        Ok(self.key.sign(msg).to_bytes())
    }

    /// The firmware digest this sealer stamps into records.
    pub const fn firmware_digest(&self) -> [u8; 32] {
        self.firmware_digest
    }

    /// The sequence number the next record will carry.
    pub const fn next_seq(&self) -> u64 {
        self.head.next_seq
    }

    /// The chain head: next seq and the hash of the last sealed record.
    pub const fn head(&self) -> ChainHead {
        self.head
    }

    /// The watermark payload for the frame that will get record `seq` (see [`watermark_payload`]).
    pub fn watermark_for(&self, seq: u64) -> [u8; 8] {
        watermark_payload(&self.public, seq)
    }

    /// Seal a frame: redeem the ticket, build the record from the ticket and `facts`, sign it
    /// and advance the chain head. On any error nothing is signed and the head stays put.
    ///
    /// Refuses, in this order:
    /// * no ticket → [`SealError::NoTicket`];
    /// * a watermark other than `watermark_for(next_seq())` → [`SealError::WrongWatermark`];
    /// * review required (ticket verdict or tier review, or post-filter verdict review) but
    ///   `facts.review` is [`Review::NotRequired`] → [`SealError::ReviewPending`];
    /// * a ticket the book refuses → [`SealError::Ticket`];
    /// * a ticket whose verdict is block → [`SealError::Blocked`] (the ticket is consumed).
    ///
    /// The first three leave the ticket unused so the frame can be sealed once fixed or
    /// reviewed.
    pub fn seal<const N: usize>(
        &mut self,
        book: &mut TicketBook<N>,
        ticket: Option<&Ticket>,
        facts: &FrameFacts,
    ) -> Result<Record, SealError> {
        let presented = ticket.ok_or(SealError::NoTicket)?;
        let seq = self.head.next_seq;
        let next_head_seq = seq.checked_add(1).ok_or(SealError::ChainExhausted)?;
        let expected = self.watermark_for(seq);
        if facts.watermark != expected {
            return Err(SealError::WrongWatermark {
                expected,
                found: facts.watermark,
            });
        }
        // Checked on the presented ticket so a premature seal does not burn it; redeem below
        // guarantees the presented ticket is the issued one.
        if needs_review(presented, &facts.post_filter) && facts.review == Review::NotRequired {
            return Err(SealError::ReviewPending);
        }
        let ticket = book.redeem(presented)?;
        if ticket.verdict == Verdict::Block || ticket.tier == Tier::Block {
            return Err(SealError::Blocked);
        }
        let body = RecordBody {
            seq,
            prev_hash: self.head.prev_hash,
            device_key: self.public,
            time_unix: facts.time_unix,
            boot_counter: facts.boot_counter,
            firmware_digest: self.firmware_digest,
            policy_digest: self.policy_digest,
            model_digest: facts.model_digest,
            prompt_hash: ticket.prompt_hash,
            user_hash: ticket.user_hash,
            seed: facts.seed,
            steps: facts.steps,
            guidance_milli: facts.guidance_milli,
            width: facts.width,
            height: facts.height,
            gate: GateFacts {
                verdict: ticket.verdict,
                category: ticket.category,
                tier: ticket.tier,
                escalate: escalates(&ticket),
            },
            post_filter: facts.post_filter,
            review: facts.review,
            watermark: facts.watermark,
            frame_hash: facts.frame_hash,
        };
        let record = Record::sign(body, &self.key);
        self.head = ChainHead {
            next_seq: next_head_seq,
            prev_hash: record.hash(),
        };
        Ok(record)
    }
}

fn needs_review(ticket: &Ticket, post_filter: &PostFilter) -> bool {
    ticket.verdict == Verdict::Review
        || ticket.tier == Tier::Review
        || post_filter.verdict == Verdict::Review
}

/// Tickets do not carry the escalate flag; it is a property of the deciding category in the
/// compiled-in policy, exactly as the gate derives it.
fn escalates(ticket: &Ticket) -> bool {
    ticket
        .category
        .and_then(sigil_gate::policy::category)
        .is_some_and(|g| g.escalate)
}
