//! The device program's side of a remote trust core refuses a core it must not trust.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail by panicking

use std::io::BufReader;
use std::net::TcpListener;
use std::time::Duration;

use sigil_link::Endpoint;
use sigil_seal::{CoreError, TrustCore};
use sigil_wire::{Body, Envelope, Request, Response, WIRE_VERSION, decode_frame};

/// A core on loopback that answers Hello, Info (with `policy_digest`) and Head, then stops.
fn fake_core(policy_digest: [u8; 32]) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut w = stream.try_clone().unwrap();
        let mut r = BufReader::new(stream);
        let mut buf = Vec::new();
        while sigil_link::frame::recv(&mut r, &mut buf).is_ok() {
            let Ok(env) = decode_frame(&mut buf) else {
                return;
            };
            let Body::Request(req) = env.body else { return };
            let response = match req {
                Request::Hello { .. } => Response::Hello {
                    device_version: WIRE_VERSION,
                    max_frame: sigil_link::MAX_FRAME as u32,
                },
                Request::Info => Response::Info {
                    firmware_digest: [1; 32],
                    policy_digest,
                    device_key: ed25519_dalek::SigningKey::from_bytes(&[9; 32])
                        .verifying_key()
                        .to_bytes(),
                },
                Request::Head => Response::Head {
                    next_seq: 0,
                    prev_hash: [0; 32],
                },
                _ => return,
            };
            if sigil_link::frame::send(&mut w, &Envelope::response(env.id, response)).is_err() {
                return;
            }
        }
    });
    addr
}

#[test]
fn a_remote_core_with_another_policy_is_refused_at_open_naming_both_digests() {
    let other = [0xAB; 32];
    let at = fake_core(other);
    match TrustCore::connect(&Endpoint::Tcp(at), Duration::from_secs(5)) {
        Err(e @ CoreError::PolicyMismatch { .. }) => {
            let msg = e.to_string();
            assert!(msg.contains(&hex::encode(other)), "{msg}");
            assert!(
                msg.contains(&hex::encode(sigil_gate::POLICY_DIGEST)),
                "{msg}"
            );
            assert!(msg.contains("flash the trust core"), "{msg}");
        }
        other => panic!("expected a policy mismatch, got {other:?}"),
    }
}

#[test]
fn a_remote_core_with_this_policy_opens() {
    let at = fake_core(sigil_gate::POLICY_DIGEST);
    let core = TrustCore::connect(&Endpoint::Tcp(at), Duration::from_secs(5)).unwrap();
    assert!(core.remote());
    assert_eq!(core.policy_digest(), sigil_gate::POLICY_DIGEST);
}
