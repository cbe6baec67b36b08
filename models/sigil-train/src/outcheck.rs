//! Stage `outcheck`: the output check (`sigil_models::outcheck`), an image classifier for the
//! policy categories the model can draw. Its classes come from the compiled-in policy
//! (`sigil_gate::policy::output_categories`: each category's `output` emoji), class 0 is "none".
//!
//! Trained on the dataset's real images only. It starts from the judge's trunk (a network that
//! already tells 1,906 emoji apart) with a fresh head, and sees the few positive images (20
//! emoji in two styles) a quarter of every batch, with the judge's augmentation plus blur, since
//! generated images are softer than the artwork. Reported: precision and recall per category on
//! the training images, on the skin-tone variants (never trained on) and, with
//! `holdout_style`, on a whole style it never saw.

use std::path::Path;

use burn::nn::LinearConfig;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::tensor::{Device, Int, Tensor, TensorData};
use serde::{Deserialize, Serialize};
use sigil_models::judge::{Judge, JudgeConfig};
use sigil_models::outcheck::{OutputCheck, OutputCheckSpec, OutputClass};

use crate::checkpoint::{load_module, save_module};
use crate::data::Dataset;
use crate::error::TrainError;
use crate::judge::{LoadedJudge, heldout};
use crate::preset::Preset;
use crate::rng::Rng;
use crate::stage::{StageEnd, StageOptions, batch4, run_stage, write_json};

/// Decision threshold stored with a new output check. Chosen on generated images
/// (`sigil-host eval-outcheck`, seeds apart from the training images'): for the shipped check,
/// 0.5 → recall 1.000 / precision 0.506, 0.7 → 1.000 / 0.625, 0.9 → 0.925 / 0.974 (any
/// category). A held frame costs a reviewer a look; a missed one is released.
pub const DEFAULT_THRESHOLD: f32 = 0.7;

/// The classes of the compiled-in policy.
pub fn policy_classes() -> Vec<OutputClass> {
    sigil_gate::policy::output_categories()
        .map(|(_, g)| OutputClass {
            category: g.id.to_string(),
            codes: g.output.iter().map(|c| (*c).to_string()).collect(),
        })
        .collect()
}

/// Class of each concept: 0 for none, `i + 1` for `classes[i]`.
pub fn concept_classes(data: &Dataset, classes: &[OutputClass]) -> Vec<usize> {
    data.concepts
        .iter()
        .map(|c| {
            classes
                .iter()
                .position(|k| k.codes.contains(&c.unified))
                .map_or(0, |i| i + 1)
        })
        .collect()
}

/// What the stage writes next to the weights (`outcheck/outcheck.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OutcheckFile {
    /// What a pack needs.
    pub spec: OutputCheckSpec,
    /// SHA-256 of the dataset manifest it was trained on.
    pub data_manifest_sha256: String,
    /// Steps trained.
    pub steps: u64,
    /// Style left out of training, if any.
    pub holdout_style: Option<i64>,
}

/// Precision and recall of one class (or of "any category").
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct PrecisionRecall {
    /// Images of the class.
    pub positives: usize,
    /// Images the check put in the class.
    pub flagged: usize,
    /// Both.
    pub hits: usize,
    /// `hits / flagged` (1 when nothing was flagged).
    pub precision: f64,
    /// `hits / positives` (1 when there were none).
    pub recall: f64,
}

impl PrecisionRecall {
    fn finish(mut self) -> Self {
        #[allow(clippy::cast_precision_loss)]
        let ratio = |a: usize, b: usize| if b == 0 { 1.0 } else { a as f64 / b as f64 };
        self.precision = ratio(self.hits, self.flagged);
        self.recall = ratio(self.hits, self.positives);
        self
    }
}

/// Truth against verdicts over a set of images.
#[derive(Debug, Clone, Default)]
pub struct Tally {
    per_class: Vec<PrecisionRecall>,
    any: PrecisionRecall,
    images: usize,
}

/// A finished [`Tally`].
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TallyReport {
    /// Images scored.
    pub images: usize,
    /// Any category at all (a hit in the wrong category still holds the frame).
    pub any: PrecisionRecall,
    /// Per category, in class order.
    pub categories: Vec<(String, PrecisionRecall)>,
}

impl Tally {
    /// An empty tally for `classes` categories.
    pub fn new(classes: usize) -> Self {
        Tally {
            per_class: vec![PrecisionRecall::default(); classes],
            ..Tally::default()
        }
    }

    /// Count one image: its true category and the check's (indices into the classes).
    pub fn add(&mut self, truth: Option<usize>, flagged: Option<usize>) {
        self.images += 1;
        if let Some(t) = truth.and_then(|t| self.per_class.get_mut(t)) {
            t.positives += 1;
        }
        if let Some(f) = flagged.and_then(|f| self.per_class.get_mut(f)) {
            f.flagged += 1;
            if truth == flagged {
                f.hits += 1;
            }
        }
        self.any.positives += usize::from(truth.is_some());
        self.any.flagged += usize::from(flagged.is_some());
        self.any.hits += usize::from(truth.is_some() && flagged.is_some());
    }

    /// The figures, named by `classes`.
    pub fn report(&self, classes: &[OutputClass]) -> TallyReport {
        TallyReport {
            images: self.images,
            any: self.any.clone().finish(),
            categories: classes
                .iter()
                .zip(&self.per_class)
                .map(|(c, pr)| (c.category.clone(), pr.clone().finish()))
                .collect(),
        }
    }
}

/// What the stage reports.
#[derive(Debug, Clone, Serialize)]
pub struct OutcheckReport {
    /// Steps done.
    pub steps: u64,
    /// Whether training is complete.
    pub complete: bool,
    /// Threshold the figures are at.
    pub threshold: f32,
    /// On the images it was trained on (unaugmented).
    pub train: Option<TallyReport>,
    /// On the skin-tone variants (never trained on), labelled as their base emoji.
    pub skin_tones: Option<TallyReport>,
    /// On the held-out style, when one was left out.
    pub holdout_style: Option<TallyReport>,
    /// Wall seconds.
    pub wall_s: f64,
}

/// The judge's augmentation (shift, contrast, noise), then colour (a gain per channel, and a
/// quarter of the time the channels permuted: a category is a shape, not a skin tone or a
/// drink's colour) and, half the time, a 3×3 box blur (generated images are soft).
fn augment(px: &[f32], side: usize, rng: &mut Rng) -> Vec<f32> {
    let mut out = crate::judge::augment(px, side, rng);
    let plane = side * side;
    let perm: [usize; 3] = if rng.below(4) == 0 {
        match rng.below(5) {
            0 => [0, 2, 1],
            1 => [1, 0, 2],
            2 => [1, 2, 0],
            3 => [2, 0, 1],
            _ => [2, 1, 0],
        }
    } else {
        [0, 1, 2]
    };
    let gains: [f32; 3] = [0.0; 3].map(|_| 0.7 + 0.6 * rng.unit());
    let src = out.clone();
    for (c, (&from, gain)) in perm.iter().zip(gains).enumerate() {
        for i in 0..plane {
            if let (Some(o), Some(v)) = (out.get_mut(c * plane + i), src.get(from * plane + i)) {
                // Around white (the background, 1.0), so the background stays white.
                *o = (1.0 - (1.0 - v) * gain).clamp(-1.0, 1.0);
            }
        }
    }
    if rng.below(2) == 0 {
        let plane = side * side;
        let src = out.clone();
        for c in 0..3 {
            for y in 0..side {
                for x in 0..side {
                    let (mut sum, mut n) = (0.0f32, 0.0f32);
                    for (dy, dx) in (0..3).flat_map(|a| (0..3).map(move |b| (a, b))) {
                        let (yy, xx) = ((y + dy).wrapping_sub(1), (x + dx).wrapping_sub(1));
                        if yy < side
                            && xx < side
                            && let Some(v) = src.get(c * plane + yy * side + xx)
                        {
                            sum += v;
                            n += 1.0;
                        }
                    }
                    if let Some(o) = out.get_mut(c * plane + y * side + x) {
                        *o = sum / n.max(1.0);
                    }
                }
            }
        }
    }
    out
}

/// Train (or resume) the output check; when complete write `outcheck/final.bpk`,
/// `outcheck/outcheck.json` and `outcheck/report.json`. `judge`: the judge folder to start from
/// (its trunk must have the preset's judge shape); `None` starts from scratch.
pub fn train(
    opts: &StageOptions,
    preset: &Preset,
    data: &Dataset,
    judge: Option<&Path>,
    holdout_style: Option<i64>,
    generated: Option<&Path>,
    skin_tones: bool,
) -> Result<OutcheckReport, TrainError> {
    let classes = policy_classes();
    let mut extra = match generated {
        Some(dir) => load_generated(dir, data, &classes)?,
        None => Vec::new(),
    };
    let labels = concept_classes(data, &classes);
    let held = heldout(data)?;
    if skin_tones {
        // The skin-tone variants of the output emoji (the gesture's five) are trained on, so
        // that every skin tone is caught; the report's skin-tone figures are then in-sample
        // for them.
        extra.extend(held.iter().filter_map(|(p, c)| {
            let class = labels.get(*c).copied().unwrap_or(0);
            (class > 0).then(|| (p.clone(), class))
        }));
    }
    let cfg = JudgeConfig::new(classes.len() + 1)
        .with_width(preset.judge_width)
        .with_stages(preset.judge_stages);
    let config = serde_json::json!({
        "net": cfg,
        "classes": classes,
        "holdout_style": holdout_style,
        "from_judge": judge.is_some(),
        "generated": extra.len(),
        "skin_tones": skin_tones,
    });
    let train: Vec<usize> = (0..data.samples.len())
        .filter(|&i| {
            data.samples
                .get(i)
                .is_some_and(|s| Some(s.style) != holdout_style)
        })
        .collect();
    let label_of = |i: usize| {
        data.samples
            .get(i)
            .and_then(|s| labels.get(s.concept))
            .copied()
            .unwrap_or(0)
    };
    // Pools of (pixels, class): the real images, then the generated ones.
    let pool: Vec<(&[f32], usize)> = train
        .iter()
        .filter_map(|&i| Some((data.samples.get(i)?.pixels.as_slice(), label_of(i))))
        .chain(extra.iter().map(|(p, c)| (p.as_slice(), *c)))
        .collect();
    let (pos, neg): (Vec<usize>, Vec<usize>) =
        (0..pool.len()).partition(|&i| pool.get(i).is_some_and(|p| p.1 > 0));
    if pos.is_empty() || neg.is_empty() {
        return Err(TrainError::data(
            &data.dir,
            "the dataset has no images of the policy's output emoji (or nothing else): the output \
             check needs both",
        ));
    }
    let sched = preset.outcheck_schedule.clone();
    let side = data.side;
    let init = |d: &Device| -> Result<Judge, TrainError> {
        let Some(dir) = judge else {
            return Ok(cfg.init(d));
        };
        let j = LoadedJudge::load(dir, d)?;
        if j.file.config.width != cfg.width || j.file.config.stages != cfg.stages {
            return Err(TrainError::data(
                dir,
                "the judge's shape differs from the preset's: start from scratch (no --judge) or use the matching preset",
            ));
        }
        Ok(Judge {
            head: LinearConfig::new(cfg.features(), cfg.classes).init(d),
            ..j.model
        })
    };
    let (model, end): (Judge, StageEnd) = run_stage(
        opts,
        "outcheck",
        &config,
        &sched,
        init,
        |m, device, _step, rng| {
            let mut rows = Vec::with_capacity(sched.batch);
            let mut ys = Vec::with_capacity(sched.batch);
            for k in 0..sched.batch {
                let which = if k % 4 == 0 { &pos } else { &neg };
                let Some(&i) = which.get(rng.below(which.len())) else {
                    continue;
                };
                if let Some((px, class)) = pool.get(i) {
                    rows.push(augment(px, side, rng));
                    ys.push(i64::try_from(*class).unwrap_or(0));
                }
            }
            let refs: Vec<&[f32]> = rows.iter().map(Vec::as_slice).collect();
            let x = batch4(&refs, 3, side, device);
            let y = Tensor::<1, Int>::from_data(TensorData::new(ys.clone(), [ys.len()]), device);
            Ok(CrossEntropyLossConfig::new()
                .init(device)
                .forward(m.forward(x), y))
        },
    )?;
    let dir = opts.run.join("outcheck");
    let spec = OutputCheckSpec {
        config: cfg.clone(),
        classes: classes.clone(),
        threshold: DEFAULT_THRESHOLD,
        image_side: side,
    };
    let file = OutcheckFile {
        spec: spec.clone(),
        data_manifest_sha256: data.manifest_sha256.clone(),
        steps: end.step,
        holdout_style,
    };
    let mut report = OutcheckReport {
        steps: end.step,
        complete: end.complete,
        threshold: DEFAULT_THRESHOLD,
        train: None,
        skin_tones: None,
        holdout_style: None,
        wall_s: end.wall_s,
    };
    if !end.complete {
        return Ok(report);
    }
    let plain = Device::flex();
    let tmp = dir.join("final.tmp.bpk");
    save_module(&model, &tmp)?;
    let model = load_module(cfg.init(&plain), &tmp)?;
    std::fs::rename(&tmp, dir.join("final.bpk")).map_err(|e| TrainError::io(&tmp, e))?;
    write_json(&dir.join("outcheck.json"), &file)?;
    let check = OutputCheck { model, spec };
    let rows = |keep: &dyn Fn(i64) -> bool| -> Vec<(&[f32], usize)> {
        data.samples
            .iter()
            .enumerate()
            .filter(|(_, s)| keep(s.style))
            .map(|(i, s)| (s.pixels.as_slice(), label_of(i)))
            .collect()
    };
    report.train = Some(tally(
        &check,
        &rows(&|s| Some(s) != holdout_style),
        side,
        &plain,
    )?);
    if holdout_style.is_some() {
        report.holdout_style = Some(tally(
            &check,
            &rows(&|s| Some(s) == holdout_style),
            side,
            &plain,
        )?);
    }
    let held: Vec<(&[f32], usize)> = held
        .iter()
        .map(|(p, c)| (p.as_slice(), labels.get(*c).copied().unwrap_or(0)))
        .collect();
    report.skin_tones = Some(tally(&check, &held, side, &plain)?);
    write_json(&dir.join("report.json"), &report)?;
    Ok(report)
}

/// Generated images written by `sigil-host eval-outcheck --save DIR` (`CODE-SEED.png`), as
/// (pixels, class); files of concepts the dataset does not have are refused by name.
pub fn load_generated(
    dir: &Path,
    data: &Dataset,
    classes: &[OutputClass],
) -> Result<Vec<(Vec<f32>, usize)>, TrainError> {
    let labels = concept_classes(data, classes);
    let entries = std::fs::read_dir(dir).map_err(|e| TrainError::io(dir, e))?;
    let mut names: Vec<std::path::PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "png"))
        .collect();
    names.sort();
    let mut out = Vec::with_capacity(names.len());
    for path in names {
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default();
        let code = stem.rsplit_once('-').map_or(stem, |(c, _)| c);
        let concept = data.concept_index(code).ok_or_else(|| {
            TrainError::data(
                &path,
                format!("concept {code:?} is not in the dataset: name files CODE-SEED.png"),
            )
        })?;
        let class = labels.get(concept).copied().unwrap_or(0);
        out.push((crate::data::read_png(&path, data.side)?, class));
    }
    if out.is_empty() {
        return Err(TrainError::data(dir, "no generated PNGs here"));
    }
    Ok(out)
}

/// Score labelled images (`class` 0 = none) and tally the verdicts.
pub fn tally(
    check: &OutputCheck,
    rows: &[(&[f32], usize)],
    side: usize,
    device: &Device,
) -> Result<TallyReport, TrainError> {
    let mut t = Tally::new(check.spec.classes.len());
    for chunk in rows.chunks(256) {
        let px: Vec<&[f32]> = chunk.iter().map(|r| r.0).collect();
        let scores = check.score_tensor(batch4(&px, 3, side, device))?;
        for ((_, class), s) in chunk.iter().zip(&scores) {
            t.add(class.checked_sub(1), s.hit);
        }
    }
    Ok(t.report(&check.spec.classes))
}

/// Load `outcheck.json` + `final.bpk` from a run's `outcheck` folder.
pub fn load(dir: &Path, device: &Device) -> Result<OutputCheck, TrainError> {
    let path = dir.join("outcheck.json");
    let text = std::fs::read_to_string(&path).map_err(|e| TrainError::io(&path, e))?;
    let file: OutcheckFile = serde_json::from_str(&text)
        .map_err(|e| TrainError::data(&path, format!("not an output check description: {e}")))?;
    file.spec
        .validate()
        .map_err(|e| TrainError::data(&path, e))?;
    let model = load_module(file.spec.config.init(device), &dir.join("final.bpk"))?;
    Ok(OutputCheck {
        model,
        spec: file.spec,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classes() -> Vec<OutputClass> {
        ["weapons", "drugs"]
            .iter()
            .map(|c| OutputClass {
                category: (*c).into(),
                codes: vec![],
            })
            .collect()
    }

    #[test]
    fn tally_counts_precision_and_recall() {
        let mut t = Tally::new(2);
        t.add(Some(0), Some(0)); // weapon seen as weapon
        t.add(Some(0), None); // weapon missed
        t.add(None, Some(1)); // false drug
        t.add(Some(1), Some(0)); // drug seen as weapon: held, wrong class
        t.add(None, None);
        let r = t.report(&classes());
        assert_eq!(r.images, 5);
        let (ref name, ref w) = r.categories[0];
        assert_eq!(name, "weapons");
        assert_eq!((w.positives, w.flagged, w.hits), (2, 2, 1));
        assert!((w.precision - 0.5).abs() < 1e-12 && (w.recall - 0.5).abs() < 1e-12);
        let d = &r.categories[1].1;
        assert_eq!((d.positives, d.flagged, d.hits), (1, 1, 0));
        assert_eq!((r.any.positives, r.any.flagged, r.any.hits), (3, 3, 2));
    }

    #[test]
    fn the_policy_names_the_design_emoji() {
        let classes = policy_classes();
        let find = |code: &str| classes.iter().find(|c| c.codes.iter().any(|x| x == code));
        assert_eq!(find("1F52A").map(|c| c.category.as_str()), Some("weapons"));
        assert_eq!(find("1F6AC").map(|c| c.category.as_str()), Some("drugs"));
        assert_eq!(find("1F37A").map(|c| c.category.as_str()), Some("alcohol"));
        assert_eq!(
            find("1F595").map(|c| c.category.as_str()),
            Some("obscene_gesture")
        );
        assert!(find("1F34E").is_none());
    }
}
