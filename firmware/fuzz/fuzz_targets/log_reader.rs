//! Log reading, recovery and auditing on arbitrary bytes: never panic; recovery never keeps
//! more bytes than it was given, and the recovered prefix reads back without a torn tail.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sigil_provenance::{DefectKind, LogReader, SigningKey, audit_log, recover};

fuzz_target!(|data: &[u8]| {
    let key = SigningKey::from_bytes(&[7; 32]).verifying_key();
    let mut items = 0usize;
    for _ in LogReader::new(data) {
        items += 1;
    }
    let r = recover(data);
    assert!(r.valid_len <= data.len());
    let kept = &data[..r.valid_len];
    for item in LogReader::new(kept) {
        if let Err(d) = item {
            assert!(d.kind != DefectKind::TornTail, "recovered log still has a torn tail");
        }
    }
    let summary = audit_log(data, &key, |_| {});
    assert!(summary.records_accepted <= summary.records_checked);
    assert!(summary.items <= items + 1);
});
