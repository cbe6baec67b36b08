//! Auditing a whole log: framing ([`LogReader`]) plus the chain rule ([`ChainChecker`]), with
//! every accepted record and every break reported through a callback. No allocation.

use ed25519_dalek::VerifyingKey;

use crate::chain::{Break, BreakReason, ChainChecker, ChainHead};
use crate::log::{DefectKind, LogReader};
use crate::record::Record;

/// One finding of an audit, in log order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum AuditEvent<'a> {
    /// A record that verified and fits the chain.
    Record {
        /// Position among the entries and defects read, from 0.
        index: usize,
        /// Byte offset of its entry.
        offset: usize,
        /// The verified record.
        record: &'a Record,
    },
    /// A break in the log or chain.
    Break {
        /// Byte offset of the entry or damaged stretch.
        offset: usize,
        /// Where and why.
        brk: Break,
    },
}

/// The outcome of an audit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct AuditSummary {
    /// Entries and damaged stretches read (what `index` counts).
    pub items: usize,
    /// Entries whose record bytes were checked.
    pub records_checked: usize,
    /// Records accepted (verified and fitting the chain).
    pub records_accepted: usize,
    /// Breaks reported.
    pub breaks: usize,
    /// Records accepted before the first break: the length of the trustworthy prefix.
    pub valid_prefix: usize,
    /// Index of the first break, if any.
    pub first_break: Option<usize>,
    /// The chain head after the last record the checker anchored on. Compare it with the head
    /// the device reports (or a later record's `prev_hash`) to detect records cut off the end,
    /// which a log alone cannot show.
    pub head: ChainHead,
}

impl AuditSummary {
    /// True when the log shows no break at all.
    pub const fn is_clean(&self) -> bool {
        self.breaks == 0
    }
}

/// Audit a log that starts at seq 0 against the trusted device key.
pub fn audit_log(
    bytes: &[u8],
    trusted: &VerifyingKey,
    on_event: impl FnMut(AuditEvent<'_>),
) -> AuditSummary {
    audit_log_with(bytes, ChainChecker::new(*trusted), on_event)
}

/// Audit a log with a prepared checker (e.g. [`ChainChecker::resume`] from a checkpoint).
pub fn audit_log_with(
    bytes: &[u8],
    mut checker: ChainChecker,
    mut on_event: impl FnMut(AuditEvent<'_>),
) -> AuditSummary {
    let mut s = AuditSummary {
        items: 0,
        records_checked: 0,
        records_accepted: 0,
        breaks: 0,
        valid_prefix: 0,
        first_break: None,
        head: checker.head(),
    };
    for (index, item) in LogReader::new(bytes).enumerate() {
        s.items += 1;
        let (offset, result) = match item {
            Ok(entry) => {
                s.records_checked += 1;
                (entry.offset, checker.check(index, entry.bytes))
            }
            Err(defect) => {
                let reason = match defect.kind {
                    DefectKind::Corrupt => BreakReason::Corrupt,
                    DefectKind::TornTail => BreakReason::TruncatedTail,
                };
                (defect.offset, Err(checker.defect(index, reason)))
            }
        };
        match result {
            Ok(record) => {
                s.records_accepted += 1;
                if s.first_break.is_none() {
                    s.valid_prefix += 1;
                }
                on_event(AuditEvent::Record {
                    index,
                    offset,
                    record: &record,
                });
            }
            Err(brk) => {
                s.breaks += 1;
                s.first_break.get_or_insert(index);
                on_event(AuditEvent::Break { offset, brk });
            }
        }
    }
    s.head = checker.head();
    s
}
