//! The caption index: the sentence embeddings of every caption a model was trained on, and the
//! nearest-caption lookup that maps a prompt onto them ("interpreted as …").
//!
//! A model this small memorises its ~7,600 training captions; an embedding it never met (a
//! paraphrase: "a kitty's face") lands between them and decodes to a blur of several concepts.
//! Snapping the prompt's embedding to its nearest training caption (cosine similarity, one
//! matrix–vector product) turns that into the nearest concept the model knows, and says which,
//! so that a kiosk can show what it understood. It is retrieval over the *captions* only; the
//! image still comes from the denoiser.
//!
//! Some entries are matched but not trained on (an emoji's Unicode name, "slice of pizza", when
//! its training captions say "pizza"): they carry a `target`, the row of a trained caption, and
//! a prompt that matches them snaps to that row's embedding.
//!
//! Stored in a model pack under `captions.embeddings` (`[n, dim]`, int8 per row or f32) and
//! `captions.text` (a JSON array of `{caption, concept, target?}`); a model folder holds the
//! same as a small pack of its own, `captions.sigilpack`.

use std::path::Path;

use serde::{Deserialize, Serialize};
use sigil_pack::{Pack, PackWriter};

use crate::ModelError;

/// Tensor name of the embeddings inside a pack.
pub const EMBEDDINGS: &str = "captions.embeddings";
/// Name of the caption texts inside a pack.
pub const TEXTS: &str = "captions.text";
/// File name of the index inside a model folder.
pub const FOLDER_FILE: &str = "captions.sigilpack";

/// One indexed caption.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Caption {
    /// The text the model was trained with.
    pub caption: String,
    /// The concept it names (the dataset's `unified` code, e.g. `1F431`).
    pub concept: String,
    /// For a caption the model was not trained on: the row of the trained caption to use in
    /// its place.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<usize>,
}

/// The best match of a prompt.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Snap {
    /// Row of the matched caption.
    pub index: usize,
    /// Cosine similarity between the prompt and the caption, in [-1, 1].
    pub cosine: f32,
}

/// Unit-norm caption embeddings, row-major `[n, dim]`, with their captions.
#[derive(Debug, Clone)]
pub struct CaptionIndex {
    dim: usize,
    rows: Vec<f32>,
    captions: Vec<Caption>,
}

fn normalised(v: &[f32]) -> Option<Vec<f32>> {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    (norm.is_finite() && norm > 0.0).then(|| v.iter().map(|x| x / norm).collect())
}

impl CaptionIndex {
    /// An index of `captions` with their embeddings (each of width `dim`; normalised here).
    /// A `target` must name a row that has no target of its own.
    pub fn new(dim: usize, captions: Vec<Caption>, rows: &[Vec<f32>]) -> Result<Self, ModelError> {
        if captions.len() != rows.len() || captions.is_empty() || dim == 0 {
            return Err(ModelError::Input(format!(
                "caption index: {} captions, {} embeddings, width {dim}: need as many embeddings as captions, at least one, width > 0",
                captions.len(),
                rows.len()
            )));
        }
        let mut flat = Vec::with_capacity(rows.len() * dim);
        for (row, cap) in rows.iter().zip(&captions) {
            let unit = normalised(row).filter(|_| row.len() == dim).ok_or_else(|| {
                ModelError::Input(format!(
                    "caption index: the embedding of {:?} has width {} (want {dim}) or no length",
                    cap.caption,
                    row.len()
                ))
            })?;
            flat.extend(unit);
        }
        for (i, cap) in captions.iter().enumerate() {
            if let Some(t) = cap.target
                && captions.get(t).is_none_or(|c| c.target.is_some())
            {
                return Err(ModelError::Input(format!(
                    "caption index: entry {i} ({:?}) points at row {t}, which is not a trained caption",
                    cap.caption
                )));
            }
        }
        Ok(CaptionIndex {
            dim,
            rows: flat,
            captions,
        })
    }

    /// Embedding width.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Number of captions.
    pub fn len(&self) -> usize {
        self.captions.len()
    }

    /// Whether the index is empty (never, once built).
    pub fn is_empty(&self) -> bool {
        self.captions.is_empty()
    }

    /// Caption `i`.
    pub fn caption(&self, i: usize) -> Option<&Caption> {
        self.captions.get(i)
    }

    /// The (unit-norm) embedding of caption `i`.
    pub fn row(&self, i: usize) -> Option<&[f32]> {
        self.rows.get(i * self.dim..(i + 1) * self.dim)
    }

    /// The caption nearest to `query` by cosine similarity; `None` for a query of the wrong
    /// width or of zero length. Ties go to the lower row.
    pub fn nearest(&self, query: &[f32]) -> Option<Snap> {
        if query.len() != self.dim {
            return None;
        }
        let q = normalised(query)?;
        let mut best: Option<Snap> = None;
        for (index, row) in self.rows.chunks_exact(self.dim).enumerate() {
            let cosine: f32 = row.iter().zip(&q).map(|(a, b)| a * b).sum();
            if best.is_none_or(|b| cosine > b.cosine) {
                best = Some(Snap { index, cosine });
            }
        }
        best
    }

    /// The embedding a prompt matched to caption `i` is replaced by: its own, or its target's.
    pub fn snap_row(&self, i: usize) -> Option<&[f32]> {
        let cap = self.captions.get(i)?;
        self.row(cap.target.unwrap_or(i))
    }

    /// Add the index to a pack being written (`int8`: one scale per row).
    pub fn add_to(&self, w: &mut PackWriter, int8: bool) -> Result<(), ModelError> {
        let shape = [self.len(), self.dim];
        if int8 {
            w.add_i8(EMBEDDINGS, &shape, &self.rows, 0)?;
        } else {
            w.add_f32(EMBEDDINGS, &shape, &self.rows)?;
        }
        let text = serde_json::to_vec(&self.captions)
            .map_err(|e| ModelError::Input(format!("caption index: {e}")))?;
        w.add_bytes(TEXTS, &text)?;
        Ok(())
    }

    /// The index stored in `pack`, or `None` when the pack has none.
    pub fn from_pack(pack: &Pack) -> Result<Option<Self>, ModelError> {
        if pack.entry(EMBEDDINGS).is_err() {
            return Ok(None);
        }
        let (values, shape) = pack.f32(EMBEDDINGS)?;
        let captions: Vec<Caption> = serde_json::from_slice(pack.bytes(TEXTS)?).map_err(|e| {
            ModelError::Input(format!(
                "model pack `{}`: {TEXTS} is not a JSON list of {{caption, concept}} ({e}): rebuild the pack with `sigil-host pack-model`",
                pack.manifest().name
            ))
        })?;
        let [n, dim] = shape[..] else {
            return Err(ModelError::Input(format!(
                "model pack `{}`: {EMBEDDINGS} has shape {shape:?}, want [captions, width]",
                pack.manifest().name
            )));
        };
        if n != captions.len() || dim == 0 {
            return Err(ModelError::Input(format!(
                "model pack `{}`: {n} caption embeddings for {} captions",
                pack.manifest().name,
                captions.len()
            )));
        }
        let rows: Vec<Vec<f32>> = values.chunks_exact(dim).map(<[f32]>::to_vec).collect();
        Self::new(dim, captions, &rows).map(Some)
    }

    /// Write the index as a small pack of its own (a model folder's `captions.sigilpack`),
    /// int8 per row: a quarter of the size, and snapping to a dequantised row instead of the
    /// f32 one moves the embedding by under 0.5 % of its largest component.
    pub fn save(&self, path: &Path, data_manifest_sha256: &str) -> Result<(), ModelError> {
        let mut w = PackWriter::new(
            "sigil-caption-index",
            serde_json::json!({ "kind": "caption-index", "dim": self.dim }),
            0,
            0.0,
            data_manifest_sha256,
            serde_json::Value::Null,
            Vec::new(),
        );
        self.add_to(&mut w, true)?;
        w.write(path)?;
        Ok(())
    }

    /// Read a model folder's `captions.sigilpack`; `None` when the file does not exist.
    pub fn load(path: &Path) -> Result<Option<Self>, ModelError> {
        if !path.exists() {
            return Ok(None);
        }
        let pack = Pack::open(path)?;
        Self::from_pack(&pack)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cap(c: &str, k: &str) -> Caption {
        Caption {
            caption: c.into(),
            concept: k.into(),
            target: None,
        }
    }

    #[test]
    fn an_untrained_name_snaps_to_its_target_row() {
        let mut names = vec![cap("cat", "1F431"), cap("pizza", "1F355")];
        names.push(Caption {
            target: Some(1),
            ..cap("slice of pizza", "1F355")
        });
        let rows = [
            vec![1.0, 0.0, 0.0],
            vec![0.0, 1.0, 0.0],
            vec![0.0, 0.0, 1.0],
        ];
        let ix = CaptionIndex::new(3, names.clone(), &rows).unwrap();
        let s = ix.nearest(&[0.1, 0.0, 1.0]).unwrap();
        assert_eq!(ix.caption(s.index).unwrap().caption, "slice of pizza");
        assert_eq!(ix.snap_row(s.index).unwrap(), &[0.0, 1.0, 0.0]);
        assert_eq!(ix.snap_row(0).unwrap(), &[1.0, 0.0, 0.0]);
        // Targets must be trained rows that exist: not out of range, not a row that has a
        // target itself.
        let mut out_of_range = names.clone();
        out_of_range[2].target = Some(7);
        let mut chained = names.clone();
        chained[0].target = Some(2);
        for caps in [out_of_range, chained] {
            let err = CaptionIndex::new(3, caps, &rows).unwrap_err();
            assert!(err.to_string().contains("not a trained caption"), "{err}");
        }
    }

    fn empty_writer() -> PackWriter {
        PackWriter::new(
            "t",
            serde_json::json!({}),
            1,
            1.0,
            "",
            serde_json::Value::Null,
            vec![],
        )
    }

    fn index() -> CaptionIndex {
        CaptionIndex::new(
            3,
            vec![
                cap("cat", "1F431"),
                cap("dog", "1F436"),
                cap("pizza", "1F355"),
            ],
            &[
                vec![1.0, 0.0, 0.0],
                vec![0.0, 2.0, 0.0],
                vec![0.0, 0.6, 0.8],
            ],
        )
        .unwrap()
    }

    #[test]
    fn nearest_is_by_cosine_not_length() {
        let ix = index();
        let s = ix.nearest(&[5.0, 1.0, 0.0]).unwrap();
        assert_eq!(s.index, 0);
        assert!((s.cosine - 5.0 / 26f32.sqrt()).abs() < 1e-6);
        assert_eq!(ix.nearest(&[0.0, 0.1, 0.2]).unwrap().index, 2);
        // Rows are stored unit-norm.
        assert_eq!(ix.row(1).unwrap(), &[0.0, 1.0, 0.0]);
    }

    #[test]
    fn bad_queries_and_bad_rows_are_refused() {
        let ix = index();
        assert!(ix.nearest(&[1.0, 0.0]).is_none());
        assert!(ix.nearest(&[0.0, 0.0, 0.0]).is_none());
        assert!(ix.nearest(&[f32::NAN, 0.0, 0.0]).is_none());
        let err = CaptionIndex::new(2, vec![cap("a", "1")], &[vec![1.0, 0.0, 0.0]]).unwrap_err();
        assert!(err.to_string().contains("width 3 (want 2)"), "{err}");
        assert!(CaptionIndex::new(2, vec![cap("a", "1")], &[]).is_err());
        assert!(CaptionIndex::new(2, vec![cap("a", "1")], &[vec![0.0, 0.0]]).is_err());
    }

    #[test]
    fn round_trips_through_a_pack_in_f32_and_int8() {
        let ix = index();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FOLDER_FILE);
        ix.save(&path, "abc").unwrap();
        let back = CaptionIndex::load(&path).unwrap().unwrap();
        for (a, b) in back.rows.iter().zip(&ix.rows) {
            assert!((a - b).abs() < 0.005, "{a} vs {b}");
        }
        assert_eq!(back.captions, ix.captions);
        assert!(
            CaptionIndex::load(&dir.path().join("none"))
                .unwrap()
                .is_none()
        );

        let mut w = empty_writer();
        ix.add_to(&mut w, false).unwrap();
        let pack = Pack::from_bytes(w.to_bytes().unwrap()).unwrap();
        let f = CaptionIndex::from_pack(&pack).unwrap().unwrap();
        assert_eq!(f.rows, ix.rows);
        for probe in [[5.0, 1.0, 0.0], [0.0, 0.1, 0.2], [0.1, 1.0, 0.1]] {
            assert_eq!(
                back.nearest(&probe).unwrap().index,
                ix.nearest(&probe).unwrap().index
            );
        }
        // A pack without an index has none.
        let w = empty_writer();
        let pack = Pack::from_bytes(w.to_bytes().unwrap()).unwrap();
        assert!(CaptionIndex::from_pack(&pack).unwrap().is_none());
    }
}
