//! Stage 2a: the text → latent prior (`sigil_models::prior`), regressed on the normalised
//! training latents from the caption embeddings (a random caption variant per sample; the style
//! replaced by "any" with the preset's probability). Written to `RUN/prior/final.bpk`, from
//! where the teacher's initialisation takes it.

use std::path::Path;

use burn::tensor::{Device, Int, Tensor, TensorData};
use sigil_models::denoiser::STYLE_ANY;
use sigil_models::prior::{Prior, PriorConfig};

use crate::checkpoint::{load_module, save_module};
use crate::data::Dataset;
use crate::error::TrainError;
use crate::preset::Preset;
use crate::stage::{StageEnd, StageOptions, run_stage, write_json};
use crate::teacher::Prepared;

/// What the prior stage reports.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PriorReport {
    /// Steps done.
    pub steps: u64,
    /// Whether training is complete.
    pub complete: bool,
    /// Smoothed regression loss (MSE on normalised latents) at the end of this session.
    pub last_loss: Option<f64>,
    /// Wall seconds of training, all sessions.
    pub wall_s: f64,
}

/// Train (or resume) the prior; when complete, write `RUN/prior/final.bpk` and `prior.json`.
pub fn train(
    opts: &StageOptions,
    preset: &Preset,
    data: &Dataset,
    prepared: &Prepared,
) -> Result<PriorReport, TrainError> {
    let Some(cfg) = preset.denoiser.prior.clone() else {
        return Err(TrainError::data(
            &opts.run,
            format!("preset {} has no prior", preset.name),
        ));
    };
    let mut config =
        serde_json::to_value(&cfg).map_err(|e| TrainError::data(&opts.run, e.to_string()))?;
    if let Some(obj) = config.as_object_mut() {
        obj.insert(
            "text_noise".into(),
            serde_json::json!(preset.prior_text_noise),
        );
    }
    let sched = preset.prior_schedule.clone();
    let [c, s, _] = prepared.shape;
    let n = data.samples.len();
    let dim = prepared.text.dim;
    let (model, end): (Prior, StageEnd) = run_stage(
        opts,
        "prior",
        &config,
        &sched,
        |d| Ok(cfg.init(d)),
        |m, device, _step, rng| {
            let b = sched.batch;
            let (mut x0s, mut text, mut styles) = (Vec::new(), Vec::new(), Vec::new());
            for _ in 0..b {
                let i = rng.below(n);
                let (Some(sample), Some(x0)) = (data.samples.get(i), prepared.latents.get(i))
                else {
                    continue;
                };
                let variants = prepared
                    .text
                    .rows
                    .get(sample.concept)
                    .map_or(&[][..], Vec::as_slice);
                let Some(row) = variants.get(rng.below(variants.len().max(1))) else {
                    continue;
                };
                x0s.extend_from_slice(x0);
                text.extend(
                    row.iter()
                        .map(|v| v + preset.prior_text_noise * rng.normal()),
                );
                styles.push(if rng.unit() < preset.style_dropout {
                    STYLE_ANY
                } else {
                    sample.style
                });
            }
            let rows = styles.len();
            let target = Tensor::<4>::from_data(TensorData::new(x0s, [rows, c, s, s]), device);
            let text = Tensor::<2>::from_data(TensorData::new(text, [rows, dim]), device);
            let style = Tensor::<1, Int>::from_data(TensorData::new(styles, [rows]), device);
            Ok((m.forward(text, style) - target)
                .powi_scalar(2)
                .mean()
                .reshape([1]))
        },
    )?;
    if end.complete {
        let dir = opts.run.join("prior");
        let tmp = dir.join("final.tmp.bpk");
        save_module(&model, &tmp)?;
        std::fs::rename(&tmp, dir.join("final.bpk")).map_err(|e| TrainError::io(&tmp, e))?;
        write_json(&dir.join("prior.json"), &cfg)?;
    }
    Ok(PriorReport {
        steps: end.step,
        complete: end.complete,
        last_loss: end.last_loss,
        wall_s: end.wall_s,
    })
}

/// The trained prior of a run, on `device`.
pub fn load(run: &Path, cfg: &PriorConfig, device: &Device) -> Result<Prior, TrainError> {
    let path = run.join("prior").join("final.bpk");
    if !path.is_file() {
        return Err(TrainError::data(
            &path,
            "missing: this preset's teacher starts from a trained prior: run --stage prior first",
        ));
    }
    load_module(cfg.init(device), &path)
}
