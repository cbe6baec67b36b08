//! The npm packages the dataset is built from: version checks, `emoji.json` of the two image
//! packages and the emojibase CLDR labels and tags. Apple and Facebook images are never read:
//! only the two [`Style`]s below exist, and image paths are built from them alone.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

/// The scripted step that installs the packages; every "fix" in an error message points here.
pub const FETCH_HINT: &str = "run models/data/fetch-emoji.sh and pass the node_modules folder \
                              it prints as --npm";

/// An image style, i.e. one licence-clean emoji artwork set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Style {
    /// Twemoji, via `emoji-datasource-twitter`.
    Twitter,
    /// Noto Color Emoji, via `emoji-datasource-google`.
    Google,
}

impl Style {
    /// Every style, in build order.
    pub const ALL: [Style; 2] = [Style::Twitter, Style::Google];

    /// Lower-case name, as in paths and the manifest.
    pub fn name(self) -> &'static str {
        match self {
            Style::Twitter => "twitter",
            Style::Google => "google",
        }
    }

    /// The npm package holding this style's images.
    pub fn package(self) -> Package {
        match self {
            Style::Twitter => Package {
                name: "emoji-datasource-twitter",
                version: "16.0.0",
                licence: "CC-BY-4.0",
            },
            Style::Google => Package {
                name: "emoji-datasource-google",
                version: "16.0.0",
                licence: "Apache-2.0",
            },
        }
    }

    /// Folder of the 64×64 PNGs, relative to the package.
    pub fn image_dir(self) -> &'static str {
        match self {
            Style::Twitter => "img/twitter/64",
            Style::Google => "img/google/64",
        }
    }
}

/// The text package: CLDR labels and tags.
pub const EMOJIBASE: Package = Package {
    name: "emojibase-data",
    version: "17.0.0",
    licence: "MIT",
};

/// A pinned npm package. `licence` is the licence of the images (Twemoji, Noto), or of the
/// package itself for emojibase.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Package {
    /// npm name.
    pub name: &'static str,
    /// Exact version required.
    pub version: &'static str,
    /// SPDX identifier.
    pub licence: &'static str,
}

impl Package {
    /// Check that `npm/<name>/package.json` exists and has the pinned version; return the
    /// package folder.
    pub fn locate(&self, npm: &Path) -> Result<PathBuf> {
        let dir = npm.join(self.name);
        let manifest = dir.join("package.json");
        if !manifest.is_file() {
            bail!(
                "npm package {}@{} not found ({} is missing): {FETCH_HINT}",
                self.name,
                self.version,
                manifest.display()
            );
        }
        #[derive(Deserialize)]
        struct PackageJson {
            name: String,
            version: String,
        }
        let pj: PackageJson = read_json(&manifest)?;
        if pj.name != self.name || pj.version != self.version {
            bail!(
                "{} is {}@{}, but the dataset is pinned to {}@{}: {FETCH_HINT}",
                manifest.display(),
                pj.name,
                pj.version,
                self.name,
                self.version
            );
        }
        Ok(dir)
    }
}

/// Parse a JSON file, naming the file and the fix on failure.
pub fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    let bytes = std::fs::read(path)
        .with_context(|| format!("cannot read {}: {FETCH_HINT}", path.display()))?;
    serde_json::from_slice(&bytes).with_context(|| {
        format!(
            "{} is not the JSON the dataset builder expects (damaged or partial install?): \
             delete the npm cache folder and {FETCH_HINT}",
            path.display()
        )
    })
}

/// One image to build: a base emoji or a skin-tone variant, in one style.
#[derive(Debug, Clone)]
pub struct Item {
    /// Code point sequence as in `emoji.json`, upper-case hex joined by `-`.
    pub unified: String,
    /// PNG file name in the style's image folder.
    pub image: String,
    /// emoji-datasource category and subcategory.
    pub category: String,
    /// See `category`.
    pub subcategory: String,
    /// Unicode name from emoji-datasource, lower-cased (caption of last resort).
    pub name: String,
    /// emoji-datasource short names, `_` replaced by spaces.
    pub short_names: Vec<String>,
    /// emoji-datasource sort order (variants follow their base).
    pub sort_order: u32,
}

#[derive(Deserialize)]
struct RawEmoji {
    unified: String,
    image: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    short_names: Vec<String>,
    #[serde(default)]
    category: Option<String>,
    #[serde(default)]
    subcategory: Option<String>,
    #[serde(default)]
    sort_order: Option<u32>,
    #[serde(default)]
    has_img_twitter: bool,
    #[serde(default)]
    has_img_google: bool,
    #[serde(default)]
    skin_variations: Option<BTreeMap<String, RawVariation>>,
}

#[derive(Deserialize)]
struct RawVariation {
    unified: String,
    image: String,
    #[serde(default)]
    has_img_twitter: bool,
    #[serde(default)]
    has_img_google: bool,
}

fn has_img(style: Style, twitter: bool, google: bool) -> bool {
    match style {
        Style::Twitter => twitter,
        Style::Google => google,
    }
}

/// Read `emoji.json` of a style's package and list every image it says the style has.
pub fn load_items(style: Style, package_dir: &Path) -> Result<Vec<Item>> {
    let path = package_dir.join("emoji.json");
    let raw: Vec<RawEmoji> = read_json(&path)?;
    let mut items = Vec::new();
    for e in raw {
        let base = Item {
            unified: e.unified.to_ascii_uppercase(),
            image: e.image,
            category: e.category.unwrap_or_default(),
            subcategory: e.subcategory.unwrap_or_default(),
            name: e.name.unwrap_or_default().to_lowercase(),
            short_names: e.short_names.iter().map(|s| s.replace('_', " ")).collect(),
            sort_order: e.sort_order.unwrap_or(u32::MAX),
        };
        for v in e
            .skin_variations
            .into_iter()
            .flat_map(BTreeMap::into_values)
        {
            if has_img(style, v.has_img_twitter, v.has_img_google) {
                items.push(Item {
                    unified: v.unified.to_ascii_uppercase(),
                    image: v.image,
                    ..base.clone()
                });
            }
        }
        if has_img(style, e.has_img_twitter, e.has_img_google) {
            items.push(base);
        }
    }
    for item in &items {
        if code_points(&item.unified).is_none() {
            bail!(
                "{}: entry {:?} is not a code point sequence (hex joined by '-'): {FETCH_HINT}",
                path.display(),
                item.unified
            );
        }
        let plain = !item.image.is_empty()
            && item.image.ends_with(".png")
            && !item.image.contains(['/', '\\'])
            && !item.image.starts_with('.');
        if !plain {
            bail!(
                "{}: entry {} names image {:?}, which is not a plain .png file name: \
                 {FETCH_HINT}",
                path.display(),
                item.unified,
                item.image
            );
        }
    }
    items.sort_by(|a, b| (a.sort_order, &a.unified).cmp(&(b.sort_order, &b.unified)));
    items.dedup_by(|a, b| a.unified == b.unified);
    Ok(items)
}

/// Parse `1F44B-1F3FB` into characters; `None` if any part is not a Unicode scalar in hex.
pub fn code_points(unified: &str) -> Option<Vec<char>> {
    unified
        .split('-')
        .map(|h| u32::from_str_radix(h, 16).ok().and_then(char::from_u32))
        .collect()
}

/// The key labels are matched by: upper-case hex without U+FE0F (emoji-datasource and
/// emojibase disagree on where the variation selector goes).
pub fn label_key(unified: &str) -> String {
    unified
        .split('-')
        .filter(|p| !p.eq_ignore_ascii_case("FE0F"))
        .map(str::to_ascii_uppercase)
        .collect::<Vec<_>>()
        .join("-")
}

/// The Fitzpatrick skin-tone modifiers U+1F3FB..=U+1F3FF.
pub fn is_skin_tone(c: char) -> bool {
    ('\u{1F3FB}'..='\u{1F3FF}').contains(&c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_ignore_variation_selectors_and_case() {
        assert_eq!(label_key("2764-fe0f"), "2764");
        assert_eq!(label_key("1F3F3-FE0F-200D-1F308"), "1F3F3-200D-1F308");
        assert_eq!(code_points("1F44B-1F3FB"), Some(vec!['👋', '\u{1F3FB}']));
        assert_eq!(code_points("D800"), None);
        assert_eq!(code_points("ZZ"), None);
        assert!(is_skin_tone('\u{1F3FD}') && !is_skin_tone('👋'));
    }
}
