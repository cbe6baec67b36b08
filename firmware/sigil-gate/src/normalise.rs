//! The normaliser (DESIGN §3): folds a prompt into units, one per Latin letter or separator,
//! through NFKC-equivalent compatibility folding, removal of default-ignorables, zero-width,
//! tag, bidi and combining characters, the UTS #39 confusable skeleton and a Cyrillic/Greek →
//! Latin map (all precomputed per code point at build time), then leetspeak (a unit is a *set*
//! of letters, so `1` stands for both `i` and `l`). Separators, dots and repeated letters are
//! dealt with by the matcher, which sees the units.
//!
//! The same pass produces the *normalised text* whose SHA-256 is the prompt hash in records:
//! canonical lower-case ASCII for folded characters, other characters as they are, runs of white
//! space collapsed to one space, trimmed. It is idempotent (a property test checks).

use heapless::Vec;
use sha2::{Digest, Sha256};

use crate::error::{InputError, MAX_PROMPT_BYTES};
use crate::policy::{
    FOLD_KEYS, FOLD_SPANS, FOLD_UNITS, FOLD_VALUES, GLYPH_COMPAT_CPS, GLYPH_COMPAT_KEYS,
    GLYPH_COMPAT_SPANS,
};
use crate::units::*;

/// The most units a prompt may fold into.
pub const MAX_UNITS: usize = 4096;
/// Domain separator of the prompt hash.
pub const PROMPT_HASH_DOMAIN: &[u8] = b"sigil/prompt/v1\0";

/// Where one character goes.
enum Folded {
    /// Indices into `FOLD_VALUES`.
    Units(&'static [u8]),
    One(u64),
    /// Folded glyph code points (a compatibility form's decomposition).
    Glyphs(&'static [u32]),
    Other,
}

fn fold(c: char) -> Folded {
    let cp = c as u32;
    if cp < 0x80 {
        return Folded::One(ascii_unit(cp as u8));
    }
    if is_plane14_ignorable(cp) {
        return Folded::Units(&[]);
    }
    let Ok(i) = FOLD_KEYS.binary_search(&cp) else {
        return fold_glyph(cp);
    };
    let Some(span) = FOLD_SPANS.get(i) else {
        return Folded::Other;
    };
    let (off, len) = (usize::from(span >> 3), usize::from(span & 0b111));
    match FOLD_UNITS.get(off..off + len) {
        Some(units) => Folded::Units(units),
        None => Folded::Other,
    }
}

/// A glyph-script code point (not in the Latin table): its compatibility decomposition, or its
/// own fold.
fn fold_glyph(cp: u32) -> Folded {
    if let Ok(i) = GLYPH_COMPAT_KEYS.binary_search(&cp) {
        let span = GLYPH_COMPAT_SPANS.get(i).copied().unwrap_or(0);
        let (off, len) = (usize::from(span >> 3), usize::from(span & 0b111));
        return match GLYPH_COMPAT_CPS.get(off..off + len) {
            Some(cps) => Folded::Glyphs(cps),
            None => Folded::Other,
        };
    }
    match glyph_fold(cp) {
        Some(GlyphFold::Drop) => Folded::Units(&[]),
        Some(GlyphFold::Cp(x)) => Folded::One(glyph_unit(x)),
        None => Folded::Other,
    }
}

/// Check the raw bytes a prompt arrives as.
pub fn validate_bytes(bytes: &[u8]) -> Result<&str, InputError> {
    if bytes.len() > MAX_PROMPT_BYTES {
        return Err(InputError::TooLong { len: bytes.len() });
    }
    let s = core::str::from_utf8(bytes).map_err(|e| InputError::InvalidUtf8 {
        valid_up_to: e.valid_up_to(),
    })?;
    validate(s)
}

/// Check a prompt's length and content before folding.
pub fn validate(s: &str) -> Result<&str, InputError> {
    if s.len() > MAX_PROMPT_BYTES {
        return Err(InputError::TooLong { len: s.len() });
    }
    if let Some(offset) = s.bytes().position(|b| b == 0) {
        return Err(InputError::ContainsNul { offset });
    }
    Ok(s)
}

/// Streams the normalised text, collapsing white space, into a sink.
struct TextSink<F: FnMut(&[u8])> {
    sink: F,
    pending_space: bool,
    started: bool,
}

impl<F: FnMut(&[u8])> TextSink<F> {
    fn space(&mut self) {
        self.pending_space = self.started;
    }
    fn bytes(&mut self, b: &[u8]) {
        if self.pending_space {
            (self.sink)(b" ");
            self.pending_space = false;
        }
        (self.sink)(b);
        self.started = true;
    }
    fn unit(&mut self, u: u64) {
        if let Some(cp) = glyph_of(u) {
            let mut buf = [0u8; 4];
            let c = char::from_u32(cp).unwrap_or('\u{FFFD}');
            self.bytes(c.encode_utf8(&mut buf).as_bytes());
            return;
        }
        let canon = canonical_of(u);
        if canon == b' ' || class_of(u) == CLASS_SPACE {
            self.space();
        } else {
            self.bytes(&[canon]);
        }
    }
}

/// Fold `prompt` into `units` (cleared first) and feed the normalised text to `text`.
/// Characters outside the Latin-foldable alphabet become separator units (value with
/// canonical byte 0) and go to the text as they are.
pub fn fold_prompt(
    prompt: &str,
    units: &mut Vec<u64, MAX_UNITS>,
    text: impl FnMut(&[u8]),
) -> Result<(), InputError> {
    let prompt = validate(prompt)?;
    units.clear();
    let mut out = TextSink {
        sink: text,
        pending_space: false,
        started: false,
    };
    for c in prompt.chars() {
        if let Some(semi) = voicing_mark(c as u32)
            && let Some(last) = units.last_mut()
            && let Some(v) = glyph_of(*last).and_then(|k| voiced_kana(k, semi))
        {
            // The text keeps the base kana (the mark folds away); matching sees the voiced one.
            *last = glyph_unit(v);
            continue;
        }
        match fold(c) {
            Folded::One(u) => {
                units.push(u).map_err(|_| InputError::TooLongNormalised)?;
                out.unit(u);
            }
            Folded::Units(us) => {
                for u in us
                    .iter()
                    .filter_map(|&i| FOLD_VALUES.get(usize::from(i)).copied())
                {
                    units.push(u).map_err(|_| InputError::TooLongNormalised)?;
                    out.unit(u);
                }
            }
            Folded::Glyphs(cps) => {
                for &cp in cps {
                    let u = glyph_unit(cp);
                    units.push(u).map_err(|_| InputError::TooLongNormalised)?;
                    out.unit(u);
                }
            }
            Folded::Other => {
                units
                    .push(unit(CLASS_SEP, 0, 0))
                    .map_err(|_| InputError::TooLongNormalised)?;
                let mut buf = [0u8; 4];
                out.bytes(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    if !out.started {
        return Err(InputError::Empty);
    }
    Ok(())
}

/// Fold and hash: the units for matching and the prompt hash for records.
pub fn fold_and_hash(
    prompt: &str,
    units: &mut Vec<u64, MAX_UNITS>,
) -> Result<[u8; 32], InputError> {
    let mut h = Sha256::new();
    h.update(PROMPT_HASH_DOMAIN);
    fold_prompt(prompt, units, |b| h.update(b))?;
    Ok(h.finalize().into())
}

/// The normalised text of a prompt (std only): what the prompt hash is computed over.
#[cfg(any(test, feature = "std"))]
pub fn normalised_text(prompt: &str) -> Result<std::string::String, InputError> {
    let mut units = Vec::new();
    let mut bytes = std::vec::Vec::new();
    fold_prompt(prompt, &mut units, |b| bytes.extend_from_slice(b))?;
    // Every piece written is whole UTF-8 (ASCII bytes or an encoded char).
    Ok(std::string::String::from_utf8_lossy(&bytes).into_owned())
}

/// SHA-256 prompt hash of a prompt, as records carry it (std only: the unit buffer is 32 KiB,
/// too much for a microcontroller's stack; embedded callers get the hash from `check_with`).
#[cfg(any(test, feature = "std"))]
pub fn prompt_hash(prompt: &str) -> Result<[u8; 32], InputError> {
    let mut units = std::boxed::Box::new(Vec::new());
    fold_and_hash(prompt, &mut units)
}
