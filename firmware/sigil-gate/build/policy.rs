//! Build-time policy compiler: reads `firmware/policy/default.toml` and `opt-out.toml`, checks
//! them, folds every term through the same normaliser the gate runs, and emits static tables.
//! Any mistake in the policy stops the build with a message naming the file, entry and fix.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Deserialize;

use crate::fold::{Fold, fold};
use crate::units::*;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyFile {
    pub policy: Meta,
    #[serde(default)]
    pub category: Vec<GroupSrc>,
    #[serde(default)]
    pub signal: Vec<GroupSrc>,
    #[serde(default)]
    pub combination: Vec<ComboSrc>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Meta {
    pub name: String,
    pub version: u32,
    /// Groups whose hit switches every exception off.
    #[serde(default)]
    pub no_exceptions_with: Vec<String>,
    /// The signal whose terms negate the word after them ("no nudity").
    #[serde(default)]
    pub negation: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupSrc {
    pub id: String,
    #[serde(default)]
    pub tier: Option<String>,
    #[serde(default)]
    pub escalate: bool,
    pub description: String,
    #[serde(default)]
    pub terms: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    pub exceptions: Vec<String>,
    /// Exceptions for a benign sense of a word ("pies desnudos" are bare feet): they hold even
    /// when a `no_exceptions_with` group hits.
    #[serde(default)]
    pub senses: Vec<String>,
    /// Emoji (dataset `unified` codes) the output check reports as this category.
    #[serde(default)]
    pub output: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComboSrc {
    pub category: String,
    pub require: Vec<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptOutFile {
    pub registry: Registry,
    #[serde(default)]
    pub artist: Vec<OptOutEntry>,
    #[serde(default)]
    pub style: Vec<OptOutEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Registry {
    pub category: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptOutEntry {
    pub name: String,
    #[serde(default)]
    pub aliases: Vec<String>,
    pub since: String,
    pub reason: String,
}

/// One language's file, `firmware/policy/lang/TAG.toml`: per group id (a category or signal of
/// `default.toml`), more terms in that language and the exceptions written in it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LangGroup {
    #[serde(default)]
    pub terms: Vec<String>,
    #[serde(default)]
    pub exceptions: Vec<String>,
    /// Exceptions that hold even when a `no_exceptions_with` group hits (see `GroupSrc`).
    #[serde(default)]
    pub senses: Vec<String>,
}

/// A language file: its name (for messages), its tag, and its groups.
pub struct LangFile {
    pub name: String,
    pub tag: String,
    pub groups: BTreeMap<String, LangGroup>,
}

/// Languages terms may be given in (`default.toml` keys and `lang/TAG.toml` file names);
/// `emoji` is the emoji lexicon, `any` is for names.
pub const LANGS: &[&str] = &[
    "en", "de", "fr", "es", "it", "pt", "nl", "pl", "tr", "ru", "uk", "ar", "zh", "ja", "ko", "hi",
    "emoji", "any",
];
const MAX_WORD: usize = 48;
const MAX_WORDS: usize = 8;

struct WordOut {
    mode: &'static str,
    letters: Vec<u8>,
    suffixes: &'static str,
}

struct TermOut {
    /// Where it was written (file, group, list), for messages.
    ctx: String,
    /// An exception that holds even when a `no_exceptions_with` group hits (a sense).
    keep: bool,
    group: usize,
    lang: String,
    text: String,
    words: Vec<WordOut>,
}

fn fail(msg: String) -> ! {
    panic!("\n\npolicy error: {msg}\n\n")
}

/// Fold a term word into bit indices; every character must fold to one letter or digit.
fn fold_word(word: &str, ctx: &str) -> Vec<u8> {
    let mut out = Vec::new();
    for c in word.chars() {
        match fold(c) {
            Fold::Drop => {}
            Fold::Units(units) => {
                for u in units {
                    let canon = canonical_of(u);
                    match bit_of(canon) {
                        Some(b) if class_of(u) == CLASS_ALNUM => out.push(b as u8),
                        _ => fail(format!(
                            "{ctx}: character {c:?} in {word:?} is not a letter or digit after \
                             normalisation; write the term with letters only (use a space or '-' \
                             between words)"
                        )),
                    }
                }
            }
            Fold::Glyph(_) => fail(format!(
                "{ctx}: {word:?} mixes Latin letters with {c:?} of another script; write the two \
                 parts as separate terms"
            )),
            Fold::Other => fail(format!(
                "{ctx}: character {c:?} (U+{:04X}) in {word:?} is in a script the normaliser \
                 cannot fold; transliterate it, or add its script to `units::glyph_fold`",
                c as u32
            )),
        }
    }
    out
}

fn parse_word(raw: &str, ctx: &str) -> WordOut {
    let mut w = raw;
    let mut mode = "Mode::Whole";
    let mut suffixes = "Suffixes::Plural";
    if let Some(rest) = w.strip_prefix('=') {
        w = rest;
        suffixes = "Suffixes::None";
    }
    let lead = w.starts_with('*');
    let trail = w.ends_with('*');
    w = w.trim_matches('*');
    if let Some(rest) = w.strip_suffix('~') {
        w = rest;
        suffixes = "Suffixes::Inflect";
    }
    match (lead, trail) {
        (true, true) => mode = "Mode::Anywhere",
        (false, true) => mode = "Mode::Prefix",
        (true, false) => mode = "Mode::Suffix",
        (false, false) => {}
    }
    let letters = fold_word(w, ctx);
    if letters.is_empty() || letters.len() > MAX_WORD {
        fail(format!(
            "{ctx}: word {raw:?} must have 1..={MAX_WORD} letters after normalisation"
        ));
    }
    if mode != "Mode::Whole" && letters.len() < 4 {
        fail(format!(
            "{ctx}: prefix/infix pattern {raw:?} is shorter than 4 letters and would match \
             innocent words; spell it out as a whole word"
        ));
    }
    WordOut {
        mode,
        letters,
        suffixes,
    }
}

fn parse_term(group: usize, lang: &str, text: &str, ctx: &str) -> Vec<TermOut> {
    let raw_words: Vec<&str> = text
        .split([' ', '-', '\'', '’'])
        .filter(|w| !w.is_empty())
        .collect();
    if raw_words.is_empty() || raw_words.len() > MAX_WORDS {
        fail(format!(
            "{ctx}: term {text:?} must have 1..={MAX_WORDS} words"
        ));
    }
    let words: Vec<WordOut> = raw_words.iter().map(|w| parse_word(w, ctx)).collect();
    let mut out = Vec::new();
    // "child porn" also catches "childporn" and "child-porn" written as one word.
    if words.len() > 1 && words.iter().all(|w| w.mode == "Mode::Whole") {
        let letters: Vec<u8> = words
            .iter()
            .flat_map(|w| w.letters.iter().copied())
            .collect();
        if letters.len() <= MAX_WORD {
            let suffixes = words.last().map_or("Suffixes::Plural", |w| w.suffixes);
            let joined = WordOut {
                mode: "Mode::Whole",
                letters,
                suffixes,
            };
            out.push(TermOut {
                ctx: ctx.into(),
                keep: false,
                group,
                lang: lang.into(),
                text: text.into(),
                words: vec![joined],
            });
        }
    }
    out.push(TermOut {
        ctx: ctx.into(),
        keep: false,
        group,
        lang: lang.into(),
        text: text.into(),
        words,
    });
    out
}

/// The longest run-script term (the run matcher remembers this many glyph positions).
const MAX_RUN_TERM: usize = 16;

struct GlyphWordOut {
    mode: &'static str,
    cps: Vec<u32>,
}

struct GlyphTermOut {
    /// Where it was written (file, group, list), for messages.
    ctx: String,
    /// An exception that holds even when a `no_exceptions_with` group hits (a sense).
    keep: bool,
    group: usize,
    lang: String,
    text: String,
    /// A run-script term (Han, kana, Hangul, Thai, emoji): one word, matched anywhere in a run.
    run: bool,
    words: Vec<GlyphWordOut>,
}

/// Does this term contain a glyph-script character (so it is a glyph term)?
fn is_glyph_term(text: &str) -> bool {
    text.chars().any(|c| matches!(fold(c), Fold::Glyph(_)))
}

fn fold_glyphs(word: &str, ctx: &str) -> Vec<u32> {
    let mut cps = Vec::new();
    for c in word.chars() {
        match fold(c) {
            Fold::Glyph(g) => cps.extend(g),
            Fold::Drop => {}
            Fold::Units(_) => fail(format!(
                "{ctx}: {word:?} mixes {c:?} with the letters of another script; write the two \
                 parts as separate terms (a signal and a combination rule can join them)"
            )),
            Fold::Other => fail(format!(
                "{ctx}: character {c:?} (U+{:04X}) in {word:?} is in a script the normaliser \
                 cannot fold; transliterate it, or add its script to `units::glyph_fold`",
                c as u32
            )),
        }
    }
    cps
}

fn parse_glyph_term(group: usize, lang: &str, text: &str, ctx: &str) -> GlyphTermOut {
    let raw_words: Vec<&str> = text.split(' ').filter(|w| !w.is_empty()).collect();
    if raw_words.is_empty() || raw_words.len() > MAX_WORDS {
        fail(format!(
            "{ctx}: term {text:?} must have 1..={MAX_WORDS} words"
        ));
    }
    let mut words = Vec::new();
    for raw in &raw_words {
        let w = raw.strip_prefix('=').unwrap_or(raw);
        if w.contains('~') {
            fail(format!(
                "{ctx}: {raw:?}: `~` (English inflections) does not apply to this script; write \
                 the forms, or a stem with `*`"
            ));
        }
        let (lead, trail) = (w.starts_with('*'), w.ends_with('*'));
        let mode = match (lead, trail) {
            (true, true) => "Mode::Anywhere",
            (false, true) => "Mode::Prefix",
            (true, false) => "Mode::Suffix",
            (false, false) => "Mode::Whole",
        };
        let cps = fold_glyphs(w.trim_matches('*'), ctx);
        if cps.is_empty() || cps.len() > MAX_WORD {
            fail(format!(
                "{ctx}: word {raw:?} must have 1..={MAX_WORD} characters after normalisation"
            ));
        }
        words.push((raw, mode, cps));
    }
    let all_cps = || words.iter().flat_map(|(_, _, c)| c.iter().copied());
    let run = all_cps().all(is_run_script);
    if !run && all_cps().any(is_run_script) {
        fail(format!(
            "{ctx}: term {text:?} mixes a script written without spaces (Han, kana, Hangul, \
             Thai, emoji) with one written with spaces; write them as separate terms"
        ));
    }
    if run {
        if let Some((raw, _, _)) = words
            .iter()
            .find(|(raw, m, _)| *m != "Mode::Whole" || raw.starts_with('='))
        {
            fail(format!(
                "{ctx}: {raw:?}: terms in scripts written without spaces match anywhere in a run \
                 already; drop the `*` or `=`"
            ));
        }
        let cps: Vec<u32> = all_cps().collect();
        let emoji_only = cps.iter().all(|&c| is_emoji_range(c));
        if (cps.len() < 2 && !emoji_only) || cps.len() > MAX_RUN_TERM {
            fail(format!(
                "{ctx}: term {text:?} must have 2..={MAX_RUN_TERM} characters (one is enough for \
                 an emoji): a single character matches inside too many innocent words"
            ));
        }
        return GlyphTermOut {
            ctx: ctx.into(),
            keep: false,
            group,
            lang: lang.into(),
            text: text.into(),
            run: true,
            words: vec![GlyphWordOut {
                mode: "Mode::Anywhere",
                cps,
            }],
        };
    }
    let words = words
        .into_iter()
        .map(|(raw, mode, cps)| {
            if mode != "Mode::Whole" && cps.len() < 3 {
                fail(format!(
                    "{ctx}: prefix/infix pattern {raw:?} is shorter than 3 letters and would match \
                     innocent words; spell it out as a whole word"
                ));
            }
            GlyphWordOut { mode, cps }
        })
        .collect();
    GlyphTermOut {
        ctx: ctx.into(),
        keep: false,
        group,
        lang: lang.into(),
        text: text.into(),
        run: false,
        words,
    }
}

/// Every term and exception, Latin and glyph.
#[derive(Default)]
struct Parsed {
    terms: Vec<TermOut>,
    exceptions: Vec<TermOut>,
    glyph_terms: Vec<GlyphTermOut>,
    glyph_exceptions: Vec<GlyphTermOut>,
    /// What is already in, so a term written in two languages is kept once.
    seen: std::collections::HashSet<String>,
}

/// What a policy entry is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Entry {
    Term,
    Exception,
    /// An exception that holds even when a `no_exceptions_with` group hits.
    Sense,
}

impl Parsed {
    fn add(&mut self, entry: Entry, group: usize, lang: &str, text: &str, ctx: &str) {
        let exception = entry != Entry::Term;
        let keep = entry == Entry::Sense;
        if is_glyph_term(text) {
            let mut t = parse_glyph_term(group, lang, text, ctx);
            t.keep = keep;
            let key = format!(
                "g{exception}{keep}/{group}/{}/{:?}",
                t.run,
                t.words.iter().map(|w| (w.mode, &w.cps)).collect::<Vec<_>>()
            );
            if !self.seen.insert(key) {
                return;
            }
            if exception {
                self.glyph_exceptions.push(t);
            } else {
                self.glyph_terms.push(t);
            }
        } else {
            for mut t in parse_term(group, lang, text, ctx) {
                t.keep = keep;
                let key = format!(
                    "l{exception}{keep}/{group}/{:?}",
                    t.words
                        .iter()
                        .map(|w| (w.mode, w.suffixes, &w.letters))
                        .collect::<Vec<_>>()
                );
                if !self.seen.insert(key) {
                    continue;
                }
                if exception {
                    self.exceptions.push(t);
                } else {
                    self.terms.push(t);
                }
            }
        }
    }

    /// A term that folds to exactly one of its own group's exceptions can never hit where the
    /// exception stands: one of the two is a mistake.
    fn check_against_exceptions(&self, groups: &[&GroupSrc]) {
        let id = |g: usize| groups.get(g).map_or("?", |g| g.id.as_str());
        for t in &self.terms {
            let same = self.exceptions.iter().find(|e| {
                e.group == t.group
                    && e.words.len() == t.words.len()
                    && e.words
                        .iter()
                        .zip(&t.words)
                        .all(|(a, b)| a.letters == b.letters)
            });
            if let Some(e) = same {
                fail(format!(
                    "{}: term {:?} folds to the same letters as the exception {:?} ({}) of [{}], \
                     which cancels it; drop the term or the exception",
                    t.ctx,
                    t.text,
                    e.text,
                    e.ctx,
                    id(t.group)
                ));
            }
        }
        for t in &self.glyph_terms {
            let same = self.glyph_exceptions.iter().find(|e| {
                e.group == t.group
                    && e.words.len() == t.words.len()
                    && e.words.iter().zip(&t.words).all(|(a, b)| a.cps == b.cps)
            });
            if let Some(e) = same {
                fail(format!(
                    "{}: term {:?} folds to the same characters as the exception {:?} ({}) of [{}], \
                     which cancels it; drop the term or the exception",
                    t.ctx,
                    t.text,
                    e.text,
                    e.ctx,
                    id(t.group)
                ));
            }
        }
    }

    /// Every output-check emoji must be a term of its category, and so must its name: the gate
    /// refuses in words what the output check refuses in pixels ("a bloody dagger").
    fn check_output_covered(&self, groups: &[&GroupSrc], combos: &[ComboSrc]) {
        for (gi, g) in groups.iter().enumerate() {
            // The category's own terms, and those of the groups its combination rules need
            // ("syringe" is a drug word only next to heroin: the `injection` signal).
            let vocabulary: Vec<usize> = std::iter::once(gi)
                .chain(
                    combos
                        .iter()
                        .filter(|c| c.category == g.id)
                        .flat_map(|c| c.require.iter().flatten())
                        .filter_map(|id| groups.iter().position(|h| &h.id == id)),
                )
                .collect();
            for entry in &g.output {
                let (code, name) = entry.split_once(' ').unwrap_or((entry.as_str(), ""));
                let ctx = format!("default.toml [{}] output {entry:?}", g.id);
                let cps: Vec<u32> = code
                    .split('-')
                    .filter_map(|h| u32::from_str_radix(h, 16).ok())
                    .filter_map(char::from_u32)
                    .flat_map(|c| match fold(c) {
                        Fold::Glyph(x) => x,
                        _ => Vec::new(),
                    })
                    .collect();
                let emoji_term = self.glyph_terms.iter().any(|t| {
                    t.group == gi && t.run && t.words.first().is_some_and(|w| w.cps == cps)
                });
                if !emoji_term {
                    fail(format!(
                        "{ctx}: the emoji itself is not a term of {:?}; add it to the category's \
                         `emoji` terms (or to lang/emoji.toml)",
                        g.id
                    ));
                }
                let name = name.trim();
                if name.is_empty() {
                    fail(format!(
                        "{ctx}: write the emoji's CLDR name after the code, as in \
                         \"1F5E1-FE0F dagger\", so the build can check the gate knows the word"
                    ));
                }
                let name_words: Vec<Vec<u8>> = name
                    .split([' ', '-'])
                    .filter(|w| !w.is_empty())
                    .map(|w| fold_word(w, &ctx))
                    .collect();
                if !self
                    .terms
                    .iter()
                    .any(|t| vocabulary.contains(&t.group) && covers(t, &name_words))
                {
                    fail(format!(
                        "{ctx}: no term of {:?} (or of a signal its combination rules use) matches \
                         the emoji's name {name:?}; add the name or its head word to the terms",
                        g.id
                    ));
                }
            }
        }
    }
}

/// The glyph terms, in both renderings: `canonical` one struct per term with its code points,
/// `compact` indices into shared word and code-point pools.
fn render_glyph_terms(
    lists: &[(&str, &Vec<GlyphTermOut>)],
    canonical: &mut String,
    compact: &mut String,
) {
    let mut words = String::new();
    let mut cps: Vec<u32> = Vec::new();
    let mut cps_at: std::collections::HashMap<Vec<u32>, usize> = Default::default();
    let mut n_words = 0usize;
    if let Some((_, exceptions)) = lists.iter().find(|(n, _)| *n == "GLYPH_EXCEPTIONS") {
        let keeps: Vec<bool> = exceptions.iter().map(|e| e.keep).collect();
        for out in [&mut *canonical, &mut *compact] {
            let _ = writeln!(
                out,
                "pub static GLYPH_EXCEPTION_KEEP: [bool; {}] = {keeps:?};",
                keeps.len()
            );
        }
    }
    for (name, list) in lists {
        let _ = writeln!(
            canonical,
            "pub static {name}: [GlyphTerm; {}] = [",
            list.len()
        );
        let _ = writeln!(
            compact,
            "pub static {name}: [GlyphTerm; {}] = [",
            list.len()
        );
        for t in list.iter() {
            let _ = write!(
                canonical,
                "    GlyphTerm {{ group: {}, lang: {:?}, text: {:?}, run: {}, words: &[",
                t.group, t.lang, t.text, t.run
            );
            let _ = writeln!(
                compact,
                "    GlyphTerm::new({}, {}, {}, {n_words}),",
                t.group,
                t.run,
                t.words.len()
            );
            for w in &t.words {
                let _ = write!(
                    canonical,
                    "GlyphWord {{ mode: {}, cps: &{:?} }}, ",
                    w.mode, w.cps
                );
                let at = *cps_at.entry(w.cps.clone()).or_insert_with(|| {
                    cps.extend_from_slice(&w.cps);
                    cps.len() - w.cps.len()
                });
                let _ = writeln!(
                    words,
                    "    GlyphWord::new({}, {}, {at}),",
                    w.mode,
                    w.cps.len(),
                );
                n_words += 1;
            }
            let _ = writeln!(canonical, "] }},");
        }
        let _ = writeln!(canonical, "];");
        let _ = writeln!(compact, "];");
        let texts: Vec<&str> = list.iter().map(|t| t.text.as_str()).collect();
        let langs: Vec<&str> = list.iter().map(|t| t.lang.as_str()).collect();
        let _ = writeln!(
            compact,
            "pub static {name}_TEXT: [&str; {}] = {texts:?};\npub static {name}_LANG: [&str; {}] = {langs:?};",
            texts.len(),
            langs.len()
        );
    }

    let _ = writeln!(
        compact,
        "pub static GLYPH_WORDS: [GlyphWord; {n_words}] = [\n{words}];"
    );
    let keys: Vec<u16> = cps
        .iter()
        .map(|&cp| {
            glyph_key(cp).unwrap_or_else(|| {
                fail(format!(
                    "glyph U+{cp:04X} in a term is outside the Basic Multilingual Plane and the \
                     emoji blocks; write the term with a BMP form of the character"
                ))
            })
        })
        .collect();
    check_pool(n_words, cps.len(), "glyph");
    let _ = writeln!(
        compact,
        "pub static GLYPH_KEYS: [u16; {}] = {keys:?};",
        keys.len()
    );
}

/// The single-word terms of a list by the letter they must start with (whole and prefix words;
/// 36 letters and digits), then those that may start anywhere (suffix and infix words): the
/// matcher tries a word only against the terms its first letter can start. A derived index,
/// not part of what the digest covers.
fn render_single_index(name: &str, list: &[TermOut], compact: &mut String) {
    let bucket = |t: &TermOut| match t.words.as_slice() {
        [w] if matches!(w.mode, "Mode::Whole" | "Mode::Prefix") => {
            w.letters.first().map(|&b| usize::from(b))
        }
        [_] => Some(36),
        _ => None,
    };
    let mut by: Vec<(usize, usize)> = list
        .iter()
        .enumerate()
        .filter_map(|(i, t)| bucket(t).map(|b| (b, i)))
        .collect();
    by.sort();
    let mut starts = vec![0u32; 38];
    for &(b, _) in &by {
        starts[b + 1] += 1;
    }
    for b in 1..38 {
        starts[b] += starts[b - 1];
    }
    let index: Vec<u32> = by.iter().map(|&(_, i)| i as u32).collect();
    let _ = writeln!(
        compact,
        "pub static {name}_SINGLE: [u32; {}] = {index:?};\npub static {name}_BUCKETS: [u32; 38] = {starts:?};",
        index.len()
    );
}

/// The packed tables index words and letters with 20 bits (`policy::POOL_BITS`).
fn check_pool(words: usize, items: usize, what: &str) {
    if words >= 1 << 20 || items >= 1 << 20 {
        fail(format!(
            "the policy has {words} words and {items} {what}s; the packed tables index at most \
             {} of each: too large for a device's flash, drop terms",
            (1 << 20) - 1
        ));
    }
}

/// Does a whole-word Latin term match a run of consecutive words of `name` (plural allowed)?
fn covers(t: &TermOut, name: &[Vec<u8>]) -> bool {
    let s = |c: u8| c - b'a';
    let plural = |w: &WordOut, n: &[u8]| {
        n == w.letters.as_slice()
            || (w.suffixes != "Suffixes::None"
                && (n.strip_prefix(w.letters.as_slice()) == Some(&[s(b's')])
                    || n.strip_prefix(w.letters.as_slice()) == Some(&[s(b'e'), s(b's')])))
    };
    name.windows(t.words.len()).any(|win| {
        t.words
            .iter()
            .zip(win)
            .all(|(w, n)| w.mode == "Mode::Whole" && plural(w, n))
    })
}

fn tier_expr(t: &str, ctx: &str) -> &'static str {
    match t {
        "block" => "Tier::Block",
        "review" => "Tier::Review",
        "label" => "Tier::Label",
        other => fail(format!(
            "{ctx}: tier {other:?} is not one of block, review, label"
        )),
    }
}

/// An `output` list: categories only, each entry a dataset code (upper-case hex code points
/// joined by '-', as in `1F5E1-FE0F`), no code in two categories.
fn check_output(g: &GroupSrc, is_cat: bool, earlier: &[&GroupSrc]) {
    if g.output.is_empty() {
        return;
    }
    if !is_cat {
        fail(format!(
            "default.toml: {:?}: only categories can name output-check emoji; move `output` to a category",
            g.id
        ));
    }
    for entry in &g.output {
        let code = entry.split(' ').next().unwrap_or_default();
        let well_formed = code.split('-').all(|cp| {
            (4..=6).contains(&cp.len())
                && cp
                    .chars()
                    .all(|c| c.is_ascii_digit() || ('A'..='F').contains(&c))
        });
        if !well_formed {
            fail(format!(
                "default.toml: {:?}: output code {code:?} is not a dataset code; write upper-case hex code points joined by '-', e.g. \"1F5E1-FE0F\"",
                g.id
            ));
        }
        if let Some(other) = earlier
            .iter()
            .find(|h| h.output.iter().any(|e| e.split(' ').next() == Some(code)))
        {
            fail(format!(
                "default.toml: output code {code:?} is in both {:?} and {:?}; an emoji reports one category",
                other.id, g.id
            ));
        }
    }
}

/// Compile both files into Rust source for `OUT_DIR/policy_tables.rs`.
/// The compiled policy, twice: `canonical` is the one-struct-per-term rendering the policy
/// digest has always covered (it changes exactly when what the gate enforces changes);
/// `compact` is what the crate compiles: terms and words as indices into shared pools, so the
/// tables fit a microcontroller's flash. Both come from the same parsed terms.
pub struct Compiled {
    pub canonical: String,
    pub compact: String,
}

pub fn compile(policy: &PolicyFile, opt_out: &OptOutFile, langs: &[LangFile]) -> Compiled {
    let mut groups: Vec<&GroupSrc> = policy.category.iter().collect();
    let n_categories = groups.len();
    groups.extend(policy.signal.iter());
    if n_categories == 0 || n_categories > 32 || groups.len() > 64 {
        fail(format!(
            "default.toml: need 1..=32 categories and at most 64 groups, found {n_categories} and {}",
            groups.len()
        ));
    }
    let index = |id: &str, ctx: &str| -> usize {
        groups.iter().position(|g| g.id == id).unwrap_or_else(|| {
            fail(format!(
                "{ctx}: unknown category or signal {id:?}; define it in default.toml"
            ))
        })
    };
    for (i, g) in groups.iter().enumerate() {
        if groups.iter().skip(i + 1).any(|h| h.id == g.id) {
            fail(format!("default.toml: id {:?} is defined twice", g.id));
        }
        let is_cat = i < n_categories;
        if is_cat != g.tier.is_some() {
            fail(format!(
                "default.toml: {:?}: categories need a tier, signals must not have one",
                g.id
            ));
        }
        check_output(g, is_cat, &groups[..i]);
    }

    let mut parsed = Parsed::default();
    for (gi, g) in groups.iter().enumerate() {
        for (lang, list) in &g.terms {
            if !LANGS.contains(&lang.as_str()) {
                fail(format!(
                    "default.toml: {:?}: language {lang:?} is not one of {LANGS:?}",
                    g.id
                ));
            }
            let ctx = format!("default.toml [{}] {lang}", g.id);
            for t in list {
                parsed.add(Entry::Term, gi, lang, t, &ctx);
            }
        }
        let ctx = format!("default.toml [{}]", g.id);
        for e in &g.exceptions {
            parsed.add(Entry::Exception, gi, "any", e, &format!("{ctx} exceptions"));
        }
        for e in &g.senses {
            parsed.add(Entry::Sense, gi, "any", e, &format!("{ctx} senses"));
        }
    }
    for file in langs {
        if !LANGS.contains(&file.tag.as_str()) || file.tag == "any" {
            fail(format!(
                "{}: language tag {:?} is not one the build knows ({LANGS:?} less `any`); rename the file or add the tag to LANGS in build/policy.rs",
                file.name, file.tag
            ));
        }
        for (id, lg) in &file.groups {
            let gi = index(id, &file.name);
            for (entry, list, what) in [
                (Entry::Term, &lg.terms, "terms"),
                (Entry::Exception, &lg.exceptions, "exceptions"),
                (Entry::Sense, &lg.senses, "senses"),
            ] {
                let ctx = format!("{} [{id}] {what}", file.name);
                for t in list {
                    parsed.add(entry, gi, &file.tag, t, &ctx);
                }
            }
        }
    }
    let oo = index(&opt_out.registry.category, "opt-out.toml [registry]");
    for e in opt_out.artist.iter().chain(opt_out.style.iter()) {
        if e.since.is_empty() || e.reason.is_empty() {
            fail(format!(
                "opt-out.toml: entry {:?} needs `since` and `reason`",
                e.name
            ));
        }
        for name in std::iter::once(&e.name).chain(e.aliases.iter()) {
            parsed.add(
                Entry::Term,
                oo,
                "any",
                name,
                &format!("opt-out.toml {:?}", e.name),
            );
        }
    }
    parsed.check_against_exceptions(&groups);
    parsed.check_output_covered(&groups, &policy.combination);
    let Parsed {
        terms,
        exceptions,
        glyph_terms,
        glyph_exceptions,
        ..
    } = parsed;

    let mut src = String::new();
    let _ = writeln!(
        src,
        "// @generated by build/policy.rs from firmware/policy/*.toml. Do not edit."
    );
    let _ = writeln!(
        src,
        "pub const POLICY_NAME: &str = {:?};",
        policy.policy.name
    );
    let _ = writeln!(
        src,
        "pub const POLICY_VERSION: u32 = {};",
        policy.policy.version
    );
    let _ = writeln!(src, "pub const CATEGORY_COUNT: usize = {n_categories};");
    let guard = policy.policy.no_exceptions_with.iter().fold(0u64, |m, id| {
        m | (1 << index(id, "default.toml [policy] no_exceptions_with"))
    });
    let _ = writeln!(src, "pub const EXCEPTION_GUARD: u64 = {guard:#x};");
    let negation = policy.policy.negation.as_ref().map_or(u8::MAX as usize, |id| {
        let i = index(id, "default.toml [policy] negation");
        if i < n_categories {
            fail(format!(
                "default.toml [policy] negation: {id:?} is a category; negation words must be a signal"
            ));
        }
        i
    });
    let _ = writeln!(src, "pub const NEGATION: u8 = {negation};");
    let _ = writeln!(src, "pub static GROUPS: [Group; {}] = [", groups.len());
    for (i, g) in groups.iter().enumerate() {
        let tier = match &g.tier {
            Some(t) => tier_expr(t, &format!("default.toml [{}]", g.id)),
            None => "Tier::None",
        };
        let _ = writeln!(
            src,
            "    Group {{ id: {:?}, tier: {tier}, escalate: {}, signal: {}, description: {:?}, output: &{:?} }},",
            g.id,
            g.escalate,
            i >= n_categories,
            g.description,
            g.output
                .iter()
                .map(|e| e.split(' ').next().unwrap_or_default())
                .collect::<Vec<_>>()
        );
    }
    let _ = writeln!(src, "];");
    let head = std::mem::take(&mut src);
    let mut canonical = String::new();
    let mut compact = String::new();
    let mut words = String::new();
    let mut letters: Vec<u8> = Vec::new();
    // Words with the same letters share them in the pool.
    let mut letters_at: std::collections::HashMap<Vec<u8>, usize> = Default::default();
    let mut n_words = 0usize;
    let keeps: Vec<bool> = exceptions.iter().map(|e| e.keep).collect();
    let _ = writeln!(
        canonical,
        "pub static EXCEPTION_KEEP: [bool; {}] = {keeps:?};",
        keeps.len()
    );
    let _ = writeln!(
        compact,
        "pub static EXCEPTION_KEEP: [bool; {}] = {keeps:?};",
        keeps.len()
    );
    for (name, list) in [("TERMS", &terms), ("EXCEPTIONS", &exceptions)] {
        render_single_index(name, list, &mut compact);
        let _ = writeln!(canonical, "pub static {name}: [Term; {}] = [", list.len());
        let _ = writeln!(compact, "pub static {name}: [Term; {}] = [", list.len());
        for t in list.iter() {
            let required = t
                .words
                .iter()
                .flat_map(|w| w.letters.iter())
                .fold(0u64, |m, b| m | (1u64 << b));
            let _ = write!(
                canonical,
                "    Term {{ group: {}, lang: {:?}, text: {:?}, required: {required:#x}, words: &[",
                t.group, t.lang, t.text
            );
            let _ = writeln!(
                compact,
                "    Term::new({}, {}, {n_words}, {required:#x}),",
                t.group,
                t.words.len()
            );
            for w in &t.words {
                let _ = write!(
                    canonical,
                    "Word {{ mode: {}, suffixes: {}, letters: &{:?} }}, ",
                    w.mode, w.suffixes, w.letters
                );
                let at = *letters_at.entry(w.letters.clone()).or_insert_with(|| {
                    letters.extend_from_slice(&w.letters);
                    letters.len() - w.letters.len()
                });
                let _ = writeln!(
                    words,
                    "    Word::new({}, {}, {}, {at}),",
                    w.mode,
                    w.suffixes,
                    w.letters.len(),
                );
                n_words += 1;
            }
            let _ = writeln!(canonical, "] }},");
        }
        let _ = writeln!(canonical, "];");
        let _ = writeln!(compact, "];");
        let texts: Vec<&str> = list.iter().map(|t| t.text.as_str()).collect();
        let langs: Vec<&str> = list.iter().map(|t| t.lang.as_str()).collect();
        let _ = writeln!(
            compact,
            "pub static {name}_TEXT: [&str; {}] = {texts:?};\npub static {name}_LANG: [&str; {}] = {langs:?};",
            texts.len(),
            langs.len()
        );
    }
    check_pool(n_words, letters.len(), "letter");
    let _ = writeln!(
        compact,
        "pub static WORDS: [Word; {n_words}] = [\n{words}];"
    );
    let _ = writeln!(
        compact,
        "pub static LETTERS: [u8; {}] = {letters:?};",
        letters.len()
    );
    render_glyph_terms(
        &[
            ("GLYPH_TERMS", &glyph_terms),
            ("GLYPH_EXCEPTIONS", &glyph_exceptions),
        ],
        &mut canonical,
        &mut compact,
    );
    let _ = writeln!(
        src,
        "pub static COMBOS: [Combo; {}] = [",
        policy.combination.len()
    );
    for c in &policy.combination {
        let ctx = format!("default.toml [[combination]] {}", c.category);
        let cat = index(&c.category, &ctx);
        if cat >= n_categories {
            fail(format!(
                "{ctx}: the result must be a category, not a signal"
            ));
        }
        if c.require.len() < 2 {
            fail(format!(
                "{ctx}: `require` needs at least two sets; one set is just a category"
            ));
        }
        let sets: Vec<String> = c
            .require
            .iter()
            .map(|set| {
                format!(
                    "{:#x}",
                    set.iter().fold(0u64, |m, id| m | (1 << index(id, &ctx)))
                )
            })
            .collect();
        let _ = writeln!(
            src,
            "    Combo {{ category: {cat}, require: &[{}] }},",
            sets.join(", ")
        );
    }
    let _ = writeln!(src, "];");
    Compiled {
        canonical: format!("{head}{canonical}{src}"),
        compact: format!("{head}{compact}{src}"),
    }
}
