//! A small seeded generator (SplitMix64) for the initial noise of generation and, in training,
//! for batch order, augmentation and condition dropout. Not for secrets: it only has to be
//! reproducible from `(seed, step)` on every platform (it is plain integer arithmetic).

/// SplitMix64.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator for one training step: the same `(seed, stream, step)` gives the same numbers.
    pub fn for_step(seed: u64, stream: u64, step: u64) -> Self {
        let mut r = Rng(seed ^ stream.wrapping_mul(0xA076_1D64_78BD_642F));
        let _ = r.next_u64();
        Rng(r.next_u64() ^ step.wrapping_mul(0xE703_7ED1_A0B4_28DB))
    }

    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        #[allow(clippy::cast_possible_truncation)] // the result is < n
        let r = ((u128::from(self.next_u64()) * n as u128) >> 64) as usize;
        r
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f32 {
        #[allow(clippy::cast_precision_loss)] // 24 bits are exact in f32
        let r = (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32;
        r
    }

    /// Standard normal (Box–Muller).
    pub fn normal(&mut self) -> f32 {
        let u1 = self.unit().max(1e-7);
        let u2 = self.unit();
        (-2.0 * u1.ln()).sqrt() * (std::f32::consts::TAU * u2).cos()
    }
}

/// The initial noise of image `index` for `seed`: `n` standard normal values. The runtime and the
/// evaluation harness both draw it here, so a seed means the same noise everywhere.
pub fn noise(seed: u64, index: u64, n: usize) -> Vec<f32> {
    let mut r = Rng::for_step(seed, 0x5EED, index);
    (0..n).map(|_| r.normal()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_stream() {
        let a: Vec<u64> = (0..4).map(|_| Rng::for_step(7, 1, 3).next_u64()).collect();
        assert!(a.windows(2).all(|w| w[0] == w[1]));
        assert_ne!(
            Rng::for_step(7, 1, 3).next_u64(),
            Rng::for_step(7, 1, 4).next_u64()
        );
        assert_ne!(
            Rng::for_step(7, 1, 3).next_u64(),
            Rng::for_step(8, 1, 3).next_u64()
        );
    }

    #[test]
    fn ranges_hold() {
        let mut r = Rng::for_step(1, 2, 3);
        for _ in 0..1000 {
            assert!(r.below(5) < 5);
            let u = r.unit();
            assert!((0.0..1.0).contains(&u));
        }
    }
}
