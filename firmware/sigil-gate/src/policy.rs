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
/// index, so the tables stay small enough for a microcontroller's flash.
#[derive(Debug)]
pub struct Word {
    /// How it matches.
    pub mode: Mode,
    /// Allowed suffixes (whole-word mode).
    pub suffixes: Suffixes,
    letters_len: u8,
    letters_at: u16,
}

impl Word {
    /// Letter/digit bit indices, in order.
    pub fn letters(&self) -> &'static [u8] {
        let at = usize::from(self.letters_at);
        LETTERS
            .get(at..at + usize::from(self.letters_len))
            .unwrap_or_default()
    }
}

/// A term: one or more consecutive words, belonging to a group. Its text and language are in
/// [`TERMS_TEXT`] / [`TERMS_LANG`] (or `EXCEPTIONS_*`) under the same index, apart from the
/// matcher's tables: only reports read them.
#[derive(Debug)]
pub struct Term {
    /// Index into [`GROUPS`].
    pub group: u8,
    words_len: u8,
    words_at: u16,
    /// Union of the letter bits of all words: a quick reject.
    pub required: u64,
}

impl Term {
    /// The words.
    pub fn words(&self) -> &'static [Word] {
        let at = usize::from(self.words_at);
        WORDS
            .get(at..at + usize::from(self.words_len))
            .unwrap_or_default()
    }
}

/// One word of a glyph term: folded code points (see `units::glyph_fold`).
#[derive(Debug)]
pub struct GlyphWord {
    /// How it meets a word of the prompt (run-script terms are always `Anywhere` in a run).
    pub mode: Mode,
    cps_len: u8,
    cps_at: u16,
}

impl GlyphWord {
    /// The folded code points, in order.
    pub fn cps(&self) -> &'static [u32] {
        let at = usize::from(self.cps_at);
        GLYPH_CPS
            .get(at..at + usize::from(self.cps_len))
            .unwrap_or_default()
    }
}

/// A term in a script the Latin fold does not cover, or of emoji. Its text and language are
/// in `GLYPH_TERMS_TEXT` / `GLYPH_TERMS_LANG` (or `GLYPH_EXCEPTIONS_*`) under the same index.
#[derive(Debug)]
pub struct GlyphTerm {
    /// Index into [`GROUPS`].
    pub group: u8,
    /// A script written without spaces (Han, kana, Hangul, Thai) or emoji: one word, matched
    /// anywhere inside a run of such glyphs. Otherwise words separated by spaces (Arabic,
    /// Devanagari, Hebrew).
    pub run: bool,
    words_len: u8,
    words_at: u16,
}

impl GlyphTerm {
    /// The words.
    pub fn words(&self) -> &'static [GlyphWord] {
        let at = usize::from(self.words_at);
        GLYPH_WORDS
            .get(at..at + usize::from(self.words_len))
            .unwrap_or_default()
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
