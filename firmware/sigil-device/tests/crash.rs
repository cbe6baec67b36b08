//! Crash safety of `sigil generate`: SIGKILL at random points, then check what is on disk.
//!
//! Invariants after every kill:
//! * every frame reported on stdout is in the output directory and its record is in the log;
//! * every PNG in the output directory has its sidecar, and its record is in the log;
//! * the log is a valid chain followed at most by a torn tail, which the next open removes
//!   (and which `sigil-host audit` reports as `truncated_tail`), and no record reported
//!   earlier is ever lost.
//!
//! Half the kills land uniformly over a whole run, half in its last 30 % (sealing, logging and
//! writing happen there). `SIGIL_CRASH_TRIALS=200` runs the 200 trials (README); the
//! default keeps the suite fast.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail by panicking

mod common;

use std::collections::HashSet;
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use common::{p, tiny_pack};
use sigil_provenance::{LogReader, RECORD_LEN, Record, audit_log, recover};

fn log_records(state: &Path) -> (Vec<[u8; RECORD_LEN]>, usize) {
    let bytes = std::fs::read(state.join(sigil_seal::LOG_FILE)).unwrap_or_default();
    let r = recover(&bytes);
    let records = LogReader::new(&bytes[..r.valid_len])
        .map(|e| e.unwrap().bytes.try_into().unwrap())
        .collect();
    (records, r.torn_tail_bytes)
}

#[test]
fn sigkill_at_random_points_never_leaves_a_frame_without_its_record() {
    let trials: u64 = std::env::var("SIGIL_CRASH_TRIALS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(12);
    let tmp = tempfile::tempdir().unwrap();
    let pack = tiny_pack(tmp.path(), true);
    let (state, out) = (tmp.path().join("state"), tmp.path().join("out"));
    let spawn = |seed: u64| {
        // This test is about crashes, not rate limits (tests/rate.rs): each run starts with
        // full buckets, as on a fresh device.
        let _ = std::fs::remove_file(state.join(sigil_seal::RATE_FILE));
        Command::new(env!("CARGO_BIN_EXE_sigil"))
            .args([
                "generate",
                "--prompt",
                "a red apple",
                "--seed",
                &seed.to_string(),
                "--pack",
                p(&pack),
                "--out",
                p(&out),
                "--state",
                p(&state),
                "--backend",
                "cpu",
                "--json",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    // Calibrate: how long a whole run takes here.
    let t0 = Instant::now();
    let calib = spawn(1_000_000).wait_with_output().unwrap();
    assert!(calib.status.success());
    let whole = t0.elapsed();
    let mut reported: HashSet<Vec<u8>> = HashSet::new();
    let (mut killed, mut completed, mut torn) = (0, 0, 0);
    let mut x = 0x2545_f491_4f6c_dd1du64;
    for trial in 0..trials {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let u = (x >> 11) as f64 / (1u64 << 53) as f64;
        let frac = if trial % 2 == 0 {
            u * 1.1
        } else {
            0.7 + 0.4 * u
        };
        let mut child = spawn(trial);
        std::thread::sleep(whole.mul_f64(frac));
        let was_running = child.try_wait().unwrap().is_none();
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        let mut stdout = String::new();
        child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut stdout)
            .unwrap();
        if was_running {
            killed += 1;
        } else {
            completed += 1;
        }
        let (records, tail) = log_records(&state);
        torn += usize::from(tail > 0);
        let in_log: HashSet<Vec<u8>> = records.iter().map(|r| r.to_vec()).collect();
        // Reported frames: on disk, and their records in the log, now and later.
        for line in stdout.lines().filter(|l| !l.trim().is_empty()) {
            let j: serde_json::Value = serde_json::from_str(line).unwrap();
            let record = std::fs::read(j["record"].as_str().unwrap()).unwrap();
            assert!(Path::new(j["png"].as_str().unwrap()).is_file());
            reported.insert(record);
        }
        for r in &reported {
            assert!(
                in_log.contains(r),
                "trial {trial}: a reported record is missing from the log"
            );
        }
        // Every frame on disk has its sidecar and its record in the log.
        for e in std::fs::read_dir(&out).into_iter().flatten() {
            let path = e.unwrap().path();
            if path.extension().is_some_and(|x| x == "png") {
                let side = sigil_seal::pngio::sidecar_path(&path);
                let record = std::fs::read(&side)
                    .unwrap_or_else(|_| panic!("trial {trial}: {} has no sidecar", path.display()));
                assert!(
                    in_log.contains(&record),
                    "trial {trial}: {} is not in the log",
                    path.display()
                );
                let chunk = sigil_seal::read_frame(&std::fs::read(&path).unwrap())
                    .unwrap()
                    .record;
                assert_eq!(chunk.as_deref(), Some(&record[..]));
            }
        }
    }
    // The next open recovers; the chain continues; the whole log audits clean.
    let last = spawn(999).wait_with_output().unwrap();
    assert!(last.status.success());
    let device = sigil_seal::DeviceState::open(&state, [0; 32]).unwrap();
    let key = sigil_provenance::VerifyingKey::from_bytes(&device.sealer_key()).unwrap();
    drop(device);
    let bytes = std::fs::read(state.join(sigil_seal::LOG_FILE)).unwrap();
    let summary = audit_log(&bytes, &key, |_| {});
    assert!(summary.is_clean(), "{summary:?}");
    let (records, _) = log_records(&state);
    let seqs: Vec<u64> = records
        .iter()
        .map(|r| Record::decode(r).unwrap().body().seq)
        .collect();
    assert_eq!(seqs, (0..seqs.len() as u64).collect::<Vec<_>>());
    eprintln!(
        "crash trials: {trials} ({killed} killed mid-run, {completed} finished first), {torn} left a torn tail, {} frames reported, {} records in the log",
        reported.len(),
        records.len()
    );
}
