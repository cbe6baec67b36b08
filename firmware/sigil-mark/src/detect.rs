//! Detection: soft-read every block, combine each bit's copies, decode the code word.

use std::f32::consts::TAU;

use image::{RgbImage, imageops};

use crate::code::{self, CODE_BITS, PAYLOAD_LEN};
use crate::error::MarkError;
use crate::key::MarkKey;
use crate::plane;

/// What a detector read from a frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Detection {
    /// The payload, when the code word decoded (see the crate docs for the false-match bound).
    pub payload: Option<[u8; PAYLOAD_LEN]>,
    /// Byte errors the Reed-Solomon decoder corrected, when it decoded.
    pub corrected: Option<usize>,
    /// Mean agreement of each bit's copies (weighted by their reliability), 0 (noise) to 1
    /// (every copy at its lattice point).
    pub confidence: f32,
    /// The size the frame was read at.
    pub width: u32,
    /// The size the frame was read at.
    pub height: u32,
}

/// Read the mark at the frame's own size.
pub fn detect(rgb: &[u8], width: u32, height: u32, key: &MarkKey) -> Result<Detection, MarkError> {
    let (bw, bh) = plane::grid(rgb, width, height)?;
    let blocks = bw * bh;
    let (bit_of, dither) = code::layout(blocks, key);
    let step = crate::STEP;
    let mut sums = [0f32; CODE_BITS];
    let mut weights = [0f32; CODE_BITS];
    for by in 0..bh {
        for bx in 0..bw {
            let b = by * bw + bx;
            let block = plane::ll_block(rgb, width as usize, bx, by);
            let sigma = plane::top(block).sigma;
            let d = dither.get(b).copied().unwrap_or(0.0) * step;
            let weight = reliability(&block);
            let soft = (TAU * (sigma - d) / step).cos() * weight;
            if let Some(i) = bit_of.get(b).map(|i| usize::from(*i))
                && let (Some(s), Some(w)) = (sums.get_mut(i), weights.get_mut(i))
            {
                *s += soft;
                *w += weight;
            }
        }
    }
    let mut bits = [false; CODE_BITS];
    let mut agreement = 0.0;
    for ((bit, s), w) in bits.iter_mut().zip(sums).zip(weights) {
        *bit = s < 0.0;
        agreement += if w > 0.0 { s.abs() / w } else { 0.0 };
    }
    let decoded = code::decode(&bits, key);
    Ok(Detection {
        payload: decoded.as_ref().map(|d| d.payload),
        corrected: decoded.map(|d| d.corrected),
        confidence: agreement / CODE_BITS as f32,
        width,
        height,
    })
}

/// How far a block is from flat (Frobenius norm of the LL block minus its mean), above which
/// its reading counts for less: resampling and blur move σ₁ of a textured block by the
/// energy they take from its edges, while a smooth block's σ₁ barely moves.
const TEXTURE_SCALE: f32 = 24.0;

/// Weight of a block's soft value, 1 for a flat block and falling with its texture.
fn reliability(block: &nalgebra::Matrix4<f32>) -> f32 {
    let mean = block.sum() / 16.0;
    let t = block.map(|x| x - mean).norm() / TEXTURE_SCALE;
    1.0 / (1.0 + t * t)
}

/// Read the mark after resampling the frame to `width` × `height` (Catmull-Rom): for frames
/// scaled after release, read at the size they were marked at.
pub fn detect_at(
    rgb: &[u8],
    width: u32,
    height: u32,
    to_width: u32,
    to_height: u32,
    key: &MarkKey,
) -> Result<Detection, MarkError> {
    if (width, height) == (to_width, to_height) {
        return detect(rgb, width, height, key);
    }
    let expected = width as usize * height as usize * 3;
    let img = RgbImage::from_raw(width, height, rgb.to_vec()).ok_or(MarkError::BadBuffer {
        width,
        height,
        expected,
        found: rgb.len(),
    })?;
    let scaled = imageops::resize(&img, to_width, to_height, imageops::FilterType::CatmullRom);
    detect(scaled.as_raw(), to_width, to_height, key)
}
