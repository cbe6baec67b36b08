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

/// A letter of a script the Latin fold does not cover (Han, kana, Hangul, Thai, Arabic,
/// Devanagari and other Indic scripts, Hebrew) or an emoji. Bits 0..=20 hold the folded code
/// point (see [`glyph_fold`]); such a unit is matched by the glyph pass, never by letter sets.
pub const CLASS_GLYPH: u64 = 7;

/// The unit of a folded glyph code point.
pub const fn glyph_unit(cp: u32) -> u64 {
    unit(CLASS_GLYPH, cp as u64, 0)
}

/// The folded code point of a glyph unit.
pub const fn glyph_of(u: u64) -> Option<u32> {
    if class_of(u) == CLASS_GLYPH {
        Some((u & 0x1F_FFFF) as u32)
    } else {
        None
    }
}

/// What a glyph-script code point becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GlyphFold {
    /// Removed (Arabic harakat and tatweel, Hebrew points, nukta, Thai tone marks, kana voicing
    /// marks written separately, emoji skin-tone modifiers).
    Drop,
    /// This folded code point.
    Cp(u32),
}

/// The fold of a code point of a glyph script, or `None` when it is not one (then the Latin
/// fold, or nothing, applies). Script by script:
/// - Arabic: harakat, Quranic marks and tatweel dropped; alef with hamza or madda and wasla →
///   alef; alef maqsura, Farsi yeh and yeh with hamza → yeh; teh marbuta → heh; waw with hamza
///   → waw; keheh → kaf. Punctuation (comma, semicolon, question mark, full stop) is not a
///   glyph, so it separates words.
/// - Devanagari: nukta and Vedic accents dropped, chandrabindu → anusvara; danda separates.
/// - Katakana → hiragana (half-width forms reach here through NFKD at build time).
/// - Thai: tone marks dropped.
/// - Emoji: skin-tone modifiers dropped (a verdict must not depend on skin tone).
pub const fn glyph_fold(cp: u32) -> Option<GlyphFold> {
    use GlyphFold::{Cp, Drop};
    Some(match cp {
        // Arabic.
        0x060C | 0x061B | 0x061F | 0x066A..=0x066D | 0x06D4 | 0x0600..=0x060B => return None,
        0x0610..=0x061A
        | 0x064B..=0x065F
        | 0x0670
        | 0x06D6..=0x06DC
        | 0x06DF..=0x06E8
        | 0x06EA..=0x06ED
        | 0x0640
        | 0x08D3..=0x08E1
        | 0x08E3..=0x08FF => Drop,
        0x0622 | 0x0623 | 0x0625 | 0x0671..=0x0673 => Cp(0x0627),
        0x0649 | 0x06CC | 0x0626 | 0x06D0 => Cp(0x064A),
        0x0629 => Cp(0x0647),
        0x0624 => Cp(0x0648),
        0x06A9 | 0x06AA => Cp(0x0643),
        0x060D..=0x06FF | 0x0750..=0x077F | 0x08A0..=0x08D2 => Cp(cp),
        // Hebrew.
        0x0591..=0x05BD | 0x05BF | 0x05C1 | 0x05C2 | 0x05C4 | 0x05C5 | 0x05C7 => Drop,
        0x05D0..=0x05EA | 0x05EF..=0x05F2 => Cp(cp),
        // Devanagari and the other Indic scripts.
        0x093C | 0x0951..=0x0954 | 0x09BC | 0x0A3C | 0x0ABC | 0x0B3C | 0x0CBC => Drop,
        0x0901 => Cp(0x0902),
        0x0964 | 0x0965 | 0x0970 => return None,
        0x0900..=0x0DFF => Cp(cp),
        // Thai, Lao, Myanmar, Khmer (written without spaces).
        0x0E48..=0x0E4E => Drop,
        0x0E4F | 0x0E5A | 0x0E5B => return None,
        0x0E01..=0x0E5B | 0x0E80..=0x0EFF | 0x1000..=0x109F | 0x1780..=0x17FF => Cp(cp),
        // Hangul jamo, compatibility jamo, syllables.
        0x1100..=0x11FF | 0x3131..=0x318E | 0xA960..=0xA97F | 0xAC00..=0xD7A3 | 0xD7B0..=0xD7FF => {
            Cp(cp)
        }
        // Kana.
        0x3099..=0x309C => Drop,
        0x30A1..=0x30F6 => Cp(cp - 0x60),
        0x3041..=0x3096 | 0x309D..=0x309F | 0x30F7..=0x30FF | 0x31F0..=0x31FF => Cp(cp),
        0x3005..=0x3007 => Cp(cp),
        // Han.
        0x3400..=0x4DBF
        | 0x4E00..=0x9FFF
        | 0x20000..=0x2A6DF
        | 0x2A700..=0x2EBEF
        | 0x30000..=0x3134F => Cp(cp),
        // Emoji.
        0x1F3FB..=0x1F3FF => Drop,
        0x1F300..=0x1F3FA
        | 0x1F400..=0x1F64F
        | 0x1F680..=0x1F6FF
        | 0x1F900..=0x1F9FF
        | 0x1FA70..=0x1FAFF
        | 0x2600..=0x27BF => Cp(cp),
        _ => return None,
    })
}

/// Emoji and dingbats: the glyph ranges where a Latin fold, when the character has one (`✱`
/// reads as `*`), wins over the glyph.
#[allow(dead_code)] // used by the build script
pub const fn is_emoji_range(cp: u32) -> bool {
    matches!(cp, 0x1F300..=0x1FAFF | 0x2600..=0x27BF)
}

/// Glyphs of scripts written without spaces between words (and emoji): their terms match
/// anywhere inside a run. Arabic, Hebrew and the Indic scripts separate words with spaces.
pub const fn is_run_script(cp: u32) -> bool {
    matches!(
        cp,
        0x0E01..=0x0EFF
            | 0x1000..=0x109F
            | 0x1780..=0x17FF
            | 0x1100..=0x11FF
            | 0x3005..=0x3007
            | 0x3041..=0x31FF
            | 0x3400..=0x4DBF
            | 0x4E00..=0x9FFF
            | 0xA960..=0xA97F
            | 0xAC00..=0xD7FF
            | 0x20000..=0x3134F
            | 0x1F300..=0x1FAFF
            | 0x2600..=0x27BF
    )
}

/// The voiced (`semi`: semi-voiced) form of a hiragana, for a voicing mark written as its own
/// character after it (`ﾀﾞ`, `か` + U+3099): the precomposed form is what terms are written in.
pub const fn voiced_kana(cp: u32, semi: bool) -> Option<u32> {
    match cp {
        0x304B..=0x3062 if !semi && (cp - 0x304B).is_multiple_of(2) => Some(cp + 1),
        0x3064 | 0x3066 | 0x3068 if !semi => Some(cp + 1),
        0x306F..=0x307B if (cp - 0x306F).is_multiple_of(3) => Some(cp + if semi { 2 } else { 1 }),
        0x3046 if !semi => Some(0x3094),
        _ => None,
    }
}

/// A voicing mark written on its own: `Some(semi)`.
pub const fn voicing_mark(cp: u32) -> Option<bool> {
    match cp {
        0x3099 | 0x309B | 0xFF9E => Some(false),
        0x309A | 0x309C | 0xFF9F => Some(true),
        _ => None,
    }
}

/// The 16-bit key a folded glyph code point is stored under in the policy tables: itself in the
/// Basic Multilingual Plane, emoji (U+1F300..=U+1FAFF) moved into the private-use block at
/// U+E000 (no glyph folds there). `None` for other supplementary-plane characters (the build
/// refuses terms with them).
pub const fn glyph_key(cp: u32) -> Option<u16> {
    match cp {
        0x1F300..=0x1FAFF => Some((0xE000 + (cp - 0x1F300)) as u16),
        0xE000..=0xF8FF => None,
        0..=0xFFFF => Some(cp as u16),
        _ => None,
    }
}

/// The folded code point of a 16-bit glyph key ([`glyph_key`]'s inverse).
#[allow(dead_code)] // used by tests and reports
pub const fn glyph_of_key(key: u16) -> u32 {
    match key {
        0xE000..=0xE7FF => 0x1F300 + (key as u32 - 0xE000),
        _ => key as u32,
    }
}
