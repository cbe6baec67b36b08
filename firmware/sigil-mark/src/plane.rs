//! The carrier: luminance, its Haar LL band in 4×4 blocks, and σ₁ of each block.

use nalgebra::{Matrix4, Vector4};

use crate::error::MarkError;

/// BT.601 luma of one RGB pixel.
pub(crate) fn luma(px: &[u8]) -> f32 {
    match px {
        [r, g, b, ..] => 0.299 * f32::from(*r) + 0.587 * f32::from(*g) + 0.114 * f32::from(*b),
        _ => 0.0,
    }
}

/// Check the buffer and the size (both sides at least `MIN_SIDE`, so every code bit has at
/// least `MIN_COPIES` blocks); the number of 8×8-pixel blocks across and down.
pub(crate) fn grid(rgb: &[u8], width: u32, height: u32) -> Result<(usize, usize), MarkError> {
    let expected = width as usize * height as usize * 3;
    if rgb.len() != expected {
        return Err(MarkError::BadBuffer {
            width,
            height,
            expected,
            found: rgb.len(),
        });
    }
    let blocks = (width as usize / 8) * (height as usize / 8);
    if width < crate::MIN_SIDE
        || height < crate::MIN_SIDE
        || blocks < crate::code::CODE_BITS * crate::code::MIN_COPIES
    {
        return Err(MarkError::TooSmall {
            width,
            height,
            min: crate::MIN_SIDE,
        });
    }
    Ok((width as usize / 8, height as usize / 8))
}

/// The 4×4 LL block of block (bx, by): LL = (a + b + c + d) / 2 over each 2×2 pixel group.
pub(crate) fn ll_block(rgb: &[u8], width: usize, bx: usize, by: usize) -> Matrix4<f32> {
    Matrix4::from_fn(|i, j| {
        let (y0, x0) = (by * 8 + 2 * i, bx * 8 + 2 * j);
        let mut s = 0.0;
        for (dy, dx) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
            let at = ((y0 + dy) * width + x0 + dx) * 3;
            s += rgb.get(at..at + 3).map_or(0.0, luma);
        }
        s / 2.0
    })
}

/// The largest singular value of a block with its singular vectors, and the second largest.
#[derive(Clone)]
pub(crate) struct Top {
    pub sigma: f32,
    pub second: f32,
    pub u: Vector4<f32>,
    pub v: Vector4<f32>,
}

pub(crate) fn top(block: Matrix4<f32>) -> Top {
    let svd = block.svd(true, true);
    let s = svd.singular_values;
    let (mut i1, mut best) = (0, f32::MIN);
    for (i, v) in s.iter().enumerate() {
        if *v > best {
            (i1, best) = (i, *v);
        }
    }
    let second = s
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != i1)
        .map(|(_, v)| *v)
        .fold(0.0, f32::max);
    let u = svd.u.map(|u| u.column(i1).into_owned()).unwrap_or_default();
    let v = svd
        .v_t
        .map(|vt| vt.row(i1).transpose().into_owned())
        .unwrap_or_default();
    Top {
        sigma: best.max(0.0),
        second,
        u,
        v,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    /// Orthonormal 4-point DCT-II matrix.
    fn dct4() -> Matrix4<f32> {
        Matrix4::from_fn(|k, n| {
            let a = if k == 0 { 0.5 } else { (0.5f32).sqrt() };
            a * (std::f32::consts::PI * (2 * n + 1) as f32 * k as f32 / 8.0).cos()
        })
    }

    /// The scheme is specified as DWT-DCT-SVD; we compute in the LL domain. Since the DCT is a
    /// rotation, σ₁ is the same in both domains and moving it by δ gives the same block.
    #[test]
    fn dct_domain_equals_ll_domain() {
        let c = dct4();
        let b = Matrix4::from_fn(|i, j| ((i * 7 + j * 13) % 11) as f32 * 9.5 + 30.0);
        let delta = 17.0;
        // DCT domain: D = C B Cᵀ, σ₁ += δ, back with Cᵀ D' C.
        let d = c * b * c.transpose();
        let td = top(d);
        let d2 = d + td.u * td.v.transpose() * delta;
        let via_dct = c.transpose() * d2 * c;
        // LL domain.
        let tb = top(b);
        let via_ll = b + tb.u * tb.v.transpose() * delta;
        assert!(
            (td.sigma - tb.sigma).abs() < 1e-3,
            "{} vs {}",
            td.sigma,
            tb.sigma
        );
        assert!((via_dct - via_ll).abs().max() < 1e-3);
        assert!((top(via_ll).sigma - (tb.sigma + delta)).abs() < 1e-2);
    }

    #[test]
    fn flat_block_sigma_is_eight_times_the_pixel() {
        let w = 8;
        let rgb = vec![100u8; w * 8 * 3];
        let t = top(ll_block(&rgb, w, 0, 0));
        assert!((t.sigma - 800.0).abs() < 0.1, "{}", t.sigma);
    }
}
