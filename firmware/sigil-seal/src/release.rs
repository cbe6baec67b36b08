//! Sealing a composed frame on the device: mark it with the next sequence number's payload,
//! hash it, have the trust core seal it against the prompt's ticket, append the record to the
//! log with an fsync. The caller writes the frame only after this returns.

use sigil_gate::{Ticket, TicketBook};
use sigil_mark::MarkKey;
use sigil_provenance::{FrameFacts, PostFilter, Record, Review, SealError, frame_hash};

use crate::compose::{Composed, mark};
use crate::error::{FrameError, StateError};
use crate::state::DeviceState;

/// How a frame was made: what its record states beyond the ticket and the pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Making {
    /// Seconds since the Unix epoch; 0 without a clock.
    pub time_unix: u64,
    /// SHA-256 of the model pack.
    pub model_digest: [u8; 32],
    /// Sampler seed.
    pub seed: u64,
    /// Denoiser steps.
    pub steps: u16,
    /// Guidance × 1000.
    pub guidance_milli: u32,
    /// The output check's decision.
    pub post_filter: PostFilter,
    /// The human decision.
    pub review: Review,
}

/// Why a frame was not sealed. Nothing was appended to the log in any case.
#[derive(Debug, thiserror::Error)]
pub enum ReleaseError {
    /// The frame could not be marked.
    #[error(transparent)]
    Frame(#[from] FrameError),
    /// The trust core refused to seal.
    #[error("the trust core refused to seal: {0}")]
    Seal(#[from] SealError),
    /// The record could not be appended (the frame must not be released).
    #[error(transparent)]
    State(#[from] StateError),
}

impl DeviceState {
    /// Mark a composed, unmarked frame, seal it against `ticket` and append the record to the
    /// log (fsync'd). Returns the marked frame and its record.
    pub fn seal_frame<const N: usize>(
        &mut self,
        book: &mut TicketBook<N>,
        ticket: &Ticket,
        unmarked: (Vec<u8>, u32, u32),
        making: &Making,
        key: &MarkKey,
    ) -> Result<(Composed, Record), ReleaseError> {
        let (rgb, width, height) = unmarked;
        let too_large = || FrameError::TooLarge { width, height };
        let (w, h) = (
            u16::try_from(width).map_err(|_| too_large())?,
            u16::try_from(height).map_err(|_| too_large())?,
        );
        let watermark = self.next_watermark();
        let frame = mark(rgb, width, height, &watermark, key)?;
        let facts = FrameFacts {
            time_unix: making.time_unix,
            boot_counter: self.boot_counter(),
            model_digest: making.model_digest,
            seed: making.seed,
            steps: making.steps,
            guidance_milli: making.guidance_milli,
            width: w,
            height: h,
            post_filter: making.post_filter,
            review: making.review,
            watermark,
            frame_hash: frame_hash(w, h, &frame.rgb),
        };
        let record = self.sealer().seal(book, Some(ticket), &facts)?;
        self.append(&record)?;
        Ok((frame, record))
    }
}
