//! Stage 3: the judge, a concept classifier trained on real images only (never on generated
//! ones), with light augmentation (shifts, noise, contrast) so it scores the model's images on
//! their content rather than on pixel-exact artwork. Held-out check: the skin-tone variants
//! (never trained on) must be recognised as their base emoji.

use std::path::Path;

use burn::nn::loss::CrossEntropyLossConfig;
use burn::tensor::{Device, Int, Tensor, TensorData};
use serde::{Deserialize, Serialize};
use sigil_models::judge::{Judge, JudgeConfig};

use crate::checkpoint::{load_module, save_module};
use crate::data::{Dataset, read_png};
use crate::error::TrainError;
use crate::preset::Preset;
use crate::rng::Rng;
use crate::stage::{StageEnd, StageOptions, batch4, run_stage, write_json};

/// The judge's saved description: its shape and the concept of each class.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JudgeFile {
    /// Shape.
    pub config: JudgeConfig,
    /// `unified` code points of class `i`.
    pub classes: Vec<String>,
    /// SHA-256 of the dataset manifest it was trained on.
    pub data_manifest_sha256: String,
    /// Steps trained.
    pub steps: u64,
}

/// What the judge stage reports.
#[derive(Debug, Clone, Serialize)]
pub struct JudgeReport {
    /// Steps done.
    pub steps: u64,
    /// Whether training is complete.
    pub complete: bool,
    /// Top-1 on the (unaugmented) training images.
    pub train_top1: f64,
    /// Top-1 on held-out skin-tone variants, scored as their base emoji.
    pub heldout_top1: f64,
    /// Top-5 on the same.
    pub heldout_top5: f64,
    /// Held-out images scored.
    pub heldout_images: usize,
    /// Wall seconds.
    pub wall_s: f64,
}

/// Shift by up to ±2 pixels (white fill), scale contrast, add noise.
pub(crate) fn augment(px: &[f32], side: usize, rng: &mut Rng) -> Vec<f32> {
    #[allow(clippy::cast_possible_wrap)]
    let (dx, dy) = (rng.below(5) as isize - 2, rng.below(5) as isize - 2);
    let contrast = 0.8 + 0.4 * rng.unit();
    let noise = 0.08 * rng.unit();
    let plane = side * side;
    let mut out = vec![1.0f32; 3 * plane];
    for c in 0..3 {
        for y in 0..side {
            for x in 0..side {
                #[allow(clippy::cast_possible_wrap, clippy::cast_sign_loss)]
                let (sx, sy) = (x as isize - dx, y as isize - dy);
                #[allow(clippy::cast_possible_wrap)]
                let inside = sx >= 0 && sy >= 0 && sx < side as isize && sy < side as isize;
                #[allow(clippy::cast_sign_loss)]
                let v = if inside {
                    px.get(c * plane + sy as usize * side + sx as usize)
                        .copied()
                        .unwrap_or(1.0)
                } else {
                    1.0
                };
                if let Some(o) = out.get_mut(c * plane + y * side + x) {
                    *o = (v * contrast + noise * rng.normal()).clamp(-1.0, 1.0);
                }
            }
        }
    }
    out
}

/// Train (or resume) the judge; when complete write `judge/final.bpk`, `judge/judge.json` and a
/// report with held-out accuracy.
pub fn train(
    opts: &StageOptions,
    preset: &Preset,
    data: &Dataset,
) -> Result<JudgeReport, TrainError> {
    let cfg = JudgeConfig::new(data.concepts.len())
        .with_width(preset.judge_width)
        .with_stages(preset.judge_stages);
    let config =
        serde_json::to_value(&cfg).map_err(|e| TrainError::data(&opts.run, e.to_string()))?;
    let sched = preset.judge_schedule.clone();
    let (side, n) = (data.side, data.samples.len());
    let (model, end): (Judge, StageEnd) = run_stage(
        opts,
        "judge",
        &config,
        &sched,
        |d| Ok(cfg.init(d)),
        |m, device, _step, rng| {
            let mut rows = Vec::with_capacity(sched.batch);
            let mut labels = Vec::with_capacity(sched.batch);
            for _ in 0..sched.batch {
                if let Some(s) = data.samples.get(rng.below(n)) {
                    rows.push(augment(&s.pixels, side, rng));
                    labels.push(i64::try_from(s.concept).unwrap_or(0));
                }
            }
            let refs: Vec<&[f32]> = rows.iter().map(Vec::as_slice).collect();
            let x = batch4(&refs, 3, side, device);
            let y = Tensor::<1, Int>::from_data(
                TensorData::new(labels.clone(), [labels.len()]),
                device,
            );
            Ok(CrossEntropyLossConfig::new()
                .init(device)
                .forward(m.forward(x), y))
        },
    )?;
    let dir = opts.run.join("judge");
    let file = JudgeFile {
        config: cfg.clone(),
        classes: data.concepts.iter().map(|c| c.unified.clone()).collect(),
        data_manifest_sha256: data.manifest_sha256.clone(),
        steps: end.step,
    };
    if !end.complete {
        return Ok(report(end, 0.0, (0.0, 0.0, 0)));
    }
    let plain = Device::flex();
    let tmp = dir.join("final.tmp.bpk");
    save_module(&model, &tmp)?;
    let model = load_module(cfg.init(&plain), &tmp)?;
    std::fs::rename(&tmp, dir.join("final.bpk")).map_err(|e| TrainError::io(&tmp, e))?;
    write_json(&dir.join("judge.json"), &file)?;
    let loaded = LoadedJudge { model, file };
    let train_top1 = {
        let rows: Vec<(&[f32], usize)> = data
            .samples
            .iter()
            .map(|s| (s.pixels.as_slice(), s.concept))
            .collect();
        loaded.accuracy(&rows, side, &plain)?.0
    };
    let held = heldout(data)?;
    let rows: Vec<(&[f32], usize)> = held.iter().map(|(p, c)| (p.as_slice(), *c)).collect();
    let (h1, h5) = loaded.accuracy(&rows, side, &plain)?;
    let r = report(end, train_top1, (h1, h5, held.len()));
    write_json(&dir.join("report.json"), &r)?;
    Ok(r)
}

fn report(end: StageEnd, train_top1: f64, held: (f64, f64, usize)) -> JudgeReport {
    JudgeReport {
        steps: end.step,
        complete: end.complete,
        train_top1,
        heldout_top1: held.0,
        heldout_top5: held.1,
        heldout_images: held.2,
        wall_s: end.wall_s,
    }
}

/// Skin-tone variants (split `fairness`) whose base emoji is a training concept, as
/// (pixels, concept index).
pub fn heldout(data: &Dataset) -> Result<Vec<(Vec<f32>, usize)>, TrainError> {
    let manifest = data.dir.join("manifest.jsonl");
    let text = std::fs::read_to_string(&manifest).map_err(|e| TrainError::io(&manifest, e))?;
    let mut out = Vec::new();
    for line in text.lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if v.get("split").and_then(|s| s.as_str()) != Some("fairness") {
            continue;
        }
        let (Some(unified), Some(image)) = (
            v.get("unified").and_then(|s| s.as_str()),
            v.get("image").and_then(|s| s.as_str()),
        ) else {
            continue;
        };
        let base: Vec<&str> = unified
            .split('-')
            .filter(|cp| !matches!(*cp, "1F3FB" | "1F3FC" | "1F3FD" | "1F3FE" | "1F3FF"))
            .collect();
        if base.is_empty() {
            continue;
        }
        let joined = base.join("-");
        let concept = data
            .concept_index(&joined)
            .or_else(|| data.concept_index(&format!("{joined}-FE0F")))
            .or_else(|| data.concept_index(&joined.replacen("-", "-FE0F-", 1)));
        if let Some(c) = concept {
            out.push((read_png(&data.dir.join(image), data.side)?, c));
        }
    }
    Ok(out)
}

/// The judge's view of a batch of images.
#[derive(Debug, Clone, Default)]
pub struct Scores {
    /// Feature vector per image (the space the Fréchet distance is measured in).
    pub features: Vec<Vec<f32>>,
    /// Per image, the five best classes, best first.
    pub top5: Vec<Vec<usize>>,
}

/// A judge ready to score images.
#[derive(Debug)]
pub struct LoadedJudge {
    /// The network.
    pub model: Judge,
    /// Its description.
    pub file: JudgeFile,
}

impl LoadedJudge {
    /// Load `judge.json` + `final.bpk` (or `judge.bpk`) from `dir`.
    pub fn load(dir: &Path, device: &Device) -> Result<Self, TrainError> {
        let path = dir.join("judge.json");
        let text = std::fs::read_to_string(&path).map_err(|e| TrainError::io(&path, e))?;
        let file: JudgeFile = serde_json::from_str(&text)
            .map_err(|e| TrainError::data(&path, format!("not a judge description: {e}")))?;
        let bpk = if dir.join("judge.bpk").is_file() {
            dir.join("judge.bpk")
        } else {
            dir.join("final.bpk")
        };
        let model = load_module(file.config.init(device), &bpk)?;
        Ok(LoadedJudge { model, file })
    }

    /// Features `[n, f]` and, per image, the classes ranked best first (top 5).
    pub fn score(&self, images: Tensor<4>) -> Result<Scores, TrainError> {
        let feats = self.model.features(images);
        let [n, f] = feats.dims();
        let logits = self.model.head.forward(feats.clone());
        let classes = self.file.classes.len();
        let lv = sigil_models::minilm::tensor_to_vec(logits)?;
        let fv = sigil_models::minilm::tensor_to_vec(feats)?;
        let mut tops = Vec::with_capacity(n);
        for row in lv.chunks(classes) {
            let mut idx: Vec<usize> = (0..row.len()).collect();
            idx.sort_by(|a, b| {
                row.get(*b)
                    .partial_cmp(&row.get(*a))
                    .unwrap_or(std::cmp::Ordering::Equal)
            });
            idx.truncate(5);
            tops.push(idx);
        }
        Ok(Scores {
            features: fv.chunks(f).map(<[f32]>::to_vec).collect(),
            top5: tops,
        })
    }

    /// (top-1, top-5) over labelled images.
    pub fn accuracy(
        &self,
        rows: &[(&[f32], usize)],
        side: usize,
        device: &Device,
    ) -> Result<(f64, f64), TrainError> {
        let (mut t1, mut t5) = (0usize, 0usize);
        for chunk in rows.chunks(256) {
            let px: Vec<&[f32]> = chunk.iter().map(|r| r.0).collect();
            let scores = self.score(batch4(&px, 3, side, device))?;
            for ((_, want), top) in chunk.iter().zip(&scores.top5) {
                t1 += usize::from(top.first() == Some(want));
                t5 += usize::from(top.contains(want));
            }
        }
        #[allow(clippy::cast_precision_loss)]
        let n = rows.len().max(1) as f64;
        #[allow(clippy::cast_precision_loss)]
        Ok((t1 as f64 / n, t5 as f64 / n))
    }
}
