//! The dataset that `sigil-host dataset build` writes: `manifest.jsonl` (one line per image) and
//! `images/<style>/<unified>.png`. Loaded whole into memory (7,572 images at 32×32 are 23 MB as
//! f32).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::error::TrainError;

/// The manifest layout this code reads.
pub const MANIFEST_FORMAT: &str = "sigil-dataset/1";

#[derive(Deserialize)]
struct Line {
    id: String,
    image: String,
    unified: String,
    style: String,
    split: String,
    category: String,
    size: usize,
    captions: Captions,
}

#[derive(Deserialize)]
struct Captions {
    label: String,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    unicode_name: String,
    #[serde(default)]
    short_names: Vec<String>,
}

/// One concept (an emoji), shared by its styles.
#[derive(Debug, Clone)]
pub struct Concept {
    /// Code point sequence, e.g. `1F355`.
    pub unified: String,
    /// English CLDR label.
    pub label: String,
    /// English tags.
    pub tags: Vec<String>,
    /// Other names the emoji goes by (its Unicode name and short names, where they differ from
    /// the label): not trained on, but matched at inference (`text::match_only`).
    pub names: Vec<String>,
    /// Emoji category.
    pub category: String,
}

/// One image.
#[derive(Debug, Clone)]
pub struct Sample {
    /// Manifest id.
    pub id: String,
    /// Index into [`Dataset::concepts`].
    pub concept: usize,
    /// Style id (`sigil_models::denoiser::STYLE_*`).
    pub style: i64,
    /// `[3, side, side]` pixels in [-1, 1].
    pub pixels: Vec<f32>,
}

/// The training split of a dataset.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// Image side in pixels.
    pub side: usize,
    /// Concepts in manifest order.
    pub concepts: Vec<Concept>,
    /// Images (both styles).
    pub samples: Vec<Sample>,
    /// SHA-256 of `manifest.jsonl`: the training data digest recorded with every model.
    pub manifest_sha256: String,
    /// Where it was read from.
    pub dir: PathBuf,
}

/// The style id of a manifest style name.
pub fn style_id(name: &str) -> Option<i64> {
    match name {
        "twitter" => Some(sigil_models::denoiser::STYLE_TWITTER),
        "google" => Some(sigil_models::denoiser::STYLE_GOOGLE),
        _ => None,
    }
}

impl Dataset {
    /// Read the `train` split of the dataset in `dir`.
    pub fn load(dir: &Path) -> Result<Self, TrainError> {
        let manifest = dir.join("manifest.jsonl");
        let text = std::fs::read_to_string(&manifest).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                TrainError::data(
                    &manifest,
                    "no dataset here: build one with `sigil-host dataset build --out DIR` \
                     (after models/data/fetch-emoji.sh)",
                )
            } else {
                TrainError::io(&manifest, e)
            }
        })?;
        let summary = dir.join("summary.json");
        if let Ok(s) = std::fs::read_to_string(&summary) {
            let format = serde_json::from_str::<serde_json::Value>(&s)
                .ok()
                .and_then(|v| v.get("format").and_then(|f| f.as_str()).map(str::to_string));
            if format.as_deref() != Some(MANIFEST_FORMAT) {
                return Err(TrainError::data(
                    &summary,
                    format!(
                        "dataset format {format:?}, this build reads {MANIFEST_FORMAT}: rebuild \
                         the dataset with this version's `sigil-host dataset build`"
                    ),
                ));
            }
        }
        let mut concepts = Vec::new();
        let mut index: HashMap<String, usize> = HashMap::new();
        let mut samples = Vec::new();
        let mut side = 0;
        for (n, raw) in text.lines().enumerate() {
            if raw.trim().is_empty() {
                continue;
            }
            let line: Line = serde_json::from_str(raw)
                .map_err(|e| TrainError::data(&manifest, format!("line {}: {e}", n + 1)))?;
            if line.split != "train" {
                continue;
            }
            let style = style_id(&line.style).ok_or_else(|| {
                TrainError::data(
                    &manifest,
                    format!("line {}: unknown style {:?}", n + 1, line.style),
                )
            })?;
            if side == 0 {
                side = line.size;
            } else if side != line.size {
                return Err(TrainError::data(
                    &manifest,
                    format!(
                        "line {}: size {} after images of size {side}",
                        n + 1,
                        line.size
                    ),
                ));
            }
            let concept = *index.entry(line.unified.clone()).or_insert_with(|| {
                concepts.push(Concept {
                    unified: line.unified.clone(),
                    label: line.captions.label.clone(),
                    tags: line.captions.tags.clone(),
                    names: other_names(&line.captions),
                    category: line.category.clone(),
                });
                concepts.len() - 1
            });
            let path = dir.join(&line.image);
            let pixels = read_png(&path, side)?;
            samples.push(Sample {
                id: line.id,
                concept,
                style,
                pixels,
            });
        }
        if samples.is_empty() {
            return Err(TrainError::data(&manifest, "has no training images"));
        }
        Ok(Dataset {
            side,
            concepts,
            samples,
            manifest_sha256: hex::encode(Sha256::digest(text.as_bytes())),
            dir: dir.to_path_buf(),
        })
    }

    /// Index of the concept with code points `unified`.
    pub fn concept_index(&self, unified: &str) -> Option<usize> {
        self.concepts.iter().position(|c| c.unified == unified)
    }

    /// Floats per image.
    pub fn pixels_per_image(&self) -> usize {
        3 * self.side * self.side
    }
}

/// Decode an 8-bit RGB (or RGBA, composited on white) PNG of side `side` into `[3, side, side]`
/// planes in [-1, 1].
pub fn read_png(path: &Path, side: usize) -> Result<Vec<f32>, TrainError> {
    let file = std::fs::File::open(path).map_err(|e| TrainError::io(path, e))?;
    let corrupt = |e: String| {
        TrainError::data(
            path,
            format!(
                "not a readable PNG ({e}); rebuild the dataset with `sigil-host dataset build`"
            ),
        )
    };
    let decoder = png::Decoder::new(std::io::BufReader::new(file));
    let mut reader = decoder.read_info().map_err(|e| corrupt(e.to_string()))?;
    let mut buf = vec![0; reader.output_buffer_size().unwrap_or(0)];
    let info = reader
        .next_frame(&mut buf)
        .map_err(|e| corrupt(e.to_string()))?;
    if info.width as usize != side || info.height as usize != side {
        return Err(corrupt(format!(
            "{}×{}, expected {side}×{side}",
            info.width, info.height
        )));
    }
    if info.bit_depth != png::BitDepth::Eight {
        return Err(corrupt(format!(
            "bit depth {:?}, expected 8",
            info.bit_depth
        )));
    }
    let channels = match info.color_type {
        png::ColorType::Rgb => 3,
        png::ColorType::Rgba => 4,
        other => return Err(corrupt(format!("colour type {other:?}, expected RGB"))),
    };
    let plane = side * side;
    let mut out = vec![0.0f32; 3 * plane];
    for (i, px) in buf.chunks(channels).take(plane).enumerate() {
        let alpha = if channels == 4 {
            f32::from(px.get(3).copied().unwrap_or(255)) / 255.0
        } else {
            1.0
        };
        for c in 0..3 {
            let v = f32::from(px.get(c).copied().unwrap_or(0)) / 255.0;
            let v = v * alpha + (1.0 - alpha);
            if let Some(slot) = out.get_mut(c * plane + i) {
                *slot = v * 2.0 - 1.0;
            }
        }
    }
    Ok(out)
}

/// The Unicode name and short names, without repeats and without those the label already says.
fn other_names(c: &Captions) -> Vec<String> {
    let label = c.label.to_lowercase();
    let mut out: Vec<String> = Vec::new();
    for n in std::iter::once(&c.unicode_name).chain(&c.short_names) {
        let n = n.trim().to_lowercase();
        if !n.is_empty() && n != label && !out.contains(&n) {
            out.push(n);
        }
    }
    out
}
