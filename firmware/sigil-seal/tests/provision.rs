//! Provisioning a state directory under a maker CA: key kept or created, chain written
//! atomically, another maker's chain kept unless forced, a running device never touched.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::FIRMWARE;
use ed25519_dalek::SigningKey;
use sigil_seal::cert::new_ca;
use sigil_seal::provision::{MakerCa, ProvisionError, provision};
use sigil_seal::{DeviceState, StateError};

fn ca(seed: u8, org: &str) -> (SigningKey, Vec<u8>) {
    let key = SigningKey::from_bytes(&[seed; 32]);
    let cert = new_ca(&key, org, &format!("{org} device CA")).unwrap();
    (key, cert)
}

#[test]
fn provisioning_keeps_the_key_and_the_log_and_replaces_a_self_issued_chain() {
    let dir = tempfile::tempdir().unwrap();
    // A dev board that ran before it was provisioned: own key, self-issued chain, one record.
    let mut s = DeviceState::open(dir.path(), FIRMWARE).unwrap();
    assert!(s.created_chain() && s.chain_facts().self_issued);
    let r0 = common::seal_one(&mut s, "a red apple", [1; 32]);
    s.append(&r0).unwrap();
    let key = s.sealer_key();
    drop(s);

    let (k, c) = ca(1, "Example Kiosks Ltd");
    let maker = MakerCa { key: &k, cert: &c };
    let p = provision(dir.path(), &maker, Some("kiosk-7"), false).unwrap();
    assert!(!p.created_key && !p.unchanged);
    assert!(p.replaced.unwrap().contains("self-issued"));
    assert_eq!(p.facts.device_key, key);
    assert_eq!(p.facts.device_name, "kiosk-7");

    // The device continues its chain under the new certificate.
    let s = DeviceState::open(dir.path(), FIRMWARE).unwrap();
    assert!(!s.created_chain());
    assert!(!s.chain_facts().self_issued);
    assert_eq!(s.chain_facts().ca_name, "Example Kiosks Ltd device CA");
    assert_eq!(s.core().head().next_seq, 1);
    drop(s);

    // Again under the same CA: nothing changes.
    let again = provision(dir.path(), &maker, Some("kiosk-7"), false).unwrap();
    assert!(again.unchanged);
}

#[test]
fn another_makers_chain_is_replaced_only_when_forced() {
    let dir = tempfile::tempdir().unwrap();
    let (k1, c1) = ca(1, "Maker One");
    let (k2, c2) = ca(2, "Maker Two");
    let p = provision(
        dir.path(),
        &MakerCa {
            key: &k1,
            cert: &c1,
        },
        None,
        false,
    )
    .unwrap();
    assert!(
        p.created_key,
        "an empty directory gets its key at provisioning"
    );
    assert!(p.facts.device_name.starts_with("sigil-"));
    let chain = std::fs::read(dir.path().join("device.chain.pem")).unwrap();
    let two = MakerCa {
        key: &k2,
        cert: &c2,
    };
    let e = provision(dir.path(), &two, None, false).unwrap_err();
    assert!(matches!(e, ProvisionError::OtherMaker { .. }), "{e}");
    assert!(e.to_string().contains("--force"), "{e}");
    assert_eq!(
        std::fs::read(dir.path().join("device.chain.pem")).unwrap(),
        chain,
        "a refused provisioning changes nothing"
    );
    let p = provision(dir.path(), &two, None, true).unwrap();
    assert_eq!(p.replaced.as_deref(), Some("Maker One device CA"));
    assert_eq!(p.facts.ca_org, "Maker Two");
}

#[test]
fn a_running_device_is_not_provisioned_and_a_bad_chain_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let (k, c) = ca(1, "Example Kiosks Ltd");
    let maker = MakerCa { key: &k, cert: &c };
    let running = DeviceState::open(dir.path(), FIRMWARE).unwrap();
    let e = provision(dir.path(), &maker, None, false).unwrap_err();
    assert!(
        matches!(e, ProvisionError::State(StateError::Busy { .. })),
        "{e}"
    );
    drop(running);
    // A chain for another key (copied from another device) is refused at open, with the fix.
    let other = tempfile::tempdir().unwrap();
    provision(other.path(), &maker, None, false).unwrap();
    std::fs::copy(
        other.path().join("device.chain.pem"),
        dir.path().join("device.chain.pem"),
    )
    .unwrap();
    let e = DeviceState::open(dir.path(), FIRMWARE).unwrap_err();
    assert!(matches!(e, StateError::BadChain { .. }), "{e}");
    assert!(e.to_string().contains("sigil-host provision"), "{e}");
    // Provisioning repairs it without --force: the key is the device's identity.
    let p = provision(dir.path(), &maker, None, false).unwrap();
    assert!(p.replaced.unwrap().contains("another key"));
    assert!(DeviceState::open(dir.path(), FIRMWARE).is_ok());
    // A device id that is empty is refused before anything is written.
    let e = provision(dir.path(), &maker, Some(" "), true).unwrap_err();
    assert!(e.to_string().contains("1 to 64"), "{e}");
}

/// A state directory whose key lives in a trust core (only `device.pub.pem`, as
/// `--trust-core serial:…|tcp:…` writes it) is provisioned for that key; no key is made.
#[test]
fn a_key_held_by_a_trust_core_is_certified_from_its_public_key() {
    use ed25519_dalek::pkcs8::EncodePublicKey;
    use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
    let dir = tempfile::tempdir().unwrap();
    let core_key = SigningKey::from_bytes(&[42; 32]).verifying_key();
    let pem = core_key.to_public_key_pem(LineEnding::LF).unwrap();
    std::fs::write(dir.path().join("device.pub.pem"), pem).unwrap();
    let (k, c) = ca(3, "Example Kiosks Ltd");
    let done = provision(
        dir.path(),
        &MakerCa { key: &k, cert: &c },
        Some("kiosk-9"),
        false,
    )
    .unwrap();
    assert!(!done.created_key);
    assert_eq!(done.facts.device_key, core_key.to_bytes());
    assert!(
        !dir.path().join("device.key.pem").exists(),
        "no key made beside the core's"
    );

    std::fs::write(dir.path().join("device.pub.pem"), "not a key").unwrap();
    match provision(dir.path(), &MakerCa { key: &k, cert: &c }, None, true) {
        Err(ProvisionError::State(StateError::BadKey { .. })) => {}
        other => panic!("expected a bad key, got {other:?}"),
    }
}
