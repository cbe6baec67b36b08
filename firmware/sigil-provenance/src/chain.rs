//! The chain rule and a streaming, allocation-free checker for it.
//!
//! Rule: the first record has `seq` 0 and an all-zero `prev_hash`; record n+1 has
//! `seq = n.seq + 1` and `prev_hash = n.hash()` ([`Record::hash`]). Every record is signed by the
//! one trusted device key.

use core::fmt::{self, Display, Formatter};

use ed25519_dalek::VerifyingKey;

use crate::error::{RecordError, VerifyError};
use crate::record::Record;
use crate::verify::verify_record;

/// Where a chain stands: the sequence number and `prev_hash` the next record must carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ChainHead {
    /// Sequence number of the next record.
    pub next_seq: u64,
    /// Hash of the last record (all zero before the first).
    pub prev_hash: [u8; 32],
}

impl ChainHead {
    /// The head of an empty chain: seq 0, zero hash.
    pub const GENESIS: ChainHead = ChainHead {
        next_seq: 0,
        prev_hash: [0; 32],
    };

    /// The head right after `record`. `None` if its seq is `u64::MAX`.
    pub fn after(record: &Record) -> Option<ChainHead> {
        Some(ChainHead {
            next_seq: record.seq().checked_add(1)?,
            prev_hash: record.hash(),
        })
    }
}

/// One place where a log or chain does not hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Break {
    /// Position of the offending entry among the entries (and defects) read, from 0.
    pub index: usize,
    /// What is wrong.
    pub reason: BreakReason,
}

/// Why the chain breaks at an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum BreakReason {
    /// The signature does not verify: the record was altered or forged.
    BadSignature,
    /// The record was signed by another device.
    ForeignKey,
    /// Sequence numbers skip forward: records are missing.
    Gap {
        /// The seq the chain expected.
        expected: u64,
        /// The seq found.
        found: u64,
    },
    /// Sequence numbers go backwards: records were moved.
    Reorder {
        /// The seq the chain expected.
        expected: u64,
        /// The seq found.
        found: u64,
    },
    /// A record with the same seq as the last accepted one (a copy, or a fork).
    Duplicate {
        /// The repeated seq.
        seq: u64,
    },
    /// The seq is right but `prev_hash` is not the previous record's hash.
    BrokenLink,
    /// The entry is not a Record v1.
    Undecodable(RecordError),
    /// The log framing is damaged (bad CRC or absurd length) with valid entries after it.
    Corrupt,
    /// The log ends in an incomplete or damaged entry.
    TruncatedTail,
}

impl Display for BreakReason {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            BreakReason::BadSignature => f.write_str(
                "signature does not verify: the record was altered or forged; do not trust it",
            ),
            BreakReason::ForeignKey => f.write_str(
                "record signed by another device key: it was spliced in from another log",
            ),
            BreakReason::Gap { expected, found } => write!(
                f,
                "expected seq {expected}, found {found}: records were removed from the log"
            ),
            BreakReason::Reorder { expected, found } => write!(
                f,
                "expected seq {expected}, found {found} (going backwards): records were moved"
            ),
            BreakReason::Duplicate { seq } => write!(
                f,
                "seq {seq} appears again: a record was copied, or the device forked its chain"
            ),
            BreakReason::BrokenLink => f.write_str(
                "prev_hash is not the previous record's hash: a record before it was replaced",
            ),
            BreakReason::Undecodable(e) => e.fmt(f),
            BreakReason::Corrupt => f.write_str(
                "log framing damaged (bad CRC or length); the audit resumed at the next valid \
                 entry: restore the log from a backup to see what was lost",
            ),
            BreakReason::TruncatedTail => f.write_str(
                "log ends in an incomplete or damaged entry (torn write): the device drops it \
                 on open; the record it held, if any, is lost",
            ),
        }
    }
}

impl Display for Break {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "chain break at entry {}: {}", self.index, self.reason)
    }
}

impl core::error::Error for Break {}

impl From<VerifyError> for BreakReason {
    fn from(e: VerifyError) -> Self {
        match e {
            VerifyError::Undecodable(e) => BreakReason::Undecodable(e),
            VerifyError::ForeignKey { .. } => BreakReason::ForeignKey,
            VerifyError::BadSignature => BreakReason::BadSignature,
        }
    }
}

/// Entries since the last accepted record that could not be verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Skipped {
    /// This many entries, each of which may have held one record.
    Count(u64),
    /// A damaged stretch of log that may have held any number of records.
    Unknown,
}

impl Skipped {
    fn covers(self, missing: u64) -> bool {
        match self {
            Skipped::Count(n) => missing <= n,
            Skipped::Unknown => true,
        }
    }
}

/// Checks records one by one against the chain rule, with no allocation.
///
/// After a break it resynchronises: a record that verifies but breaks the sequence (gap,
/// broken link) becomes the new anchor, so the records after it are checked against it; a
/// record that goes backwards (reorder, duplicate) is reported and skipped, so the chain carries
/// on from the last good record. A gap that is fully explained by entries already reported as
/// unverifiable or corrupt is not reported a second time.
#[derive(Debug, Clone)]
pub struct ChainChecker {
    trusted: VerifyingKey,
    head: ChainHead,
    skipped: Skipped,
    accepted: u64,
}

impl ChainChecker {
    /// A checker for a chain that starts at seq 0.
    pub fn new(trusted: VerifyingKey) -> Self {
        Self::resume(trusted, ChainHead::GENESIS)
    }

    /// A checker for the rest of a chain whose earlier part ends at `head` (e.g. a checkpoint).
    pub fn resume(trusted: VerifyingKey, head: ChainHead) -> Self {
        Self {
            trusted,
            head,
            skipped: Skipped::Count(0),
            accepted: 0,
        }
    }

    /// What the next record must carry.
    pub const fn head(&self) -> ChainHead {
        self.head
    }

    /// How many records were accepted without a break.
    pub const fn accepted(&self) -> u64 {
        self.accepted
    }

    /// Check the next entry's record bytes. `index` is only copied into the [`Break`].
    pub fn check(&mut self, index: usize, record_bytes: &[u8]) -> Result<Record, Break> {
        let brk = |reason| Break { index, reason };
        let record = match verify_record(record_bytes, &self.trusted) {
            Ok(r) => r,
            Err(e) => {
                if let Skipped::Count(n) = self.skipped {
                    self.skipped = Skipped::Count(n.saturating_add(1));
                }
                return Err(brk(e.into()));
            }
        };
        let seq = record.seq();
        let expected = self.head.next_seq;
        if seq == expected {
            let linked = *record.prev_hash() == self.head.prev_hash;
            self.adopt(&record, linked);
            return if linked {
                Ok(record)
            } else {
                Err(brk(BreakReason::BrokenLink))
            };
        }
        if seq > expected {
            let explained = self.skipped.covers(seq - expected);
            self.adopt(&record, explained);
            return if explained {
                Ok(record)
            } else {
                Err(brk(BreakReason::Gap {
                    expected,
                    found: seq,
                }))
            };
        }
        if expected.checked_sub(1) == Some(seq) {
            Err(brk(BreakReason::Duplicate { seq }))
        } else {
            Err(brk(BreakReason::Reorder {
                expected,
                found: seq,
            }))
        }
    }

    /// Report a damaged stretch of log (from the framing layer) as a break. After
    /// [`BreakReason::Corrupt`] any forward seq is accepted without a link check, since the
    /// damaged bytes may have held any number of records.
    pub fn defect(&mut self, index: usize, reason: BreakReason) -> Break {
        if reason == BreakReason::Corrupt {
            self.skipped = Skipped::Unknown;
        }
        Break { index, reason }
    }

    fn adopt(&mut self, record: &Record, accepted: bool) {
        // A record with seq u64::MAX ends the chain: nothing may follow it.
        self.head = ChainHead::after(record).unwrap_or(ChainHead {
            next_seq: u64::MAX,
            prev_hash: record.hash(),
        });
        self.skipped = Skipped::Count(0);
        if accepted {
            self.accepted = self.accepted.saturating_add(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skipped_entries_explain_gaps_up_to_their_number() {
        assert!(Skipped::Count(0).covers(0));
        assert!(!Skipped::Count(0).covers(1));
        assert!(Skipped::Count(2).covers(2));
        assert!(!Skipped::Count(2).covers(3));
        assert!(Skipped::Unknown.covers(u64::MAX));
    }

    #[test]
    fn undecodable_entries_count_as_skipped_slots() {
        let key = ed25519_dalek::SigningKey::from_bytes(&[0x11; 32]).verifying_key();
        let mut checker = ChainChecker::new(key);
        let err = checker.check(0, b"junk").unwrap_err();
        assert_eq!(err.index, 0);
        assert!(matches!(
            err.reason,
            BreakReason::Undecodable(RecordError::BadMagic { .. })
        ));
        assert_eq!(checker.skipped, Skipped::Count(1));
        assert_eq!(
            checker.defect(1, BreakReason::Corrupt).reason,
            BreakReason::Corrupt
        );
        assert_eq!(checker.skipped, Skipped::Unknown);
        assert_eq!(checker.head(), ChainHead::GENESIS);
    }
}
