//! The glyph pass: terms in scripts the Latin fold does not cover, and emoji.
//!
//! It runs over the folded units before the Latin matcher compacts them. Two kinds of term:
//! - *Run terms* (Han, kana, Hangul, Thai and the other scripts written without spaces, and
//!   emoji) match anywhere inside a run of such glyphs: there are no word boundaries to trust.
//!   White space and punctuation inside a run are skipped (`色 情`, `色.情`); a Latin letter,
//!   digit or a glyph of a spaced script ends the run. A term's exceptions are whole terms: a
//!   hit inside an exception's occurrence does not count.
//! - *Spaced terms* (Arabic, Hebrew, Devanagari and the other Indic scripts) match words, like
//!   Latin terms: whole, prefix, suffix or anywhere, and phrases of consecutive words. An
//!   Arabic word may carry a proclitic (`و`, `ف`, `ب`, `ك`, `ل`, the article `ال` and their
//!   combinations) before a whole or prefix pattern.
//!
//! Every routine is linear in the units for each term, as the Latin matcher is; a prompt without
//! glyphs costs one pass.

use heapless::Vec;

use crate::matcher::Excepted;
use crate::policy::{
    GLYPH_EXCEPTION_KEEP, GLYPH_EXCEPTIONS, GLYPH_TERMS, GlyphTerm, GlyphWord, Mode,
};
use crate::units::*;

/// A span of units `[start, end)`.
pub(crate) type Span = (usize, usize);

/// The most code points of a spaced word compared; longer words are compared on their start
/// (and never equal a whole pattern).
const MAX_WORD: usize = 48;
/// The most words of a phrase (the build allows 8).
const MAX_PHRASE: usize = 8;
/// Words of the candidate bit set of [`spaced_hits`].
const CANDIDATE_WORDS: usize = 128;
/// The longest run term (the build checks it).
const MAX_RUN_TERM: usize = 16;

/// Arabic proclitics, longest first: conjunctions, prepositions, the article and their joins.
const PROCLITICS: &[&[u16]] = &[
    &[0x0648, 0x0628, 0x0627, 0x0644],
    &[0x0648, 0x0644, 0x0644],
    &[0x0648, 0x0627, 0x0644],
    &[0x0628, 0x0627, 0x0644],
    &[0x0641, 0x0627, 0x0644],
    &[0x0643, 0x0627, 0x0644],
    &[0x0627, 0x0644],
    &[0x0644, 0x0644],
    &[0x0648, 0x0628],
    &[0x0648, 0x0644],
    &[0x0641, 0x0644],
    &[0x0648],
    &[0x0641],
    &[0x0628],
    &[0x0643],
    &[0x0644],
];

fn is_arabic(key: u16) -> bool {
    matches!(key, 0x0600..=0x06FF | 0x0750..=0x077F | 0x08A0..=0x08FF)
}

/// The policy tables' key of a glyph unit's code point; `u16::MAX` (never a key) for glyphs no
/// term can hold.
fn key_of(cp: u32) -> u16 {
    glyph_key(cp).unwrap_or(u16::MAX)
}

/// A cheap membership summary of a set of keys.
fn bloom(key: u16) -> u64 {
    1u64 << (u32::from(key).wrapping_mul(0x9E37_79B1) >> 26)
}

/// What glyphs a prompt holds.
struct Summary {
    run: u64,
    spaced: u64,
}

fn summary(units: &[u64]) -> Summary {
    let mut s = Summary { run: 0, spaced: 0 };
    for cp in units.iter().filter_map(|&u| glyph_of(u)) {
        if is_run_script(cp) {
            s.run |= bloom(key_of(cp));
        } else {
            s.spaced |= bloom(key_of(cp));
        }
    }
    s
}

/// Ends the current run or word: a Latin letter, digit or leet symbol.
fn is_latin(u: u64) -> bool {
    matches!(
        class_of(u),
        CLASS_ALNUM | CLASS_LEET_ANY | CLASS_LEET_INNER | CLASS_SOFT_TAIL
    )
}

/// Every occurrence of a run term, as a span of units.
fn run_hits(pat: &[u16], units: &[u64], mut f: impl FnMut(Span)) {
    let Some(last) = pat.len().checked_sub(1) else {
        return;
    };
    if pat.len() > MAX_RUN_TERM {
        return;
    }
    // Positions of the last glyphs seen in this run, so a hit knows where it started.
    let mut recent = [0usize; MAX_RUN_TERM];
    let mut seen = 0usize;
    let mut state: u32 = 0;
    for (i, &u) in units.iter().enumerate() {
        match glyph_of(u) {
            Some(cp) if is_run_script(cp) => {
                let key = key_of(cp);
                let mut b: u32 = 0;
                for (j, &p) in pat.iter().enumerate() {
                    if p == key {
                        b |= 1 << j;
                    }
                }
                state = ((state << 1) | 1) & b;
                if let Some(slot) = recent.get_mut(seen % MAX_RUN_TERM) {
                    *slot = i;
                }
                seen += 1;
                if state & (1 << last) != 0 {
                    let start = recent
                        .get((seen - 1 - last) % MAX_RUN_TERM)
                        .copied()
                        .unwrap_or(i);
                    f((start, i + 1));
                }
            }
            Some(_) => state = 0,
            None if is_latin(u) => state = 0,
            None => {}
        }
    }
}

/// The keys of a spaced word (joiners inside it left out), and whether it was cut.
fn word_keys(units: &[u64]) -> (Vec<u16, MAX_WORD>, bool) {
    let mut out = Vec::new();
    let mut cut = false;
    for cp in units.iter().filter_map(|&u| glyph_of(u)) {
        if out.push(key_of(cp)).is_err() {
            cut = true;
        }
    }
    (out, cut)
}

fn matches_at(mode: Mode, pat: &[u16], w: &[u16], cut: bool) -> bool {
    match mode {
        Mode::Whole => !cut && w == pat,
        Mode::Prefix => w.starts_with(pat),
        Mode::Suffix => !cut && w.ends_with(pat),
        Mode::Anywhere => pat.len() <= w.len() && w.windows(pat.len()).any(|x| x == pat),
    }
}

/// Does a spaced pattern word match a word of the prompt?
/// Where a word's stem may start: bit `k` set when `w[k..]` follows a proclitic (bit 0: the
/// word itself). Worked out once per prompt word.
fn stem_starts(w: &[u16]) -> u8 {
    let mut starts = 1u8;
    if w.first().is_some_and(|&c| is_arabic(c)) {
        for clitic in PROCLITICS {
            if w.len() > clitic.len() && w.starts_with(clitic) {
                starts |= 1 << clitic.len();
            }
        }
    }
    starts
}

/// Does a spaced pattern word match a word of the prompt (`starts`: its [`stem_starts`])?
fn word_matches(word: &GlyphWord, w: &[u16], cut: bool, starts: u8) -> bool {
    let pat = word.keys();
    let Some(&first) = pat.first() else {
        return false;
    };
    if !matches!(word.mode(), Mode::Whole | Mode::Prefix) {
        return matches_at(word.mode(), pat, w, cut);
    }
    // A whole or prefix word starts at the word or, in Arabic, after a proclitic.
    let arabic = is_arabic(first);
    (0..8usize).any(|k| {
        starts & (1 << k) != 0
            && (k == 0 || arabic)
            && w.get(k) == Some(&first)
            && w.get(k..)
                .is_some_and(|rest| matches_at(word.mode(), pat, rest, cut))
    })
}

/// Calls `f(span)` for each spaced word of the prompt: a maximal run of spaced-script glyphs,
/// with joiners (`.`, `-`, `_`, `'`) inside it. `None` marks a break (a Latin word or a run
/// glyph), so phrases never reach across one.
fn spaced_words(units: &[u64], mut f: impl FnMut(Option<Span>)) {
    let mut start: Option<usize> = None;
    let mut last_glyph = 0usize;
    for (i, &u) in units.iter().enumerate() {
        let spaced = glyph_of(u).is_some_and(|cp| !is_run_script(cp));
        if spaced {
            start.get_or_insert(i);
            last_glyph = i;
            continue;
        }
        if start.is_some() && class_of(u) == CLASS_JOINER {
            continue;
        }
        if let Some(s) = start.take() {
            f(Some((s, last_glyph + 1)));
        }
        if is_latin(u) || glyph_of(u).is_some() {
            f(None);
        }
    }
    if let Some(s) = start {
        f(Some((s, last_glyph + 1)));
    }
}

/// The last words of the prompt, newest last, with their keys (computed once per word).
struct Recent {
    spans: [Span; MAX_PHRASE],
    /// Keys, whether the word was cut, and its [`stem_starts`].
    keys: [(Vec<u16, MAX_WORD>, bool, u8); MAX_PHRASE],
    filled: usize,
}

impl Recent {
    fn new() -> Self {
        Self {
            spans: [(0, 0); MAX_PHRASE],
            keys: core::array::from_fn(|_| (Vec::new(), false, 1)),
            filled: 0,
        }
    }

    fn push(&mut self, span: Span, units: &[u64]) {
        if self.filled == MAX_PHRASE {
            self.spans.rotate_left(1);
            self.keys.rotate_left(1);
            self.filled -= 1;
        }
        if let (Some(s), Some(k)) = (
            self.spans.get_mut(self.filled),
            self.keys.get_mut(self.filled),
        ) {
            *s = span;
            let (keys, cut) = word_keys(units.get(span.0..span.1).unwrap_or(&[]));
            let starts = stem_starts(&keys);
            *k = (keys, cut, starts);
        }
        self.filled += 1;
    }

    /// Do the newest `words.len()` words match `words`? Their span if so.
    fn ends_with(&self, words: &[GlyphWord]) -> Option<Span> {
        let k = words.len();
        let from = self.filled.checked_sub(k)?;
        let recent = self.keys.get(from..self.filled)?;
        let all = words
            .iter()
            .zip(recent)
            .all(|(pw, (keys, cut, starts))| word_matches(pw, keys, *cut, *starts));
        let first = self.spans.get(from)?.0;
        let last = self.spans.get(self.filled - 1)?.1;
        (k > 0 && all).then_some((first, last))
    }
}

/// Every occurrence of the spaced terms of `list` that the prompt's glyphs allow: one pass over
/// the prompt's words, trying each term where a word ends.
fn spaced_hits(list: &[GlyphTerm], units: &[u64], have: &Summary, mut f: impl FnMut(usize, Span)) {
    // The terms whose glyphs the prompt may hold, worked out once (1 KiB for 8,192 terms;
    // beyond that every term is tried).
    let mut maybe = [0u64; CANDIDATE_WORDS];
    for (ti, t) in list.iter().enumerate().take(CANDIDATE_WORDS * 64) {
        if !t.run()
            && needs(t) & !have.spaced == 0
            && let Some(w) = maybe.get_mut(ti / 64)
        {
            *w |= 1 << (ti % 64);
        }
    }
    let candidate = |ti: usize| {
        maybe
            .get(ti / 64)
            .map_or(!list.get(ti).is_some_and(GlyphTerm::run), |w| {
                w & (1 << (ti % 64)) != 0
            })
    };
    let mut recent = Recent::new();
    spaced_words(units, |w| {
        let Some(span) = w else {
            recent.filled = 0;
            return;
        };
        recent.push(span, units);
        for (ti, t) in list.iter().enumerate() {
            if !candidate(ti) {
                continue;
            }
            if let Some(hit) = recent.ends_with(t.words()) {
                f(ti, hit);
            }
        }
    });
}

/// The summary of a term's keys.
fn needs(term: &GlyphTerm) -> u64 {
    term.words()
        .iter()
        .flat_map(|w| w.keys().iter())
        .fold(0u64, |m, &k| m | bloom(k))
}

/// Every occurrence of the run terms of `list` whose glyphs the prompt holds.
fn run_term_hits(
    list: &[GlyphTerm],
    units: &[u64],
    have: &Summary,
    mut f: impl FnMut(usize, Span),
) {
    for (ti, t) in list.iter().enumerate() {
        if !t.run() || needs(t) & !have.run != 0 {
            continue;
        }
        if let Some(w) = t.words().first() {
            run_hits(w.keys(), units, |span| f(ti, span));
        }
    }
}

/// Find glyph-term hits in the folded (not yet compacted) units. Calls
/// `f(group, glyph term index, excepted)`: whether the hit lies inside an occurrence of an
/// exception (or a sense) of the same group.
pub(crate) fn find(units: &[u64], mut f: impl FnMut(u8, usize, Excepted)) {
    let have = summary(units);
    if have.run == 0 && have.spaced == 0 {
        return;
    }
    // Bounded; exceptions beyond capacity are dropped, which can only make the gate stricter.
    let mut exceptions: Vec<(u8, Span, bool), 32> = Vec::new();
    let mut except = |ei: usize, span: Span| {
        if let Some(e) = GLYPH_EXCEPTIONS.get(ei) {
            let keep = GLYPH_EXCEPTION_KEEP.get(ei).copied().unwrap_or(false);
            let _ = exceptions.push((e.group(), span, keep));
        }
    };
    run_term_hits(&GLYPH_EXCEPTIONS, units, &have, &mut except);
    spaced_hits(&GLYPH_EXCEPTIONS, units, &have, &mut except);
    let mut hit = |ti: usize, span: Span| {
        if let Some(t) = GLYPH_TERMS.get(ti) {
            let excepted = crate::matcher::excepted_by(&exceptions, t.group(), span);
            f(t.group(), ti, excepted);
        }
    };
    run_term_hits(&GLYPH_TERMS, units, &have, &mut hit);
    spaced_hits(&GLYPH_TERMS, units, &have, &mut hit);
}
