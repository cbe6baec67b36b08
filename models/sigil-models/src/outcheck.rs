//! The output check (DESIGN §3 "post-filter"): an image classifier that looks at every generated
//! image for the policy categories the model can draw (weapons, drugs, alcohol, the obscene
//! gesture: DESIGN §5 names the emoji). It is the judge's network with one class per such
//! category plus "none" (class 0), trained on the dataset's real images (`sigil-train`'s
//! `outcheck` stage), and shipped inside the model pack (prefix `outcheck.`, the pack's
//! `architecture.output_check`), so the model digest in every record covers it too.
//!
//! It only reports: which category, with what probability. What a hit does (hold for review,
//! block, or release with a label) is the policy's tier for that category, decided by the
//! device program against the compiled-in policy.

use burn::tensor::activation::softmax;
use burn::tensor::{Device, Tensor, TensorData};
use serde::{Deserialize, Serialize};
use sigil_pack::Pack;

use crate::ModelError;
use crate::judge::{Judge, JudgeConfig};
use crate::minilm::tensor_to_vec;
use crate::pack::load_module;
use crate::pipeline::Image;

/// Prefix of the output check's tensors in a pack.
pub const PREFIX: &str = "outcheck";

/// One class of the output check: a policy category and the emoji it was trained to see as it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutputClass {
    /// The policy category id (e.g. `weapons`).
    pub category: String,
    /// Dataset codes of its emoji, as the policy's `output` list had them at training time.
    pub codes: Vec<String>,
}

/// The description stored in a pack's `architecture.output_check`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutputCheckSpec {
    /// The network (its `classes` is `1 + classes.len()`).
    pub config: JudgeConfig,
    /// Class `i + 1` is `classes[i]`; class 0 is "none".
    pub classes: Vec<OutputClass>,
    /// A class hits when its probability is at least this.
    pub threshold: f32,
    /// Side of the images it was trained on (generated images are resized to it).
    pub image_side: usize,
}

impl OutputCheckSpec {
    /// Check that the spec is self-consistent.
    pub fn validate(&self) -> Result<(), String> {
        if self.config.classes != self.classes.len() + 1 {
            return Err(format!(
                "the output check has {} outputs for {} categories (+1 for none)",
                self.config.classes,
                self.classes.len()
            ));
        }
        if !(self.threshold > 0.0 && self.threshold <= 1.0) {
            return Err(format!(
                "the output check's threshold {} is not in (0, 1]",
                self.threshold
            ));
        }
        Ok(())
    }
}

/// What the output check saw in one image.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OutputScore {
    /// Probability of each class, "none" first.
    pub probs: Vec<f32>,
    /// The category that hit (index into [`OutputCheckSpec::classes`]), if any: the most
    /// probable category, when its probability reaches the threshold.
    pub hit: Option<usize>,
}

impl OutputScore {
    /// The most probable category (index into the spec's classes) and its probability.
    pub fn top_category(&self) -> Option<(usize, f32)> {
        self.probs
            .iter()
            .copied()
            .enumerate()
            .skip(1)
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(i, p)| (i - 1, p))
    }
}

/// A loaded output check.
#[derive(Debug)]
pub struct OutputCheck {
    /// The network.
    pub model: Judge,
    /// What it reports.
    pub spec: OutputCheckSpec,
}

impl OutputCheck {
    /// Load it from `pack`, when the pack has one.
    pub fn from_pack(
        pack: &Pack,
        spec: Option<&OutputCheckSpec>,
        device: &Device,
    ) -> Result<Option<Self>, ModelError> {
        let Some(spec) = spec else {
            return Ok(None);
        };
        spec.validate().map_err(|e| {
            ModelError::Input(format!(
                "model pack `{}`: {e}: repack it with `sigil-host pack-model --outcheck DIR`",
                pack.manifest().name
            ))
        })?;
        let model = load_module(spec.config.init(device), pack, PREFIX)?;
        Ok(Some(OutputCheck {
            model,
            spec: spec.clone(),
        }))
    }

    /// Score `[b, 3, s, s]` images in [-1, 1].
    pub fn score_tensor(&self, x: Tensor<4>) -> Result<Vec<OutputScore>, ModelError> {
        let probs = tensor_to_vec(softmax(self.model.forward(x), 1))?;
        let n = self.spec.config.classes;
        Ok(probs
            .chunks(n)
            .map(|row| {
                let mut s = OutputScore {
                    probs: row.to_vec(),
                    hit: None,
                };
                s.hit = s
                    .top_category()
                    .filter(|(_, p)| *p >= self.spec.threshold)
                    .map(|(i, _)| i);
                s
            })
            .collect())
    }

    /// Score one generated image (RGB bytes), resized to the side it was trained on.
    pub fn score(&self, image: &Image, device: &Device) -> Result<OutputScore, ModelError> {
        let side = self.spec.image_side;
        let px = to_planes(image, side);
        let x = Tensor::<4>::from_data(TensorData::new(px, [1, 3, side, side]), device);
        self.score_tensor(x)?
            .pop()
            .ok_or_else(|| ModelError::Input("the output check returned no score".into()))
    }
}

/// RGB bytes → `[3, side, side]` planes in [-1, 1], nearest-neighbour resized when the sides
/// differ (the model's images are already at the check's side).
pub fn to_planes(image: &Image, side: usize) -> Vec<f32> {
    let plane = side * side;
    let mut out = vec![1.0f32; 3 * plane];
    let src = image.side.max(1);
    for y in 0..side {
        for x in 0..side {
            let (sx, sy) = (x * src / side, y * src / side);
            for c in 0..3 {
                let v = image
                    .rgb
                    .get((sy * src + sx) * 3 + c)
                    .copied()
                    .unwrap_or(255);
                if let Some(o) = out.get_mut(c * plane + y * side + x) {
                    *o = f32::from(v) / 127.5 - 1.0;
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn planes_round_trip_the_pixels_at_the_same_side() {
        let image = Image {
            side: 2,
            rgb: vec![0, 255, 128, 10, 20, 30, 40, 50, 60, 70, 80, 90],
        };
        let p = to_planes(&image, 2);
        assert_eq!(p.len(), 12);
        let back: Vec<u8> = (0..4)
            .flat_map(|i| (0..3).map(move |c| (i, c)))
            .map(|(i, c)| ((p[c * 4 + i] + 1.0) * 127.5).round() as u8)
            .collect();
        assert_eq!(back, image.rgb);
    }

    #[test]
    fn an_inconsistent_spec_is_refused_with_the_counts() {
        let spec = OutputCheckSpec {
            config: JudgeConfig::new(3),
            classes: vec![OutputClass {
                category: "weapons".into(),
                codes: vec!["1F52B".into()],
            }],
            threshold: 0.5,
            image_side: 32,
        };
        let e = spec.validate().unwrap_err();
        assert!(e.contains("3 outputs for 1 categories"), "{e}");
        let ok = OutputCheckSpec {
            config: JudgeConfig::new(2),
            ..spec.clone()
        };
        assert!(ok.validate().is_ok());
        let bad = OutputCheckSpec {
            threshold: 0.0,
            ..ok
        };
        assert!(bad.validate().is_err());
    }
}
