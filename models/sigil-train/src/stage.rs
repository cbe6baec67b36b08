//! The loop every training stage shares: resume from the latest checkpoint made under the same
//! config, step with Adam under the preset's schedule, log, checkpoint every few minutes and at
//! the end, and stop early (checkpointed) when a time budget runs out.

use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams};
use burn::store::ModuleSnapshot;
use burn::tensor::{Device, Tensor};

use crate::checkpoint::{Checkpoints, State, config_digest, load_module, save_module};
use crate::error::TrainError;
use crate::preset::Schedule;
use crate::progress::Progress;
use crate::rng::Rng;

/// Where and how a stage runs.
#[derive(Debug, Clone)]
pub struct StageOptions {
    /// The run folder.
    pub run: PathBuf,
    /// Training seed.
    pub seed: u64,
    /// SHA-256 of the dataset manifest.
    pub data_sha256: String,
    /// No progress bar (lines every 30 s instead).
    pub quiet: bool,
    /// Stop (with a checkpoint) after this many seconds of this session.
    pub budget_secs: Option<f64>,
    /// The (non-autodiff) device to train on: `Device::flex()`, or a GPU when built for one.
    pub device: Device,
}

/// How a stage ended.
#[derive(Debug, Clone, PartialEq)]
pub struct StageEnd {
    /// Steps done so far.
    pub step: u64,
    /// Whether all steps are done.
    pub complete: bool,
    /// Wall seconds over all sessions.
    pub wall_s: f64,
    /// Smoothed loss at the end of this session (None if no step ran).
    pub last_loss: Option<f64>,
}

/// Run (or resume) a stage. `loss` computes one step's loss for the model on the autodiff
/// device, given the step number and a generator seeded from `(seed, step)`.
pub fn run_stage<M>(
    opts: &StageOptions,
    stage: &str,
    config: &serde_json::Value,
    schedule: &Schedule,
    init: impl FnOnce(&Device) -> Result<M, TrainError>,
    mut loss: impl FnMut(&M, &Device, u64, &mut Rng) -> Result<Tensor<1>, TrainError>,
) -> Result<(M, StageEnd), TrainError>
where
    M: ModuleSnapshot + Module,
{
    let device = opts.device.clone().autodiff();
    let ck = Checkpoints::new(&opts.run, stage);
    std::fs::create_dir_all(ck.dir()).map_err(|e| TrainError::io(ck.dir(), e))?;
    // Seeded initialisation: the same seed gives the same starting weights.
    device.seed(opts.seed ^ stage_stream(stage));
    let mut model = init(&device)?;
    let mut optim = AdamConfig::new().init();
    let (mut step, wall_before) = match ck.resumable(config)? {
        Some((dir, state)) => {
            model = load_module(model, &dir.join("model.bpk"))?;
            let optim_path = dir.join("optim.bpk");
            if optim_path.is_file() {
                let bytes =
                    std::fs::read(&optim_path).map_err(|e| TrainError::io(&optim_path, e))?;
                optim = optim
                    .from_bytes(burn::tensor::Bytes::from_bytes_vec(bytes))
                    .map_err(|e| TrainError::Checkpoint {
                        file: optim_path.display().to_string(),
                        reason: format!(
                            "optimiser state unreadable ({e:?}); delete this checkpoint folder to restart the stage"
                        ),
                    })?;
            } else {
                // A checkpoint brought back without its optimiser state (from a GPU machine
                // whose large files cannot all come back): resume with fresh Adam moments.
                eprintln!(
                    "{stage}: {} has no optim.bpk; resuming with a fresh optimiser state",
                    dir.display()
                );
            }
            (state.step, state.wall_s)
        }
        None => (0, 0.0),
    };
    let mut progress = Progress::new(stage, ck.dir(), step, schedule.steps, opts.quiet);
    if step > 0 {
        progress.note(&format!("resuming at step {step}"));
    }
    let session = Instant::now();
    let mut last_ckpt = Instant::now();
    let mut last_loss = None;
    let save = |model: &M, optim: &burn::optim::ModuleOptimizer, step: u64| {
        let state = State {
            stage: stage.to_string(),
            step,
            config: config.clone(),
            config_sha256: config_digest(config),
            seed: opts.seed,
            data_sha256: opts.data_sha256.clone(),
            wall_s: wall_before + session.elapsed().as_secs_f64(),
        };
        ck.save(&state, |dir| {
            save_module(model, &dir.join("model.bpk"))?;
            let p = dir.join("optim.bpk");
            optim
                .save(&p)
                .map_err(|e| TrainError::data(&p, format!("cannot save optimiser state: {e:?}")))
        })
    };
    while step < schedule.steps {
        let mut rng = Rng::for_step(opts.seed, stage_stream(stage), step);
        let l = loss(&model, &device, step, &mut rng)?;
        let value = f64::from(l.clone().into_scalar::<f32>());
        if !value.is_finite() {
            return Err(TrainError::Checkpoint {
                file: ck.dir().display().to_string(),
                reason: format!(
                    "the {stage} loss became {value} at step {step}; the last checkpoint is \
                     intact: resume from it with a lower learning rate or another seed"
                ),
            });
        }
        let lr = schedule.lr_at(step);
        let grads = GradientsParams::from_grads(l.backward(), &model);
        model = optim.step(lr, model, grads);
        step += 1;
        progress.step(step, value, lr)?;
        last_loss = Some(value);
        let out_of_time = opts
            .budget_secs
            .is_some_and(|b| session.elapsed().as_secs_f64() >= b);
        if step == schedule.steps
            || out_of_time
            || last_ckpt.elapsed().as_secs() >= schedule.checkpoint_secs
        {
            save(&model, &optim, step)?;
            last_ckpt = Instant::now();
            if out_of_time && step < schedule.steps {
                progress.note(&format!("time budget spent; checkpointed at step {step}"));
                break;
            }
        }
    }
    progress.finish();
    let wall_s = wall_before + session.elapsed().as_secs_f64();
    Ok((
        model,
        StageEnd {
            step,
            complete: step >= schedule.steps,
            wall_s,
            last_loss,
        },
    ))
}

fn stage_stream(stage: &str) -> u64 {
    stage.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// A `[n, 3, s, s]` (or any `[n, c, s, s]`) batch from flat rows.
pub fn batch4(rows: &[&[f32]], c: usize, s: usize, device: &Device) -> Tensor<4> {
    let mut flat = Vec::with_capacity(rows.len() * c * s * s);
    for r in rows {
        flat.extend_from_slice(r);
    }
    Tensor::from_data(
        burn::tensor::TensorData::new(flat, [rows.len(), c, s, s]),
        device,
    )
}

/// Write a JSON file (pretty), naming the file on failure.
pub fn write_json(path: &Path, value: &impl serde::Serialize) -> Result<(), TrainError> {
    let text =
        serde_json::to_string_pretty(value).map_err(|e| TrainError::data(path, e.to_string()))?;
    std::fs::write(path, text).map_err(|e| TrainError::io(path, e))
}
