//! What the dataset records about itself: one `manifest.jsonl` line per image and a
//! `summary.json` with counts, removals and skipped files.

use std::collections::BTreeMap;

use serde::Serialize;

use super::captions::Captions;
use super::optout::Rule;
use super::source::{Item, Package, Style, code_points, is_skin_tone};

/// Version of the manifest and summary layout.
pub const FORMAT: &str = "sigil-dataset/1";

/// Which use an image is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Split {
    /// Base emoji without a skin-tone modifier: training data.
    Train,
    /// Emoji containing a skin-tone modifier (variants and the swatches themselves): kept
    /// aside for fairness tests.
    Fairness,
}

impl Split {
    /// The split of a code point sequence.
    pub fn of(unified: &str) -> Split {
        let tone = code_points(unified).is_some_and(|cps| cps.into_iter().any(is_skin_tone));
        if tone { Split::Fairness } else { Split::Train }
    }
}

/// Where an image came from.
#[derive(Debug, Clone, Serialize)]
pub struct Source {
    /// npm package name.
    pub package: &'static str,
    /// Its version.
    pub version: &'static str,
    /// The file read, relative to the package folder.
    pub file: String,
    /// SHA-256 of that file, lower-case hex.
    pub sha256: String,
}

/// One manifest line.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    /// `style/unified`, unique in the dataset.
    pub id: String,
    /// The written image, relative to the dataset folder.
    pub image: String,
    /// Code point sequence as in emoji-datasource (`1F44B-1F3FB`).
    pub unified: String,
    /// The same as `U+XXXX` strings.
    pub code_points: Vec<String>,
    /// The emoji as text.
    pub emoji: String,
    /// Artwork set.
    pub style: Style,
    /// Train or fairness.
    pub split: Split,
    /// Output side in pixels.
    pub size: u32,
    /// emoji-datasource category.
    pub category: String,
    /// emoji-datasource subcategory.
    pub subcategory: String,
    /// Source package, version, file and hash.
    pub source: Source,
    /// SPDX licence of the artwork.
    pub licence: &'static str,
    /// Attribution the licence asks for.
    pub attribution: &'static str,
    /// CLDR label and tags (English), labels in other locales.
    pub captions: Captions,
}

/// The attribution line for a style's artwork.
pub fn attribution(style: Style) -> &'static str {
    match style {
        Style::Twitter => {
            "Twemoji graphics by Twitter, Inc and other contributors, licensed under CC-BY 4.0"
        }
        Style::Google => "Noto Color Emoji by Google LLC, licensed under the Apache License 2.0",
    }
}

impl Entry {
    /// Build the manifest line for an item.
    pub fn new(style: Style, item: &Item, size: u32, sha256: String, captions: Captions) -> Self {
        let cps = code_points(&item.unified).unwrap_or_default();
        let package = style.package();
        Entry {
            id: format!("{}/{}", style.name(), item.unified),
            image: format!("images/{}/{}.png", style.name(), item.unified),
            unified: item.unified.clone(),
            code_points: cps
                .iter()
                .map(|c| format!("U+{:04X}", u32::from(*c)))
                .collect(),
            emoji: cps.into_iter().collect(),
            style,
            split: Split::of(&item.unified),
            size,
            category: item.category.clone(),
            subcategory: item.subcategory.clone(),
            source: Source {
                package: package.name,
                version: package.version,
                file: format!("{}/{}", style.image_dir(), item.image),
                sha256,
            },
            licence: package.licence,
            attribution: attribution(style),
            captions,
        }
    }
}

/// An entry the opt-out registry removed.
#[derive(Debug, Clone, Serialize)]
pub struct Removed {
    /// `style/unified`.
    pub id: String,
    /// Package the image would have come from.
    pub source: &'static str,
    /// Which registry rule (1-based, file order).
    pub rule: usize,
    /// The rule's reason.
    pub reason: String,
}

/// A source image that could not be used.
#[derive(Debug, Clone, Serialize)]
pub struct Skipped {
    /// `style/unified`.
    pub id: String,
    /// The file, as a path on the build machine.
    pub file: String,
    /// What was wrong.
    pub error: String,
}

/// `summary.json`.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// Layout version.
    pub format: &'static str,
    /// Output side in pixels.
    pub size: u32,
    /// Images written.
    pub images: usize,
    /// Images per style and split.
    pub counts: BTreeMap<Style, BTreeMap<Split, usize>>,
    /// The pinned packages read.
    pub sources: Vec<Package>,
    /// Locales whose labels are in the captions besides `en`.
    pub locales: Vec<String>,
    /// The registry file and its SHA-256.
    pub opt_out_file: String,
    /// See `opt_out_file`.
    pub opt_out_sha256: String,
    /// The registry's rules.
    pub opt_out_rules: Vec<Rule>,
    /// Rules (1-based) that removed nothing: a typo, or an emoji no longer shipped.
    pub opt_out_unused: Vec<usize>,
    /// Number of entries removed by the registry.
    pub removed_count: usize,
    /// Each removed entry and why.
    pub removed: Vec<Removed>,
    /// Number of source images skipped as missing or damaged.
    pub skipped_count: usize,
    /// Each skipped image and why.
    pub skipped: Vec<Skipped>,
    /// Entries without an emojibase label (captioned with the Unicode name instead).
    pub uncaptioned: Vec<String>,
    /// SHA-256 of `manifest.jsonl`.
    pub manifest_sha256: String,
}

impl Summary {
    /// Count an entry.
    pub fn count(&mut self, e: &Entry) {
        *self
            .counts
            .entry(e.style)
            .or_default()
            .entry(e.split)
            .or_default() += 1;
        self.images += 1;
    }
}

/// A plain-text table of the summary for the terminal.
pub fn table(s: &Summary) -> String {
    let mut out = format!("{:<10} {:>7} {:>9}\n", "style", "train", "fairness");
    for (style, splits) in &s.counts {
        let n = |sp| splits.get(&sp).copied().unwrap_or(0);
        out += &format!(
            "{:<10} {:>7} {:>9}\n",
            style.name(),
            n(Split::Train),
            n(Split::Fairness)
        );
    }
    out += &format!(
        "{} images at {}×{}; {} removed by opt-out, {} skipped, {} without a CLDR label\n",
        s.images,
        s.size,
        s.size,
        s.removed_count,
        s.skipped_count,
        s.uncaptioned.len()
    );
    for r in &s.removed {
        out += &format!("  removed {} (rule {}): {}\n", r.id, r.rule, r.reason);
    }
    for k in &s.skipped {
        out += &format!("  skipped {}: {}: {}\n", k.id, k.file, k.error);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skin_tones_go_to_fairness() {
        assert_eq!(Split::of("1F44B"), Split::Train);
        assert_eq!(Split::of("1F44B-1F3FD"), Split::Fairness);
        assert_eq!(Split::of("1F3FB"), Split::Fairness);
        assert_eq!(
            Split::of("1F9D1-1F3FB-200D-1F91D-200D-1F9D1-1F3FF"),
            Split::Fairness
        );
        assert_eq!(Split::of("2764-FE0F"), Split::Train);
    }
}
