//! The state directory: lock, key, boot counter, log recovery and resumption.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::Write;

use common::{FIRMWARE, seal_one};
use sigil_provenance::{LogReader, Record};
use sigil_seal::{DeviceState, LOG_FILE, StateError};

#[test]
fn first_open_creates_a_key_and_later_opens_keep_it() {
    let dir = tempfile::tempdir().unwrap();
    let a = DeviceState::open(dir.path(), FIRMWARE).unwrap();
    assert!(a.created_key());
    assert_eq!(a.boot_counter(), 1);
    let key = a.sealer_key();
    drop(a);
    let b = DeviceState::open(dir.path(), FIRMWARE).unwrap();
    assert!(!b.created_key());
    assert_eq!(b.boot_counter(), 2);
    assert_eq!(b.sealer_key(), key);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("device.key.pem"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "private key readable by others: {mode:o}");
    }
}

#[test]
fn a_second_process_on_the_same_directory_is_refused_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let _held = DeviceState::open(dir.path(), FIRMWARE).unwrap();
    let e = DeviceState::open(dir.path(), FIRMWARE).unwrap_err();
    assert!(matches!(e, StateError::Busy { .. }), "{e}");
    let msg = e.to_string();
    assert!(msg.contains("in use by another sigil process"), "{msg}");
    assert!(
        msg.contains(&format!("pid {}", std::process::id())),
        "{msg}"
    );
}

#[test]
fn records_are_appended_and_the_chain_resumes_after_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = DeviceState::open(dir.path(), FIRMWARE).unwrap();
    let r0 = seal_one(&mut s, "a red apple", [1; 32]);
    s.append(&r0).unwrap();
    let r1 = seal_one(&mut s, "a blue car", [2; 32]);
    s.append(&r1).unwrap();
    drop(s);
    let mut s = DeviceState::open(dir.path(), FIRMWARE).unwrap();
    assert_eq!(s.last(), Some(&r1));
    assert_eq!(s.core().head().next_seq, 2);
    let r2 = seal_one(&mut s, "a green tree", [3; 32]);
    assert_eq!(r2.body().prev_hash, r1.hash());
    s.append(&r2).unwrap();
    drop(s);
    let bytes = std::fs::read(dir.path().join(LOG_FILE)).unwrap();
    let seqs: Vec<u64> = LogReader::new(&bytes)
        .map(|e| Record::decode(e.unwrap().bytes).unwrap().body().seq)
        .collect();
    assert_eq!(seqs, [0, 1, 2]);
}

#[test]
fn a_torn_tail_is_cut_and_no_complete_record_is_lost() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = DeviceState::open(dir.path(), FIRMWARE).unwrap();
    let r0 = seal_one(&mut s, "a red apple", [1; 32]);
    s.append(&r0).unwrap();
    drop(s);
    let log = dir.path().join(LOG_FILE);
    let good = std::fs::read(&log).unwrap();
    // A crash halfway through the next append.
    let mut f = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
    f.write_all(&good[..good.len() / 2]).unwrap();
    drop(f);
    let mut s = DeviceState::open(dir.path(), FIRMWARE).unwrap();
    assert_eq!(s.recovery().entries, 1);
    assert_eq!(s.recovery().torn_tail_bytes, good.len() / 2);
    assert_eq!(
        std::fs::read(&log).unwrap(),
        good,
        "the torn tail is cut, the record kept"
    );
    assert_eq!(s.core().head().next_seq, 1);
    let r1 = seal_one(&mut s, "a blue car", [2; 32]);
    assert_eq!(r1.body().prev_hash, r0.hash());
}

#[test]
fn a_replaced_key_or_a_damaged_key_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = DeviceState::open(dir.path(), FIRMWARE).unwrap();
    let r0 = seal_one(&mut s, "a red apple", [1; 32]);
    s.append(&r0).unwrap();
    drop(s);
    let key = dir.path().join("device.key.pem");
    let saved = std::fs::read(&key).unwrap();
    std::fs::remove_file(&key).unwrap();
    // A fresh key under an old log: the chain would fork, so refuse.
    let e = DeviceState::open(dir.path(), FIRMWARE).unwrap_err();
    assert!(matches!(e, StateError::ForeignLog { .. }), "{e}");
    assert!(e.to_string().contains("sigil-host audit"), "{e}");
    std::fs::write(
        &key,
        b"-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----\n",
    )
    .unwrap();
    let e = DeviceState::open(dir.path(), FIRMWARE).unwrap_err();
    assert!(matches!(e, StateError::BadKey { .. }), "{e}");
    std::fs::write(&key, saved).unwrap();
    assert!(DeviceState::open(dir.path(), FIRMWARE).is_ok());
}

#[test]
fn a_damaged_boot_counter_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    drop(DeviceState::open(dir.path(), FIRMWARE).unwrap());
    std::fs::write(dir.path().join("boot"), b"seven").unwrap();
    let e = DeviceState::open(dir.path(), FIRMWARE).unwrap_err();
    assert!(matches!(e, StateError::BadCounter { .. }), "{e}");
    assert!(e.to_string().contains("boot"), "{e}");
}
