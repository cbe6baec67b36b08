//! Rate limits across `sigil generate` processes: the per-user and per-device token buckets
//! live in the state directory (`rate.bin`), so separate runs draw from the same buckets. A
//! missing file starts full; a damaged one never does.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail by panicking

mod common;

use std::path::Path;
use std::process::Output;
use std::time::Instant;

use common::tiny_pack;
use sigil_gate::rate::{Bucket, RateState};
use sigil_seal::rate::{RATE_DAMAGED_FILE, decode_rates, encode_rates, unix_ms};

/// The default per-user limit: a burst of 6, one more every 10 s.
const USER_BURST: u64 = 6;
const USER_REFILL_MS: u128 = 10_000;

fn generate(pack: &Path, state: &Path, out: &Path, user: &str, seed: u64) -> Output {
    common::generate(pack, state, out, "a red apple", user, seed)
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn saved(state: &Path) -> RateState<4> {
    decode_rates::<4>(&std::fs::read(state.join(sigil_seal::RATE_FILE)).unwrap()).unwrap()
}

#[test]
fn a_users_limit_holds_across_processes_and_not_for_others() {
    let tmp = tempfile::tempdir().unwrap();
    let pack = tiny_pack(tmp.path(), true);
    let (state, out) = (tmp.path().join("state"), tmp.path().join("out"));
    // A fresh state directory starts with full buckets: no rate file yet.
    assert!(!state.join(sigil_seal::RATE_FILE).exists());
    let t0 = Instant::now();
    let mut released = 0u64;
    let refused = loop {
        let o = generate(&pack, &state, &out, "alice", released + 1);
        match o.status.code() {
            Some(0) => released += 1,
            Some(12) => break o,
            other => panic!("run {}: exit {other:?}: {}", released + 1, stderr(&o)),
        }
        if released == 1 {
            // The first admission was saved: alice has spent one of six.
            let s = saved(&state);
            let alice = sigil_gate::user_hash(b"alice");
            let (_, b) = s.users.iter().find(|(h, _)| *h == alice).unwrap();
            assert!((5000..6000).contains(&b.milli), "{b:?}");
        }
        // Runs on a slow machine earn tokens back (one per 10 s); never more than that.
        let earned = (t0.elapsed().as_millis() / USER_REFILL_MS) as u64;
        assert!(
            released <= USER_BURST + earned,
            "{released} runs released in {:?}: alice's limit did not hold across processes",
            t0.elapsed()
        );
    };
    assert!(released >= USER_BURST, "only {released} runs were released");
    let err = stderr(&refused);
    assert!(
        err.contains("this user's request limit is used up") && err.contains("retry in"),
        "{err}"
    );
    assert!(refused.stdout.is_empty(), "a refused run reported a frame");
    // Another user is not held back by alice's bucket.
    let bob = generate(&pack, &state, &out, "bob", 100);
    assert_eq!(bob.status.code(), Some(0), "{}", stderr(&bob));
    // Refused runs wrote nothing: one frame per released run.
    let pngs = std::fs::read_dir(&out)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "png")
        })
        .count();
    assert_eq!(pngs as u64, released + 1);
}

#[test]
fn the_device_limit_holds_for_every_user() {
    let tmp = tempfile::tempdir().unwrap();
    let pack = tiny_pack(tmp.path(), true);
    let (state, out) = (tmp.path().join("state"), tmp.path().join("out"));
    // The device's bucket was left empty by earlier processes (of any users). Stamped ahead of
    // the clock so that the run's own start-up time refills nothing: a restored bucket resumes
    // from the time it is loaded.
    std::fs::create_dir_all(&state).unwrap();
    let empty = RateState::<4> {
        device: Some(Bucket {
            milli: 0,
            last_ms: unix_ms() + 3_600_000,
        }),
        ..RateState::default()
    };
    std::fs::write(state.join(sigil_seal::RATE_FILE), encode_rates(&empty)).unwrap();
    let carol = generate(&pack, &state, &out, "carol", 1);
    assert_eq!(carol.status.code(), Some(12), "{}", stderr(&carol));
    assert!(
        stderr(&carol).contains("the device's request limit is used up"),
        "{}",
        stderr(&carol)
    );
    assert!(!out.exists() || std::fs::read_dir(&out).unwrap().next().is_none());
}

#[test]
fn a_damaged_rate_file_restarts_the_limits_empty_not_full() {
    let tmp = tempfile::tempdir().unwrap();
    let pack = tiny_pack(tmp.path(), true);
    let (state, out) = (tmp.path().join("state"), tmp.path().join("out"));
    let first = generate(&pack, &state, &out, "alice", 1);
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    let path = state.join(sigil_seal::RATE_FILE);
    let mut bytes = std::fs::read(&path).unwrap();
    let n = bytes.len();
    bytes[n / 2] ^= 0xff;
    std::fs::write(&path, &bytes).unwrap();
    // Not even a user never seen before gets through at once; the damage is named.
    let dave = generate(&pack, &state, &out, "dave", 2);
    assert_eq!(dave.status.code(), Some(12), "{}", stderr(&dave));
    let err = stderr(&dave);
    assert!(
        err.contains("rate.bin")
            && err.contains("CRC")
            && err.contains("restart empty")
            && err.contains("this user's request limit is used up"),
        "{err}"
    );
    // The damaged file is kept; the new one holds empty buckets that refill with time.
    assert_eq!(std::fs::read(state.join(RATE_DAMAGED_FILE)).unwrap(), bytes);
    let s = saved(&state);
    assert!(s.device.is_some_and(|b| b.milli < 1000), "{s:?}");
    assert!(s.unlisted.is_some_and(|b| b.milli < 1000), "{s:?}");
    // Garbage of another kind, also named.
    std::fs::write(&path, b"not a rate file").unwrap();
    let again = generate(&pack, &state, &out, "erin", 3);
    assert_eq!(again.status.code(), Some(12), "{}", stderr(&again));
    assert!(
        stderr(&again).contains("not saved rate limits"),
        "{}",
        stderr(&again)
    );
}

#[test]
fn approving_a_held_frame_takes_the_users_token_from_the_saved_buckets() {
    let tmp = tempfile::tempdir().unwrap();
    let pack = tiny_pack(tmp.path(), true);
    let (state, out) = (tmp.path().join("state"), tmp.path().join("out"));
    let held = common::generate(&pack, &state, &out, "an assault rifle on a table", "k", 5);
    assert_eq!(held.status.code(), Some(10), "{}", stderr(&held));
    let id = common::json(&held)["review_id"]
        .as_str()
        .unwrap()
        .to_string();
    // User k has used up their requests (as another process would have saved it).
    let k = sigil_gate::user_hash(b"k");
    let mut spent = RateState::<4>::default();
    spent
        .users
        .push((
            k,
            Bucket {
                milli: 0,
                last_ms: unix_ms(),
            },
        ))
        .unwrap();
    std::fs::write(state.join(sigil_seal::RATE_FILE), encode_rates(&spent)).unwrap();
    let approve = || {
        common::sigil(&[
            "review",
            "approve",
            &id,
            "--out",
            common::p(&out),
            "--state",
            common::p(&state),
        ])
    };
    let refused = approve();
    assert_eq!(refused.status.code(), Some(12), "{}", stderr(&refused));
    assert!(
        stderr(&refused).contains("this user's request limit is used up"),
        "{}",
        stderr(&refused)
    );
    // Nothing was sealed or lost: the frame is still held.
    assert!(state.join("review").join(&id).exists());
    assert!(!out.exists() || std::fs::read_dir(&out).unwrap().next().is_none());
    // With the bucket refilled the approval goes through and spends a token, saved.
    std::fs::remove_file(state.join(sigil_seal::RATE_FILE)).unwrap();
    let ok = approve();
    assert_eq!(ok.status.code(), Some(0), "{}", stderr(&ok));
    let s = saved(&state);
    let (_, b) = s.users.iter().find(|(h, _)| *h == k).unwrap();
    assert!((5000..6000).contains(&b.milli), "{b:?}");
}
