//! Floating-point operations of one image, counted from the modules' own weight shapes:
//! `2 × multiply-adds` of every convolution and matrix product (linear layers, attention).
//! Norms, activations, additions and the sampler's arithmetic are left out (they are a few
//! percent and memory-bound). The walks below mirror the `forward`s they count; the tests pin
//! them against hand-computed totals.

use crate::conv::Conv;
use burn::nn::Linear;

use crate::autoencoder::AeDecoder;
use crate::denoiser::{Denoiser, ResBlock};
use crate::minilm::MiniLmConfig;

/// A convolution producing an `out_side × out_side` map.
pub fn conv(c: &Conv, out_side: usize) -> u64 {
    2 * (c.weights() * out_side * out_side) as u64
}

/// A linear layer applied to `rows` rows (burn stores the weight `[in, out]`).
pub fn linear(l: &Linear, rows: usize) -> u64 {
    let [i, o] = l.weight.dims();
    2 * (i * o * rows) as u64
}

fn res_block(b: &ResBlock, side: usize) -> u64 {
    conv(&b.conv1, side)
        + conv(&b.conv2, side)
        + b.skip.as_ref().map_or(0, |s| conv(s, side))
        + linear(&b.cond, 1)
}

/// One denoiser evaluation on one `side × side` latent.
pub fn denoiser(d: &Denoiser, side: usize) -> u64 {
    let mut f = linear(&d.time_in, 1) + linear(&d.time_out, 1) + linear(&d.text, 1);
    f += d.step_in.as_ref().map_or(0, |l| linear(l, 1));
    if let Some(p) = &d.prior {
        f += linear(&p.text, 1)
            + p.hidden.iter().map(|l| linear(l, 1)).sum::<u64>()
            + linear(&p.out, 1);
    }
    let mut s = side;
    f += conv(&d.stem, s);
    let per_level = d.blocks.max(1);
    let mut downs = d.downsample.iter();
    for (i, block) in d.down.iter().enumerate() {
        f += res_block(block, s);
        if (i + 1).is_multiple_of(per_level)
            && let Some(c) = downs.next()
        {
            s /= 2;
            f += conv(c, s);
        }
    }
    f += d.cond_map.as_ref().map_or(0, |l| linear(l, 1));
    f += d.mid.iter().map(|b| res_block(b, s)).sum::<u64>();
    let mut ups = d.upsample.iter();
    for (i, block) in d.up.iter().enumerate() {
        f += res_block(block, s);
        if (i + 1).is_multiple_of(per_level + 1)
            && let Some(c) = ups.next()
        {
            s *= 2;
            f += conv(c, s);
        }
    }
    f + conv(&d.out, s)
}

/// The decoder on one `latent_side × latent_side` latent.
pub fn decoder(d: &AeDecoder, latent_side: usize) -> u64 {
    let mut s = latent_side;
    let mut f = conv(&d.stem, s);
    for (block, up) in d.blocks.iter().zip(&d.up) {
        f += block.conv.iter().map(|c| conv(c, s)).sum::<u64>();
        s *= 2;
        f += conv(up, s);
    }
    f += d.last.conv.iter().map(|c| conv(c, s)).sum::<u64>();
    f + conv(&d.head, s)
}

/// The text encoder on one prompt of `tokens` tokens.
pub fn text_encoder(cfg: &MiniLmConfig, tokens: usize) -> u64 {
    let (h, m, t) = (cfg.hidden as u64, cfg.intermediate as u64, tokens as u64);
    // Q, K, V, output projection; the two feed-forward layers; scores and weighted sum.
    let per_layer = 2 * t * (4 * h * h + 2 * h * m) + 2 * 2 * t * t * h;
    per_layer * cfg.layers as u64
}
