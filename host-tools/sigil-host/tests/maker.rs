//! The maker's side as a black box: `ca init`, `provision`, `pack`, and `verify` against the
//! maker CA and its signed bundles.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail by panicking

mod common;

use std::path::Path;

use common::{host, json, release_with, s};

fn code(o: &std::process::Output) -> Option<i32> {
    o.status.code()
}

fn text(o: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn ca_init(dir: &Path, org: &str) {
    let o = host(&["ca", "init", "--out", s(dir), "--org", org, "--json"]);
    assert_eq!(code(&o), Some(0), "{}", text(&o));
}

#[test]
fn a_provisioned_devices_frame_verifies_against_the_maker_ca() {
    let tmp = tempfile::tempdir().unwrap();
    let ca = tmp.path().join("ca");
    ca_init(&ca, "Example Kiosks Ltd");
    // A CA is made once.
    let o = host(&["ca", "init", "--out", s(&ca), "--org", "X"]);
    assert_eq!(code(&o), Some(2));
    assert!(text(&o).contains("--force"), "{}", text(&o));

    let state = tmp.path().join("state");
    let o = host(&[
        "provision",
        "--state",
        s(&state),
        "--ca",
        s(&ca),
        "--device-id",
        "kiosk-9",
        "--json",
    ]);
    assert_eq!(code(&o), Some(0), "{}", text(&o));
    let j = json(&o);
    assert_eq!(j["device"], "kiosk-9");
    assert_eq!(j["org"], "Example Kiosks Ltd");
    assert_eq!(j["created_key"], true);

    let (png, _, log) = release_with(tmp.path(), [5; 32], [1; 32]);
    let cert = ca.join("ca.crt.pem");
    let o = host(&[
        "verify",
        s(&png),
        "--trust",
        s(&cert),
        "--log",
        s(&log),
        "--json",
    ]);
    assert_eq!(code(&o), Some(0), "{}", text(&o));
    let j = json(&o);
    assert_eq!(j["valid"], true);
    assert_eq!(j["c2pa"]["state"], "trusted");
    assert_eq!(j["c2pa"]["generated"], true);
    assert_eq!(j["certificate"]["device"], "kiosk-9");
    assert_eq!(j["certificate"]["self_issued"], false);

    // Another maker's CA vouches for nothing here.
    let other = tmp.path().join("other");
    ca_init(&other, "Someone Else");
    let o = host(&[
        "verify",
        s(&png),
        "--trust",
        s(&other.join("ca.crt.pem")),
        "--json",
    ]);
    assert_eq!(code(&o), Some(3));
    assert_eq!(json(&o)["valid"], false);

    // The CA's private key is never a trust anchor.
    let o = host(&["verify", s(&png), "--trust", s(&ca.join("ca.key.pem"))]);
    assert_eq!(code(&o), Some(2), "{}", text(&o));

    // A key kept in a secure element: only its public half is certified.
    let chain = tmp.path().join("se.chain.pem");
    let o = host(&[
        "provision",
        "--public-key",
        s(&state.join("device.pub.pem")),
        "--ca",
        s(&ca),
        "-o",
        s(&chain),
        "--json",
    ]);
    assert_eq!(code(&o), Some(0), "{}", text(&o));
    assert!(
        std::fs::read_to_string(&chain)
            .unwrap()
            .matches("BEGIN CERTIFICATE")
            .count()
            == 2
    );
}

#[test]
fn records_are_checked_against_the_makers_signed_bundles() {
    let tmp = tempfile::tempdir().unwrap();
    let ca = tmp.path().join("ca");
    ca_init(&ca, "Example Kiosks Ltd");
    let state = tmp.path().join("state");
    let o = host(&["provision", "--state", s(&state), "--ca", s(&ca)]);
    assert_eq!(code(&o), Some(0), "{}", text(&o));

    let firmware = tmp.path().join("sigil.bin");
    std::fs::write(&firmware, b"pretend firmware image, version 7").unwrap();
    let fw_digest = sigil_bundle::sha256(&std::fs::read(&firmware).unwrap());
    let pack = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models/sigil-emoji.sigilpack");
    let model_digest = sigil_bundle::sha256(&std::fs::read(&pack).unwrap());
    let policy = hex::encode(sigil_gate::POLICY_DIGEST);
    let bundle = tmp.path().join("v7.sigilbundle");
    let o = host(&[
        "pack",
        "--firmware",
        s(&firmware),
        "--pack",
        s(&pack),
        "--policy-digest",
        &policy,
        "--version",
        "7",
        "--key",
        s(&ca.join("ca.key.pem")),
        "--device-class",
        "kiosk-test",
        "-o",
        s(&bundle),
        "--json",
    ]);
    assert_eq!(code(&o), Some(0), "{}", text(&o));
    assert_eq!(json(&o)["version"], 7);
    let cert = ca.join("ca.crt.pem");

    // A frame made by exactly that firmware and model: known.
    let made = tmp.path().join("a");
    std::fs::create_dir_all(&made).unwrap();
    std::fs::rename(&state, made.join("state")).unwrap();
    let (png, _, _) = release_with(&made, fw_digest, model_digest);
    let o = host(&[
        "verify",
        s(&png),
        "--trust",
        s(&cert),
        "--bundle",
        s(&bundle),
        "--json",
    ]);
    assert_eq!(code(&o), Some(0), "{}", text(&o));
    let notes = json(&o)["notes"].to_string();
    assert!(notes.contains("kiosk-test version 7"), "{notes}");

    // The same device with a model no bundle holds: named.
    let (png2, _, _) = release_with(&made, fw_digest, [4; 32]);
    let o = host(&[
        "verify",
        s(&png2),
        "--trust",
        s(&cert),
        "--bundle",
        s(&bundle),
        "--json",
    ]);
    assert_eq!(code(&o), Some(3), "{}", text(&o));
    assert!(
        json(&o)["reasons"].to_string().contains("model 0404"),
        "{}",
        text(&o)
    );

    // A bundle signed by another maker, or damaged, is refused before any frame is judged.
    let mut bytes = std::fs::read(&bundle).unwrap();
    let n = bytes.len();
    bytes[n - 10] ^= 1;
    let bad = tmp.path().join("bad.sigilbundle");
    std::fs::write(&bad, &bytes).unwrap();
    let o = host(&["verify", s(&png), "--trust", s(&cert), "--bundle", s(&bad)]);
    assert_eq!(code(&o), Some(2));
    assert!(text(&o).contains("chunk"), "{}", text(&o));
    let other = tmp.path().join("other");
    ca_init(&other, "Someone Else");
    let o = host(&[
        "verify",
        s(&png),
        "--trust",
        s(&other.join("ca.crt.pem")),
        "--bundle",
        s(&bundle),
    ]);
    assert_eq!(code(&o), Some(2));
    assert!(text(&o).contains("signature"), "{}", text(&o));
    // Bundles need the maker's CA, not a device key.
    let o = host(&[
        "verify",
        s(&png),
        "--trust",
        s(&made.join("state/device.pub.pem")),
        "--bundle",
        s(&bundle),
    ]);
    assert_eq!(code(&o), Some(2));
    assert!(text(&o).contains("ca.crt.pem"), "{}", text(&o));
}
