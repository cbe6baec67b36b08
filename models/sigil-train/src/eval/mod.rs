//! The evaluation harness: generate one image per concept label (per style) and per paraphrased
//! prompt, score them with the judge (trained on real images only), measure the Fréchet distance
//! to the real images in judge features, and draw a contact sheet of generated vs real.

use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::tensor::Device;
use serde::Serialize;
use sigil_models::denoiser::{STYLE_ANY, STYLE_GOOGLE, STYLE_TWITTER};
use sigil_models::minilm::TextEncoder;
use sigil_models::sampler::SamplerSpec;

use crate::data::Dataset;
use crate::error::TrainError;
use crate::fid::frechet_distance;
use crate::judge::{LoadedJudge, Scores};
use crate::rng::Rng;
use crate::stage::batch4;

mod paint;
pub use paint::{Draw, FolderPainter, PackPainter, Painted, Painter, generate};

/// What to evaluate and how.
#[derive(Debug, Clone)]
pub struct EvalOptions {
    /// Model folder (autoencoder + denoiser).
    pub model: PathBuf,
    /// A model pack to evaluate instead of the folder (run as the device runs it).
    pub pack: Option<PathBuf>,
    /// Steps for the pack (its own default when `None`).
    pub pack_steps: Option<usize>,
    /// Judge folder.
    pub judge: PathBuf,
    /// Dataset folder (real images, labels).
    pub data: PathBuf,
    /// Paraphrase set (`unified<TAB>prompt`).
    pub paraphrases: PathBuf,
    /// Text encoder folder.
    pub minilm: PathBuf,
    /// Sampler.
    pub sampler: SamplerSpec,
    /// Evaluate every k-th concept only (1 = all).
    pub every: usize,
    /// Decode the prior's prediction alone (no denoiser): how much of the fidelity the
    /// text → latent prior carries by itself.
    pub prior_only: bool,
    /// Snap every prompt to its nearest training caption, as the device does (when the model
    /// folder has a caption index).
    pub snap: bool,
    /// Noise seed.
    pub seed: u64,
    /// Where to write the contact sheet PNG.
    pub sheet: Option<PathBuf>,
}

/// Top-1 / top-5 over a set of prompts.
#[derive(Debug, Clone, Copy, Serialize, Default)]
pub struct Fidelity {
    /// Fraction whose judge top-1 is the intended concept.
    pub top1: f64,
    /// Fraction with the intended concept in the judge's top 5.
    pub top5: f64,
    /// Images scored.
    pub images: usize,
}

/// The evaluation result (`--json` prints it).
#[derive(Debug, Clone, Serialize)]
pub struct EvalReport {
    /// Label prompts, both styles: top-1.
    pub labels_top1: f64,
    /// Label prompts, both styles: top-5.
    pub labels_top5: f64,
    /// Label prompts in the Twemoji style.
    pub labels_twitter: Fidelity,
    /// Label prompts in the Noto style.
    pub labels_google: Fidelity,
    /// Paraphrases (style "any"): top-1.
    pub paraphrase_top1: f64,
    /// Paraphrases: top-5.
    pub paraphrase_top5: f64,
    /// Paraphrases scored.
    pub paraphrases: usize,
    /// Whether prompts were snapped to their nearest training caption.
    pub snap: bool,
    /// With snapping: the fraction of paraphrases whose nearest caption names the intended
    /// concept (the text side's share of `paraphrase_top1`).
    pub paraphrase_caption_top1: Option<f64>,
    /// Fréchet distance, generated label images vs real images, in judge features.
    pub fd: f64,
    /// The same between two random halves of the real images (the noise floor).
    pub fd_real_halves: f64,
    /// Judge top-1 on the real images (how far the judge itself can be trusted).
    pub judge_real_top1: f64,
    /// Concepts evaluated.
    pub concepts: usize,
    /// Sampler steps.
    pub steps: usize,
    /// Guidance weight.
    pub guidance: f32,
    /// Sampler name.
    pub sampler: String,
    /// Seconds the evaluation took.
    pub seconds: f64,
    /// Contact sheet written.
    pub sheet: Option<String>,
}

/// Read the paraphrase set: (concept index, prompt).
pub fn read_paraphrases(path: &Path, data: &Dataset) -> Result<Vec<(usize, String)>, TrainError> {
    let text = std::fs::read_to_string(path).map_err(|e| TrainError::io(path, e))?;
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate().skip(1) {
        if line.trim().is_empty() {
            continue;
        }
        let Some((unified, prompt)) = line.split_once('\t') else {
            return Err(TrainError::data(
                path,
                format!("line {}: expected unified<TAB>prompt", n + 1),
            ));
        };
        let concept = data.concept_index(unified).ok_or_else(|| {
            TrainError::data(
                path,
                format!(
                    "line {}: {unified} is not a training concept of {}",
                    n + 1,
                    data.dir.display()
                ),
            )
        })?;
        out.push((concept, prompt.to_string()));
    }
    Ok(out)
}

fn fidelity(tops: &[Vec<usize>], want: &[usize]) -> Fidelity {
    let n = tops.len().max(1);
    let t1 = tops
        .iter()
        .zip(want)
        .filter(|(t, w)| t.first() == Some(w))
        .count();
    let t5 = tops.iter().zip(want).filter(|(t, w)| t.contains(w)).count();
    #[allow(clippy::cast_precision_loss)]
    Fidelity {
        top1: t1 as f64 / n as f64,
        top5: t5 as f64 / n as f64,
        images: tops.len(),
    }
}

fn judge_all(
    judge: &LoadedJudge,
    images: &[Vec<f32>],
    side: usize,
    device: &Device,
) -> Result<Scores, TrainError> {
    let mut all = Scores::default();
    for chunk in images.chunks(256) {
        let rows: Vec<&[f32]> = chunk.iter().map(Vec::as_slice).collect();
        let s = judge.score(batch4(&rows, 3, side, device))?;
        all.features.extend(s.features);
        all.top5.extend(s.top5);
    }
    Ok(all)
}

/// Run the whole evaluation.
pub fn evaluate(opts: &EvalOptions, progress: &dyn Fn(&str)) -> Result<EvalReport, TrainError> {
    let started = Instant::now();
    let device = Device::flex();
    let data = Dataset::load(&opts.data)?;
    let judge = LoadedJudge::load(&opts.judge, &device)?;
    let classes: Vec<&str> = judge.file.classes.iter().map(String::as_str).collect();
    let ours: Vec<&str> = data.concepts.iter().map(|c| c.unified.as_str()).collect();
    if classes != ours {
        return Err(TrainError::data(
            &opts.judge.join("judge.json"),
            "the judge was trained on another dataset (its classes differ): train a judge on this dataset with `sigil-host train --stage judge`",
        ));
    }
    let side = data.side;
    let every = opts.every.max(1);
    let picked: Vec<usize> = (0..data.concepts.len()).step_by(every).collect();
    let painter: Box<dyn Painter> = match &opts.pack {
        Some(pack) => {
            if opts.prior_only {
                return Err(TrainError::data(
                    pack,
                    "--prior-only needs a model folder (--model), not a pack",
                ));
            }
            progress(&format!("loading pack {}", pack.display()));
            Box::new(PackPainter::open(
                pack,
                opts.pack_steps,
                opts.snap,
                &device,
            )?)
        }
        None => Box::new(FolderPainter {
            model: crate::teacher::load(&opts.model, &device)?,
            enc: TextEncoder::load(&opts.minilm, &device)?,
            draw: if opts.prior_only {
                Draw::PriorOnly
            } else {
                Draw::Sample(opts.sampler)
            },
            snap: opts.snap,
            side,
            device: device.clone(),
        }),
    };
    let paraphrases = read_paraphrases(&opts.paraphrases, &data)?;
    if opts.snap && !painter.snaps() {
        progress("this model has no caption index: prompts are not snapped");
    }
    let labels: Vec<&str> = picked
        .iter()
        .filter_map(|&i| data.concepts.get(i).map(|c| c.label.as_str()))
        .collect();

    let mut by_style = Vec::new();
    let mut generated_all = Vec::new();
    for (k, style) in [STYLE_TWITTER, STYLE_GOOGLE].into_iter().enumerate() {
        progress(&format!(
            "generating {} label images, style {style}",
            picked.len()
        ));
        let styles = vec![style; picked.len()];
        let imgs = painter
            .paint(&labels, &styles, opts.seed + k as u64)?
            .images;
        let scores = judge_all(&judge, &imgs, side, &device)?;
        by_style.push((fidelity(&scores.top5, &picked), scores.features));
        generated_all.push(imgs);
    }
    progress(&format!(
        "generating {} paraphrase images",
        paraphrases.len()
    ));
    let para_text: Vec<&str> = paraphrases.iter().map(|p| p.1.as_str()).collect();
    let para_painted =
        painter.paint(&para_text, &vec![STYLE_ANY; para_text.len()], opts.seed + 7)?;
    let para_tops = judge_all(&judge, &para_painted.images, side, &device)?.top5;
    let para_want: Vec<usize> = paraphrases.iter().map(|p| p.0).collect();
    let para = fidelity(&para_tops, &para_want);
    let paraphrase_caption_top1 = painter.snaps().then(|| {
        let right = para_painted
            .snapped
            .iter()
            .zip(&paraphrases)
            .filter(|(c, p)| {
                c.as_deref().is_some()
                    && c.as_deref() == data.concepts.get(p.0).map(|k| k.unified.as_str())
            })
            .count();
        right as f64 / paraphrases.len().max(1) as f64
    });

    // Real features, for FD and for the judge's own accuracy.
    let real: Vec<Vec<f32>> = data.samples.iter().map(|s| s.pixels.clone()).collect();
    let Scores {
        features: real_feats,
        top5: real_tops,
    } = judge_all(&judge, &real, side, &device)?;
    let real_want: Vec<usize> = data.samples.iter().map(|s| s.concept).collect();
    let judge_real = fidelity(&real_tops, &real_want);
    let gen_feats: Vec<Vec<f32>> = by_style.iter().flat_map(|b| b.1.clone()).collect();
    let fd = frechet_distance(&gen_feats, &real_feats).unwrap_or(f64::NAN);
    let mut rng = Rng::for_step(opts.seed, 0xFD, 0);
    let (mut h1, mut h2) = (Vec::new(), Vec::new());
    for f in &real_feats {
        if rng.below(2) == 0 {
            h1.push(f.clone())
        } else {
            h2.push(f.clone())
        }
    }
    let fd_real_halves = frechet_distance(&h1, &h2).unwrap_or(f64::NAN);

    let sheet = match &opts.sheet {
        Some(path) => {
            crate::sheet::contact_sheet(path, &data, &picked, &generated_all)?;
            Some(path.display().to_string())
        }
        None => None,
    };
    let (sampler, steps, guidance) = painter.sampler();
    let (tw, go) = (
        by_style.first().map(|b| b.0).unwrap_or_default(),
        by_style.get(1).map(|b| b.0).unwrap_or_default(),
    );
    Ok(EvalReport {
        labels_top1: (tw.top1 + go.top1) / 2.0,
        labels_top5: (tw.top5 + go.top5) / 2.0,
        labels_twitter: tw,
        labels_google: go,
        paraphrase_top1: para.top1,
        paraphrase_top5: para.top5,
        paraphrases: para.images,
        snap: painter.snaps(),
        paraphrase_caption_top1,
        fd,
        fd_real_halves,
        judge_real_top1: judge_real.top1,
        concepts: picked.len(),
        steps,
        guidance,
        sampler,
        seconds: started.elapsed().as_secs_f64(),
        sheet,
    })
}
