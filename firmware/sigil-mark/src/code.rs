//! The payload's channel code: Reed-Solomon over GF(256), keyed whitening, and the keyed
//! layout that spreads each code bit over several blocks.

use reed_solomon::{Decoder, Encoder};

use crate::key::MarkKey;

/// Payload bytes: (device tag, sequence number), see `sigil_provenance::watermark_payload`.
pub const PAYLOAD_LEN: usize = 8;
/// Reed-Solomon parity bytes: corrects up to `ECC_LEN / 2` byte errors.
pub const ECC_LEN: usize = 10;
/// Bytes of one code word.
pub const CODE_BYTES: usize = PAYLOAD_LEN + ECC_LEN;
/// Bits of one code word.
pub const CODE_BITS: usize = CODE_BYTES * 8;

/// Fewest copies of each code bit a frame must hold.
pub(crate) const MIN_COPIES: usize = 4;

/// The code word of a payload, as bits (MSB first), whitened with the key's stream.
pub(crate) fn encode(payload: &[u8; PAYLOAD_LEN], key: &MarkKey) -> [bool; CODE_BITS] {
    let word = Encoder::new(ECC_LEN).encode(payload);
    let white = whitening(key);
    let mut bits = [false; CODE_BITS];
    for (i, (bit, w)) in bits.iter_mut().zip(white).enumerate() {
        let byte = word.get(i / 8).copied().unwrap_or(0);
        *bit = ((byte >> (7 - i % 8)) & 1 == 1) ^ w;
    }
    bits
}

/// A decoded word: the payload and how many byte errors were corrected.
pub(crate) struct Decoded {
    pub payload: [u8; PAYLOAD_LEN],
    pub corrected: usize,
}

/// Undo the whitening of hard decisions and decode the Reed-Solomon word. `None` when the word
/// is farther than `ECC_LEN / 2` byte errors from every code word.
pub(crate) fn decode(bits: &[bool; CODE_BITS], key: &MarkKey) -> Option<Decoded> {
    let white = whitening(key);
    let mut word = [0u8; CODE_BYTES];
    for (i, (bit, w)) in bits.iter().zip(white).enumerate() {
        if *bit ^ w
            && let Some(b) = word.get_mut(i / 8)
        {
            *b |= 1 << (7 - i % 8);
        }
    }
    let (fixed, corrected) = Decoder::new(ECC_LEN).correct_err_count(&word, None).ok()?;
    if corrected > ECC_LEN / 2 {
        return None;
    }
    let mut payload = [0u8; PAYLOAD_LEN];
    payload.copy_from_slice(fixed.data().get(..PAYLOAD_LEN)?);
    // The decoder can "correct" to a word whose parity it never rechecks; insist on a code word.
    let again = Encoder::new(ECC_LEN).encode(&payload);
    if again.ecc() != fixed.ecc() {
        return None;
    }
    Some(Decoded { payload, corrected })
}

fn whitening(key: &MarkKey) -> [bool; CODE_BITS] {
    let mut s = key.stream(b"whiten");
    let mut out = [false; CODE_BITS];
    for b in &mut out {
        *b = s.next_u32() & 1 == 1;
    }
    out
}

/// Which code bit each block carries, and each block's dither in [0, 1) (times Δ): a keyed
/// permutation of `0, 1, …, CODE_BITS-1, 0, 1, …` over `blocks` blocks.
pub(crate) fn layout(blocks: usize, key: &MarkKey) -> (Vec<u16>, Vec<f32>) {
    let mut bit_of: Vec<u16> = (0..blocks)
        .map(|b| u16::try_from(b % CODE_BITS).unwrap_or(0))
        .collect();
    let mut s = key.stream(b"layout");
    for i in (1..bit_of.len()).rev() {
        let j = s.below(u32::try_from(i + 1).unwrap_or(u32::MAX)) as usize;
        bit_of.swap(i, j);
    }
    let mut d = key.stream(b"dither");
    let dither = (0..blocks).map(|_| d.next_unit()).collect();
    (bit_of, dither)
}

/// 256^PAYLOAD_LEN code words, each with a decoding sphere of Σ_{i ≤ ECC_LEN/2}
/// C(CODE_BYTES, i)·255^i words, out of 256^CODE_BYTES: the share of all words the decoder
/// accepts, Σ C(CODE_BYTES, i)·255^i / 256^ECC_LEN, i.e. the chance that a uniformly random
/// word yields a payload.
pub fn false_match_bound() -> f64 {
    let n = CODE_BYTES as f64;
    let mut total = 0.0;
    let mut binom = 1.0;
    for i in 0..=ECC_LEN / 2 {
        if i > 0 {
            binom *= (n - (i as f64 - 1.0)) / i as f64;
        }
        total += binom * 255f64.powi(i as i32);
    }
    total / 256f64.powi(ECC_LEN as i32)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    #[test]
    fn round_trip_and_correction_limit() {
        let key = MarkKey::sigil_default();
        let payload = *b"\x12\x34\x56\x78\x00\x00\x01\x2c";
        let bits = encode(&payload, &key);
        let d = decode(&bits, &key).unwrap();
        assert_eq!((d.payload, d.corrected), (payload, 0));
        // Up to ECC_LEN/2 damaged bytes are corrected ...
        let mut damaged = bits;
        for byte in 0..ECC_LEN / 2 {
            damaged[byte * 8 + 3] ^= true;
        }
        let d = decode(&damaged, &key).unwrap();
        assert_eq!((d.payload, d.corrected), (payload, ECC_LEN / 2));
        // ... one more is not silently "corrected" into the same payload.
        damaged[(ECC_LEN / 2) * 8 + 1] ^= true;
        assert!(decode(&damaged, &key).is_none_or(|d| d.payload != payload));
    }

    #[test]
    fn other_key_reads_nothing() {
        let bits = encode(&[9; PAYLOAD_LEN], &MarkKey::from_label(b"a"));
        assert!(decode(&bits, &MarkKey::from_label(b"b")).is_none());
    }

    #[test]
    fn layout_is_a_balanced_permutation() {
        let (bits, dither) = layout(1024, &MarkKey::sigil_default());
        let mut counts = [0usize; CODE_BITS];
        for b in &bits {
            counts[*b as usize] += 1;
        }
        assert!(counts.iter().all(|c| (7..=8).contains(c)), "{counts:?}");
        assert!(dither.iter().all(|d| (0.0..1.0).contains(d)));
        assert_ne!(bits, layout(1024, &MarkKey::from_label(b"x")).0);
    }

    #[test]
    fn false_match_bound_matches_the_docs() {
        let p = false_match_bound();
        assert!((p - crate::FALSE_MATCH_BOUND).abs() / p < 0.05, "{p:e}");
    }

    proptest::proptest! {
        /// Random words never panic the decoder, and the decoder accepts them about as
        /// rarely as the bound says (none in a proptest run).
        #[test]
        fn random_words_are_refused(raw in proptest::collection::vec(proptest::bool::ANY, CODE_BITS)) {
            let mut bits = [false; CODE_BITS];
            bits.copy_from_slice(&raw);
            proptest::prop_assert!(decode(&bits, &MarkKey::sigil_default()).is_none());
        }
    }
}
