//! The watermark key: it fixes the block permutation, the whitening stream and the dither.
//! A detector needs the same key; frames marked under another key read as unmarked.

use sha2::{Digest, Sha256};

/// A 32-byte watermark key.
#[derive(Clone, PartialEq, Eq)]
pub struct MarkKey([u8; 32]);

impl core::fmt::Debug for MarkKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // Only a fingerprint: the key itself is what makes the mark hard to find and strip.
        let tag = Sha256::digest(self.0);
        write!(
            f,
            "MarkKey({:02x}{:02x}{:02x}{:02x}…)",
            tag[0], tag[1], tag[2], tag[3]
        )
    }
}

impl MarkKey {
    /// A key from raw bytes.
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// A key derived from a label (a maker's product line, say):
    /// SHA-256("sigil/mark/v1\0" ‖ label).
    pub fn from_label(label: &[u8]) -> Self {
        let mut h = Sha256::new();
        h.update(b"sigil/mark/v1\0");
        h.update(label);
        Self(h.finalize().into())
    }

    /// The key every Sigil device and verifier uses unless a maker provisions its own.
    pub fn sigil_default() -> Self {
        Self::from_label(b"sigil default")
    }

    /// A keyed stream for one purpose (`domain`).
    pub(crate) fn stream(&self, domain: &[u8]) -> KeyStream {
        let mut h = Sha256::new();
        h.update(self.0);
        h.update(domain);
        KeyStream {
            seed: h.finalize().into(),
            counter: 0,
            buf: [0; 32],
            used: 32,
        }
    }
}

/// SHA-256 in counter mode over a per-purpose seed: a deterministic stream of bytes that looks
/// uniform to anything that does not know the key. Used for layout and dither, not secrecy.
pub(crate) struct KeyStream {
    seed: [u8; 32],
    counter: u64,
    buf: [u8; 32],
    used: usize,
}

impl KeyStream {
    fn byte(&mut self) -> u8 {
        if self.used == self.buf.len() {
            let mut h = Sha256::new();
            h.update(self.seed);
            h.update(self.counter.to_le_bytes());
            self.buf = h.finalize().into();
            self.counter += 1;
            self.used = 0;
        }
        let b = self.buf.get(self.used).copied().unwrap_or(0);
        self.used += 1;
        b
    }

    pub(crate) fn next_u32(&mut self) -> u32 {
        u32::from_le_bytes([self.byte(), self.byte(), self.byte(), self.byte()])
    }

    /// Uniform in [0, 1).
    pub(crate) fn next_unit(&mut self) -> f32 {
        (self.next_u32() >> 8) as f32 / (1u32 << 24) as f32
    }

    /// Uniform in 0..n (n > 0), by rejection so there is no modulo bias.
    pub(crate) fn below(&mut self, n: u32) -> u32 {
        let zone = u32::MAX - (u32::MAX % n);
        loop {
            let x = self.next_u32();
            if x < zone {
                return x % n;
            }
        }
    }
}
