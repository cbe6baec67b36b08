//! `sigil generate --trust-core`: the device program with its trust core on the Cortex-M4
//! firmware under QEMU (`firmware/sigil-mcu`), end to end on a tiny pack; and clear refusals of
//! a trust core that is not there or not named right.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail by panicking

mod common;
#[path = "../../sigil-mcu/host/qemu.rs"]
mod qemu;

use common::{expect_exit, json, p, sigil, tiny_pack};
use ed25519_dalek::pkcs8::DecodePublicKey;
use sigil_provenance::{LogReader, VerifyingKey, verify_record};

fn generate(
    pack: &std::path::Path,
    state: &std::path::Path,
    trust_core: &str,
    prompt: &str,
) -> std::process::Output {
    let out = state.with_file_name("out");
    sigil(&[
        "generate",
        "--prompt",
        prompt,
        "--seed",
        "3",
        "--pack",
        p(pack),
        "--out",
        p(&out),
        "--state",
        p(state),
        "--backend",
        "cpu",
        "--trust-core",
        trust_core,
        "--json",
    ])
}

#[test]
fn generate_seals_through_the_trust_core_on_the_mcu() {
    let tmp = tempfile::tempdir().unwrap();
    let pack = tiny_pack(tmp.path(), true);
    let board = tmp.path().join("board");
    std::fs::create_dir_all(&board).unwrap();
    let state = tmp.path().join("state");
    let mcu = qemu::Mcu::boot(&board);
    let at = mcu.endpoint();

    for (seq, prompt) in ["a red apple", "a cat face"].into_iter().enumerate() {
        let o = generate(&pack, &state, &at, prompt);
        expect_exit(&o, 0);
        let j = json(&o);
        assert_eq!(j["status"], "released");
        assert_eq!(j["sequence"].as_u64(), Some(seq as u64));
    }
    // Blocked before anything reaches the model or the MCU's sealer.
    expect_exit(&generate(&pack, &state, &at, "a swastika flag"), 11);

    assert!(
        !state.join("device.key.pem").exists(),
        "the key stays on the MCU"
    );
    let pem = std::fs::read_to_string(state.join("device.pub.pem")).unwrap();
    let key = VerifyingKey::from_public_key_pem(&pem).unwrap();
    let log = std::fs::read(state.join(sigil_seal::LOG_FILE)).unwrap();
    let records: Vec<_> = LogReader::new(&log)
        .map(|e| verify_record(e.unwrap().bytes, &key).unwrap())
        .collect();
    assert_eq!(records.len(), 2);
    assert_eq!(records[1].body().prev_hash, records[0].hash());
    assert_eq!(records[0].body().policy_digest, sigil_gate::POLICY_DIGEST);
    assert!(mcu.log_text().contains("op=seal"), "{}", mcu.log_text());
}

#[test]
fn a_trust_core_that_is_not_there_is_refused_with_the_fix() {
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("state");
    let pack = tmp.path().join("none.sigilpack");
    // Nothing listens on port 1; the state is opened (and refused) before the pack is read.
    let o = generate(&pack, &state, "tcp:127.0.0.1:1", "a red apple");
    expect_exit(&o, 2);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("trust core at tcp:127.0.0.1:1") && err.contains("connect"),
        "{err}"
    );
    assert!(
        !state.join("log.sigil").exists()
            || std::fs::read(state.join("log.sigil")).unwrap().is_empty()
    );

    let o = generate(&pack, &state, "usb:3", "a red apple");
    expect_exit(&o, 2);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("in-process") && err.contains("tcp:HOST:PORT"),
        "{err}"
    );
}
