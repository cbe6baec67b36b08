//! The matcher: finds policy terms in folded units, word-boundary aware.
//!
//! 1. *Leet resolution.* In a run of letters, digits and leet symbols, `$`/`@` read as letters
//!    when the run holds a letter (`$ex`, `a$$`), `!`, `|`, `+` and `*` only between letters
//!    (`k!ll`, `f*ck`; `nude!` ends at the `!`). The rest separate words.
//! 2. *Pieces.* Maximal runs of letters. Units are compacted in place to letters only, so every
//!    candidate word below is a contiguous slice.
//! 3. *Candidate words.* Each piece (`Scunthorpe` stays one word, so `cunt` is not in it); each
//!    run of pieces joined only by dots, hyphens, apostrophes or underscores, as one word
//!    (`nu.de`, `self-harm`); each run of three or more one-letter pieces, as one word searched
//!    anywhere (`n u d e`, `n.u.d.e`, `a n u d e`).
//! 4. *Matching.* Each term letter consumes one or more units whose letter set contains it, so
//!    `nuuude` is `nude` while `ass` still needs two `s`. Whole-word terms accept only their
//!    listed suffixes, so `denuded` and `nudge` are not `nude`.

use heapless::Vec;

use crate::policy::{CATEGORY_COUNT, COMBOS, EXCEPTIONS, GROUPS, Mode, TERMS, Term, Word};
use crate::units::*;

/// The most pieces (words) a prompt may have; more only happens for adversarial input and
/// is treated as too long.
pub const MAX_PIECES: usize = 2048;

#[derive(Debug, Clone, Copy)]
struct Piece {
    start: u16,
    end: u16,
    /// `end` plus trailing leet symbols read as letters (`rutkowsk!`): a second reading.
    full_end: u16,
    /// The gap before this piece holds only joiners (`.` `-` `_` `'`).
    joined: bool,
}

/// Working memory of one check. Large (about 44 KiB): on a microcontroller keep one in a static.
#[derive(Debug)]
pub struct Scratch {
    pub(crate) units: Vec<u64, { crate::normalise::MAX_UNITS }>,
    pieces: Vec<Piece, MAX_PIECES>,
}

impl Default for Scratch {
    fn default() -> Self {
        Self::new()
    }
}

impl Scratch {
    /// Empty scratch space.
    pub const fn new() -> Self {
        Self {
            units: Vec::new(),
            pieces: Vec::new(),
        }
    }
}

/// What matched: a group bit set and, per group, the first term that hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hits {
    /// Bit `i` set when group `i` (category or signal) hit.
    pub groups: u64,
    /// Index into `TERMS` of the first hit per group (`u16::MAX` = none, or combination).
    pub first_term: [u16; 64],
}

impl Hits {
    const fn new() -> Self {
        Self {
            groups: 0,
            first_term: [u16::MAX; 64],
        }
    }
}

/// Resolve leet symbols, then compact `units` to letters and record the pieces.
/// Returns `false` when there are more pieces than [`MAX_PIECES`].
fn segment(s: &mut Scratch) -> bool {
    let units = &mut s.units;
    // Pass 1: decide, per run of wordish units, which leet symbols are letters.
    let n = units.len();
    let mut i = 0;
    while i < n {
        let wordish =
            |u: u64| matches!(class_of(u), CLASS_ALNUM | CLASS_LEET_ANY | CLASS_LEET_INNER);
        if !units.get(i).is_some_and(|&u| wordish(u)) {
            i += 1;
            continue;
        }
        let start = i;
        while i < n && units.get(i).is_some_and(|&u| wordish(u)) {
            i += 1;
        }
        let run = &mut units[start..i];
        let first_alnum = run.iter().position(|&u| class_of(u) == CLASS_ALNUM);
        let last_alnum = run.iter().rposition(|&u| class_of(u) == CLASS_ALNUM);
        for (k, u) in run.iter_mut().enumerate() {
            let inner = first_alnum.is_some_and(|f| f < k);
            let (letter, class) = match class_of(*u) {
                CLASS_LEET_ANY if first_alnum.is_some() => (true, CLASS_ALNUM),
                CLASS_LEET_INNER if inner && last_alnum.is_some_and(|l| l > k) => {
                    (true, CLASS_ALNUM)
                }
                CLASS_LEET_INNER if inner => (true, CLASS_SOFT_TAIL),
                CLASS_LEET_ANY | CLASS_LEET_INNER => (false, CLASS_SEP),
                _ => continue,
            };
            *u = unit(
                class,
                if letter { mask_of(*u) } else { 0 },
                canonical_of(*u),
            );
        }
    }
    // Pass 2: compact letters to the front, recording pieces.
    s.pieces.clear();
    let mut w = 0usize;
    let mut in_piece = false;
    let mut gap_joiner_only = false;
    for r in 0..n {
        let Some(&u) = units.get(r) else { break };
        if class_of(u) == CLASS_ALNUM {
            if !in_piece {
                let p = Piece {
                    start: w as u16,
                    end: w as u16,
                    full_end: w as u16,
                    joined: gap_joiner_only && w > 0,
                };
                if s.pieces.push(p).is_err() {
                    return false;
                }
                in_piece = true;
            }
            if let Some(slot) = units.get_mut(w) {
                *slot = mask_of(u);
            }
            w += 1;
            if let Some(p) = s.pieces.last_mut() {
                p.end = w as u16;
                p.full_end = w as u16;
            }
        } else if class_of(u) == CLASS_SOFT_TAIL && in_piece {
            if let Some(slot) = units.get_mut(w) {
                *slot = mask_of(u);
            }
            w += 1;
            if let Some(p) = s.pieces.last_mut() {
                p.full_end = w as u16;
            }
        } else {
            if in_piece {
                gap_joiner_only = true;
            }
            in_piece = false;
            if class_of(u) != CLASS_JOINER {
                gap_joiner_only = false;
            }
        }
    }
    units.truncate(w);
    true
}

/// Bit-parallel match of `pat` (letter bits) against `masks`, each pattern letter consuming one
/// or more units. Calls `on_final(i)` whenever the pattern is complete after unit `i`; stops
/// and returns true as soon as it returns true.
fn run_nfa(
    pat: &[u8],
    masks: &[u64],
    anchored: bool,
    mut on_final: impl FnMut(usize) -> bool,
) -> bool {
    let Some(last) = pat.len().checked_sub(1) else {
        return false;
    };
    if last >= 64 {
        return false;
    }
    let mut state: u64 = 0;
    for (i, &m) in masks.iter().enumerate() {
        let mut b: u64 = 0;
        for (j, &bit) in pat.iter().enumerate() {
            if m & (1u64 << bit) != 0 {
                b |= 1 << j;
            }
        }
        let start = if !anchored || i == 0 { 1 } else { 0 };
        state = ((state | (state << 1)) & b) | (start & b);
        if state & (1 << last) != 0 && on_final(i) {
            return true;
        }
        if state == 0 && anchored {
            return false;
        }
    }
    false
}

fn whole_with_suffix(word: &Word, masks: &[u64]) -> bool {
    run_nfa(word.letters, masks, true, |i| {
        let rest = masks.get(i + 1..).unwrap_or(&[]);
        rest.is_empty()
            || word
                .suffixes
                .list()
                .iter()
                .any(|suf| run_nfa(suf, rest, true, |k| k + 1 == rest.len()))
    })
}

fn word_matches(word: &Word, masks: &[u64], anywhere: bool) -> bool {
    match (word.mode, anywhere) {
        (_, true) | (Mode::Anywhere, _) => run_nfa(word.letters, masks, false, |_| true),
        (Mode::Whole, false) => whole_with_suffix(word, masks),
        (Mode::Prefix, false) => run_nfa(word.letters, masks, true, |_| true),
        (Mode::Suffix, false) => run_nfa(word.letters, masks, false, |i| i + 1 == masks.len()),
    }
}

fn union(masks: &[u64]) -> u64 {
    masks.iter().fold(0, |a, &m| a | m)
}

/// A span of letters `[start, end)` in the compacted buffer.
type Span = (usize, usize);

/// Call `f(term index, span)` for every match of `terms` in the prompt.
fn scan(terms: &[Term], s: &Scratch, mut f: impl FnMut(usize, Span)) {
    let units = s.units.as_slice();
    let pieces = s.pieces.as_slice();
    let slice = |a: usize, b: usize| units.get(a..b).unwrap_or(&[]);
    // Single words: pieces, joined runs, spaced-letter runs.
    let mut candidates = |span: Span, anywhere: bool| {
        let masks = slice(span.0, span.1);
        let have = union(masks);
        for (ti, t) in terms.iter().enumerate() {
            if let [w] = t.words
                && t.required & !have == 0
                && word_matches(w, masks, anywhere)
            {
                f(ti, span);
            }
        }
    };
    let mut i = 0;
    while let Some(p) = pieces.get(i) {
        candidates((usize::from(p.start), usize::from(p.end)), false);
        if p.full_end > p.end {
            candidates((usize::from(p.start), usize::from(p.full_end)), false);
        }
        // A run joined by joiners, starting here.
        let mut j = i + 1;
        while pieces.get(j).is_some_and(|q| q.joined) {
            j += 1;
        }
        if j > i + 1 && (i == 0 || !p.joined) {
            let end = pieces
                .get(j - 1)
                .map_or(usize::from(p.end), |q| usize::from(q.end));
            candidates((usize::from(p.start), end), false);
        }
        // A run of one-letter pieces, starting here.
        let single = |q: &Piece| q.end - q.start == 1;
        let mut k = i;
        while pieces.get(k).is_some_and(single) {
            k += 1;
        }
        if k >= i + 3 && (i == 0 || !pieces.get(i - 1).is_some_and(single)) {
            let end = pieces
                .get(k - 1)
                .map_or(usize::from(p.end), |q| usize::from(q.end));
            candidates((usize::from(p.start), end), true);
        }
        i += 1;
    }
    // Phrases: consecutive pieces. Terms whose letters do not all occur in the prompt are
    // skipped at once, and a window is tried only where its first letter can start.
    let prompt_letters = union(units);
    for (ti, t) in terms.iter().enumerate() {
        if t.words.len() < 2 || t.required & !prompt_letters != 0 {
            continue;
        }
        let first_bit = t
            .words
            .first()
            .and_then(|w| w.letters.first())
            .map_or(0, |&b| 1u64 << b);
        for start in 0..pieces.len() {
            let Some(window) = pieces.get(start..start + t.words.len()) else {
                break;
            };
            let anchored = t
                .words
                .first()
                .is_some_and(|w| matches!(w.mode, Mode::Whole | Mode::Prefix));
            let opens = units
                .get(window.first().map_or(0, |p| usize::from(p.start)))
                .copied()
                .unwrap_or(0);
            if anchored && opens & first_bit == 0 {
                continue;
            }
            let all = t.words.iter().zip(window).all(|(w, p)| {
                word_matches(w, slice(usize::from(p.start), usize::from(p.end)), false)
            });
            if all {
                let first = window.first().map_or(0, |p| usize::from(p.start));
                let last = window.last().map_or(0, |p| usize::from(p.end));
                f(ti, (first, last));
            }
        }
    }
}

/// Find every group hit in folded `units` (consumed: compacted in place).
/// Returns `None` when the prompt has more than [`MAX_PIECES`] words.
pub(crate) fn find_hits(s: &mut Scratch) -> Option<Hits> {
    if !segment(s) {
        return None;
    }
    // Exception spans per group (bounded; extra exceptions beyond capacity are ignored, which
    // can only make the gate stricter).
    let mut exceptions: Vec<(u8, Span), 64> = Vec::new();
    scan(&EXCEPTIONS, s, |ti, span| {
        if let Some(t) = EXCEPTIONS.get(ti) {
            let _ = exceptions.push((t.group, span));
        }
    });
    let mut hits = Hits::new();
    scan(&TERMS, s, |ti, span| {
        let Some(t) = TERMS.get(ti) else { return };
        let excepted = exceptions
            .iter()
            .any(|&(g, (a, b))| g == t.group && a <= span.0 && span.1 <= b);
        if excepted {
            return;
        }
        let g = usize::from(t.group);
        hits.groups |= 1 << g;
        if let Some(slot) = hits.first_term.get_mut(g)
            && *slot == u16::MAX
        {
            *slot = ti as u16;
        }
    });
    Some(hits)
}

/// Apply the combination rules to a group set; returns it with the resulting categories added.
pub(crate) fn apply_combinations(mut groups: u64) -> u64 {
    for c in COMBOS.iter() {
        if c.require.iter().all(|&set| set & groups != 0) {
            groups |= 1 << c.category;
        }
    }
    groups
}

/// The deciding category of a group set: the highest tier, then the first in policy order.
pub(crate) fn deciding_category(groups: u64) -> Option<u8> {
    let mut best: Option<(usize, &crate::policy::Group)> = None;
    for (i, g) in GROUPS.iter().enumerate().take(CATEGORY_COUNT) {
        if groups & (1 << i) != 0 && best.is_none_or(|(_, b)| g.tier > b.tier) {
            best = Some((i, g));
        }
    }
    best.and_then(|(i, _)| u8::try_from(i).ok())
}
