//! Chain rule and audit: every kind of tampering is reported, an untouched log is clean, and the
//! audit keeps going after a break.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::LazyLock;

use common::{
    FIRMWARE, POLICY, allow_ticket, device_key, facts, frame_log, other_key, sealed_chain,
};
use proptest::prelude::*;
use sigil_gate::TicketBook;
use sigil_provenance::{
    AuditEvent, AuditSummary, Break, BreakReason, ChainChecker, ChainHead, RECORD_LEN, Record,
    Sealer, audit_log, audit_log_with, frame_len,
};

const MAX_CHAIN: usize = 12;

/// One chain of MAX_CHAIN records, sealed once (Ed25519 is slow in debug builds); every prefix is
/// itself a valid chain.
static CHAIN: LazyLock<Vec<Record>> = LazyLock::new(|| sealed_chain(MAX_CHAIN).1);

fn head_after(records: &[Record]) -> ChainHead {
    records
        .last()
        .map_or(ChainHead::GENESIS, |r| ChainHead::after(r).unwrap())
}

fn audit(log: &[u8]) -> (AuditSummary, Vec<Break>, Vec<u64>) {
    let mut breaks = Vec::new();
    let mut seqs = Vec::new();
    let summary = audit_log(log, &device_key().verifying_key(), |e| match e {
        AuditEvent::Record { record, .. } => seqs.push(record.seq()),
        AuditEvent::Break { brk, .. } => breaks.push(brk),
    });
    (summary, breaks, seqs)
}

fn reasons(breaks: &[Break]) -> Vec<BreakReason> {
    breaks.iter().map(|b| b.reason).collect()
}

#[test]
fn untouched_log_is_clean() {
    for n in 0..=MAX_CHAIN {
        let (summary, breaks, seqs) = audit(&frame_log(&CHAIN[..n]));
        assert!(breaks.is_empty(), "{breaks:?}");
        assert!(summary.is_clean());
        assert_eq!(summary.records_accepted, n);
        assert_eq!(summary.valid_prefix, n);
        assert_eq!(summary.head, head_after(&CHAIN[..n]));
        assert_eq!(seqs, (0..n as u64).collect::<Vec<_>>());
    }
}

#[test]
fn removed_record_is_a_gap() {
    let records: Vec<&Record> = CHAIN[..5]
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != 2)
        .map(|(_, r)| r)
        .collect();
    let (summary, breaks, seqs) = audit(&frame_log(records));
    assert_eq!(
        breaks,
        [Break {
            index: 2,
            reason: BreakReason::Gap {
                expected: 2,
                found: 3
            }
        }]
    );
    assert_eq!(seqs, [0, 1, 4]);
    assert_eq!(summary.valid_prefix, 2);
    assert_eq!(summary.first_break, Some(2));
    assert_eq!(summary.head, head_after(&CHAIN[..5]));
}

#[test]
fn removed_first_record_is_a_gap() {
    let (_, breaks, _) = audit(&frame_log(&CHAIN[1..3]));
    assert_eq!(
        reasons(&breaks),
        [BreakReason::Gap {
            expected: 0,
            found: 1
        }]
    );
}

#[test]
fn swapped_records_are_a_gap_and_a_reorder() {
    let c = &CHAIN;
    let (_, breaks, seqs) = audit(&frame_log([&c[0], &c[2], &c[1], &c[3]]));
    assert_eq!(
        reasons(&breaks),
        [
            BreakReason::Gap {
                expected: 1,
                found: 2
            },
            BreakReason::Reorder {
                expected: 3,
                found: 1
            }
        ]
    );
    assert_eq!(seqs, [0, 3]);
}

#[test]
fn duplicated_record_is_a_duplicate() {
    let c = &CHAIN;
    let (summary, breaks, seqs) = audit(&frame_log([&c[0], &c[1], &c[1], &c[2]]));
    assert_eq!(
        breaks,
        [Break {
            index: 2,
            reason: BreakReason::Duplicate { seq: 1 }
        }]
    );
    assert_eq!(seqs, [0, 1, 2]);
    assert_eq!(summary.records_accepted, 3);
}

#[test]
fn forked_record_breaks_the_link() {
    // The device (or its stolen key) signs a second record 2: the original record 3 no longer
    // links to what precedes it.
    let c = &CHAIN;
    let mut fork = Sealer::resume(device_key(), FIRMWARE, POLICY, &c[1]).unwrap();
    let mut book = TicketBook::<2>::new();
    let t = allow_ticket(&mut book);
    let f = facts(&fork, 99);
    let forged = fork.seal(&mut book, Some(&t), &f).unwrap();
    let (_, breaks, seqs) = audit(&frame_log([&c[0], &c[1], &forged, &c[3], &c[4]]));
    assert_eq!(
        breaks,
        [Break {
            index: 3,
            reason: BreakReason::BrokenLink
        }]
    );
    assert_eq!(seqs, [0, 1, 2, 4]);
}

#[test]
fn genesis_must_have_zero_prev_hash() {
    let mut checker = ChainChecker::new(device_key().verifying_key());
    // Record 1 presented as if it were the first one, with its seq rewritten would not verify;
    // resume from a head whose hash is wrong instead.
    let wrong = ChainHead {
        next_seq: 1,
        prev_hash: [7; 32],
    };
    let mut resumed = ChainChecker::resume(device_key().verifying_key(), wrong);
    assert_eq!(
        resumed.check(0, &CHAIN[1].to_bytes()).unwrap_err().reason,
        BreakReason::BrokenLink
    );
    assert_eq!(checker.check(0, &CHAIN[0].to_bytes()), Ok(CHAIN[0]));
    assert_eq!(checker.head(), ChainHead::after(&CHAIN[0]).unwrap());
}

#[test]
fn foreign_record_is_reported_and_the_chain_continues() {
    let c = &CHAIN;
    let (_, mut foreign) = {
        let mut s = Sealer::new(other_key(), FIRMWARE, POLICY);
        let mut book = TicketBook::<2>::new();
        let t = allow_ticket(&mut book);
        let f = facts(&s, 0);
        let r = s.seal(&mut book, Some(&t), &f).unwrap();
        (s, vec![r])
    };
    let spliced = foreign.pop().unwrap();
    let (_, breaks, seqs) = audit(&frame_log([&c[0], &spliced, &c[2]]));
    assert_eq!(
        breaks,
        [Break {
            index: 1,
            reason: BreakReason::ForeignKey
        }]
    );
    // Record 1 is replaced, not removed: record 2 resynchronises without a second break.
    assert_eq!(seqs, [0, 2]);
}

#[test]
fn altered_record_with_recomputed_crc_is_a_bad_signature() {
    let c = &CHAIN;
    let mut altered = c[1].to_bytes();
    altered[RECORD_LEN - 100] ^= 0x01; // frame_hash byte
    let mut log = frame_log(&c[..1]);
    let mut buf = vec![0; frame_len(RECORD_LEN)];
    sigil_provenance::append_frame(&altered, &mut buf).unwrap();
    log.extend_from_slice(&buf);
    log.extend_from_slice(&frame_log(&c[2..4]));
    let (summary, breaks, seqs) = audit(&log);
    assert_eq!(
        breaks,
        [Break {
            index: 1,
            reason: BreakReason::BadSignature
        }]
    );
    assert_eq!(seqs, [0, 2, 3]);
    assert_eq!(summary.valid_prefix, 1);
}

#[test]
fn every_break_is_reported_not_only_the_first() {
    let c = &CHAIN;
    let mut log = frame_log([&c[0], &c[1], &c[3], &c[4], &c[4], &c[5], &c[6], &c[7]]);
    let entry = frame_len(RECORD_LEN);
    log[5 * entry + 40] ^= 0x10; // damage entry 5 (record 5)
    log.truncate(log.len() - 3); // tear the tail (record 7)
    let (summary, breaks, seqs) = audit(&log);
    assert_eq!(
        reasons(&breaks),
        [
            BreakReason::Gap {
                expected: 2,
                found: 3
            },
            BreakReason::Duplicate { seq: 4 },
            BreakReason::Corrupt,
            BreakReason::TruncatedTail,
        ]
    );
    // Record 3 anchors the chain after the gap; record 6 resynchronises after the damage.
    assert_eq!(seqs, [0, 1, 4, 6]);
    assert_eq!(summary.breaks, 4);
    assert_eq!(summary.valid_prefix, 2);
    assert_eq!(summary.items, 8);
    assert_eq!(summary.head, head_after(&c[..7]));
}

#[test]
fn audit_can_resume_from_a_checkpoint() {
    let c = &CHAIN;
    let checker = ChainChecker::resume(device_key().verifying_key(), head_after(&c[..4]));
    let summary = audit_log_with(&frame_log(&c[4..8]), checker, |_| {});
    assert!(summary.is_clean());
    assert_eq!(summary.head, head_after(&c[..8]));
}

#[derive(Debug, Clone)]
enum Tamper {
    FlipBit {
        at: prop::sample::Index,
        bit: u8,
    },
    Remove(prop::sample::Index),
    Swap(prop::sample::Index, prop::sample::Index),
    Duplicate {
        record: prop::sample::Index,
        at: prop::sample::Index,
    },
    Truncate(prop::sample::Index),
}

fn tamper() -> impl Strategy<Value = Tamper> {
    use prop::sample::Index;
    prop_oneof![
        (any::<Index>(), 0u8..8).prop_map(|(at, bit)| Tamper::FlipBit { at, bit }),
        any::<Index>().prop_map(Tamper::Remove),
        (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Tamper::Swap(a, b)),
        (any::<Index>(), any::<Index>()).prop_map(|(record, at)| Tamper::Duplicate { record, at }),
        any::<Index>().prop_map(Tamper::Truncate),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    /// Any single tampering is detected. Cutting whole entries off the end (removing the last
    /// record, truncating at an entry boundary) leaves a shorter valid log that no log-only check
    /// can tell apart; there the audit's head falls short of the device's head instead.
    #[test]
    fn any_single_tampering_is_detected(n in 2usize..=MAX_CHAIN, t in tamper()) {
        let chain = &CHAIN[..n];
        let expected_head = head_after(chain);
        let log = frame_log(chain);
        let entry = frame_len(RECORD_LEN);
        let mut order: Vec<&Record> = chain.iter().collect();
        let mut undetectable_from_log = false;
        let tampered = match t {
            Tamper::FlipBit { at, bit } => {
                let mut log = log.clone();
                let at = at.index(log.len());
                log[at] ^= 1 << bit;
                log
            }
            Tamper::Remove(i) => {
                let i = i.index(n);
                undetectable_from_log = i == n - 1;
                order.remove(i);
                frame_log(order)
            }
            Tamper::Swap(a, b) => {
                let (a, b) = (a.index(n), b.index(n));
                let b = if a == b { (b + 1) % n } else { b };
                order.swap(a, b);
                frame_log(order)
            }
            Tamper::Duplicate { record, at } => {
                let r = order[record.index(n)];
                order.insert(at.index(n + 1), r);
                frame_log(order)
            }
            Tamper::Truncate(cut) => {
                let cut = cut.index(log.len());
                undetectable_from_log = cut % entry == 0;
                log[..cut].to_vec()
            }
        };
        let (summary, breaks, _) = audit(&tampered);
        if undetectable_from_log {
            prop_assert!(breaks.is_empty());
            prop_assert_ne!(summary.head, expected_head);
        } else {
            prop_assert!(!breaks.is_empty(), "{:?} not detected", t);
            prop_assert_eq!(summary.breaks, breaks.len());
            prop_assert!(summary.first_break.is_some());
        }
    }
}
