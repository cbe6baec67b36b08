//! Fixtures shared by the integration tests: one fixed message per variant, and an independent
//! reference framer built straight from postcard, crc and cobs.
#![cfg(test)]
#![allow(dead_code)]

pub mod arb;

use sigil_gate::{Decision, Ticket, Tier, Verdict};
use sigil_wire::{Envelope, ErrorCode, Request, Response, WireFrameFacts};

/// `[start, start+1, …]`, wrapping: includes a 0x00 so COBS has work to do.
pub fn seq(start: u8) -> [u8; 32] {
    core::array::from_fn(|i| start.wrapping_add(i as u8))
}

pub fn ticket() -> Ticket {
    Ticket {
        id: 7,
        prompt_hash: seq(0xF0),
        user_hash: seq(0x10),
        verdict: Verdict::Review,
        category: Some(3),
        tier: Tier::Review,
    }
}

pub fn decision() -> Decision {
    Decision {
        verdict: Verdict::Block,
        category: Some(1),
        tier: Tier::Block,
        escalate: true,
        prompt_hash: seq(0xF0),
    }
}

pub fn facts() -> WireFrameFacts {
    WireFrameFacts {
        time_unix: 1_767_225_600,
        boot_counter: 12,
        model_digest: seq(0x40),
        seed: 0xDEAD_BEEF,
        steps: 4,
        guidance_milli: 1500,
        width: 512,
        height: 512,
        post_filter_verdict: 0,
        post_filter_class: 2,
        review: 1,
        watermark: *b"SIGIL\x00\x01\x02",
        frame_hash: seq(0x80),
    }
}

pub const PROMPT: &str = "a red fox in snow, ökologisch";
pub const USER: &[u8] = b"kiosk-1\x00";
pub const RECORD: &[u8] = &[0xA5, 0x00, 0x5A, 0x00, 0x00, 0xFF, 0x01];

/// One fixed request per variant, in declaration order.
pub fn requests() -> Vec<(&'static str, Request<'static>)> {
    vec![
        (
            "hello",
            Request::Hello {
                host_version: 1,
                max_frame: 1024,
            },
        ),
        ("info", Request::Info),
        (
            "check",
            Request::Check {
                prompt: PROMPT,
                user: USER,
            },
        ),
        (
            "admit",
            Request::Admit {
                prompt: PROMPT,
                user: USER,
                now_ms: 1_700_000_000_123,
            },
        ),
        (
            "seal",
            Request::Seal {
                ticket: ticket(),
                facts: facts(),
            },
        ),
        (
            "read_log",
            Request::ReadLog {
                from_seq: 42,
                max_records: 16,
            },
        ),
        ("bye", Request::Bye),
        ("get_record", Request::GetRecord { seq: 42 }),
        (
            "update_begin",
            Request::UpdateBegin {
                header_len: 9000,
                offset: 0,
                part: RECORD,
            },
        ),
        (
            "update_chunk",
            Request::UpdateChunk {
                index: 7,
                bytes: RECORD,
            },
        ),
        ("update_commit", Request::UpdateCommit),
        ("head", Request::Head),
        ("sign_credential", Request::SignCredential { msg: RECORD }),
        (
            "admit_read",
            Request::AdmitRead {
                prompt: PROMPT,
                reading: "water pistol",
                user: USER,
                now_ms: 1_700_000_000_123,
            },
        ),
    ]
}

/// One fixed response per variant, in declaration order.
pub fn responses() -> Vec<(&'static str, Response<'static>)> {
    vec![
        (
            "hello",
            Response::Hello {
                device_version: 1,
                max_frame: 2048,
            },
        ),
        (
            "info",
            Response::Info {
                firmware_digest: seq(0x11),
                policy_digest: seq(0x22),
                device_key: seq(0xE0),
            },
        ),
        ("decision", Response::Decision(decision())),
        ("admitted", Response::Admitted(ticket())),
        (
            "rate_limited",
            Response::RateLimited {
                retry_after_ms: 1500,
            },
        ),
        ("sealed", Response::Sealed { record: RECORD }),
        (
            "log_chunk",
            Response::LogChunk {
                first_seq: 42,
                records: RECORD,
                more: true,
            },
        ),
        (
            "error",
            Response::Error {
                code: ErrorCode::TicketRefused,
                detail: "ticket already used",
            },
        ),
        ("record", Response::Record { record: RECORD }),
        (
            "update_progress",
            Response::UpdateProgress {
                next_chunk: 3,
                total: 640,
            },
        ),
        (
            "update_staged",
            Response::UpdateStaged {
                slot: 1,
                version: 7,
            },
        ),
        (
            "head",
            Response::Head {
                next_seq: 42,
                prev_hash: seq(0x60),
            },
        ),
        ("signature", Response::Signature { signature: RECORD }),
        (
            "limited",
            Response::Limited(sigil_gate::RateLimited {
                scope: sigil_gate::Scope::Device,
                retry_after_ms: 1500,
            }),
        ),
    ]
}

/// Every fixed message wrapped in an envelope (requests with id 0x0102, responses with id 300).
pub fn envelopes() -> Vec<(String, Envelope<'static>)> {
    let reqs = requests()
        .into_iter()
        .map(|(n, r)| (format!("request/{n}"), Envelope::request(0x0102, r)));
    let resps = responses()
        .into_iter()
        .map(|(n, r)| (format!("response/{n}"), Envelope::response(300, r)));
    reqs.chain(resps).collect()
}

/// Frame arbitrary postcard bytes the reference way: `COBS(payload ‖ CRC-32 LE) ‖ 0x00`.
pub fn frame_raw(payload: &[u8]) -> Vec<u8> {
    let crc = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC).checksum(payload);
    let mut raw = payload.to_vec();
    raw.extend_from_slice(&crc.to_le_bytes());
    let mut out = vec![0u8; cobs::max_encoding_length(raw.len())];
    let n = cobs::encode(&raw, &mut out);
    out.truncate(n);
    out.push(0);
    out
}

/// The postcard bytes of an envelope.
pub fn postcard_bytes(envelope: &Envelope<'_>) -> Vec<u8> {
    let mut buf = vec![0u8; 64 * 1024];
    let n = postcard::to_slice(envelope, &mut buf).unwrap().len();
    buf.truncate(n);
    buf
}

/// Frame an envelope with the reference framer.
pub fn reference_frame(envelope: &Envelope<'_>) -> Vec<u8> {
    frame_raw(&postcard_bytes(envelope))
}

/// Frame an envelope with the crate under test.
pub fn frame(envelope: &Envelope<'_>) -> Vec<u8> {
    let mut buf = vec![0u8; 64 * 1024];
    let n = sigil_wire::encode_frame(envelope, &mut buf).unwrap();
    buf.truncate(n);
    buf
}
