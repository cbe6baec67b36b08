//! The evaluation's contact sheet: real and generated images side by side.

use std::path::Path;

use sigil_models::denoiser::{STYLE_GOOGLE, STYLE_TWITTER};

use crate::data::Dataset;
use crate::error::TrainError;

/// A PNG grid: per concept a column of four cells (real Twemoji, generated Twemoji, real Noto,
/// generated Noto), 12 concepts a row block, cells scaled ×2.
pub(crate) fn contact_sheet(
    path: &Path,
    data: &Dataset,
    picked: &[usize],
    generated: &[Vec<Vec<f32>>],
) -> Result<(), TrainError> {
    let side = data.side;
    let cell = side * 2 + 2;
    let cols = 12usize;
    let shown: Vec<usize> = (0..picked.len())
        .step_by((picked.len() / 48).max(1))
        .take(48)
        .collect();
    let blocks = shown.len().div_ceil(cols).max(1);
    let (w, h) = (cols * cell, blocks * 4 * cell);
    let mut canvas = vec![1.0f32; 3 * w * h];
    let mut put = |img: &[f32], cx: usize, cy: usize| {
        for c in 0..3 {
            for y in 0..side * 2 {
                for x in 0..side * 2 {
                    let v = img
                        .get(c * side * side + (y / 2) * side + x / 2)
                        .copied()
                        .unwrap_or(1.0);
                    if let Some(p) = canvas.get_mut(c * w * h + (cy + y) * w + cx + x) {
                        *p = v;
                    }
                }
            }
        }
    };
    for (k, &pi) in shown.iter().enumerate() {
        let Some(&concept) = picked.get(pi) else {
            continue;
        };
        let (cx, by) = ((k % cols) * cell, (k / cols) * 4 * cell);
        for (row, style) in [(0, STYLE_TWITTER), (2, STYLE_GOOGLE)] {
            if let Some(real) = data
                .samples
                .iter()
                .find(|s| s.concept == concept && s.style == style)
            {
                put(&real.pixels, cx, by + row * cell);
            }
            #[allow(clippy::cast_sign_loss, clippy::cast_possible_truncation)]
            if let Some(g) = generated.get(style as usize).and_then(|g| g.get(pi)) {
                put(g, cx, by + (row + 1) * cell);
            }
        }
    }
    let mut rgb = Vec::with_capacity(3 * w * h);
    for i in 0..w * h {
        for c in 0..3 {
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            rgb.push(
                ((canvas
                    .get(c * w * h + i)
                    .copied()
                    .unwrap_or(1.0)
                    .clamp(-1.0, 1.0)
                    + 1.0)
                    * 127.5)
                    .round() as u8,
            );
        }
    }
    let file = std::fs::File::create(path).map_err(|e| TrainError::io(path, e))?;
    let (w32, h32) = (u32::try_from(w).unwrap_or(0), u32::try_from(h).unwrap_or(0));
    let mut enc = png::Encoder::new(std::io::BufWriter::new(file), w32, h32);
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    let mut wr = enc
        .write_header()
        .map_err(|e| TrainError::data(path, e.to_string()))?;
    wr.write_image_data(&rgb)
        .map_err(|e| TrainError::data(path, e.to_string()))?;
    wr.finish()
        .map_err(|e| TrainError::data(path, e.to_string()))
}
