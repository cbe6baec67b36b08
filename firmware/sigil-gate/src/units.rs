//! The folded alphabet: what one input character becomes after normalisation.
//!
//! This file is shared verbatim by the crate and its build script (`#[path]`), so the tables the
//! build script generates and the code that reads them can never disagree.
//!
//! A *unit* is a `u64`:
//! - bits 0..=25: the letters `a..=z` this unit may stand for (a set, because `1` may be `i` or
//!   `l`, and Greek `ν` looks like `v` but reads `n`);
//! - bits 26..=35: the digits `0..=9` it may stand for;
//! - bits 40..=47: the canonical ASCII byte, used for the normalised text that is hashed;
//! - bits 56..=59: the class (`CLASS_*`).

/// A letter or digit (possibly standing for several).
pub const CLASS_ALNUM: u64 = 0;
/// Punctuation or a symbol that separates words.
pub const CLASS_SEP: u64 = 1;
/// Punctuation that may hide a word boundary inside a word: `n.u.d.e`, `nu-de`.
pub const CLASS_JOINER: u64 = 2;
/// A leet symbol that reads as a letter when its run holds any letter: `$ex`, `a$$`.
pub const CLASS_LEET_ANY: u64 = 3;
/// A leet symbol that reads as a letter only between letters: `k!ll`, `f*ck`; `nude!` is a separator.
pub const CLASS_LEET_INNER: u64 = 4;
/// White space.
pub const CLASS_SPACE: u64 = 5;
/// Set by the matcher (never by the tables): a `CLASS_LEET_INNER` symbol trailing a word, as in
/// `rutkowsk!` or `nud*`. The word is tried both with it as a letter and without it.
pub const CLASS_SOFT_TAIL: u64 = 6;

#[allow(dead_code)] // used by the build script and tests
/// Bit of letter `b'a'..=b'z'` or digit `b'0'..=b'9'` in a unit mask; `None` for anything else.
pub const fn bit_of(b: u8) -> Option<u32> {
    match b {
        b'a'..=b'z' => Some((b - b'a') as u32),
        b'0'..=b'9' => Some(26 + (b - b'0') as u32),
        _ => None,
    }
}

/// Mask bits of every letter (used by `*` as a wildcard).
pub const ALL_LETTERS: u64 = (1 << 26) - 1;
/// Mask bits of letters and digits.
pub const ALNUM_MASK: u64 = (1 << 36) - 1;

/// Pack a unit.
pub const fn unit(class: u64, mask: u64, canonical: u8) -> u64 {
    (class << 56) | ((canonical as u64) << 40) | (mask & ALNUM_MASK)
}

/// The class of a unit.
pub const fn class_of(u: u64) -> u64 {
    (u >> 56) & 0xF
}

/// The letter/digit set of a unit.
pub const fn mask_of(u: u64) -> u64 {
    u & ALNUM_MASK
}

/// The canonical ASCII byte of a unit.
pub const fn canonical_of(u: u64) -> u8 {
    ((u >> 40) & 0xFF) as u8
}

const fn letter(b: u8) -> u64 {
    1 << (b - b'a')
}

const fn digit(d: u8) -> u64 {
    1 << (26 + d as u32)
}

/// The unit of one ASCII byte (`b < 0x80`). Control characters other than white space are
/// separators; NUL is refused before this is reached.
pub const fn ascii_unit(b: u8) -> u64 {
    match b {
        b'a'..=b'z' => unit(CLASS_ALNUM, letter(b), b),
        // Capital I is drawn like l in most sans-serif faces.
        b'I' => unit(CLASS_ALNUM, letter(b'i') | letter(b'l'), b'i'),
        b'A'..=b'Z' => unit(CLASS_ALNUM, letter(b + 32), b + 32),
        b'0' => unit(CLASS_ALNUM, digit(0) | letter(b'o'), b),
        b'1' => unit(CLASS_ALNUM, digit(1) | letter(b'i') | letter(b'l'), b),
        b'2' => unit(CLASS_ALNUM, digit(2) | letter(b'z'), b),
        b'3' => unit(CLASS_ALNUM, digit(3) | letter(b'e'), b),
        b'4' => unit(CLASS_ALNUM, digit(4) | letter(b'a'), b),
        b'5' => unit(CLASS_ALNUM, digit(5) | letter(b's'), b),
        b'6' => unit(CLASS_ALNUM, digit(6) | letter(b'g') | letter(b'b'), b),
        b'7' => unit(CLASS_ALNUM, digit(7) | letter(b't'), b),
        b'8' => unit(CLASS_ALNUM, digit(8) | letter(b'b'), b),
        b'9' => unit(CLASS_ALNUM, digit(9) | letter(b'g'), b),
        b'$' => unit(CLASS_LEET_ANY, letter(b's'), b),
        b'@' => unit(CLASS_LEET_ANY, letter(b'a'), b),
        b'!' => unit(CLASS_LEET_INNER, letter(b'i'), b),
        b'|' => unit(CLASS_LEET_INNER, letter(b'l') | letter(b'i'), b),
        b'+' => unit(CLASS_LEET_INNER, letter(b't'), b),
        b'*' => unit(CLASS_LEET_INNER, ALL_LETTERS, b),
        b'.' | b'-' | b'_' | b'\'' | b'`' | b'~' | b'^' => unit(CLASS_JOINER, 0, b),
        b' ' | b'\t' | b'\n' | b'\r' | 0x0B | 0x0C => unit(CLASS_SPACE, 0, b' '),
        0x00..=0x1F | 0x7F => unit(CLASS_SEP, 0, b' '),
        _ => unit(CLASS_SEP, 0, b),
    }
}

/// Code points dropped outright at run time without a table look-up: tag characters,
/// variation selectors supplement and the rest of plane 14's default-ignorables.
pub const fn is_plane14_ignorable(c: u32) -> bool {
    c >= 0xE0000 && c <= 0xE0FFF
}
