//! seal(): refuses every bad ticket and bad fact, advances the head only on success; resume.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{
    FIRMWARE, POLICY, allow_ticket, decision, device_key, facts, other_key, sealed_chain,
};
use sha2::{Digest, Sha256};
use sigil_gate::{Ticket, TicketBook, TicketError, Tier, Verdict};
use sigil_provenance::{
    ChainHead, GateFacts, PostFilter, Record, Review, SealError, Sealer, verify_record,
    watermark_payload,
};

fn sealer() -> Sealer {
    Sealer::new(device_key(), FIRMWARE, POLICY)
}

/// Assert `seal` fails with `err` and leaves the head where it was.
fn assert_refused<const N: usize>(
    s: &mut Sealer,
    book: &mut TicketBook<N>,
    ticket: Option<&Ticket>,
    f: &sigil_provenance::FrameFacts,
    err: SealError,
) {
    let head = s.head();
    assert_eq!(s.seal(book, ticket, f), Err(err));
    assert_eq!(s.head(), head, "head moved on {err:?}");
}

#[test]
fn seal_builds_the_record_from_ticket_and_facts() {
    let mut s = sealer();
    let mut book = TicketBook::<4>::new();
    let ticket = allow_ticket(&mut book);
    let f = facts(&s, 7);
    let record = s.seal(&mut book, Some(&ticket), &f).unwrap();
    let b = record.body();
    assert_eq!((b.seq, b.prev_hash), (0, [0; 32]));
    assert_eq!(b.device_key, device_key().verifying_key().to_bytes());
    assert_eq!((b.firmware_digest, b.policy_digest), (FIRMWARE, POLICY));
    assert_eq!(
        (b.prompt_hash, b.user_hash),
        (ticket.prompt_hash, ticket.user_hash)
    );
    assert_eq!(
        b.gate,
        GateFacts {
            verdict: Verdict::Allow,
            category: None,
            tier: Tier::None,
            escalate: false
        }
    );
    assert_eq!(
        (b.seed, b.frame_hash, b.watermark),
        (7, f.frame_hash, f.watermark)
    );
    assert_eq!(
        s.head(),
        ChainHead {
            next_seq: 1,
            prev_hash: record.hash()
        }
    );
    assert_eq!(
        verify_record(&record.to_bytes(), &s.verifying_key()),
        Ok(record)
    );
}

#[test]
fn missing_ticket_is_refused() {
    let mut s = sealer();
    let mut book = TicketBook::<4>::new();
    let f = facts(&s, 0);
    assert_refused(&mut s, &mut book, None, &f, SealError::NoTicket);
}

#[test]
fn reused_forged_and_altered_tickets_are_refused() {
    let mut s = sealer();
    let mut book = TicketBook::<4>::new();
    let ticket = allow_ticket(&mut book);
    let f = facts(&s, 0);
    let altered = Ticket {
        prompt_hash: [0; 32],
        ..ticket
    };
    assert_refused(
        &mut s,
        &mut book,
        Some(&altered),
        &f,
        SealError::Ticket(TicketError::Mismatch),
    );
    let forged = Ticket { id: 1000, ..ticket };
    assert_refused(
        &mut s,
        &mut book,
        Some(&forged),
        &f,
        SealError::Ticket(TicketError::Unknown),
    );
    s.seal(&mut book, Some(&ticket), &f).unwrap();
    let f = facts(&s, 1);
    assert_refused(
        &mut s,
        &mut book,
        Some(&ticket),
        &f,
        SealError::Ticket(TicketError::AlreadyUsed),
    );
}

#[test]
fn expired_ticket_is_refused() {
    let mut s = sealer();
    let mut book = TicketBook::<1>::new();
    let old = allow_ticket(&mut book);
    let _newer = allow_ticket(&mut book);
    let f = facts(&s, 0);
    assert_refused(
        &mut s,
        &mut book,
        Some(&old),
        &f,
        SealError::Ticket(TicketError::Expired),
    );
}

#[test]
fn blocked_ticket_is_refused_and_consumed() {
    let mut s = sealer();
    let mut book = TicketBook::<4>::new();
    let ticket = book.issue(&decision(Verdict::Block, Tier::Block, Some(0)), [1; 32]);
    let f = facts(&s, 0);
    assert_refused(&mut s, &mut book, Some(&ticket), &f, SealError::Blocked);
    assert_refused(
        &mut s,
        &mut book,
        Some(&ticket),
        &f,
        SealError::Ticket(TicketError::AlreadyUsed),
    );
    // Turning the block into an allow is an altered ticket.
    let ticket = book.issue(&decision(Verdict::Block, Tier::Block, Some(0)), [1; 32]);
    let laundered = Ticket {
        verdict: Verdict::Allow,
        tier: Tier::None,
        category: None,
        ..ticket
    };
    assert_refused(
        &mut s,
        &mut book,
        Some(&laundered),
        &f,
        SealError::Ticket(TicketError::Mismatch),
    );
}

#[test]
fn review_ticket_needs_a_decision_and_is_kept_until_then() {
    let mut s = sealer();
    let mut book = TicketBook::<4>::new();
    let ticket = book.issue(&decision(Verdict::Review, Tier::Review, Some(1)), [1; 32]);
    let mut f = facts(&s, 0);
    assert_refused(
        &mut s,
        &mut book,
        Some(&ticket),
        &f,
        SealError::ReviewPending,
    );
    assert_eq!(book.outstanding(), 1);
    f.review = Review::Approved;
    let record = s.seal(&mut book, Some(&ticket), &f).unwrap();
    assert_eq!(record.body().review, Review::Approved);
    assert_eq!(record.body().gate.verdict, Verdict::Review);
    assert_eq!(record.body().gate.category, Some(1));
}

#[test]
fn post_filter_review_needs_a_decision() {
    let mut s = sealer();
    let mut book = TicketBook::<4>::new();
    let ticket = allow_ticket(&mut book);
    let mut f = facts(&s, 0);
    f.post_filter = PostFilter {
        verdict: Verdict::Review,
        class: Some(2),
    };
    assert_refused(
        &mut s,
        &mut book,
        Some(&ticket),
        &f,
        SealError::ReviewPending,
    );
    f.review = Review::Rejected;
    let record = s.seal(&mut book, Some(&ticket), &f).unwrap();
    assert_eq!(record.body().post_filter, f.post_filter);
}

#[test]
fn wrong_watermark_is_refused() {
    let mut s = sealer();
    let mut book = TicketBook::<4>::new();
    let ticket = allow_ticket(&mut book);
    let mut f = facts(&s, 0);
    let expected = f.watermark;
    f.watermark = s.watermark_for(1);
    assert_refused(
        &mut s,
        &mut book,
        Some(&ticket),
        &f,
        SealError::WrongWatermark {
            expected,
            found: f.watermark,
        },
    );
    // The ticket was not burnt by the caller's mistake.
    f.watermark = expected;
    s.seal(&mut book, Some(&ticket), &f).unwrap();
}

#[test]
fn watermark_is_key_tag_and_seq() {
    let s = sealer();
    let public = device_key().verifying_key().to_bytes();
    let tag = Sha256::digest(public);
    let w = s.watermark_for(0x1_0203_0405);
    assert_eq!(&w[..4], &tag[..4]);
    assert_eq!(&w[4..], &[2, 3, 4, 5]);
    assert_eq!(w, watermark_payload(&public, 0x1_0203_0405));
}

#[test]
fn head_advances_only_on_success() {
    let (s, records) = sealed_chain(3);
    assert_eq!(s.next_seq(), 3);
    for (i, r) in records.iter().enumerate() {
        assert_eq!(r.seq(), i as u64);
        let prev = if i == 0 {
            [0; 32]
        } else {
            records[i - 1].hash()
        };
        assert_eq!(r.prev_hash(), &prev);
    }
    assert_eq!(s.head(), ChainHead::after(&records[2]).unwrap());
}

#[test]
fn resume_continues_the_chain() {
    let (original, records) = sealed_chain(2);
    let mut s = Sealer::resume(device_key(), FIRMWARE, POLICY, &records[1]).unwrap();
    assert_eq!(s.head(), original.head());
    let mut book = TicketBook::<4>::new();
    let ticket = allow_ticket(&mut book);
    let f = facts(&s, 2);
    let r = s.seal(&mut book, Some(&ticket), &f).unwrap();
    assert_eq!((r.seq(), *r.prev_hash()), (2, records[1].hash()));
}

#[test]
fn resume_refuses_foreign_and_invalid_records() {
    let (_, records) = sealed_chain(1);
    let err = Sealer::resume(other_key(), FIRMWARE, POLICY, &records[0]).unwrap_err();
    assert_eq!(err, SealError::ForeignRecord);
    let mut body = *records[0].body();
    body.seed ^= 1;
    let tampered = Record::from_parts(body, *records[0].signature());
    let err = Sealer::resume(device_key(), FIRMWARE, POLICY, &tampered).unwrap_err();
    assert_eq!(err, SealError::InvalidRecord);
}

#[test]
fn escalate_comes_from_the_compiled_policy_not_the_caller() {
    let Some((escalating, _)) = sigil_gate::policy::categories().find(|(_, g)| g.escalate) else {
        return; // a policy without escalating categories has nothing to check
    };
    let quiet = sigil_gate::policy::categories()
        .find(|(_, g)| !g.escalate)
        .map(|(id, _)| id);
    let mut s = sealer();
    let mut book = TicketBook::<4>::new();
    for (category, expected) in [(Some(escalating), true), (quiet, false), (None, false)] {
        // A review-tier ticket naming the category (only the escalate lookup matters here).
        let ticket = book.issue(&decision(Verdict::Review, Tier::Review, category), [1; 32]);
        let mut f = facts(&s, 0);
        f.review = Review::Rejected;
        let record = s.seal(&mut book, Some(&ticket), &f).unwrap();
        assert_eq!(record.body().gate.escalate, expected, "{category:?}");
    }
}

#[test]
fn a_content_credential_is_signed_but_never_under_the_record_domain() {
    use ed25519_dalek::{Signature, Verifier};
    let s = sealer();
    let head = s.head();
    let claim = b"\x84jSignature1 a C2PA claim's Sig_structure";
    let sig = s.sign_credential(claim).unwrap();
    assert!(
        s.verifying_key()
            .verify(claim, &Signature::from_bytes(&sig))
            .is_ok()
    );
    // Whatever follows the record domain, the core refuses: only `seal` signs records.
    let mut forged = sigil_provenance::SIGNATURE_DOMAIN.to_vec();
    forged.extend_from_slice(&[0u8; 64]);
    assert_eq!(s.sign_credential(&forged), Err(SealError::CredentialDomain));
    assert_eq!(
        s.sign_credential(sigil_provenance::SIGNATURE_DOMAIN),
        Err(SealError::CredentialDomain)
    );
    assert_eq!(s.head(), head, "signing a credential seals nothing");
}
