//! The dataset opt-out registry (`models/data/opt-out.toml`): entries removed at build time, by
//! source package, style or code point sequence, each with a reason.

use std::path::Path;

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use super::source::{Style, code_points, is_skin_tone, label_key};

/// One `[[opt_out]]` rule. Every selector given must match; at least one must be given.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// npm package name, e.g. `emoji-datasource-google`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// `twitter` or `google`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub style: Option<Style>,
    /// Code point sequences (`1F52B`, `U+1F52B`, `2764-FE0F`). A sequence without a skin-tone
    /// modifier also matches that emoji's skin-tone variants; one with a modifier matches
    /// exactly. U+FE0F is ignored.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub code_points: Vec<String>,
    /// Why the entries are removed (listed in the summary and the model card).
    pub reason: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    opt_out: Vec<Rule>,
}

/// The parsed registry, with code points normalised for matching.
#[derive(Debug, Clone)]
pub struct Registry {
    /// The rules, in file order.
    pub rules: Vec<Rule>,
    keys: Vec<Vec<String>>,
}

fn normalise(seq: &str) -> Option<String> {
    let seq = seq.trim().to_ascii_uppercase();
    let hex: Vec<&str> = seq
        .split(['-', ' '])
        .filter(|p| !p.is_empty())
        .map(|p| p.trim_start_matches("U+"))
        .collect();
    let joined = hex.join("-");
    code_points(&joined).map(|_| label_key(&joined))
}

fn strip_skin(key: &str) -> String {
    key.split('-')
        .filter(|p| {
            !u32::from_str_radix(p, 16)
                .ok()
                .and_then(char::from_u32)
                .is_some_and(is_skin_tone)
        })
        .collect::<Vec<_>>()
        .join("-")
}

impl Registry {
    /// Parse registry text; `origin` names the file in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Self> {
        let file: File = toml::from_str(text)
            .with_context(|| format!("{origin}: not a valid opt-out registry"))?;
        let mut keys = Vec::new();
        for (i, rule) in file.opt_out.iter().enumerate() {
            let n = i + 1;
            if rule.reason.trim().is_empty() {
                bail!("{origin}: opt_out entry {n} has no reason; every removal needs one");
            }
            if rule.source.is_none() && rule.style.is_none() && rule.code_points.is_empty() {
                bail!(
                    "{origin}: opt_out entry {n} selects nothing; give source, style or code_points"
                );
            }
            if let Some(src) = &rule.source
                && !Style::ALL.iter().any(|s| s.package().name == src)
            {
                bail!(
                    "{origin}: opt_out entry {n}: unknown source {src:?}; expected one of \
                     emoji-datasource-twitter, emoji-datasource-google"
                );
            }
            let mut k = Vec::new();
            for seq in &rule.code_points {
                match normalise(seq) {
                    Some(key) => k.push(key),
                    None => bail!(
                        "{origin}: opt_out entry {n}: {seq:?} is not a code point sequence \
                         (hex like 1F52B or U+1F52B, joined by '-')"
                    ),
                }
            }
            keys.push(k);
        }
        Ok(Registry {
            rules: file.opt_out,
            keys,
        })
    }

    /// Read and parse the registry file.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).with_context(|| {
            format!(
                "cannot read the opt-out registry {}: run from the repository root or pass \
                 --opt-out FILE",
                path.display()
            )
        })?;
        Self::parse(&text, &path.display().to_string())
    }

    /// The index of the first rule removing `unified` in `style`, if any.
    pub fn matches(&self, style: Style, unified: &str) -> Option<usize> {
        let key = label_key(unified);
        let base = strip_skin(&key);
        self.rules.iter().zip(&self.keys).position(|(rule, keys)| {
            rule.style.is_none_or(|s| s == style)
                && rule
                    .source
                    .as_deref()
                    .is_none_or(|p| p == style.package().name)
                && (keys.is_empty() || keys.iter().any(|k| *k == key || *k == base))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors_combine_and_base_code_points_cover_skin_tones() {
        let reg = Registry::parse(
            r#"
            [[opt_out]]
            code_points = ["U+1F52B"]
            reason = "weapon"
            [[opt_out]]
            style = "google"
            code_points = ["2764-FE0F", "1F44B-1F3FF"]
            reason = "test"
            [[opt_out]]
            source = "emoji-datasource-twitter"
            code_points = ["1F44B"]
            reason = "all waving hands in twemoji"
            "#,
            "test",
        )
        .unwrap();
        assert_eq!(reg.matches(Style::Twitter, "1F52B"), Some(0));
        assert_eq!(reg.matches(Style::Google, "1F52B"), Some(0));
        assert_eq!(reg.matches(Style::Google, "2764-FE0F"), Some(1));
        assert_eq!(reg.matches(Style::Twitter, "2764-FE0F"), None);
        assert_eq!(reg.matches(Style::Google, "1F44B-1F3FF"), Some(1));
        assert_eq!(reg.matches(Style::Google, "1F44B-1F3FB"), None);
        assert_eq!(reg.matches(Style::Google, "1F44B"), None);
        assert_eq!(reg.matches(Style::Twitter, "1F44B-1F3FB"), Some(2));
        assert_eq!(reg.matches(Style::Twitter, "1F600"), None);
    }

    #[test]
    fn bad_rules_are_refused() {
        let no_reason = "[[opt_out]]\nstyle = \"google\"\nreason = \" \"\n";
        assert!(Registry::parse(no_reason, "f").is_err());
        assert!(Registry::parse("[[opt_out]]\nreason = \"x\"\n", "f").is_err());
        let bad_cp = "[[opt_out]]\ncode_points = [\"xyz\"]\nreason = \"x\"\n";
        assert!(Registry::parse(bad_cp, "f").is_err());
        let bad_src = "[[opt_out]]\nsource = \"emoji-datasource-apple\"\nreason = \"x\"\n";
        assert!(Registry::parse(bad_src, "f").is_err());
        let typo = "[[opt_out]]\ncodepoints = [\"1F52B\"]\nreason = \"x\"\n";
        assert!(Registry::parse(typo, "f").is_err());
        assert!(Registry::parse("", "f").unwrap().rules.is_empty());
    }
}
