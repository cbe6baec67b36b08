//! Fréchet distance between two sets of feature vectors (as in FID, here in the judge's feature
//! space): `|μ₁ − μ₂|² + tr(Σ₁ + Σ₂ − 2·(Σ₁^½ Σ₂ Σ₁^½)^½)`, with the matrix square roots taken
//! from symmetric eigendecompositions (negative eigenvalues from round-off are clamped to 0).

use nalgebra::{DMatrix, DVector, SymmetricEigen};

fn mean_cov(rows: &[Vec<f32>]) -> Option<(DVector<f64>, DMatrix<f64>)> {
    let d = rows.first()?.len();
    let n = rows.len();
    if n < 2 || d == 0 || rows.iter().any(|r| r.len() != d) {
        return None;
    }
    let m = DMatrix::from_fn(n, d, |i, j| f64::from(rows[i][j]));
    let mean = m.row_mean().transpose();
    let centred = DMatrix::from_fn(n, d, |i, j| m[(i, j)] - mean[j]);
    #[allow(clippy::cast_precision_loss)]
    let cov = centred.transpose() * &centred / (n as f64 - 1.0);
    Some((mean, cov))
}

fn sqrt_psd(m: &DMatrix<f64>) -> DMatrix<f64> {
    let sym = (m + m.transpose()) * 0.5;
    let eig = SymmetricEigen::new(sym);
    let vals = eig.eigenvalues.map(|v| v.max(0.0).sqrt());
    &eig.eigenvectors * DMatrix::from_diagonal(&vals) * eig.eigenvectors.transpose()
}

/// The Fréchet distance between the Gaussians fitted to `a` and `b` (None if either has fewer
/// than two rows or the widths differ).
pub fn frechet_distance(a: &[Vec<f32>], b: &[Vec<f32>]) -> Option<f64> {
    let (m1, s1) = mean_cov(a)?;
    let (m2, s2) = mean_cov(b)?;
    if m1.len() != m2.len() {
        return None;
    }
    let r1 = sqrt_psd(&s1);
    let inner = &r1 * &s2 * &r1;
    let covmean = sqrt_psd(&inner);
    let diff = m1 - m2;
    Some((diff.dot(&diff) + s1.trace() + s2.trace() - 2.0 * covmean.trace()).max(0.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    fn gaussian(n: usize, d: usize, shift: f32, scale: f32, seed: u64) -> Vec<Vec<f32>> {
        let mut r = Rng::for_step(seed, 0, 0);
        (0..n)
            .map(|_| (0..d).map(|_| shift + scale * r.normal()).collect())
            .collect()
    }

    #[test]
    fn same_distribution_is_near_zero_and_shifts_add_up() {
        let a = gaussian(4000, 3, 0.0, 1.0, 1);
        let b = gaussian(4000, 3, 0.0, 1.0, 2);
        assert!(frechet_distance(&a, &b).unwrap() < 0.05);
        // Shift every coordinate by 2: distance ≈ 3 · 2² = 12.
        let c = gaussian(4000, 3, 2.0, 1.0, 3);
        let fd = frechet_distance(&a, &c).unwrap();
        assert!((fd - 12.0).abs() < 0.5, "{fd}");
        // Scale by 2: per dimension (1 − 2)² = 1, total ≈ 3.
        let s = gaussian(4000, 3, 0.0, 2.0, 4);
        let fd = frechet_distance(&a, &s).unwrap();
        assert!((fd - 3.0).abs() < 0.3, "{fd}");
    }

    #[test]
    fn degenerate_input_is_none() {
        assert!(frechet_distance(&[vec![1.0]], &[vec![1.0], vec![2.0]]).is_none());
        assert!(
            frechet_distance(&[vec![1.0, 2.0], vec![1.0, 3.0]], &[vec![1.0], vec![2.0]]).is_none()
        );
    }
}
