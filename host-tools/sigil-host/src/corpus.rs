//! The red-team corpus format (documented in tests/redteam/README.md):
//! UTF-8 TSV `label<TAB>category<TAB>evasion<TAB>lang<TAB>prompt`; `#` lines are comments; in the
//! prompt `\t`, `\n` and `\\` are escapes and every other character is literal.

use anyhow::bail;

/// Harmful or benign.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Label {
    /// Must not be allowed.
    Harmful,
    /// Must be allowed.
    Benign,
}

/// One corpus row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// 1-based line number in the file.
    pub line: usize,
    /// Harmful or benign.
    pub label: Label,
    /// Policy category id (harmful) or source tag (benign).
    pub category: String,
    /// Evasion technique (`plain` for benign rows).
    pub evasion: String,
    /// Language tag.
    pub lang: String,
    /// The prompt, unescaped.
    pub prompt: String,
}

fn unescape(s: &str, line: usize) -> anyhow::Result<String> {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('\\') => out.push('\\'),
            Some(other) => bail!(
                "line {line}: unknown escape \\{other} in prompt; only \\t, \\n and \\\\ are escapes"
            ),
            None => {
                bail!("line {line}: prompt ends with a lone backslash; write \\\\ for a backslash")
            }
        }
    }
    Ok(out)
}

/// Parse a whole corpus file.
pub fn parse(text: &str) -> anyhow::Result<Vec<Row>> {
    let mut rows = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        if raw.is_empty() || raw.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = raw.splitn(5, '\t').collect();
        let [label, category, evasion, lang, prompt] = fields.as_slice() else {
            bail!(
                "line {line}: expected 5 tab-separated fields (label, category, evasion, lang, prompt), found {}",
                fields.len()
            );
        };
        let label = match *label {
            "harmful" => Label::Harmful,
            "benign" => Label::Benign,
            other => bail!("line {line}: label {other:?} is neither \"harmful\" nor \"benign\""),
        };
        rows.push(Row {
            line,
            label,
            category: (*category).to_string(),
            evasion: (*evasion).to_string(),
            lang: (*lang).to_string(),
            prompt: unescape(prompt, line)?,
        });
    }
    if rows.is_empty() {
        bail!(
            "the corpus has no rows: expected lines of label<TAB>category<TAB>evasion<TAB>lang<TAB>prompt"
        );
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rows_escapes_and_comments() {
        let rows = parse("# header\nharmful\tsexual\tplain\ten\ta\\tb\\\\c\\nd\nbenign\tkiosk\tplain\tde\tein Hund\n").unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].prompt, "a\tb\\c\nd");
        assert_eq!(rows[0].line, 2);
        assert_eq!(rows[1].label, Label::Benign);
    }

    #[test]
    fn bad_rows_are_named() {
        assert!(
            parse("harmful\tsexual\n")
                .unwrap_err()
                .to_string()
                .contains("line 1: expected 5")
        );
        assert!(
            parse("evil\ta\tb\tc\td\n")
                .unwrap_err()
                .to_string()
                .contains("neither")
        );
        assert!(
            parse("benign\ta\tb\tc\tx\\q\n")
                .unwrap_err()
                .to_string()
                .contains("unknown escape")
        );
        assert!(
            parse("# only a comment\n")
                .unwrap_err()
                .to_string()
                .contains("no rows")
        );
    }
}
