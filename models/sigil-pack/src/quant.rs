//! Symmetric int8 quantisation with one scale per output channel.
//!
//! For a channel `c` along `axis`, `scale[c] = max |w| / 127` and `q = round(w / scale)` in
//! `[-127, 127]` (−128 is never produced, so negation stays exact). A channel of zeros gets
//! scale 0 and dequantises to zeros. The worst absolute error of a weight is `scale / 2`.

use crate::error::PackError;

/// Quantised weights and their per-channel scales.
#[derive(Debug, Clone, PartialEq)]
pub struct Quantized {
    /// int8 values, same layout as the input.
    pub values: Vec<i8>,
    /// One scale per index of `axis`.
    pub scales: Vec<f32>,
}

/// Stride arithmetic of a row-major tensor around one axis: `outer × channels × inner`.
fn split(shape: &[usize], axis: usize) -> Option<(usize, usize, usize)> {
    let channels = *shape.get(axis)?;
    let outer = shape.get(..axis)?.iter().product();
    let inner = shape.get(axis + 1..)?.iter().product();
    Some((outer, channels, inner))
}

/// Quantise `data` (row-major, `shape`) with one scale per index of `axis`.
pub fn quantize(
    name: &str,
    data: &[f32],
    shape: &[usize],
    axis: usize,
) -> Result<Quantized, PackError> {
    let (outer, channels, inner) = split(shape, axis).ok_or_else(|| {
        PackError::invalid(name, format!("axis {axis} is outside shape {shape:?}"))
    })?;
    if outer * channels * inner != data.len() {
        return Err(PackError::invalid(
            name,
            format!("{} values for shape {shape:?}", data.len()),
        ));
    }
    if let Some(bad) = data.iter().find(|v| !v.is_finite()) {
        return Err(PackError::invalid(
            name,
            format!("holds a non-finite weight ({bad}); the model is broken, retrain or repair it"),
        ));
    }
    let mut max = vec![0f32; channels];
    for (i, v) in data.iter().enumerate() {
        let c = (i / inner) % channels;
        if let Some(m) = max.get_mut(c) {
            *m = m.max(v.abs());
        }
    }
    let scales: Vec<f32> = max.iter().map(|m| m / 127.0).collect();
    let values = data
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let s = scales.get((i / inner) % channels).copied().unwrap_or(0.0);
            if s > 0.0 {
                // Clamped to ±127, so the cast cannot wrap.
                #[allow(clippy::cast_possible_truncation)]
                let q = (v / s).round().clamp(-127.0, 127.0) as i8;
                q
            } else {
                0
            }
        })
        .collect();
    Ok(Quantized { values, scales })
}

/// Back to f32: `w = q · scale[channel]`.
pub fn dequantize(
    name: &str,
    values: &[i8],
    scales: &[f32],
    shape: &[usize],
    axis: usize,
) -> Result<Vec<f32>, PackError> {
    let (outer, channels, inner) = split(shape, axis).ok_or_else(|| {
        PackError::invalid(name, format!("axis {axis} is outside shape {shape:?}"))
    })?;
    if outer * channels * inner != values.len() || scales.len() != channels {
        return Err(PackError::invalid(
            name,
            format!(
                "{} values and {} scales do not fit shape {shape:?} on axis {axis}",
                values.len(),
                scales.len()
            ),
        ));
    }
    Ok(values
        .iter()
        .enumerate()
        .map(|(i, &q)| f32::from(q) * scales.get((i / inner) % channels).copied().unwrap_or(0.0))
        .collect())
}
