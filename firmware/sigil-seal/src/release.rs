//! Sealing a composed frame on the device: mark it with the next sequence number's payload,
//! hash it, have the trust core seal it against the prompt's ticket, append the record to the
//! log with an fsync. The caller writes the frame only after this returns.

use sigil_gate::Ticket;
use sigil_mark::MarkKey;
use sigil_provenance::{FrameFacts, PostFilter, Record, Review, frame_hash};

use crate::compose::{Composed, mark};
use crate::error::{FrameError, StateError};
use crate::state::DeviceState;
use crate::trust::CoreError;

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
    #[error("the trust core did not seal: {0}")]
    Core(#[from] CoreError),
    /// The record could not be appended (the frame must not be released).
    #[error(transparent)]
    State(#[from] StateError),
}

impl DeviceState {
    /// Mark a composed, unmarked frame, seal it against `ticket` and append the record to the
    /// log (fsync'd). Returns the marked frame and its record.
    pub fn seal_frame(
        &mut self,
        ticket: &Ticket,
        unmarked: (Vec<u8>, u32, u32),
        making: &Making,
        key: &MarkKey,
    ) -> Result<(Composed, Record), ReleaseError> {
        self.check_usable()?;
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
        let record = self.core_mut().seal(ticket, &facts)?;
        self.append(&record)?;
        Ok((frame, record))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sigil_gate::Verdict;

    fn making() -> Making {
        Making {
            time_unix: 1,
            model_digest: [3; 32],
            seed: 9,
            steps: 4,
            guidance_milli: 2000,
            post_filter: PostFilter {
                verdict: Verdict::Allow,
                class: None,
            },
            review: Review::NotRequired,
        }
    }

    fn seal(state: &mut DeviceState) -> Result<Record, ReleaseError> {
        let ticket = state.core_mut().admit("a red apple", b"t", 0).unwrap();
        let frame = crate::compose_unmarked(&vec![200u8; 32 * 32 * 3], 32, 32).unwrap();
        state
            .seal_frame(&ticket, frame, &making(), &MarkKey::sigil_default())
            .map(|(_, r)| r)
    }

    /// A failed append (here: the log handle refuses writes, as a full or failing disk would)
    /// leaves the core's head past a record the log does not hold: every later seal is
    /// refused, and a reopened state continues from what is on disk.
    #[test]
    fn after_a_failed_append_nothing_more_is_sealed_until_reopened() {
        let dir = tempfile::tempdir().unwrap();
        let mut state = DeviceState::open(dir.path(), [1; 32]).unwrap();
        assert_eq!(seal(&mut state).unwrap().body().seq, 0);
        let on_disk = std::fs::read(dir.path().join(crate::LOG_FILE)).unwrap();

        state.log = std::fs::File::open(dir.path().join(crate::LOG_FILE)).unwrap();
        let failed = seal(&mut state).unwrap_err();
        assert!(
            matches!(failed, ReleaseError::State(StateError::Io { .. })),
            "{failed}"
        );
        let refused = seal(&mut state).unwrap_err();
        assert!(
            matches!(refused, ReleaseError::State(StateError::Poisoned { .. })),
            "{refused}"
        );
        assert!(
            refused.to_string().contains("seals nothing more"),
            "{refused}"
        );
        assert_eq!(
            std::fs::read(dir.path().join(crate::LOG_FILE)).unwrap(),
            on_disk
        );
        drop(state);

        let mut state = DeviceState::open(dir.path(), [1; 32]).unwrap();
        let next = seal(&mut state).unwrap();
        assert_eq!(next.body().seq, 1, "the chain continues from the log");
    }
}
