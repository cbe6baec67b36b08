//! The trust core service, request by request, and through frames.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use sigil_core::{Core, serve_frame};
use sigil_gate::{Gate, RateConfig, Scratch, Ticket, Verdict};
use sigil_provenance::{Record, Sealer, SigningKey, verify_record, watermark_payload};
use sigil_wire::{
    Body, Envelope, ErrorCode, Request, Response, WIRE_VERSION, WireFrameFacts, decode_frame,
    encode_frame,
};

type TestCore = Core<Box<Scratch>, 4, 4>;

fn key() -> SigningKey {
    SigningKey::from_bytes(&[7; 32])
}

fn core() -> TestCore {
    let sealer = Sealer::new(key(), [1; 32], sigil_gate::POLICY_DIGEST);
    Core::new(
        sealer,
        Gate::new(RateConfig::default()),
        Box::new(Scratch::new()),
        4096,
        None,
    )
}

fn open(core: &mut TestCore) {
    let hello = Request::Hello {
        host_version: WIRE_VERSION,
        max_frame: 1 << 16,
    };
    assert!(matches!(core.handle(hello), Some(Response::Hello { .. })));
}

fn error(r: Option<Response<'_>>) -> (ErrorCode, String) {
    match r {
        Some(Response::Error { code, detail }) => (code, detail.to_string()),
        other => panic!("expected an error, got {other:?}"),
    }
}

fn admit(core: &mut TestCore, prompt: &str) -> Ticket {
    match core.handle(Request::Admit {
        prompt,
        user: b"kiosk-1",
        now_ms: 0,
    }) {
        Some(Response::Admitted(t)) => t,
        other => panic!("expected a ticket, got {other:?}"),
    }
}

fn facts(seq: u64) -> WireFrameFacts {
    WireFrameFacts {
        time_unix: 1_800_000_000,
        boot_counter: 3,
        model_digest: [5; 32],
        seed: 42,
        steps: 4,
        guidance_milli: 2000,
        width: 64,
        height: 64,
        post_filter_verdict: 0,
        post_filter_class: 0xFF,
        review: 0,
        watermark: watermark_payload(&key().verifying_key().to_bytes(), seq),
        frame_hash: [9; 32],
    }
}

fn seal(
    core: &mut TestCore,
    ticket: Ticket,
    facts: WireFrameFacts,
) -> Result<Record, (ErrorCode, String)> {
    match core.handle(Request::Seal { ticket, facts }) {
        Some(Response::Sealed { record }) => Ok(Record::decode(record).unwrap()),
        other => Err(error(other)),
    }
}

#[test]
fn nothing_but_hello_before_a_session() {
    let mut core = core();
    let (code, detail) = error(core.handle(Request::Info));
    assert_eq!(code, ErrorCode::BadRequest);
    assert!(detail.contains("Hello"), "{detail}");
    let (code, detail) = error(core.handle(Request::Hello {
        host_version: WIRE_VERSION + 1,
        max_frame: 100,
    }));
    assert_eq!(code, ErrorCode::VersionMismatch);
    assert!(
        detail.contains(&format!("{}", WIRE_VERSION + 1)),
        "{detail}"
    );
    open(&mut core);
    assert!(matches!(
        core.handle(Request::Info),
        Some(Response::Info { .. })
    ));
    assert!(core.handle(Request::Bye).is_none());
    assert_eq!(error(core.handle(Request::Head)).0, ErrorCode::BadRequest);
}

#[test]
fn admitted_prompt_seals_once_into_a_verifiable_chained_record() {
    let mut core = core();
    open(&mut core);
    let ticket = admit(&mut core, "a lighthouse at dusk");
    assert_eq!(ticket.verdict, Verdict::Allow);
    let record = seal(&mut core, ticket, facts(0)).unwrap();
    verify_record(
        &{
            let mut b = [0; sigil_provenance::RECORD_LEN];
            record.encode(&mut b);
            b
        },
        &key().verifying_key(),
    )
    .unwrap();
    assert_eq!(record.body().seq, 0);
    assert_eq!(record.body().prompt_hash, ticket.prompt_hash);
    // The same ticket again: refused, and the head did not move.
    let (code, _) = seal(&mut core, ticket, facts(1)).unwrap_err();
    assert_eq!(code, ErrorCode::TicketRefused);
    match core.handle(Request::Head) {
        Some(Response::Head {
            next_seq,
            prev_hash,
        }) => {
            assert_eq!(next_seq, 1);
            assert_eq!(prev_hash, record.hash());
        }
        other => panic!("{other:?}"),
    }
    // Only the last record can be fetched again.
    assert!(matches!(
        core.handle(Request::GetRecord { seq: 0 }),
        Some(Response::Record { .. })
    ));
    assert_eq!(
        error(core.handle(Request::GetRecord { seq: 1 })).0,
        ErrorCode::NotFound
    );
    let kite = admit(&mut core, "a red kite");
    let second = seal(&mut core, kite, facts(1)).unwrap();
    assert_eq!(second.body().prev_hash, record.hash());
}

#[test]
fn blocked_forged_and_malformed_seals_are_refused() {
    let mut core = core();
    open(&mut core);
    let blocked = admit(&mut core, "swastika flag");
    assert_eq!(blocked.verdict, Verdict::Block);
    let (code, detail) = seal(&mut core, blocked, facts(0)).unwrap_err();
    assert_eq!(code, ErrorCode::TicketRefused);
    assert!(detail.contains("block"), "{detail}");
    let forged = Ticket {
        id: 99,
        ..admit(&mut core, "a cat")
    };
    assert_eq!(
        seal(&mut core, forged, facts(0)).unwrap_err().0,
        ErrorCode::TicketRefused
    );
    let ticket = admit(&mut core, "a dog");
    let altered = Ticket {
        prompt_hash: [0; 32],
        ..ticket
    };
    assert_eq!(
        seal(&mut core, altered, facts(0)).unwrap_err().0,
        ErrorCode::TicketRefused
    );
    let bad_review = WireFrameFacts {
        review: 9,
        ..facts(0)
    };
    let (code, detail) = seal(&mut core, ticket, bad_review).unwrap_err();
    assert_eq!(code, ErrorCode::BadRequest);
    assert!(detail.contains("review"), "{detail}");
    let wrong_mark = WireFrameFacts {
        watermark: [0; 8],
        ..facts(0)
    };
    assert_eq!(
        seal(&mut core, ticket, wrong_mark).unwrap_err().0,
        ErrorCode::BadRequest
    );
    // The genuine ticket still seals after the refused attempts.
    assert_eq!(seal(&mut core, ticket, facts(0)).unwrap().body().seq, 0);
}

#[test]
fn bad_prompts_and_device_program_requests_are_refused_with_reasons() {
    let mut core = core();
    open(&mut core);
    let (code, _) = error(core.handle(Request::Check {
        prompt: "",
        user: b"",
    }));
    assert_eq!(code, ErrorCode::PromptRejected);
    let long = "a".repeat(sigil_gate::MAX_PROMPT_BYTES + 1);
    let (code, _) = error(core.handle(Request::Admit {
        prompt: &long,
        user: b"u",
        now_ms: 0,
    }));
    assert_eq!(code, ErrorCode::PromptRejected);
    let (code, detail) = error(core.handle(Request::ReadLog {
        from_seq: 0,
        max_records: 4,
    }));
    assert_eq!(code, ErrorCode::Unsupported);
    assert!(detail.contains("device program"), "{detail}");
    assert_eq!(
        error(core.handle(Request::UpdateCommit)).0,
        ErrorCode::Unsupported
    );
}

#[test]
fn credentials_are_signed_but_never_under_the_record_domain() {
    let mut core = core();
    open(&mut core);
    let msg = b"Signature1 claim bytes";
    match core.handle(Request::SignCredential { msg }) {
        Some(Response::Signature { signature }) => {
            let sig = ed25519_dalek::Signature::from_slice(signature).unwrap();
            key().verifying_key().verify_strict(msg, &sig).unwrap();
        }
        other => panic!("{other:?}"),
    }
    let mut forged = sigil_provenance::SIGNATURE_DOMAIN.to_vec();
    forged.extend_from_slice(&[0; 300]);
    assert_eq!(
        error(core.handle(Request::SignCredential { msg: &forged })).0,
        ErrorCode::BadRequest
    );
}

fn frame(env: &Envelope<'_>) -> Vec<u8> {
    let mut out = vec![0; 8192];
    let n = encode_frame(env, &mut out).unwrap();
    out.truncate(n);
    out
}

#[test]
fn frames_in_frames_out_with_errors_for_garbage() {
    let mut core = core();
    let mut out = vec![0; 1024];
    let mut hello = frame(&Envelope::request(
        7,
        Request::Hello {
            host_version: WIRE_VERSION,
            max_frame: 4096,
        },
    ));
    let served = serve_frame(&mut core, &mut hello, &mut out).unwrap();
    let answer = decode_frame(&mut out[..served.len]).unwrap();
    assert_eq!(answer.id, 7);
    assert!(matches!(
        answer.body,
        Body::Response(Response::Hello { .. })
    ));
    assert!(!served.sealed);

    let mut garbage = vec![0x13, 0x37, 0x42, 0x00];
    let served = serve_frame(&mut core, &mut garbage, &mut out).unwrap();
    match decode_frame(&mut out[..served.len]).unwrap().body {
        Body::Response(Response::Error { code, .. }) => assert_eq!(code, ErrorCode::BadRequest),
        other => panic!("{other:?}"),
    }
    let mut bye = frame(&Envelope::request(8, Request::Bye));
    assert_eq!(serve_frame(&mut core, &mut bye, &mut out).unwrap().len, 0);
}

#[test]
fn frame_facts_go_over_the_wire_and_back_unchanged() {
    let wire = facts(3);
    let back = sigil_core::wire_facts_to_frame_facts(&wire).unwrap();
    assert_eq!(sigil_core::frame_facts_to_wire(&back), wire);
    let classed = WireFrameFacts {
        post_filter_verdict: 1,
        post_filter_class: 4,
        review: 1,
        ..wire
    };
    let back = sigil_core::wire_facts_to_frame_facts(&classed).unwrap();
    assert_eq!(back.post_filter.class, Some(4));
    assert_eq!(sigil_core::frame_facts_to_wire(&back), classed);
}
