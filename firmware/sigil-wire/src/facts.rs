//! The facts about one generated frame that the host hands to the trust core for sealing.

use serde::{Deserialize, Serialize};

/// Frame facts as they travel in [`Request::Seal`](crate::Request::Seal).
///
/// This is the wire's own struct, deliberately independent of the provenance crate's record
/// types: the device maps it to its record fields, so the record format and the wire format can
/// evolve separately. Field order is part of the wire format (see the crate documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct WireFrameFacts {
    /// Wall-clock time of generation, seconds since the Unix epoch (as the host knows it).
    pub time_unix: u64,
    /// The host's boot counter when the frame was generated.
    pub boot_counter: u32,
    /// SHA-256 of the model pack that generated the frame.
    pub model_digest: [u8; 32],
    /// Sampler seed.
    pub seed: u64,
    /// Denoiser steps.
    pub steps: u16,
    /// Classifier-free guidance scale, in thousandths.
    pub guidance_milli: u32,
    /// Image width in pixels.
    pub width: u16,
    /// Image height in pixels.
    pub height: u16,
    /// The output check's verdict byte (`sigil_gate::Verdict` numbering).
    pub post_filter_verdict: u8,
    /// The output check's class index.
    pub post_filter_class: u8,
    /// Human review state byte, as the device defines it.
    pub review: u8,
    /// The invisible watermark payload embedded in the frame.
    pub watermark: [u8; 8],
    /// SHA-256 of the final composed frame.
    pub frame_hash: [u8; 32],
}
