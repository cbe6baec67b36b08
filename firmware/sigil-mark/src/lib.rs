//! Sigil's invisible watermark: a 64-bit payload hidden in the luminance of a frame so that it
//! survives JPEG re-encoding, resizing and stripped metadata, and is found again by
//! `sigil-host verify`.
//!
//! # Scheme (format v1)
//! * **Carrier.** Luminance Y (BT.601) of the RGB frame; one level of the orthonormal Haar
//!   DWT; its LL band cut into 4×4 blocks (one block per 8×8 pixels, aligned with JPEG's
//!   blocks). Each block carries one code bit in the largest singular value σ₁ of its 4×4 DCT
//!   (DWT-DCT-SVD). The orthonormal DCT is a rotation, so σ₁ of DCT(B) equals σ₁ of B and
//!   changing it by δ changes B by δ·u₁v₁ᵀ in either domain: we compute in the LL domain, and
//!   the test `dct_domain_equals_ll_domain` checks the two agree.
//! * **Modulation.** Dithered quantisation index modulation: σ₁ is moved to the nearest point
//!   of the lattice `Δ·k + dᵦ` (bit 0) or `Δ·k + dᵦ + Δ/2` (bit 1), where the dither dᵦ is keyed
//!   per block. The luminance change is added equally to R, G and B (chroma untouched) where
//!   the pixel has room, and through the channels that still have room where some saturate, so
//!   white backgrounds and saturated colours carry the mark too; pixels that cannot move at all
//!   make the rest of the block move further. A block that reaches no lattice point is left
//!   alone (the code absorbs it).
//! * **Code.** payload (8 bytes) ‖ Reed-Solomon parity ([`ECC_LEN`] bytes) = [`CODE_BITS`]
//!   bits, XORed with a keyed whitening stream, each bit repeated over the frame's blocks in a
//!   keyed permutation (8 or 7 copies each at 256×256). Detection sums the soft values
//!   cos(2π(σ₁ − dᵦ)/Δ) of each bit's copies, each weighted by how flat its block is (blur and
//!   resampling move σ₁ of a textured block most), takes signs and decodes the Reed-Solomon
//!   word.
//! * **Decision and false matches.** A payload is reported only when the Reed-Solomon decoder
//!   succeeds, which it does for words within [`ECC_LEN`]/2 byte errors of a codeword. For an
//!   image that carries no mark under this key, the keyed dither and whitening make the
//!   recovered word uniform over the 2^(8·CODE_BYTES) words, so the probability of a false
//!   payload is the share of words inside a decoding sphere:
//!   Σ_{i≤5} C(18, i)·255^i / 256^10 ≈ 7.7·10⁻⁹ per detection attempt ([`FALSE_MATCH_BOUND`]
//!   is that sum, computed). A verifier that tries the frame's own size, the size its record
//!   claims and the canonical 256×256 (each at most once) makes at most three reads: ≤ 2.3·10⁻⁸.
//!   The payload's device tag and the log lookup that follows (`sigil-host verify`) cut it
//!   further.

#![cfg_attr(not(test), forbid(unsafe_code))]

mod code;
mod detect;
mod embed;
mod error;
mod key;
mod plane;

pub use code::{CODE_BITS, CODE_BYTES, ECC_LEN, PAYLOAD_LEN, false_match_bound};
pub use detect::{Detection, detect, detect_at};
pub use embed::{EmbedReport, embed, psnr};
pub use error::MarkError;
pub use key::MarkKey;

/// Version of the watermark scheme; a detector for v1 finds only v1 marks.
pub const MARK_VERSION: u16 = 1;

/// Smallest frame side that carries a mark (the composed frame is at least this large).
pub const MIN_SIDE: u32 = 256;

/// The canonical side of a Sigil frame: detection retries at this size when the frame's own
/// size finds nothing (a frame that was scaled down, or up, after release).
pub const CANONICAL_SIDE: u32 = 256;

/// Quantisation step Δ of σ₁ (in units of the orthonormal LL band; a flat 8×8 block of value
/// p has σ₁ = 8p). Chosen on the measurements in the crate README: JPEG q75 moves σ₁ of a flat
/// block by up to 4, the decision margin is Δ/4 = 10, and the mark's PSNR stays above 40 dB.
pub const STEP: f32 = 40.0;

/// Probability that an unmarked image yields a payload in one detection attempt (see the
/// crate docs), as computed by [`false_match_bound`].
pub const FALSE_MATCH_BOUND: f64 = 7.7e-9;
