#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::atomic::{AtomicU64, Ordering};

use sigil_gate::Ticket;
use sigil_provenance::{FrameFacts, PostFilter, Record, Review};
use sigil_seal::DeviceState;

pub const FIRMWARE: [u8; 32] = [7; 32];

/// Admit `prompt` through the state's trust core. Each call is a minute after the last on the
/// rate limiter's clock: these tests are not about rate limits.
pub fn admit(state: &mut DeviceState, prompt: &str) -> Ticket {
    static CLOCK: AtomicU64 = AtomicU64::new(0);
    let now_ms = CLOCK.fetch_add(60_000, Ordering::Relaxed);
    state.core_mut().admit(prompt, b"tester", now_ms).unwrap()
}

/// Admit `prompt` and seal a record for a frame with `frame_hash` in `state`.
pub fn seal_one(state: &mut DeviceState, prompt: &str, frame_hash: [u8; 32]) -> Record {
    let ticket = admit(state, prompt);
    let facts = FrameFacts {
        // Now: a device certificate issued by a test is valid from a day ago.
        time_unix: sigil_seal::unix_ms() / 1000,
        boot_counter: 1,
        model_digest: [3; 32],
        seed: 42,
        steps: 4,
        guidance_milli: 2000,
        width: 256,
        height: 256,
        post_filter: PostFilter {
            verdict: sigil_gate::Verdict::Allow,
            class: None,
        },
        review: Review::NotRequired,
        watermark: state.next_watermark(),
        frame_hash,
    };
    state.core_mut().seal(&ticket, &facts).unwrap()
}

/// A frame-sized test image: a coloured disc on white, 32×32.
pub fn generated(hue: u8) -> Vec<u8> {
    let mut rgb = vec![255u8; 32 * 32 * 3];
    for y in 0..32i32 {
        for x in 0..32i32 {
            if (x - 16).pow(2) + (y - 14).pow(2) < 90 {
                let at = ((y * 32 + x) * 3) as usize;
                rgb[at..at + 3].copy_from_slice(&[hue, 200 - hue / 2, 60]);
            }
        }
    }
    rgb
}

/// Compose, seal, log and write one frame named `name` into `out`; returns the PNG's path and
/// its record.
pub fn release(
    state: &mut DeviceState,
    out: &std::path::Path,
    name: &str,
    prompt: &str,
    hue: u8,
) -> (std::path::PathBuf, Record) {
    let c = sigil_seal::compose(
        &generated(hue),
        32,
        32,
        &state.next_watermark(),
        &sigil_mark::MarkKey::sigil_default(),
    )
    .unwrap();
    let hash = sigil_provenance::frame_hash(c.width as u16, c.height as u16, &c.rgb);
    let record = seal_one(state, prompt, hash);
    state.append(&record).unwrap();
    let (png, _) = sigil_seal::write_frame(
        out,
        name,
        &c.rgb,
        c.width,
        c.height,
        &record,
        &state.frame_signer(),
    )
    .unwrap();
    (png, record)
}
