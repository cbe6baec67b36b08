//! The core's state: gate, sealer, scratch, and the buffers its responses borrow.

use core::fmt::Write as _;
use core::ops::DerefMut;

use sigil_gate::{Gate, Scratch, Verdict};
use sigil_provenance::{FrameFacts, PostFilter, RECORD_LEN, Record, Review, Sealer};
use sigil_wire::{ErrorCode, Response, WireFrameFacts};

/// The longest error detail a response carries (longer texts are cut).
pub const DETAIL_LEN: usize = 240;

/// The trust core: everything that may touch the device key or decide a prompt.
///
/// `S` is the gate's scratch space (about 48 KiB): `Box<Scratch>` on a host, a
/// `&'static mut Scratch` on a microcontroller. `TICKETS` bounds the outstanding tickets,
/// `USERS` the users the rate limiter tracks.
#[derive(Debug)]
pub struct Core<S, const TICKETS: usize, const USERS: usize> {
    pub(crate) gate: Gate<TICKETS, USERS>,
    pub(crate) sealer: Sealer,
    pub(crate) scratch: S,
    pub(crate) max_frame: u32,
    pub(crate) session: bool,
    /// The last record this core sealed (or resumed from), encoded, and its sequence number.
    pub(crate) last: Option<(u64, [u8; RECORD_LEN])>,
    pub(crate) signature: [u8; 64],
    pub(crate) detail: heapless::String<DETAIL_LEN>,
}

impl<S, const TICKETS: usize, const USERS: usize> Core<S, TICKETS, USERS>
where
    S: DerefMut<Target = Scratch>,
{
    /// A core around `sealer` (already at its chain head; `last` is the record it resumed
    /// from, if any) and `gate`. `max_frame` is the largest frame the caller can receive, as
    /// [`Response::Hello`] announces it.
    pub fn new(
        sealer: Sealer,
        gate: Gate<TICKETS, USERS>,
        scratch: S,
        max_frame: u32,
        last: Option<&Record>,
    ) -> Self {
        Self {
            gate,
            sealer,
            scratch,
            max_frame,
            session: false,
            last: last.map(|r| {
                let mut bytes = [0; RECORD_LEN];
                r.encode(&mut bytes);
                (r.body().seq, bytes)
            }),
            signature: [0; 64],
            detail: heapless::String::new(),
        }
    }

    /// The sealer (public key, digests, chain head).
    pub const fn sealer(&self) -> &Sealer {
        &self.sealer
    }

    /// The gate (its rate limiter, for saving the buckets).
    pub const fn gate(&self) -> &Gate<TICKETS, USERS> {
        &self.gate
    }

    /// The gate, to restore saved rate-limit buckets before the first admission.
    pub fn gate_mut(&mut self) -> &mut Gate<TICKETS, USERS> {
        &mut self.gate
    }

    /// The last record sealed (or resumed from), encoded: what a microcontroller keeps in its
    /// own flash so a record cut off on the link can be fetched again.
    pub fn last_record(&self) -> Option<&[u8; RECORD_LEN]> {
        self.last.as_ref().map(|(_, bytes)| bytes)
    }

    /// An error response whose detail is `args`, cut to [`DETAIL_LEN`] bytes.
    pub(crate) fn refuse(
        &mut self,
        code: ErrorCode,
        args: core::fmt::Arguments<'_>,
    ) -> Response<'_> {
        self.detail.clear();
        let mut cut = Cut(&mut self.detail);
        let _ = cut.write_fmt(args);
        Response::Error {
            code,
            detail: self.detail.as_str(),
        }
    }
}

/// Writes as much as fits, on a character boundary.
struct Cut<'a>(&'a mut heapless::String<DETAIL_LEN>);

impl core::fmt::Write for Cut<'_> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        for c in s.chars() {
            if self.0.push(c).is_err() {
                break;
            }
        }
        Ok(())
    }
}

/// Frame facts as the wire carries them to a core (the inverse of
/// [`wire_facts_to_frame_facts`]).
pub fn frame_facts_to_wire(f: &FrameFacts) -> WireFrameFacts {
    WireFrameFacts {
        time_unix: f.time_unix,
        boot_counter: f.boot_counter,
        model_digest: f.model_digest,
        seed: f.seed,
        steps: f.steps,
        guidance_milli: f.guidance_milli,
        width: f.width,
        height: f.height,
        post_filter_verdict: f.post_filter.verdict as u8,
        post_filter_class: f.post_filter.class.unwrap_or(sigil_provenance::NONE_BYTE),
        review: f.review.as_u8(),
        watermark: f.watermark,
        frame_hash: f.frame_hash,
    }
}

/// The record fields of wire frame facts; `Err` names the field that does not decode.
pub fn wire_facts_to_frame_facts(f: &WireFrameFacts) -> Result<FrameFacts, &'static str> {
    let verdict = Verdict::from_u8(f.post_filter_verdict)
        .ok_or("post_filter_verdict is not a verdict byte (0 allow, 1 review, 2 block)")?;
    let review = Review::from_u8(f.review)
        .ok_or("review is not a review byte (0 not required, 1 approved, 2 rejected)")?;
    Ok(FrameFacts {
        time_unix: f.time_unix,
        boot_counter: f.boot_counter,
        model_digest: f.model_digest,
        seed: f.seed,
        steps: f.steps,
        guidance_milli: f.guidance_milli,
        width: f.width,
        height: f.height,
        post_filter: PostFilter {
            verdict,
            class: (f.post_filter_class != sigil_provenance::NONE_BYTE)
                .then_some(f.post_filter_class),
        },
        review,
        watermark: f.watermark,
        frame_hash: f.frame_hash,
    })
}
