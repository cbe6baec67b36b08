//! Maker CA, device certificates and chain checks.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ed25519_dalek::SigningKey;
use sigil_seal::cert::{
    CertError, DeviceChain, certifies, check_chain, issue_device, new_ca, now_unix,
    self_issued_chain,
};

fn key(n: u8) -> SigningKey {
    SigningKey::from_bytes(&[n; 32])
}

fn maker() -> (SigningKey, Vec<u8>) {
    let k = key(1);
    let ca = new_ca(&k, "Example Kiosks Ltd", "Example Kiosks device CA").unwrap();
    (k, ca)
}

#[test]
fn a_device_certificate_checks_under_its_ca_and_names_the_device() {
    let (ca_key, ca) = maker();
    let dev = key(2);
    let cert = issue_device(&ca_key, &ca, &dev.verifying_key(), "kiosk-0042").unwrap();
    let chain = DeviceChain {
        device: cert,
        ca: ca.clone(),
    };
    let facts = check_chain(&chain, Some(&ca), Some(now_unix())).unwrap();
    assert_eq!(facts.device_name, "kiosk-0042");
    assert_eq!(facts.device_org, "Example Kiosks Ltd");
    assert_eq!(facts.ca_name, "Example Kiosks device CA");
    assert_eq!(facts.device_key, dev.verifying_key().to_bytes());
    assert!(!facts.self_issued);
    assert!(certifies(&facts, &dev.verifying_key().to_bytes()).is_ok());
    assert!(matches!(
        certifies(&facts, &key(3).verifying_key().to_bytes()),
        Err(CertError::KeyMismatch { .. })
    ));
    // The PEM form round-trips.
    assert_eq!(DeviceChain::from_pem(&chain.to_pem()).unwrap(), chain);
}

#[test]
fn another_ca_a_forged_signature_and_an_expired_date_are_refused() {
    let (ca_key, ca) = maker();
    let other = new_ca(&key(9), "Example Kiosks Ltd", "Example Kiosks device CA").unwrap();
    let dev = key(2).verifying_key();
    let cert = issue_device(&ca_key, &ca, &dev, "kiosk-1").unwrap();
    let chain = DeviceChain {
        device: cert.clone(),
        ca: ca.clone(),
    };
    // Same names, other key: the anchor is not this chain's CA.
    assert!(matches!(
        check_chain(&chain, Some(&other), None),
        Err(CertError::WrongIssuer { .. })
    ));
    // The device certificate presented with a look-alike CA (same subject, other key).
    let swapped = DeviceChain {
        device: cert.clone(),
        ca: other.clone(),
    };
    let e = check_chain(&swapped, Some(&other), None).unwrap_err();
    assert!(
        matches!(&e, CertError::WrongIssuer { why, .. } if why.contains("does not verify")),
        "{e}"
    );
    // Any flipped bit in the signature.
    let mut bad = cert.clone();
    let last = bad.len() - 1;
    bad[last] ^= 1;
    assert!(
        check_chain(
            &DeviceChain {
                device: bad,
                ca: ca.clone()
            },
            None,
            None
        )
        .is_err()
    );
    // Validity.
    let e = check_chain(&chain, Some(&ca), Some(now_unix() + 100 * 365 * 86400)).unwrap_err();
    assert!(matches!(e, CertError::Expired { .. }), "{e}");
}

#[test]
fn a_device_certificate_is_not_a_ca_and_cannot_issue() {
    let (ca_key, ca) = maker();
    let dev = key(2);
    let cert = issue_device(&ca_key, &ca, &dev.verifying_key(), "kiosk-1").unwrap();
    let e = issue_device(&dev, &cert, &key(3).verifying_key(), "rogue").unwrap_err();
    assert!(matches!(e, CertError::NotCa(_)), "{e}");
    // A CA key that does not belong to the CA certificate.
    let e = issue_device(&key(7), &ca, &key(3).verifying_key(), "x").unwrap_err();
    assert!(e.to_string().contains("does not belong"), "{e}");
    assert!(matches!(
        DeviceChain::from_pem(&sigil_seal::cert::to_pem(&cert)),
        Err(CertError::ChainShape { found: 1 })
    ));
}

#[test]
fn an_unprovisioned_device_issues_itself_a_chain_that_says_so() {
    let dev = key(4);
    let chain = self_issued_chain(&dev.verifying_key()).unwrap();
    let facts = chain.facts().unwrap();
    assert!(facts.self_issued);
    assert_eq!(facts.device_key, dev.verifying_key().to_bytes());
    let (_, ca) = maker();
    assert!(check_chain(&chain, Some(&ca), None).is_err());
}
