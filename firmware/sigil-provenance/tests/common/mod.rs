//! Shared fixtures: fixed keys, a sample record body, sealed chains and framed logs.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use sigil_gate::{Decision, Ticket, TicketBook, Tier, Verdict};
use sigil_provenance::{
    FrameFacts, GateFacts, PostFilter, Record, RecordBody, Review, Sealer, SigningKey,
    append_frame, frame_hash, frame_len,
};

pub const FIRMWARE: [u8; 32] = [0xF1; 32];
pub const POLICY: [u8; 32] = [0xB0; 32];

pub fn device_key() -> SigningKey {
    SigningKey::from_bytes(&[0x11; 32])
}

pub fn other_key() -> SigningKey {
    SigningKey::from_bytes(&[0x22; 32])
}

/// A body with every field set to a distinct, fixed value.
pub fn sample_body() -> RecordBody {
    RecordBody {
        seq: 0x0102_0304_0506_0708,
        prev_hash: [0xA1; 32],
        device_key: [0; 32],
        time_unix: 1_767_225_600,
        boot_counter: 42,
        firmware_digest: [0xF1; 32],
        policy_digest: [0xB0; 32],
        model_digest: [0xC3; 32],
        prompt_hash: [0xD4; 32],
        user_hash: [0xE5; 32],
        seed: 0xDEAD_BEEF_0BAD_F00D,
        steps: 4,
        guidance_milli: 7_500,
        width: 512,
        height: 384,
        gate: GateFacts {
            verdict: Verdict::Review,
            category: Some(3),
            tier: Tier::Review,
            escalate: false,
        },
        post_filter: PostFilter {
            verdict: Verdict::Allow,
            class: None,
        },
        review: Review::Approved,
        watermark: [0x57; 8],
        frame_hash: [0x99; 32],
    }
}

pub fn decision(verdict: Verdict, tier: Tier, category: Option<u8>) -> Decision {
    Decision {
        verdict,
        category,
        tier,
        escalate: false,
        prompt_hash: [0x5A; 32],
    }
}

pub fn allow_ticket<const N: usize>(book: &mut TicketBook<N>) -> Ticket {
    book.issue(&decision(Verdict::Allow, Tier::None, None), [0x0C; 32])
}

pub fn facts(sealer: &Sealer, i: u64) -> FrameFacts {
    let rgb = [u8::try_from(i % 251).unwrap(); 12];
    FrameFacts {
        time_unix: 0,
        boot_counter: 1,
        model_digest: [0x3D; 32],
        seed: i,
        steps: 4,
        guidance_milli: 1_000,
        width: 2,
        height: 2,
        post_filter: PostFilter {
            verdict: Verdict::Allow,
            class: None,
        },
        review: Review::NotRequired,
        watermark: sealer.watermark_for(sealer.next_seq()),
        frame_hash: frame_hash(2, 2, &rgb),
    }
}

/// Seal `n` allow-verdict records with the device key.
pub fn sealed_chain(n: usize) -> (Sealer, Vec<Record>) {
    let mut sealer = Sealer::new(device_key(), FIRMWARE, POLICY);
    let mut book = TicketBook::<4>::new();
    let mut records = Vec::new();
    for i in 0..n {
        let ticket = allow_ticket(&mut book);
        let f = facts(&sealer, i as u64);
        records.push(sealer.seal(&mut book, Some(&ticket), &f).unwrap());
    }
    (sealer, records)
}

/// Frame records as a log.
pub fn frame_log<'a>(records: impl IntoIterator<Item = &'a Record>) -> Vec<u8> {
    let mut log = Vec::new();
    for r in records {
        let bytes = r.to_bytes();
        let mut buf = vec![0; frame_len(bytes.len())];
        let n = append_frame(&bytes, &mut buf).unwrap();
        log.extend_from_slice(&buf[..n]);
    }
    log
}
