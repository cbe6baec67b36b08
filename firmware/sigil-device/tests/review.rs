//! A review decision cut short: `sigil review approve` killed after its record was logged but
//! before the held entry was removed (or before the frame was written) must not seal a second
//! record when run again; it finishes the first decision from the log.
//!
//! The cut is reproduced exactly: the held entry is copied before the decision and put back
//! afterwards with the `deciding` marker the decision wrote before sealing.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail by panicking

mod common;

use std::path::Path;

use common::{expect_exit, generate, json, p, sigil, tiny_pack};
use sigil_provenance::{LogReader, Record};

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

fn records(state: &Path) -> Vec<Record> {
    let log = std::fs::read(state.join(sigil_seal::LOG_FILE)).unwrap();
    LogReader::new(&log)
        .map(|e| Record::decode(e.unwrap().bytes).unwrap())
        .collect()
}

#[test]
fn a_decision_cut_short_is_finished_from_its_record_not_sealed_twice() {
    let tmp = tempfile::tempdir().unwrap();
    let pack = tiny_pack(tmp.path(), true);
    let (state, out) = (tmp.path().join("state"), tmp.path().join("out"));
    let held = generate(&pack, &state, &out, "an assault rifle on a table", "k", 5);
    assert_eq!(held.status.code(), Some(10));
    let id = json(&held)["review_id"].as_str().unwrap().to_string();
    let entry = state.join("review").join(&id);
    let saved = tmp.path().join("saved-entry");
    copy_dir(&entry, &saved);
    let review =
        |args: &[&str]| sigil(&[&["review"], args, &["--state", p(&state), "--json"]].concat());

    let first = review(&["approve", &id, "--out", p(&out)]);
    expect_exit(&first, 0);
    let png = json(&first)["png"].as_str().unwrap().to_string();
    let frame = std::fs::read(&png).unwrap();
    assert_eq!(records(&state).len(), 1);
    let cut_short = || {
        copy_dir(&saved, &entry);
        std::fs::write(entry.join("deciding"), "0\n").unwrap();
    };

    // Killed after the append, before the entry was removed: the frame is on disk.
    cut_short();
    let again = review(&["approve", &id, "--out", p(&out)]);
    expect_exit(&again, 0);
    let j = json(&again);
    assert_eq!(
        (j["status"].as_str(), j["sequence"].as_u64()),
        (Some("released"), Some(0))
    );
    assert_eq!(j["png"].as_str(), Some(png.as_str()));
    assert_eq!(records(&state).len(), 1, "a second record was sealed");
    assert!(!entry.exists());

    // Killed before the frame was written: it is written now, marked as its record says.
    std::fs::remove_file(&png).unwrap();
    std::fs::remove_file(format!("{png}.sigil-record")).unwrap();
    cut_short();
    let again = review(&["approve", &id, "--out", p(&out)]);
    expect_exit(&again, 0);
    // The same pixels and record; the C2PA manifest is signed afresh (new instance id).
    let (now, before) = (
        sigil_seal::read_frame(&std::fs::read(&png).unwrap()).unwrap(),
        sigil_seal::read_frame(&frame).unwrap(),
    );
    assert_eq!((now.rgb, now.record), (before.rgb, before.record));
    assert!(
        sigil_seal::credential::read_credentials(&std::fs::read(&png).unwrap(), "png", None)
            .failures
            .is_empty()
    );
    assert_eq!(records(&state).len(), 1);

    // The other decision on the same cut-short entry: the sealed one stands.
    cut_short();
    let reject = review(&["reject", &id]);
    assert_eq!(reject.status.code(), Some(2));
    let e = String::from_utf8_lossy(&reject.stderr);
    assert!(e.contains("already approved in record 0"), "{e}");
    assert_eq!(records(&state).len(), 1);
    assert!(!entry.exists());

    // A marker naming a record of something else does not stop a real decision.
    copy_dir(&saved, &entry);
    std::fs::write(entry.join("deciding"), "7\n").unwrap();
    let fresh = review(&["reject", &id]);
    expect_exit(&fresh, 0);
    assert_eq!(records(&state).len(), 2);
}
