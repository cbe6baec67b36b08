//! Matching one word pattern against a run of units: a bit-parallel NFA in which each pattern
//! letter consumes one or more units whose letter set contains it (`nuuude` is `nude`, while
//! `ass` still needs two `s`). Every routine is linear in the units: no input can make a check
//! quadratic.

use crate::policy::{Mode, Word};

/// The longest pattern (term letters plus a suffix) the NFA state can hold.
const MAX_PATTERN: usize = 64;

/// Run `pat` (letter bits) over `masks`. `anchored` starts it at unit 0 only. Calls
/// `on_final(i)` whenever the pattern is complete after unit `i`; returns true as soon as that
/// returns true.
pub(crate) fn run_nfa(
    pat: &[u8],
    masks: &[u64],
    anchored: bool,
    mut on_final: impl FnMut(usize) -> bool,
) -> bool {
    let Some(last) = pat.len().checked_sub(1) else {
        return false;
    };
    if last >= MAX_PATTERN {
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

/// The whole of `masks` is `word` followed by nothing or one of its suffixes. Each variant is
/// one anchored pass over the pattern `letters ‖ suffix`, so the cost is linear.
pub(crate) fn whole_with_suffix(word: &Word, masks: &[u64]) -> bool {
    let n = masks.len();
    if run_nfa(word.letters(), masks, true, |i| i + 1 == n) {
        return true;
    }
    let mut buf = [0u8; MAX_PATTERN];
    let base = word.letters().len();
    word.suffixes().list().iter().any(|suf| {
        let len = base + suf.len();
        let Some(pat) = buf.get_mut(..len) else {
            return false;
        };
        let (head, tail) = pat.split_at_mut(base);
        head.copy_from_slice(word.letters());
        tail.copy_from_slice(suf);
        buf.get(..len)
            .is_some_and(|pat| run_nfa(pat, masks, true, |i| i + 1 == n))
    })
}

/// Does `word` match `masks` under its mode (or anywhere, for spaced-letter runs)?
pub(crate) fn word_matches(word: &Word, masks: &[u64], anywhere: bool) -> bool {
    match (word.mode(), anywhere) {
        (_, true) | (Mode::Anywhere, _) => run_nfa(word.letters(), masks, false, |_| true),
        (Mode::Whole, false) => whole_with_suffix(word, masks),
        (Mode::Prefix, false) => run_nfa(word.letters(), masks, true, |_| true),
        (Mode::Suffix, false) => run_nfa(word.letters(), masks, false, |i| i + 1 == masks.len()),
    }
}

/// Ends (exclusive) of every prefix of `masks` that is exactly `word` (whole-word pattern, no
/// suffix), shorter than all of `masks`: the heads of compounds like `nakedchild`.
pub(crate) fn head_ends(word: &Word, masks: &[u64], mut f: impl FnMut(usize)) {
    if word.mode() != Mode::Whole {
        return;
    }
    run_nfa(word.letters(), masks, true, |i| {
        if i + 1 < masks.len() {
            f(i + 1);
        }
        false
    });
}

/// Union of the letter sets of `masks`.
pub(crate) fn union(masks: &[u64]) -> u64 {
    masks.iter().fold(0, |a, &m| a | m)
}
