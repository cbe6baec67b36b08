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
//!    anywhere for terms of five letters or more, and otherwise as a whole word, at its end or
//!    as a compound part (`n u d e`, `n.u.d.e`, `a n u d e`; `s e x t a n t` is not `sex`); two pieces with only
//!    a space between, as one word (`na ked`, `swas tika`; not when one is a function word:
//!    `a pen is`); each piece backwards (`dekan`), for category terms of six letters or more.
//! 4. *Matching.* Each term letter consumes one or more units whose letter set contains it, so
//!    `nuuude` is `nude` while `ass` still needs two `s`. Whole-word terms accept only their
//!    listed suffixes, so `denuded` and `nudge` are not `nude`.

use heapless::Vec;

use crate::nfa::{head_ends, union, word_matches};
use crate::policy::{
    CATEGORY_COUNT, COMBOS, EXCEPTION_GUARD, EXCEPTION_KEEP, EXCEPTIONS, EXCEPTIONS_BUCKETS,
    EXCEPTIONS_SINGLE, GROUPS, Mode, NEGATION, TERMS, TERMS_BUCKETS, TERMS_SINGLE, Term,
};
use crate::units::*;

/// The most pieces (words) a prompt may have; more only happens for adversarial input and
/// is treated as too long. 1536 words need at least 3072 bytes of one-letter words and
/// separators; real prompts stay far below. (It was 2048; the 3 KiB this frees gives the
/// trust-core MCU the stack its boot-time key derivation needs within 64 KiB of RAM.)
pub const MAX_PIECES: usize = 1536;

/// One word of the folded prompt, in 6 bytes (the scratch holds 1536 of them, and on the
/// trust-core MCU every byte of RAM counts).
#[derive(Debug, Clone, Copy)]
struct Piece {
    start: u16,
    end: u16,
    /// Bits 0..=13: `end` plus trailing leet symbols read as letters (`rutkowsk!`), a second
    /// reading; bit 14: [`Piece::joined`]; bit 15: [`Piece::spaced`].
    full_end_flags: u16,
}

const FULL_END: u16 = (1 << 14) - 1;
const JOINED: u16 = 1 << 14;
const SPACED: u16 = 1 << 15;
const _: () = assert!(crate::normalise::MAX_UNITS <= FULL_END as usize);

impl Piece {
    fn new(at: u16, joined: bool, spaced: bool) -> Self {
        let flags = if joined { JOINED } else { 0 } | if spaced { SPACED } else { 0 };
        Self {
            start: at,
            end: at,
            full_end_flags: (at & FULL_END) | flags,
        }
    }

    /// `end` plus trailing leet symbols read as letters.
    const fn full_end(&self) -> u16 {
        self.full_end_flags & FULL_END
    }

    fn set_full_end(&mut self, at: u16) {
        self.full_end_flags = (self.full_end_flags & !FULL_END) | (at & FULL_END);
    }

    /// The gap before this piece is short and holds no white space (`nu.de`, `nu/de`, `nu🍑de`).
    const fn joined(&self) -> bool {
        self.full_end_flags & JOINED != 0
    }

    /// The gap before this piece is white space, hyphens or apostrophes only (or this is the
    /// first piece): exceptions written across other punctuation ("nude, color") do not count.
    const fn spaced(&self) -> bool {
        self.full_end_flags & SPACED != 0
    }
}

/// Working memory of one check. Large (about 41 KiB: 4096 units of 8 bytes, 1536 pieces of 6): on a microcontroller keep one in a static.
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
        // `*` stands for one hidden letter (`f*ck`), at most twice in a run; star runs and
        // star floods are punctuation (they would otherwise match every term).
        let is_star = |u: u64| canonical_of(u) == b'*';
        let stars = run.iter().filter(|&&u| is_star(u)).count();
        for k in 0..run.len() {
            let Some(&u) = run.get(k) else { break };
            if !is_star(u) {
                continue;
            }
            let neighbour_star = (k > 0 && run.get(k - 1).is_some_and(|&q| is_star(q)))
                || run.get(k + 1).is_some_and(|&q| is_star(q));
            if (stars > 2 || neighbour_star)
                && let Some(slot) = run.get_mut(k)
            {
                *slot = unit(CLASS_SEP, 0, b'*');
            }
        }
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
    // Pass 2: compact letters to the front, recording pieces. Runs of more than three
    // identical units are cut to three (no term needs more), which bounds adversarial input.
    s.pieces.clear();
    let mut w = 0usize;
    let mut in_piece = false;
    let (mut gap_len, mut gap_space, mut gap_other) = (0usize, false, false);
    for r in 0..n {
        let Some(&u) = units.get(r) else { break };
        let class = class_of(u);
        let soft = class == CLASS_SOFT_TAIL && in_piece;
        if class == CLASS_ALNUM || soft {
            if !in_piece && !soft {
                let first = s.pieces.is_empty();
                let p = Piece::new(
                    w as u16,
                    !first && !gap_space && gap_len <= 3,
                    first || !gap_other,
                );
                if s.pieces.push(p).is_err() {
                    return false;
                }
                in_piece = true;
            }
            // Leet symbols read as letters keep a flag, so the word can also be read without
            // them (`nu!de` is `nulde` or `nude`).
            let symbol = matches!(canonical_of(u), b'!' | b'|' | b'+' | b'$' | b'@' | b'*');
            let m = mask_of(u) | if symbol { SYMBOL_FLAG } else { 0 };
            let piece_start = s.pieces.last().map_or(0, |p| usize::from(p.start));
            let repeat = w >= piece_start + 3
                && units
                    .get(w - 3..w)
                    .is_some_and(|prev| prev.iter().all(|&q| q == m));
            if !repeat {
                if let Some(slot) = units.get_mut(w) {
                    *slot = m;
                }
                w += 1;
            }
            if let Some(p) = s.pieces.last_mut() {
                p.set_full_end(w as u16);
                if !soft {
                    p.end = w as u16;
                }
            }
        } else {
            if in_piece {
                (gap_len, gap_space, gap_other) = (0, false, false);
            }
            in_piece = false;
            gap_len += 1;
            if class == CLASS_SPACE {
                gap_space = true;
            } else if !matches!(canonical_of(u), b'-' | b'\'' | b'_') {
                // Hyphens and apostrophes sit inside words ("blue-footed"); other
                // punctuation ends a phrase ("nude, color").
                gap_other = true;
            }
        }
    }
    units.truncate(w);
    true
}

/// A list of terms (the policy's terms, or its exceptions) with its index of single-word terms
/// by first letter (`build/policy.rs`, `render_single_index`).
pub(crate) struct List {
    terms: &'static [Term],
    single: &'static [u32],
    buckets: &'static [u32; 38],
}

/// The policy's terms.
static TERM_LIST: List = List {
    terms: &TERMS,
    single: &TERMS_SINGLE,
    buckets: &TERMS_BUCKETS,
};

/// The policy's exceptions.
static EXCEPTION_LIST: List = List {
    terms: &EXCEPTIONS,
    single: &EXCEPTIONS_SINGLE,
    buckets: &EXCEPTIONS_BUCKETS,
};

impl List {
    /// The single-word terms a word whose first unit has the letter set `first` can match
    /// (those that must start with one of its letters, and those that may start anywhere);
    /// `None`: all of them.
    fn singles(
        &self,
        first: Option<u64>,
    ) -> impl Iterator<Item = (usize, &'static Term, &'static crate::policy::Word)> + '_ {
        (0..37usize)
            .filter(move |&b| first.is_none_or(|m| b == 36 || m & (1u64 << b) != 0))
            .flat_map(move |b| {
                let lo = self.buckets.get(b).copied().unwrap_or(0) as usize;
                let hi = self.buckets.get(b + 1).copied().unwrap_or(0) as usize;
                self.single.get(lo..hi).unwrap_or(&[]).iter()
            })
            .filter_map(move |&ti| {
                let t = self.terms.get(ti as usize)?;
                match t.words() {
                    [w] => Some((ti as usize, t, w)),
                    _ => None,
                }
            })
    }
}

/// A span of letters `[start, end)` in the compacted buffer.
type Span = (usize, usize);

/// Marks a compacted unit that came from a leet symbol (outside every letter bit).
const SYMBOL_FLAG: u64 = 1 << 63;
/// Longest word that is also tried with its leet symbols left out.
const MAX_SYMBOL_WORD: usize = 48;

/// Joined runs are tried as every sub-run of up to this many pieces.
const MAX_JOINED: usize = 6;

/// Call `f(term index, span)` for every match of `terms` in the prompt. `strict` (used for
/// exceptions) looks at plain pieces and white-space-separated phrases only, so an exception
/// can never be assembled from punctuation, joined or spaced-out letters.
fn scan(list: &List, s: &Scratch, strict: bool, mut f: impl FnMut(usize, Span)) {
    let terms = list.terms;
    let units = s.units.as_slice();
    let pieces = s.pieces.as_slice();
    let slice = |a: usize, b: usize| units.get(a..b).unwrap_or(&[]);
    // Single words: pieces, joined runs, spaced-letter runs, and compounds.
    let mut test = |masks: &[u64], span: Span, anywhere: bool, compounds: bool| {
        let have = union(masks);
        let first = (!anywhere).then(|| masks.first().copied().unwrap_or(0));
        for (ti, t, w) in list.singles(first) {
            if t.lacks(have) {
                continue;
            }
            // In spaced-letter runs a short term is a whole word, the run's end ("p r i n t e d
            // g u n") or a compound part, never the start or middle: "s e x t a n t" is a
            // sextant.
            let hit = if anywhere && w.letters().len() < MIN_SPLIT_TERM {
                word_matches(w, masks, false)
                    || crate::nfa::run_nfa(w.letters(), masks, false, |k| k + 1 == masks.len())
            } else {
                word_matches(w, masks, anywhere)
            };
            if hit {
                f(ti, span);
            }
            // "nakedchild", "sexykid", "swastikaflag": a whole term followed by another.
            if compounds && w.letters().len() >= 3 {
                head_ends(w, masks, |e| {
                    let tail = masks.get(e..).unwrap_or(&[]);
                    let tail_have = union(tail);
                    for (ui, u, uw) in list.singles(Some(tail.first().copied().unwrap_or(0))) {
                        // "magasin" is not "maga" + the negation "sin".
                        if uw.mode() == Mode::Whole
                            && u.group() != NEGATION
                            && uw.letters().len() >= 3
                            && !u.lacks(tail_have)
                            && word_matches(uw, tail, false)
                        {
                            f(ti, span);
                            f(ui, span);
                        }
                    }
                });
            }
        }
    };
    let single = |q: &Piece| q.end - q.start == 1;
    for (i, p) in pieces.iter().enumerate() {
        let (start, end) = (usize::from(p.start), usize::from(p.end));
        test(slice(start, end), (start, end), false, !strict);
        let word = slice(start, end);
        if !strict && word.len() <= MAX_SYMBOL_WORD && word.iter().any(|&m| m & SYMBOL_FLAG != 0) {
            let without: Vec<u64, MAX_SYMBOL_WORD> = word
                .iter()
                .copied()
                .filter(|&m| m & SYMBOL_FLAG == 0)
                .collect();
            if !without.is_empty() {
                test(&without, (start, end), false, false);
            }
        }
        if strict {
            continue;
        }
        if p.full_end() > p.end {
            test(
                slice(start, usize::from(p.full_end())),
                (start, usize::from(p.full_end())),
                false,
                false,
            );
        }
        // Joined runs ending here: every sub-run of up to MAX_JOINED pieces.
        let mut k = i;
        while k > 0 && i - k + 1 < MAX_JOINED && pieces.get(k).is_some_and(Piece::joined) {
            k -= 1;
            if let Some(q) = pieces.get(k) {
                test(
                    slice(usize::from(q.start), end),
                    (usize::from(q.start), end),
                    false,
                    true,
                );
            }
        }
        // A run of three or more one-letter pieces, starting here.
        if single(p) && (i == 0 || !pieces.get(i - 1).is_some_and(single)) {
            let run = pieces
                .get(i..)
                .map_or(0, |rest| rest.iter().take_while(|q| single(q)).count());
            if run >= 3 {
                let last = pieces.get(i + run - 1).map_or(end, |q| usize::from(q.end));
                test(slice(start, last), (start, last), true, true);
            }
        }
    }
    if !strict {
        for i in 0..pieces.len() {
            split_and_reversed(list, slice, pieces, i, &mut f);
        }
    }
    // Phrases: consecutive pieces. Terms whose letters do not all occur in the prompt are
    // skipped at once, and a window is tried only where its first letter can start.
    let prompt_letters = union(units);
    for (ti, t) in terms.iter().enumerate() {
        if t.words().len() < 2 || t.lacks(prompt_letters) {
            continue;
        }
        let first_bit = t
            .words()
            .first()
            .and_then(|w| w.letters().first())
            .map_or(0, |&b| 1u64 << b);
        let anchored = t
            .words()
            .first()
            .is_some_and(|w| matches!(w.mode(), Mode::Whole | Mode::Prefix));
        for start in 0..pieces.len() {
            let Some(window) = pieces.get(start..start + t.words().len()) else {
                break;
            };
            let opens = units
                .get(window.first().map_or(0, |p| usize::from(p.start)))
                .copied()
                .unwrap_or(0);
            if anchored && opens & first_bit == 0 {
                continue;
            }
            if strict && window.iter().skip(1).any(|p| !p.spaced()) {
                continue;
            }
            let all = t.words().iter().zip(window).all(|(w, p)| {
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

/// The shortest term found split in two by a space ("na ked"): shorter ones turn up by chance
/// in ordinary word pairs ("pen is").
const MIN_SPLIT_TERM: usize = 5;
/// The shortest term found written backwards: five letters are too few (measured on the CLDR
/// emoji labels of 19 locales: "regen" is a slur backwards, "deken" and "nemes" are sexual).
const MIN_REVERSED_TERM: usize = 6;

/// Single whole-word category terms of at least [`MIN_SPLIT_TERM`] letters, for the split and
/// reversed readings (signals stay out: their words are ordinary on their own).
fn long_category_words(
    list: &List,
    first: u64,
    min: usize,
) -> impl Iterator<Item = (usize, &'static Term, &'static crate::policy::Word)> + '_ {
    list.singles(Some(first)).filter(move |(_, t, w)| {
        w.mode() == Mode::Whole
            && w.letters().len() >= min
            && usize::from(t.group()) < CATEGORY_COUNT
    })
}

/// Short words that end or start ordinary phrases ("a pen is", "a hero in", "pe on"): a pair
/// with one of them is never read as a split word.
const FUNCTION_WORDS: &[&[u8]] = &[
    b"a", b"i", b"am", b"an", b"as", b"at", b"be", b"by", b"do", b"he", b"if", b"in", b"is", b"it",
    b"me", b"my", b"no", b"of", b"on", b"or", b"so", b"to", b"up", b"us", b"we", b"and", b"are",
    b"but", b"for", b"her", b"his", b"its", b"not", b"our", b"the", b"was", b"you",
];

/// Is this piece exactly one of the [`FUNCTION_WORDS`]?
fn is_function_word(masks: &[u64]) -> bool {
    FUNCTION_WORDS.iter().any(|w| {
        w.len() == masks.len()
            && w.iter().zip(masks).all(|(&b, &m)| {
                bit_of(b).is_some_and(|bit| m & (1u64 << bit) != 0) && m & SYMBOL_FLAG == 0
            })
    })
}

/// Two readings of piece `i` that evasion produces: with the next piece, when only a space
/// separates them (`na ked`, `swas tika`), and backwards (`dekan`). Both are whole-word matches
/// of long category terms only.
fn split_and_reversed<'a>(
    list: &List,
    slice: impl Fn(usize, usize) -> &'a [u64],
    pieces: &[Piece],
    i: usize,
    f: &mut impl FnMut(usize, Span),
) {
    let Some(p) = pieces.get(i) else { return };
    let (start, end) = (usize::from(p.start), usize::from(p.end));
    if let Some(q) = pieces.get(i + 1)
        && q.spaced()
        && !q.joined()
        && !is_function_word(slice(start, end))
        && !is_function_word(slice(usize::from(q.start), usize::from(q.end)))
    {
        // Compacted pieces are adjacent, so the pair is one slice.
        let pair = slice(start, usize::from(q.end));
        let have = union(pair);
        let first = pair.first().copied().unwrap_or(0);
        for (ti, t, w) in long_category_words(list, first, MIN_SPLIT_TERM) {
            if !t.lacks(have) && word_matches(w, pair, false) {
                f(ti, (start, usize::from(q.end)));
            }
        }
    }
    let word = slice(start, end);
    if word.len() >= MIN_REVERSED_TERM && word.len() <= MAX_SYMBOL_WORD {
        let reversed: Vec<u64, MAX_SYMBOL_WORD> = word.iter().rev().copied().collect();
        let have = union(&reversed);
        let first = reversed.first().copied().unwrap_or(0);
        for (ti, t, w) in long_category_words(list, first, MIN_REVERSED_TERM) {
            if !t.lacks(have)
                && crate::nfa::run_nfa(w.letters(), &reversed, true, |k| k + 1 == reversed.len())
            {
                f(ti, (start, end));
            }
        }
    }
}

/// Find every group hit in folded `units` (consumed: compacted in place).
/// Returns `None` when the prompt has more than [`MAX_PIECES`] words.
///
/// Exceptions suppress a term only inside their span and in their own group. A category's
/// exceptions are lifted when a group of the policy's `no_exceptions_with` list hits (say, a
/// minor is in the prompt: then "nude color" is not given the benefit of the doubt).
pub(crate) fn find_hits(s: &mut Scratch) -> Option<Hits> {
    let mut strict = Hits::new();
    let mut raw = Hits::new();
    // Glyph terms first: the Latin pass compacts the units in place. Their indices in `Hits`
    // follow the Latin terms'.
    crate::glyph::find(&s.units, |group, gi, excepted| {
        record(&mut strict, &mut raw, group, TERMS.len() + gi, excepted);
    });
    if !segment(s) {
        return None;
    }
    // Exception spans (bounded; exceptions beyond capacity are dropped, which can only make
    // the gate stricter).
    let mut exceptions: Vec<(u8, Span, bool), 64> = Vec::new();
    scan(&EXCEPTION_LIST, s, true, |ti, span| {
        if let Some(t) = EXCEPTIONS.get(ti) {
            let keep = EXCEPTION_KEEP.get(ti).copied().unwrap_or(false);
            let _ = exceptions.push((t.group(), span, keep));
        }
    });
    // Hits wait until the negations are known (bounded: a hit beyond capacity is recorded at
    // once, never negated, which can only make the gate stricter).
    let mut pending: Vec<(usize, Span), 64> = Vec::new();
    let mut negations: Vec<Span, 16> = Vec::new();
    scan(&TERM_LIST, s, false, |ti, span| {
        let Some(t) = TERMS.get(ti) else { return };
        if t.group() == NEGATION {
            let _ = negations.push(span);
            return;
        }
        if pending.push((ti, span)).is_err() {
            let excepted = excepted_by(&exceptions, t.group(), span);
            record(&mut strict, &mut raw, t.group(), ti, excepted);
        }
    });
    for &(ti, span) in pending.iter() {
        let Some(t) = TERMS.get(ti) else {
            continue;
        };
        if negated(&s.pieces, &negations, span) {
            continue;
        }
        let excepted = excepted_by(&exceptions, t.group(), span);
        record(&mut strict, &mut raw, t.group(), ti, excepted);
    }
    Some(if strict.groups & EXCEPTION_GUARD != 0 {
        raw
    } else {
        strict
    })
}

/// Whether an exception of `group` covers `span`, and of which kind.
pub(crate) fn excepted_by(exceptions: &[(u8, Span, bool)], group: u8, span: Span) -> Excepted {
    let mut found = Excepted::No;
    for &(g, (a, b), keep) in exceptions {
        if g == group && a <= span.0 && span.1 <= b {
            if keep {
                return Excepted::Sense;
            }
            found = Excepted::Yes;
        }
    }
    found
}

/// Whether a hit lies inside an exception.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Excepted {
    /// No.
    No,
    /// Inside an exception, which a `no_exceptions_with` group lifts.
    Yes,
    /// Inside a sense (an exception for a benign sense of the word): it always holds.
    Sense,
}

/// Is the hit at `span` negated: is it the word right after a negation, with only white space
/// between? Only right after: Portuguese "no" is "in the" ("mulher no chuveiro nua"), so a word
/// between would let a negation reach a request.
fn negated(pieces: &[Piece], negations: &[Span], span: Span) -> bool {
    let Some(first) = pieces.iter().position(|p| usize::from(p.start) == span.0) else {
        return false;
    };
    negations.iter().any(|&(_, neg_end)| {
        let Some(after) = pieces.iter().position(|p| usize::from(p.start) >= neg_end) else {
            return false;
        };
        after == first && pieces.get(first).is_some_and(|p| p.spaced() && !p.joined())
    })
}

/// Record one term hit of `group`: in `raw` always, in `strict` unless an exception covered it.
/// A signal's exceptions always hold ("pieds nus" is not nudity, even with a child); a
/// category's exceptions are lifted by the guard.
fn record(strict: &mut Hits, raw: &mut Hits, group: u8, ti: usize, excepted: Excepted) {
    let signal = GROUPS.get(usize::from(group)).is_some_and(|g| g.signal);
    let targets: &mut [&mut Hits] = match (excepted, signal) {
        (Excepted::No, _) => &mut [raw, strict],
        (Excepted::Yes, false) => &mut [raw],
        (Excepted::Yes, true) | (Excepted::Sense, _) => &mut [],
    };
    for h in targets.iter_mut() {
        let g = usize::from(group);
        h.groups |= 1 << g;
        if let Some(slot) = h.first_term.get_mut(g)
            && *slot == u16::MAX
        {
            *slot = u16::try_from(ti).unwrap_or(u16::MAX - 1);
        }
    }
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
