//! Build-time character folding: computes, for every non-ASCII code point, the units (see
//! `src/units.rs`) it becomes. The run-time normaliser only looks these up.
//!
//! Pipeline per code point (DESIGN §3): compatibility decomposition (NFKD, the per-character
//! equivalent of NFKC followed by mark stripping); default-ignorables, zero-width, bidi controls,
//! tag characters and combining marks dropped; UTS #39 confusable skeleton; a Cyrillic/Greek →
//! Latin map (both the look-alike and the transliteration, as a letter set); finally the Unicode
//! name ("… LETTER N …", "REGIONAL INDICATOR SYMBOL LETTER N", small capitals) as a fallback.

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

use crate::units::*;

/// What one code point folds to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fold {
    /// Removed before matching and hashing.
    Drop,
    /// Replaced by these units.
    Units(Vec<u64>),
    /// Replaced by these glyph code points (see `units::glyph_fold`): a glyph-script letter,
    /// an emoji, or a compatibility form of them (half-width katakana, Arabic presentation
    /// forms, CJK compatibility ideographs, squared ideographs).
    Glyph(Vec<u32>),
    /// Left alone: neither a Latin look-alike nor a glyph (most symbols). Hashed as itself, a
    /// word separator for matching.
    Other,
}

/// Explicit folds that no Unicode table gives: currency and legal signs used as leetspeak,
/// ligature-like letters that do not decompose.
fn explicit(c: char) -> Option<Vec<u64>> {
    let one = |class, letters: &str, canon: u8| {
        let mask = letters
            .bytes()
            .filter_map(bit_of)
            .fold(0u64, |m, b| m | (1 << b));
        Some(vec![unit(class, mask, canon)])
    };
    let word = |s: &str| Some(s.bytes().map(ascii_unit).collect::<Vec<_>>());
    match c {
        '€' => one(CLASS_LEET_ANY, "e", b'e'),
        '£' => one(CLASS_LEET_ANY, "l", b'l'),
        '¢' | '©' => one(CLASS_LEET_ANY, "c", b'c'),
        '¥' => one(CLASS_LEET_ANY, "y", b'y'),
        '§' => one(CLASS_LEET_ANY, "s", b's'),
        '®' => one(CLASS_LEET_ANY, "r", b'r'),
        '¡' => one(CLASS_LEET_INNER, "i", b'i'),
        'ß' | 'ẞ' => word("ss"),
        'æ' | 'Æ' => word("ae"),
        'œ' | 'Œ' => word("oe"),
        'ø' | 'Ø' => word("o"),
        'ð' | 'Ð' | 'đ' | 'Đ' => word("d"),
        'þ' | 'Þ' => word("th"),
        'ł' | 'Ł' => word("l"),
        // Cyrillic letters with no Latin look-alike: their transliteration, so Russian and
        // Ukrainian terms fold (the look-alike letters are in `script_letters`).
        'ж' | 'Ж' => word("zh"),
        'ч' | 'Ч' => word("ch"),
        'ы' | 'Ы' => word("y"),
        'ю' | 'Ю' => word("yu"),
        'ґ' | 'Ґ' => word("g"),
        'ў' | 'Ў' => word("u"),
        'ı' => word("i"),
        // Middle dots and bullets hide boundaries like a full stop: "n·u·d·e"; so do blank
        // symbols that are not white space (the braille blank looks like a space).
        '\u{2800}' => Some(vec![unit(CLASS_JOINER, 0, b'.')]),
        '·' | '•' | '‧' | '∙' | '⋅' | '‐' | '‑' | '‒' | '–' | '—' | '’' | '‘' | '′' => {
            Some(vec![unit(CLASS_JOINER, 0, b'.')])
        }
        _ => None,
    }
}

/// Cyrillic and Greek lower-case letters: the Latin letters they look like and the ones they
/// transliterate to, as one set. The first letter is the canonical one.
fn script_letters(c: char) -> Option<&'static str> {
    Some(match c {
        'а' => "a",
        'б' => "b",
        'в' => "bv",
        'г' => "rg",
        'д' => "d",
        'е' | 'ё' | 'є' | 'э' => "e",
        'з' => "z",
        'и' | 'й' => "ui",
        'к' => "k",
        'л' => "l",
        'м' => "m",
        'н' => "hn",
        'о' => "o",
        'п' => "np",
        'р' => "pr",
        'с' => "cs",
        'т' => "tm",
        'у' => "yu",
        'ф' => "f",
        'х' => "xh",
        'ц' => "c",
        'ш' | 'щ' => "w",
        'ь' | 'ъ' => "b",
        'я' => "r",
        'і' | 'ї' => "i",
        'ј' => "j",
        'ѕ' => "s",
        'ԁ' => "d",
        'ԛ' => "q",
        'ԝ' => "w",
        'ү' => "y",
        'һ' => "h",
        'ӏ' => "li",
        'α' => "a",
        'β' => "b",
        'γ' => "yg",
        'δ' => "d",
        'ε' => "e",
        'ζ' => "z",
        'η' => "nh",
        'θ' => "o",
        'ι' => "i",
        'κ' => "k",
        'λ' => "l",
        'μ' => "um",
        'ν' => "vn",
        'ξ' => "x",
        'ο' => "o",
        'π' => "np",
        'ρ' => "pr",
        'σ' | 'ς' => "os",
        'τ' => "t",
        'υ' => "uy",
        'φ' => "f",
        'χ' => "x",
        'ω' => "wo",
        _ => return None,
    })
}

/// The single Latin letter a character's Unicode name says it is, if any.
fn name_letter(c: char) -> Option<u8> {
    let name = unicode_names2::name(c)?.to_string();
    let words: Vec<&str> = name.split(' ').collect();
    let latin_like = name.contains("LATIN")
        || name.starts_with("REGIONAL INDICATOR SYMBOL LETTER")
        || name.contains("CIRCLED")
        || name.contains("SQUARED")
        || name.contains("PARENTHESIZED");
    if !latin_like {
        return None;
    }
    let at = words.iter().position(|w| *w == "LETTER")?;
    let mut rest = words.get(at + 1..)?.iter().copied();
    let mut next = rest.next()?;
    if next == "SMALL" {
        // "LATIN LETTER SMALL CAPITAL N"
        if rest.next()? != "CAPITAL" {
            return None;
        }
        next = rest.next()?;
    }
    let b = next.as_bytes();
    match (b, rest.next()) {
        ([l @ b'A'..=b'Z'], None | Some("WITH")) => Some(l.to_ascii_lowercase()),
        _ => None,
    }
}

fn is_ignorable(c: char) -> bool {
    // UTS #39's skeleton drops exactly the Default_Ignorable_Code_Point characters.
    let s = c.to_string();
    unicode_security::skeleton(&s).next().is_none()
        || matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{206F}' | '\u{FEFF}')
        || is_plane14_ignorable(c as u32)
}

/// Fold a sequence of characters (a decomposition or a skeleton) into units; marks dropped.
fn fold_str(s: impl Iterator<Item = char>, depth: u8) -> Option<Vec<u64>> {
    let mut out = Vec::new();
    for ch in s {
        if ch.is_ascii() {
            out.push(ascii_unit(ch as u8));
            continue;
        }
        match fold_depth(ch, depth + 1) {
            Fold::Drop => {}
            Fold::Units(u) => out.extend(u),
            Fold::Glyph(_) | Fold::Other => return None,
        }
    }
    Some(out)
}

/// Fold one code point: glyph scripts first (their own letters, never Latin look-alikes: Arabic
/// heh is not `o`), except emoji that read as a Latin letter or leet symbol; then the Latin fold;
/// then compatibility forms of glyphs.
pub fn fold(c: char) -> Fold {
    if c.is_ascii() {
        return Fold::Units(vec![ascii_unit(c as u8)]);
    }
    let cp = c as u32;
    if let Some(g) = glyph_fold(cp) {
        if is_emoji_range(cp)
            && let Fold::Units(u) = fold_depth(c, 0)
        {
            return Fold::Units(u);
        }
        return match g {
            GlyphFold::Drop => Fold::Drop,
            GlyphFold::Cp(x) => Fold::Glyph(vec![x]),
        };
    }
    match fold_depth(c, 0) {
        Fold::Other => compat_glyphs(c),
        f => f,
    }
}

/// A compatibility form whose decomposition is made of glyphs (and marks), such as half-width
/// katakana or Arabic presentation forms.
fn compat_glyphs(c: char) -> Fold {
    let decomposed: Vec<char> = std::iter::once(c).nfkd().collect();
    if decomposed.as_slice() == [c] {
        return Fold::Other;
    }
    let mut cps = Vec::new();
    for ch in decomposed {
        match glyph_fold(ch as u32) {
            Some(GlyphFold::Cp(x)) => cps.push(x),
            Some(GlyphFold::Drop) => {}
            None if is_combining_mark(ch) => {}
            None => return Fold::Other,
        }
    }
    if cps.is_empty() {
        Fold::Drop
    } else {
        Fold::Glyph(cps)
    }
}

fn fold_depth(c: char, depth: u8) -> Fold {
    if depth > 4 {
        return Fold::Other;
    }
    if is_ignorable(c) || is_combining_mark(c) {
        return Fold::Drop;
    }
    if c.is_whitespace() {
        return Fold::Units(vec![unit(CLASS_SPACE, 0, b' ')]);
    }
    if let Some(u) = explicit(c) {
        return Fold::Units(u);
    }
    // NFKD: fullwidth, mathematical, circled, superscript forms, ligatures, accented letters.
    let decomposed: String = std::iter::once(c).nfkd().collect();
    if decomposed.chars().ne(std::iter::once(c))
        && let Some(u) = fold_str(decomposed.chars(), depth)
    {
        return if u.is_empty() {
            Fold::Drop
        } else {
            Fold::Units(u)
        };
    }
    let lower: Vec<char> = c.to_lowercase().collect();
    let script = match lower.as_slice() {
        [l] => script_letters(*l),
        _ => None,
    };
    // Confusable skeleton, when it lands on ASCII.
    let skeleton: Vec<char> = unicode_security::skeleton(&c.to_string())
        .filter(|ch| !is_combining_mark(*ch))
        .collect();
    let skeleton_ascii = !skeleton.is_empty()
        && skeleton.iter().all(|ch| ch.is_ascii())
        && skeleton.as_slice() != [c];
    if let Some(letters) = script {
        let mut mask = letters
            .bytes()
            .filter_map(bit_of)
            .fold(0u64, |m, b| m | (1 << b));
        let canon = letters.as_bytes().first().copied().unwrap_or(b' ');
        if let [s] = skeleton.as_slice()
            && s.is_ascii()
        {
            mask |= mask_of(ascii_unit(*s as u8));
        }
        return Fold::Units(vec![unit(CLASS_ALNUM, mask, canon)]);
    }
    if skeleton_ascii {
        let u: Vec<u64> = skeleton.iter().map(|ch| ascii_unit(*ch as u8)).collect();
        return Fold::Units(u);
    }
    if let Some(l) = name_letter(c) {
        return Fold::Units(vec![ascii_unit(l)]);
    }
    if let [l] = lower.as_slice()
        && *l != c
        && let Fold::Units(u) = fold_depth(*l, depth + 1)
    {
        return Fold::Units(u);
    }
    Fold::Other
}

/// The generated fold table: sorted keys, (offset, len) per key, and the unit pool; and the
/// compatibility forms of glyphs, in the same shape with code points. Glyph-script code points
/// themselves are in neither: the run time folds them with `units::glyph_fold`.
pub struct FoldTable {
    pub keys: Vec<u32>,
    pub spans: Vec<u32>,
    pub units: Vec<u64>,
    pub glyph_keys: Vec<u32>,
    pub glyph_spans: Vec<u16>,
    pub glyph_cps: Vec<u32>,
}

/// Fold every assigned non-ASCII code point below plane 14 (plane 14 is all ignorable and is
/// handled by a range check at run time).
pub fn build_table() -> FoldTable {
    let mut t = FoldTable {
        keys: Vec::new(),
        spans: Vec::new(),
        units: Vec::new(),
        glyph_keys: Vec::new(),
        glyph_spans: Vec::new(),
        glyph_cps: Vec::new(),
    };
    for cp in 0x80u32..0xE0000 {
        let Some(c) = char::from_u32(cp) else {
            continue;
        };
        if !unicode_normalization::char::is_public_assigned(c) {
            continue;
        }
        let runtime = glyph_fold(cp);
        let units = match fold(c) {
            Fold::Other => continue,
            Fold::Drop if runtime == Some(GlyphFold::Drop) => continue,
            Fold::Drop => Vec::new(),
            Fold::Units(u) => u,
            Fold::Glyph(g) => {
                if let (Some(GlyphFold::Cp(x)), [y]) = (runtime, g.as_slice())
                    && x == *y
                {
                    continue;
                }
                assert!(g.len() < 8, "glyph fold of U+{cp:04X} is longer than 7");
                let off = t.glyph_cps.len();
                assert!(off < (1 << 13), "glyph fold pool overflow");
                t.glyph_keys.push(cp);
                t.glyph_spans.push(((off << 3) | g.len()) as u16);
                t.glyph_cps.extend(g);
                continue;
            }
        };
        assert!(
            units.len() < 256,
            "fold of U+{cp:04X} is longer than 255 units"
        );
        let offset = u32::try_from(t.units.len()).expect("unit pool fits u32");
        assert!(offset < (1 << 24), "fold unit pool overflow");
        t.keys.push(cp);
        t.spans.push((offset << 8) | units.len() as u32);
        t.units.extend(units);
    }
    t
}
