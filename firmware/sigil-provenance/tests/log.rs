//! Log framing: append, read, torn-tail recovery at every cut, resynchronisation past damage.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proptest::prelude::*;
use sigil_provenance::{
    DefectKind, Entry, FRAME_OVERHEAD, LogDefect, LogError, LogReader, MAX_RECORD_LEN, RECORD_LEN,
    Recovery, append_frame, frame_len, recover,
};

/// A log of `n` distinct fake records (framing does not look inside them), and entry offsets.
fn log_of(n: usize) -> (Vec<u8>, Vec<usize>) {
    let mut log = Vec::new();
    let mut offsets = Vec::new();
    for i in 0..n {
        let record = [u8::try_from(i).unwrap(); RECORD_LEN];
        let mut buf = [0; RECORD_LEN + FRAME_OVERHEAD];
        offsets.push(log.len());
        let written = append_frame(&record, &mut buf).unwrap();
        log.extend_from_slice(&buf[..written]);
    }
    (log, offsets)
}

#[test]
fn golden_frame_layout() {
    let mut out = [0; 16];
    assert_eq!(append_frame(b"abc", &mut out), Ok(11));
    // len 3 LE ‖ "abc" ‖ CRC-32/ISO-HDLC of (03 00 00 00 61 62 63), LE.
    assert_eq!(hex::encode(&out[..11]), "03000000616263335de166");
}

#[test]
fn append_refuses_small_buffer_and_bad_lengths() {
    let mut out = [0; 10];
    assert_eq!(
        append_frame(b"abc", &mut out),
        Err(LogError::BufferTooSmall {
            needed: 11,
            capacity: 10
        })
    );
    assert_eq!(
        append_frame(b"", &mut out),
        Err(LogError::BadRecordLen { len: 0 })
    );
    let big = [0; MAX_RECORD_LEN + 1];
    let mut out = [0; MAX_RECORD_LEN + 16];
    assert_eq!(
        append_frame(&big, &mut out),
        Err(LogError::BadRecordLen {
            len: MAX_RECORD_LEN + 1
        })
    );
}

#[test]
fn reader_yields_every_entry() {
    let (log, offsets) = log_of(5);
    let entries: Vec<Entry<'_>> = LogReader::new(&log).map(Result::unwrap).collect();
    assert_eq!(entries.len(), 5);
    for (i, e) in entries.iter().enumerate() {
        assert_eq!(e.offset, offsets[i]);
        assert_eq!(e.bytes, &[u8::try_from(i).unwrap(); RECORD_LEN][..]);
    }
    assert_eq!(
        recover(&log),
        Recovery {
            valid_len: log.len(),
            entries: 5,
            torn_tail_bytes: 0,
            corrupt_regions: 0
        }
    );
}

#[test]
fn torn_tail_recovery_keeps_exactly_the_valid_prefix_at_every_cut() {
    let (log, offsets) = log_of(4);
    for cut in 0..=log.len() {
        let whole = offsets
            .iter()
            .filter(|&&o| o + frame_len(RECORD_LEN) <= cut)
            .count();
        let valid_len = whole * frame_len(RECORD_LEN);
        let r = recover(&log[..cut]);
        assert_eq!(
            r,
            Recovery {
                valid_len,
                entries: whole,
                torn_tail_bytes: cut - valid_len,
                corrupt_regions: 0
            }
        );
        // Recovering the kept prefix finds nothing more to drop.
        assert_eq!(recover(&log[..r.valid_len]).torn_tail_bytes, 0);
        if cut > valid_len {
            let defects: Vec<LogDefect> = LogReader::new(&log[..cut])
                .filter_map(Result::err)
                .collect();
            assert_eq!(
                defects,
                [LogDefect {
                    offset: valid_len,
                    len: cut - valid_len,
                    kind: DefectKind::TornTail
                }]
            );
        }
    }
}

#[test]
fn damaged_last_entry_is_a_torn_tail() {
    let (mut log, offsets) = log_of(3);
    let last = log.len() - 1;
    log[last] ^= 0x01; // the last entry's CRC
    assert_eq!(recover(&log).valid_len, offsets[2]);
    // Erased flash (0xFF) after the log is a torn tail too.
    let (mut log, _) = log_of(2);
    let valid = log.len();
    log.extend_from_slice(&[0xFF; 100]);
    assert_eq!(
        recover(&log),
        Recovery {
            valid_len: valid,
            entries: 2,
            torn_tail_bytes: 100,
            corrupt_regions: 0
        }
    );
}

#[test]
fn corruption_in_the_middle_resynchronises_and_keeps_later_entries() {
    let (mut log, offsets) = log_of(4);
    log[offsets[1] + 10] ^= 0x80; // inside entry 1's record
    log[offsets[2]] = 0xEE; // entry 2's length becomes absurd
    let items: Vec<_> = LogReader::new(&log).collect();
    assert_eq!(items.len(), 3);
    assert_eq!(items[0].unwrap().offset, 0);
    assert_eq!(
        items[1],
        Err(LogDefect {
            offset: offsets[1],
            len: offsets[3] - offsets[1],
            kind: DefectKind::Corrupt
        })
    );
    assert_eq!(items[2].unwrap().offset, offsets[3]);
    // Never drop a valid entry: the damage is kept because entry 3 follows it.
    assert_eq!(
        recover(&log),
        Recovery {
            valid_len: log.len(),
            entries: 2,
            torn_tail_bytes: 0,
            corrupt_regions: 1
        }
    );
}

#[test]
fn length_pointing_past_the_end_is_not_mistaken_for_a_tail() {
    let (mut log, offsets) = log_of(3);
    log[offsets[0] + 2] = 0x01; // entry 0 now claims 65 915 bytes: past the end of the log
    let r = recover(&log);
    assert_eq!(r.valid_len, log.len());
    assert_eq!(r.entries, 2);
    assert_eq!(r.corrupt_regions, 1);
}

proptest! {
    #[test]
    fn recovery_never_drops_a_valid_entry(n in 1usize..6, pos in any::<prop::sample::Index>(), bit in 0u8..8) {
        let (mut log, offsets) = log_of(n);
        let at = pos.index(log.len());
        log[at] ^= 1 << bit;
        let damaged_entry = offsets.iter().rposition(|&o| o <= at).unwrap();
        let r = recover(&log);
        prop_assert_eq!(r.entries, n - 1);
        if damaged_entry == n - 1 {
            prop_assert_eq!(r.valid_len, offsets[n - 1]);
        } else {
            prop_assert_eq!(r.valid_len, log.len());
            prop_assert_eq!(r.corrupt_regions, 1);
        }
    }
}
