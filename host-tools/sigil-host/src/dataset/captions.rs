//! Captions from emojibase-data: the English CLDR label and tags of every emoji, and its label
//! in each other locale the package ships.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use super::source::{FETCH_HINT, label_key, read_json};

/// CLDR label and tags for one emoji, plus its label in the other locales.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Captions {
    /// English CLDR label.
    pub label: String,
    /// English CLDR tags (a skin-tone variant inherits its base's).
    pub tags: Vec<String>,
    /// Label per other locale, keyed by emojibase locale code.
    pub locales: BTreeMap<String, String>,
    /// The Unicode character name, lower-cased (emoji-datasource `name`, e.g. "slice of pizza").
    pub unicode_name: String,
    /// emoji-datasource short names with `_` as spaces (e.g. "smiley cat").
    pub short_names: Vec<String>,
}

#[derive(Deserialize)]
struct RawBase {
    label: String,
    hexcode: String,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    skins: Vec<RawBase>,
}

fn flatten(list: Vec<RawBase>, inherited: &[String], out: &mut Vec<(String, String, Vec<String>)>) {
    for e in list {
        let tags = if e.tags.is_empty() {
            inherited.to_vec()
        } else {
            e.tags
        };
        flatten(e.skins, &tags, out);
        out.push((label_key(&e.hexcode), e.label, tags));
    }
}

/// Load `en/data.json` (labels, tags) and every other locale's `data.json` (labels) from the
/// emojibase-data package. Returns the captions by [`label_key`] and the locales found.
pub fn load_captions(dir: &Path) -> Result<(BTreeMap<String, Captions>, Vec<String>)> {
    let mut rows = Vec::new();
    flatten(
        read_json(&dir.join("en").join("data.json"))?,
        &[],
        &mut rows,
    );
    let mut captions: BTreeMap<String, Captions> = rows
        .into_iter()
        .map(|(k, label, tags)| {
            let locales = BTreeMap::new();
            (
                k,
                Captions {
                    label,
                    tags,
                    locales,
                    ..Captions::default()
                },
            )
        })
        .collect();
    let mut locales = Vec::new();
    let listing = std::fs::read_dir(dir)
        .with_context(|| format!("cannot list {}: {FETCH_HINT}", dir.display()))?;
    for entry in listing {
        let entry = entry.with_context(|| format!("cannot list {}", dir.display()))?;
        let locale = entry.file_name().to_string_lossy().into_owned();
        let data = entry.path().join("data.json");
        if locale != "en" && data.is_file() {
            locales.push((locale, data));
        }
    }
    locales.sort();
    for (locale, data) in &locales {
        let mut rows = Vec::new();
        flatten(read_json(data)?, &[], &mut rows);
        for (k, label, _) in rows {
            if let Some(c) = captions.get_mut(&k) {
                c.locales.insert(locale.clone(), label);
            }
        }
    }
    Ok((captions, locales.into_iter().map(|(l, _)| l).collect()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skins_inherit_tags_and_locales_join_by_key() {
        let dir = tempfile::tempdir().unwrap();
        let write = |locale: &str, json: &str| {
            std::fs::create_dir_all(dir.path().join(locale)).unwrap();
            std::fs::write(dir.path().join(locale).join("data.json"), json).unwrap();
        };
        write(
            "en",
            r#"[{"label": "red heart", "hexcode": "2764-FE0F", "tags": ["love"]},
                {"label": "waving hand", "hexcode": "1F44B", "tags": ["wave"], "skins": [
                  {"label": "waving hand: dark skin tone", "hexcode": "1F44B-1F3FF"}]}]"#,
        );
        write("fr", r#"[{"label": "cœur rouge", "hexcode": "2764"}]"#);
        std::fs::create_dir(dir.path().join("meta")).unwrap();
        let (caps, locales) = load_captions(dir.path()).unwrap();
        assert_eq!(locales, ["fr"]);
        assert_eq!(caps["2764"].locales["fr"], "cœur rouge");
        assert_eq!(caps["2764"].tags, ["love"]);
        assert_eq!(caps["1F44B-1F3FF"].label, "waving hand: dark skin tone");
        assert_eq!(caps["1F44B-1F3FF"].tags, ["wave"]);
        write("de", "[{");
        let err = format!("{:#}", load_captions(dir.path()).unwrap_err());
        assert!(err.contains("de/data.json"), "{err}");
    }
}
