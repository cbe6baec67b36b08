//! The compiled-in policy: static tables generated at build time from `firmware/policy/*.toml`
//! (see `build/policy.rs`). Nothing here is read from the file system at run time.

use crate::verdict::{CategoryId, Tier};

/// A category (decides verdicts) or a signal (feeds combination rules only).
#[derive(Debug)]
pub struct Group {
    /// Stable identifier, e.g. `"sexual_minors"`.
    pub id: &'static str,
    /// The category's tier; `Tier::None` for signals.
    pub tier: Tier,
    /// Whether a hit asks for legal escalation.
    pub escalate: bool,
    /// True for signals.
    pub signal: bool,
    /// Human-readable description (also used for the semantic layer's concept embeddings).
    pub description: &'static str,
    /// Emoji (dataset `unified` codes) the output check reports as this category; empty for
    /// categories the model cannot draw and for signals.
    pub output: &'static [&'static str],
}

/// How one word of a term meets a word of the prompt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The whole word, plus an allowed suffix.
    Whole,
    /// The word starts with the pattern.
    Prefix,
    /// The word ends with the pattern.
    Suffix,
    /// The pattern appears anywhere in the word.
    Anywhere,
}

/// Suffixes a whole-word pattern may carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Suffixes {
    /// None: the exact word.
    None,
    /// `s`, `es`.
    Plural,
    /// `s`, `es`, `ed`, `d`, `ing`, `er`, `ers`, `ings`.
    Inflect,
}

impl Suffixes {
    /// The suffixes as letter-bit sequences (see `units::bit_of`).
    pub fn list(self) -> &'static [&'static [u8]] {
        const S: u8 = 18;
        const E: u8 = 4;
        const D: u8 = 3;
        const I: u8 = 8;
        const N: u8 = 13;
        const G: u8 = 6;
        const R: u8 = 17;
        match self {
            Suffixes::None => &[],
            Suffixes::Plural => &[&[S], &[E, S]],
            Suffixes::Inflect => &[
                &[S],
                &[E, S],
                &[E, D],
                &[D],
                &[I, N, G],
                &[E, R],
                &[E, R, S],
                &[I, N, G, S],
            ],
        }
    }
}

/// One word of a term, as letter bits.
///
/// Words and their letters live in shared pools ([`WORDS`], [`LETTERS`]) and are found by
/// index, so the tables stay small enough for a microcontroller's flash: a word is one `u32`
/// (bits 0..=19 where its letters start, 20..=25 how many, 26..=27 its mode, 28..=29 its
/// suffixes).
#[derive(Debug)]
pub struct Word(u32);

/// Where a word's or term's parts start in their pool: 20 bits.
pub(crate) const POOL_BITS: u32 = 20;
const POOL_MASK: u32 = (1 << POOL_BITS) - 1;

const fn mode_bits(mode: Mode) -> u32 {
    match mode {
        Mode::Whole => 0,
        Mode::Prefix => 1,
        Mode::Suffix => 2,
        Mode::Anywhere => 3,
    }
}

const fn mode_of(bits: u32) -> Mode {
    match bits & 3 {
        0 => Mode::Whole,
        1 => Mode::Prefix,
        2 => Mode::Suffix,
        _ => Mode::Anywhere,
    }
}

impl Word {
    /// Pack a word (the generated tables call this; the build checks the ranges).
    pub(crate) const fn new(mode: Mode, suffixes: Suffixes, len: u8, at: u32) -> Self {
        let suffixes = match suffixes {
            Suffixes::None => 0,
            Suffixes::Plural => 1,
            Suffixes::Inflect => 2,
        };
        Self(
            (at & POOL_MASK)
                | ((len as u32 & 0x3F) << 20)
                | (mode_bits(mode) << 26)
                | (suffixes << 28),
        )
    }

    /// How it matches.
    pub const fn mode(&self) -> Mode {
        mode_of(self.0 >> 26)
    }

    /// Allowed suffixes (whole-word mode).
    pub const fn suffixes(&self) -> Suffixes {
        match (self.0 >> 28) & 3 {
            0 => Suffixes::None,
            1 => Suffixes::Plural,
            _ => Suffixes::Inflect,
        }
    }

    /// Letter/digit bit indices, in order.
    pub fn letters(&self) -> &'static [u8] {
        let at = (self.0 & POOL_MASK) as usize;
        let len = ((self.0 >> 20) & 0x3F) as usize;
        LETTERS.get(at..at + len).unwrap_or_default()
    }
}

/// The letter bits of a unit mask (36: letters and digits) folded into 32, for quick rejects:
/// digits 6..=9 share bits with 0..=3. Folding keeps unions and subsets, so a term whose folded
/// letters are not all in a prompt's folded letters cannot match it.
pub(crate) const fn fold_letters(mask: u64) -> u32 {
    (mask as u32) | (((mask >> 32) as u32 & 0xF) << 26)
}

/// A term: one or more consecutive words, belonging to a group. Its text and language are in
/// [`TERMS_TEXT`] / [`TERMS_LANG`] (or `EXCEPTIONS_*`) under the same index, apart from the
/// matcher's tables: only reports read them. Eight bytes: the folded union of its letters (a
/// quick reject), and bits 0..=19 where its words start, 20..=23 how many, 24..=29 its group.
#[derive(Debug)]
pub struct Term {
    required: u32,
    packed: u32,
}

impl Term {
    /// Pack a term (the generated tables call this; the build checks the ranges).
    pub(crate) const fn new(group: u8, words_len: u8, words_at: u32, required: u64) -> Self {
        Self {
            required: fold_letters(required),
            packed: (words_at & POOL_MASK)
                | ((words_len as u32 & 0xF) << 20)
                | ((group as u32 & 0x3F) << 24),
        }
    }

    /// Index into [`GROUPS`].
    pub const fn group(&self) -> u8 {
        ((self.packed >> 24) & 0x3F) as u8
    }

    /// Whether the prompt (the union `have` of its unit masks) lacks a letter this term needs:
    /// then it cannot match.
    pub const fn lacks(&self, have: u64) -> bool {
        self.required & !fold_letters(have) != 0
    }

    /// The words.
    pub fn words(&self) -> &'static [Word] {
        let at = (self.packed & POOL_MASK) as usize;
        let len = ((self.packed >> 20) & 0xF) as usize;
        WORDS.get(at..at + len).unwrap_or_default()
    }
}

/// One word of a glyph term: folded code points (see `units::glyph_fold`), stored as 16-bit
/// keys (`units::glyph_key`). One `u32`: bits 0..=19 where its keys start, 20..=25 how many,
/// 26..=27 its mode.
#[derive(Debug)]
pub struct GlyphWord(u32);

impl GlyphWord {
    /// Pack a glyph word (the generated tables call this).
    pub(crate) const fn new(mode: Mode, len: u8, at: u32) -> Self {
        Self((at & POOL_MASK) | ((len as u32 & 0x3F) << 20) | (mode_bits(mode) << 26))
    }

    /// How it meets a word of the prompt (run-script terms are always `Anywhere` in a run).
    pub const fn mode(&self) -> Mode {
        mode_of(self.0 >> 26)
    }

    /// The folded code points as their 16-bit keys (`units::glyph_key`), in order.
    pub fn keys(&self) -> &'static [u16] {
        let at = (self.0 & POOL_MASK) as usize;
        let len = ((self.0 >> 20) & 0x3F) as usize;
        GLYPH_KEYS.get(at..at + len).unwrap_or_default()
    }
}

/// A term in a script the Latin fold does not cover, or of emoji. Its text and language are
/// in `GLYPH_TERMS_TEXT` / `GLYPH_TERMS_LANG` (or `GLYPH_EXCEPTIONS_*`) under the same index.
/// One `u32`: bits 0..=19 where its words start, 20..=23 how many, 24..=29 its group, 30
/// whether it is a run term.
#[derive(Debug)]
pub struct GlyphTerm(u32);

impl GlyphTerm {
    /// Pack a glyph term (the generated tables call this).
    pub(crate) const fn new(group: u8, run: bool, words_len: u8, words_at: u32) -> Self {
        Self(
            (words_at & POOL_MASK)
                | ((words_len as u32 & 0xF) << 20)
                | ((group as u32 & 0x3F) << 24)
                | ((run as u32) << 30),
        )
    }

    /// Index into [`GROUPS`].
    pub const fn group(&self) -> u8 {
        ((self.0 >> 24) & 0x3F) as u8
    }

    /// A script written without spaces (Han, kana, Hangul, Thai) or emoji: one word, matched
    /// anywhere inside a run of such glyphs. Otherwise words separated by spaces (Arabic,
    /// Devanagari, Hebrew).
    pub const fn run(&self) -> bool {
        self.0 & (1 << 30) != 0
    }

    /// The words.
    pub fn words(&self) -> &'static [GlyphWord] {
        let at = (self.0 & POOL_MASK) as usize;
        let len = ((self.0 >> 20) & 0xF) as usize;
        GLYPH_WORDS.get(at..at + len).unwrap_or_default()
    }
}

/// A combination rule: every set needs a hit from one of its groups.
#[derive(Debug)]
pub struct Combo {
    /// The resulting category.
    pub category: u8,
    /// Group bit sets.
    pub require: &'static [u64],
}

include!(concat!(env!("OUT_DIR"), "/policy_tables.rs"));

/// Look a category up by id.
pub fn category_by_id(id: &str) -> Option<CategoryId> {
    GROUPS
        .iter()
        .take(CATEGORY_COUNT)
        .position(|g| g.id == id)
        .and_then(|i| u8::try_from(i).ok())
}

/// The category with this index, if it is one.
pub fn category(id: CategoryId) -> Option<&'static Group> {
    let i = usize::from(id);
    if i < CATEGORY_COUNT {
        GROUPS.get(i)
    } else {
        None
    }
}

/// Iterate the categories (not the signals) in policy order.
pub fn categories() -> impl Iterator<Item = (CategoryId, &'static Group)> {
    GROUPS
        .iter()
        .take(CATEGORY_COUNT)
        .enumerate()
        .filter_map(|(i, g)| Some((u8::try_from(i).ok()?, g)))
}

/// The categories the output check (the image classifier) reports, in policy order: its class
/// `i + 1` is the `i`-th of these (class 0 is "none of them").
pub fn output_categories() -> impl Iterator<Item = (CategoryId, &'static Group)> {
    categories().filter(|(_, g)| !g.output.is_empty())
}

/// The category an output-check class name (a category id) stands for, if the policy has it
/// with output emoji.
pub fn output_category(id: &str) -> Option<(CategoryId, &'static Group)> {
    output_categories().find(|(_, g)| g.id == id)
}
