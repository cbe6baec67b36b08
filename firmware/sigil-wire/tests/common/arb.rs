//! Arbitrary messages for proptest: owned parts, and a builder that borrows from them.

use proptest::prelude::*;
use sigil_gate::{Decision, Ticket, Tier, Verdict};
use sigil_wire::{Envelope, ErrorCode, Request, Response, WireFrameFacts};

/// How many message variants `build` can produce (7 requests + 8 responses).
pub const VARIANTS: u8 = 15;

/// Owned material for one arbitrary message.
#[derive(Debug, Clone)]
pub struct Parts {
    pub variant: u8,
    pub id: u32,
    pub text: String,
    pub bytes: Vec<u8>,
    pub a: u64,
    pub b: u64,
    pub small: u16,
    pub mid: u32,
    pub flag: bool,
    pub h1: [u8; 32],
    pub h2: [u8; 32],
    pub h3: [u8; 32],
    pub octets: [u8; 8],
    pub tags: [u8; 6],
}

prop_compose! {
    pub fn parts()(
        variant in 0..VARIANTS,
        id in any::<u32>(),
        text in any::<String>(),
        bytes in proptest::collection::vec(any::<u8>(), 0..700),
        a in any::<u64>(),
        b in any::<u64>(),
        small in any::<u16>(),
        mid in any::<u32>(),
        flag in any::<bool>(),
        h1 in any::<[u8; 32]>(),
        h2 in any::<[u8; 32]>(),
        h3 in any::<[u8; 32]>(),
        octets in any::<[u8; 8]>(),
        tags in any::<[u8; 6]>(),
    ) -> Parts {
        Parts { variant, id, text, bytes, a, b, small, mid, flag, h1, h2, h3, octets, tags }
    }
}

fn verdict(b: u8) -> Verdict {
    Verdict::from_u8(b % 3).unwrap_or(Verdict::Block)
}

fn tier(b: u8) -> Tier {
    Tier::from_u8(b % 4).unwrap_or(Tier::None)
}

fn category(b: u8) -> Option<u8> {
    b.is_multiple_of(2).then_some(b / 2)
}

fn ticket(p: &Parts) -> Ticket {
    Ticket {
        id: p.a,
        prompt_hash: p.h1,
        user_hash: p.h2,
        verdict: verdict(p.tags[0]),
        category: category(p.tags[1]),
        tier: tier(p.tags[2]),
    }
}

fn facts(p: &Parts) -> WireFrameFacts {
    WireFrameFacts {
        time_unix: p.a,
        boot_counter: p.mid,
        model_digest: p.h1,
        seed: p.b,
        steps: p.small,
        guidance_milli: p.mid.rotate_left(7),
        width: p.small.rotate_left(3),
        height: p.small.rotate_left(9),
        post_filter_verdict: p.tags[0],
        post_filter_class: p.tags[1],
        review: p.tags[2],
        watermark: p.octets,
        frame_hash: p.h3,
    }
}

/// The message `p` describes, borrowing its text and bytes.
pub fn build(p: &Parts) -> Envelope<'_> {
    let req = |r| Envelope::request(p.id, r);
    let resp = |r| Envelope::response(p.id, r);
    match p.variant {
        0 => req(Request::Hello {
            host_version: p.small,
            max_frame: p.mid,
        }),
        1 => req(Request::Info),
        2 => req(Request::Check {
            prompt: &p.text,
            user: &p.bytes,
        }),
        3 => req(Request::Admit {
            prompt: &p.text,
            user: &p.bytes,
            now_ms: p.a,
        }),
        4 => req(Request::Seal {
            ticket: ticket(p),
            facts: facts(p),
        }),
        5 => req(Request::ReadLog {
            from_seq: p.a,
            max_records: p.small,
        }),
        6 => req(Request::Bye),
        7 => resp(Response::Hello {
            device_version: p.small,
            max_frame: p.mid,
        }),
        8 => resp(Response::Info {
            firmware_digest: p.h1,
            policy_digest: p.h2,
            device_key: p.h3,
        }),
        9 => resp(Response::Decision(Decision {
            verdict: verdict(p.tags[0]),
            category: category(p.tags[1]),
            tier: tier(p.tags[2]),
            escalate: p.flag,
            prompt_hash: p.h1,
        })),
        10 => resp(Response::Admitted(ticket(p))),
        11 => resp(Response::RateLimited {
            retry_after_ms: p.a,
        }),
        12 => resp(Response::Sealed { record: &p.bytes }),
        13 => resp(Response::LogChunk {
            first_seq: p.a,
            records: &p.bytes,
            more: p.flag,
        }),
        _ => {
            let code = ErrorCode::from_u8(p.tags[3] % 10).unwrap_or(ErrorCode::Internal);
            resp(Response::Error {
                code,
                detail: &p.text,
            })
        }
    }
}
