//! Embedding: move each block's σ₁ onto its bit's lattice, within the pixels' headroom.

use crate::code::{self, PAYLOAD_LEN};
use crate::error::MarkError;
use crate::key::MarkKey;
use crate::plane::{self, Top};

/// What embedding did to a frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EmbedReport {
    /// Blocks that carry a code bit.
    pub blocks: usize,
    /// Blocks left unmarked because no lattice point fitted inside 0..=255 (ECC covers them).
    pub skipped: usize,
    /// PSNR of the marked frame against the input, in dB (RGB, peak 255).
    pub psnr_db: f64,
}

/// Embed `payload` into the RGB frame (row-major, 3 bytes a pixel) in place.
pub fn embed(
    rgb: &mut [u8],
    width: u32,
    height: u32,
    payload: &[u8; PAYLOAD_LEN],
    key: &MarkKey,
) -> Result<EmbedReport, MarkError> {
    let (bw, bh) = plane::grid(rgb, width, height)?;
    let blocks = bw * bh;
    let w = width as usize;
    let bits = code::encode(payload, key);
    let (bit_of, dither) = code::layout(blocks, key);
    let original = rgb.to_vec();
    let step = crate::STEP;
    let mut skipped = 0;
    for by in 0..bh {
        for bx in 0..bw {
            let b = by * bw + bx;
            let bit = bit_of
                .get(b)
                .and_then(|i| bits.get(usize::from(*i)))
                .copied()
                .unwrap_or(false);
            let offset =
                dither.get(b).copied().unwrap_or(0.0) * step + if bit { step / 2.0 } else { 0.0 };
            let mut block = Block::read(rgb, w, bx, by);
            if block.settle(offset, step) {
                block.write(rgb, w, bx, by);
            } else {
                skipped += 1;
            }
        }
    }
    Ok(EmbedReport {
        blocks,
        skipped,
        psnr_db: psnr(&original, rgb),
    })
}

/// Rounds per lattice point: a pixel that saturates stops moving, so the rest of the block must
/// move further; each round pushes the remaining distance along the current u₁v₁ᵀ.
const ROUNDS: usize = 10;

/// One 8×8-pixel block being marked, in f32 RGB.
struct Block([[f32; 3]; 64]);

impl Block {
    fn read(rgb: &[u8], w: usize, bx: usize, by: usize) -> Self {
        let mut px = [[0f32; 3]; 64];
        for (i, p) in px.iter_mut().enumerate() {
            let at = ((by * 8 + i / 8) * w + bx * 8 + i % 8) * 3;
            if let Some(&[r, g, b]) = rgb.get(at..at + 3) {
                *p = [f32::from(r), f32::from(g), f32::from(b)];
            }
        }
        Self(px)
    }

    fn write(&self, rgb: &mut [u8], w: usize, bx: usize, by: usize) {
        for (i, p) in self.0.iter().enumerate() {
            let at = ((by * 8 + i / 8) * w + bx * 8 + i % 8) * 3;
            if let Some(out) = rgb.get_mut(at..at + 3) {
                for (o, c) in out.iter_mut().zip(p) {
                    *o = c.round().clamp(0.0, 255.0) as u8;
                }
            }
        }
    }

    fn top(&self) -> Top {
        plane::top(nalgebra::Matrix4::from_fn(|i, j| {
            let mut s = 0.0;
            for (dy, dx) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
                let [r, g, b] = self
                    .0
                    .get((2 * i + dy) * 8 + 2 * j + dx)
                    .copied()
                    .unwrap_or_default();
                s += LUMA[0] * r + LUMA[1] * g + LUMA[2] * b;
            }
            s / 2.0
        }))
    }

    /// Move σ₁ onto the lattice `offset + kΔ`: of the nearest lattice point below σ₁ and the
    /// nearest above (then the next two out, if neither is reachable), take the one that
    /// changes the pixels least. A point must be reachable inside 0..=255 with no channel moved
    /// more than [`MAX_CHANNEL_SHIFT`]. σ₁ (the largest singular value) moves by at most the
    /// change's spectral norm whatever the gap to σ₂ (Weyl), so no gap is required. When no
    /// point is reachable the block is left as it was and `false` returned.
    fn settle(&mut self, offset: f32, step: f32) -> bool {
        let start = self.top();
        let below = ((start.sigma - offset) / step).floor() * step + offset;
        // Most blocks: the nearest lattice point is reachable by the same shift of R, G and B
        // everywhere, which moves σ₁ by exactly δ (B + δ·u₁v₁ᵀ keeps u₁, v₁ and the other
        // singular values) and is the cheapest change: one SVD, no search.
        let nearest = if start.sigma - below <= below + step - start.sigma {
            below
        } else {
            below + step
        };
        if nearest >= start.second.max(0.0) && self.shift_exactly(&start, nearest - start.sigma) {
            return true;
        }
        let original = self.0;
        for ring in [[below, below + step], [below - step, below + 2.0 * step]] {
            let mut best: Option<(f32, [[f32; 3]; 64])> = None;
            for q in ring.into_iter().filter(|q| *q >= 0.0) {
                // A block none of whose pixels can move that way (all white, to brighten).
                if !self.can_move(q > start.sigma) {
                    continue;
                }
                if self.push_to(q, step, &original, &start) {
                    let cost = squared_change(&self.0, &original);
                    if best.is_none_or(|(c, _)| cost < c) {
                        best = Some((cost, self.0));
                    }
                }
                self.0 = original;
            }
            if let Some((_, px)) = best {
                self.0 = px;
                return true;
            }
        }
        false
    }

    /// Add δ·u₁v₁ᵀ as an equal shift of R, G and B, if every pixel has the room (0..=255 and
    /// [`MAX_CHANNEL_SHIFT`]); otherwise change nothing and return `false`.
    fn shift_exactly(&mut self, top: &Top, delta: f32) -> bool {
        let d = |i: usize| delta * top.u[i / 16] * top.v[(i % 8) / 2] / 2.0;
        let fits = self.0.iter().enumerate().all(|(i, p)| {
            let d = d(i);
            let (lo, hi) = p
                .iter()
                .fold((f32::MAX, f32::MIN), |(lo, hi), c| (lo.min(*c), hi.max(*c)));
            d.abs() <= MAX_CHANNEL_SHIFT && hi + d <= 255.0 && lo + d >= 0.0
        });
        if fits {
            for (i, p) in self.0.iter_mut().enumerate() {
                let d = d(i);
                for c in p.iter_mut() {
                    *c += d;
                }
            }
        }
        fits
    }

    /// Whether any pixel can raise (`up`) or lower its luma at all.
    fn can_move(&self, up: bool) -> bool {
        self.0
            .iter()
            .any(|p| p.iter().any(|c| if up { *c < 255.0 } else { *c > 0.0 }))
    }

    fn push_to(&mut self, q: f32, step: f32, original: &[[f32; 3]; 64], start: &Top) -> bool {
        for round in 0..ROUNDS {
            // The block is unchanged in the first round: its SVD is `start`.
            let top = if round == 0 {
                start.clone()
            } else {
                self.top()
            };
            let rest = q - top.sigma;
            if rest.abs() <= step / 16.0 {
                return true;
            }
            let mut moved = false;
            for (i, (p, o)) in self.0.iter_mut().zip(original).enumerate() {
                let want = rest * top.u[i / 16] * top.v[(i % 8) / 2] / 2.0;
                moved |= shift_luma(p, o, want) != 0.0;
            }
            if !moved {
                return false;
            }
        }
        (q - self.top().sigma).abs() <= step / 16.0
    }
}

fn squared_change(a: &[[f32; 3]; 64], b: &[[f32; 3]; 64]) -> f32 {
    a.iter()
        .zip(b)
        .flat_map(|(x, y)| x.iter().zip(y).map(|(p, q)| (p - q) * (p - q)))
        .sum()
}

/// Most a channel may move from its original value: keeps saturated colours (a yellow whose
/// luma can only rise through blue) from being recoloured to carry a bit.
const MAX_CHANNEL_SHIFT: f32 = 12.0;

/// BT.601 luma weights.
const LUMA: [f32; 3] = [0.299, 0.587, 0.114];

/// Change a pixel's luma by `want`, as the same shift of R, G and B where they all have room
/// (chroma unchanged), and through the channels that still have room where some saturate (a
/// pure red at R = 255 gets its luma raised through G and B). Returns the change achieved.
fn shift_luma(p: &mut [f32; 3], original: &[f32; 3], want: f32) -> f32 {
    let mut rest = want;
    for _ in 0..3 {
        if rest.abs() < 1e-4 {
            break;
        }
        let room = |c: f32, o: f32| {
            if rest > 0.0 {
                (255.0 - c).min(o + MAX_CHANNEL_SHIFT - c)
            } else {
                c.min(c - (o - MAX_CHANNEL_SHIFT))
            }
        };
        let weight: f32 = p
            .iter()
            .zip(original)
            .zip(LUMA)
            .filter(|((c, o), _)| room(**c, **o) > 1e-4)
            .map(|(_, k)| k)
            .sum();
        if weight <= 0.0 {
            break;
        }
        let shift = rest / weight;
        let mut done = 0.0;
        for ((c, o), k) in p.iter_mut().zip(original).zip(LUMA) {
            let r = room(*c, *o);
            if r > 1e-4 {
                let s = shift.clamp(-r, r);
                *c += s;
                done += k * s;
            }
        }
        rest -= done;
    }
    want - rest
}

/// PSNR in dB between two equally long byte buffers (peak 255); infinite when equal.
pub fn psnr(a: &[u8], b: &[u8]) -> f64 {
    let n = a.len().min(b.len()).max(1) as f64;
    let se: f64 = a
        .iter()
        .zip(b)
        .map(|(x, y)| (f64::from(*x) - f64::from(*y)).powi(2))
        .sum();
    if se == 0.0 {
        f64::INFINITY
    } else {
        10.0 * (255.0f64 * 255.0 / (se / n)).log10()
    }
}
