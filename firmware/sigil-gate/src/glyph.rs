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
/// The longest run term (the build checks it).
const MAX_RUN_TERM: usize = 16;

/// Arabic proclitics, longest first: conjunctions, prepositions, the article and their joins.
const PROCLITICS: &[&[u32]] = &[
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

fn is_arabic(cp: u32) -> bool {
    matches!(cp, 0x0600..=0x06FF | 0x0750..=0x077F | 0x08A0..=0x08FF)
}

/// A cheap membership summary of a set of code points.
fn bloom(cp: u32) -> u64 {
    1u64 << (cp.wrapping_mul(0x9E37_79B1) >> 26)
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
            s.run |= bloom(cp);
        } else {
            s.spaced |= bloom(cp);
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
fn run_hits(pat: &[u32], units: &[u64], mut f: impl FnMut(Span)) {
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
                let mut b: u32 = 0;
                for (j, &p) in pat.iter().enumerate() {
                    if p == cp {
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

/// The code points of a spaced word (joiners inside it left out), and whether it was cut.
fn word_cps(units: &[u64]) -> (Vec<u32, MAX_WORD>, bool) {
    let mut out = Vec::new();
    let mut cut = false;
    for cp in units.iter().filter_map(|&u| glyph_of(u)) {
        if out.push(cp).is_err() {
            cut = true;
        }
    }
    (out, cut)
}

fn matches_at(mode: Mode, pat: &[u32], w: &[u32], cut: bool) -> bool {
    match mode {
        Mode::Whole => !cut && w == pat,
        Mode::Prefix => w.starts_with(pat),
        Mode::Suffix => !cut && w.ends_with(pat),
        Mode::Anywhere => pat.len() <= w.len() && w.windows(pat.len()).any(|x| x == pat),
    }
}

/// Does a spaced pattern word match a word of the prompt?
fn word_matches(word: &GlyphWord, w: &[u32], cut: bool) -> bool {
    let cps = word.cps();
    let pat = cps.as_slice();
    if matches_at(word.mode(), pat, w, cut) {
        return true;
    }
    let arabic = pat.first().is_some_and(|&c| is_arabic(c));
    if !arabic || !matches!(word.mode(), Mode::Whole | Mode::Prefix) {
        return false;
    }
    PROCLITICS.iter().any(|clitic| {
        w.strip_prefix(*clitic)
            .is_some_and(|rest| !rest.is_empty() && matches_at(word.mode(), pat, rest, cut))
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

/// Every occurrence of a spaced term (phrases: consecutive words).
fn spaced_hits(term: &GlyphTerm, units: &[u64], mut f: impl FnMut(Span)) {
    let words = term.words();
    let k = words.len();
    if k == 0 || k > MAX_PHRASE {
        return;
    }
    // The last k words seen, oldest first, and how many of them follow each other.
    let mut window: [Span; MAX_PHRASE] = [(0, 0); MAX_PHRASE];
    let mut filled = 0usize;
    spaced_words(units, |w| {
        let Some(span) = w else {
            filled = 0;
            return;
        };
        if filled == k {
            window.copy_within(1..k, 0);
            filled -= 1;
        }
        if let Some(slot) = window.get_mut(filled) {
            *slot = span;
        }
        filled += 1;
        if filled < k {
            return;
        }
        let all = words.iter().zip(window.iter()).all(|(pw, &(a, b))| {
            let (cps, cut) = word_cps(units.get(a..b).unwrap_or(&[]));
            word_matches(pw, &cps, cut)
        });
        if all {
            let first = window.first().map_or(0, |s| s.0);
            let last = window.get(k - 1).map_or(0, |s| s.1);
            f((first, last));
        }
    });
}

/// Every occurrence of `term` in `units`, skipping terms whose glyphs the prompt lacks.
fn term_hits(term: &GlyphTerm, units: &[u64], have: &Summary, f: impl FnMut(Span)) {
    let need = term
        .words()
        .iter()
        .flat_map(|w| w.cps().into_iter())
        .fold(0u64, |m, cp| m | bloom(cp));
    if term.run() {
        if need & !have.run == 0
            && let Some(w) = term.words().first()
        {
            run_hits(&w.cps(), units, f);
        }
    } else if need & !have.spaced == 0 {
        spaced_hits(term, units, f);
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
    for (ei, e) in GLYPH_EXCEPTIONS.iter().enumerate() {
        let keep = GLYPH_EXCEPTION_KEEP.get(ei).copied().unwrap_or(false);
        term_hits(e, units, &have, |span| {
            let _ = exceptions.push((e.group(), span, keep));
        });
    }
    for (ti, t) in GLYPH_TERMS.iter().enumerate() {
        term_hits(t, units, &have, |span| {
            f(
                t.group(),
                ti,
                crate::matcher::excepted_by(&exceptions, t.group(), span),
            );
        });
    }
}
