//! `sigil-host train`: the resumable training pipeline (autoencoder → teacher; judge) on burn's
//! flex CPU backend, into a run folder with checkpoints and loss logs.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::{Args as ClapArgs, ValueEnum};
use sigil_train::data::Dataset;
use sigil_train::preset::Preset;
use sigil_train::stage::StageOptions;

/// Which stage to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Stage {
    /// The autoencoder.
    Ae,
    /// The text → latent prior (needs a trained autoencoder in the same run).
    Prior,
    /// The flow-matching teacher (needs the autoencoder, and the prior if the preset has one).
    Teacher,
    /// The judge classifier for `eval` (real images only).
    Judge,
    /// The few-step student distilled from this run's teacher (not part of `all`).
    Student,
    /// The output check: an image classifier for the policy's drawable categories, from the
    /// judge's trunk (`--from-judge`; not part of `all`).
    Outcheck,
    /// Autoencoder, judge, prior, teacher.
    All,
}

/// Arguments of `sigil-host train`.
#[derive(Debug, ClapArgs)]
pub struct Args {
    /// Dataset folder written by `sigil-host dataset build`.
    #[arg(long)]
    pub data: PathBuf,
    /// Run folder (checkpoints, logs, the exported model); resumed when it exists.
    #[arg(long)]
    pub out: PathBuf,
    /// Recipe: `teacher` (the shipped model) or `tiny` (seconds, for tests).
    #[arg(long, default_value = "teacher")]
    pub preset: String,
    /// Stage(s) to run.
    #[arg(long, value_enum, default_value = "all")]
    pub stage: Stage,
    /// Training seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Stop after this many minutes of this session (checkpointed; run again to resume).
    #[arg(long)]
    pub minutes: Option<f64>,
    /// Override the number of teacher steps (extends a run; the schedule follows the new total).
    #[arg(long)]
    pub teacher_steps: Option<u64>,
    /// Override the number of prior steps.
    #[arg(long)]
    pub prior_steps: Option<u64>,
    /// Override the number of judge steps.
    #[arg(long)]
    pub judge_steps: Option<u64>,
    /// Override the number of output-check steps.
    #[arg(long)]
    pub outcheck_steps: Option<u64>,
    /// The judge folder whose trunk the output check starts from (`none`: from scratch).
    #[arg(long, default_value = "models/judge")]
    pub from_judge: PathBuf,
    /// Leave one style out of the output check's training and report on it: `twitter` or
    /// `google`.
    #[arg(long)]
    pub holdout_style: Option<String>,
    /// Generated images to train the output check on too (`eval-outcheck --save DIR`).
    #[arg(long)]
    pub generated: Option<PathBuf>,
    /// Train the output check on the skin-tone variants of its emoji too (the dataset's
    /// `fairness` split), so every skin tone is caught.
    #[arg(long)]
    pub skin_tones: bool,
    /// Override the number of student steps.
    #[arg(long)]
    pub student_steps: Option<u64>,
    /// Override the teacher's batch size (a different batch is a different config).
    #[arg(long)]
    pub teacher_batch: Option<usize>,
    /// Where to train: `flex`, burn's CPU backend (the only one that builds offline here).
    #[arg(long, default_value = "flex")]
    pub backend: String,
    /// Text encoder folder (default: $SIGIL_MINILM or the fetch-minilm.sh cache).
    #[arg(long)]
    pub minilm: Option<PathBuf>,
    /// No progress bar; a line every 30 s instead.
    #[arg(long)]
    pub quiet: bool,
    /// Print the stage reports as one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// Run the requested stages.
pub fn run(args: &Args) -> Result<()> {
    let Some(mut preset) = Preset::by_name(&args.preset) else {
        bail!("unknown --preset {:?}: use teacher or tiny", args.preset);
    };
    if let Some(steps) = args.teacher_steps {
        preset.denoiser_schedule.steps = steps;
    }
    if let Some(steps) = args.prior_steps {
        preset.prior_schedule.steps = steps;
    }
    if let Some(steps) = args.judge_steps {
        preset.judge_schedule.steps = steps;
    }
    if let Some(steps) = args.outcheck_steps {
        preset.outcheck_schedule.steps = steps;
    }
    if let Some(steps) = args.student_steps {
        preset.student_schedule.steps = steps;
    }
    if let Some(batch) = args.teacher_batch {
        preset.denoiser_schedule.batch = batch;
    }
    let device = match args.backend.as_str() {
        "flex" => burn::tensor::Device::flex(),
        other => bail!(
            "unknown --backend {other:?}: training runs on flex (burn's CUDA backend cannot be built offline: its build script downloads LLVM)"
        ),
    };
    let data = Dataset::load(&args.data)?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("{}: cannot create the run folder", args.out.display()))?;
    let started = std::time::Instant::now();
    let budget = args.minutes.map(|m| m * 60.0);
    let opts = |spent: f64| StageOptions {
        run: args.out.clone(),
        seed: args.seed,
        data_sha256: data.manifest_sha256.clone(),
        quiet: args.quiet,
        budget_secs: budget.map(|b| (b - spent).max(1.0)),
        device: device.clone(),
    };
    let mut reports = serde_json::Map::new();
    let wants = |s: Stage| args.stage == s || args.stage == Stage::All;
    if wants(Stage::Ae) {
        let r = sigil_train::ae::train(&opts(started.elapsed().as_secs_f64()), &preset, &data)?;
        if !args.json {
            eprintln!(
                "ae: {} steps{}, PSNR {:.2} dB, latent {:?}, {:.0} s",
                r.steps,
                if r.complete { "" } else { " (incomplete)" },
                r.psnr_db,
                r.latent_shape,
                r.wall_s
            );
        }
        reports.insert("ae".into(), serde_json::to_value(&r)?);
        if !r.complete {
            return finish(args, reports);
        }
    }
    if wants(Stage::Judge) {
        let r = sigil_train::judge::train(&opts(started.elapsed().as_secs_f64()), &preset, &data)?;
        if !args.json {
            eprintln!(
                "judge: {} steps{}, train top-1 {:.3}, held-out skin-tone variants top-1 {:.3} top-5 {:.3} ({} images), {:.0} s",
                r.steps,
                if r.complete { "" } else { " (incomplete)" },
                r.train_top1,
                r.heldout_top1,
                r.heldout_top5,
                r.heldout_images,
                r.wall_s
            );
        }
        reports.insert("judge".into(), serde_json::to_value(&r)?);
        if !r.complete {
            return finish(args, reports);
        }
    }
    let has_prior = preset.denoiser.prior.is_some();
    if (wants(Stage::Prior) && has_prior) || wants(Stage::Teacher) {
        let device = burn::tensor::Device::flex();
        let (ae, ae_cfg) = sigil_train::ae::load(&args.out.join("ae"), &device).with_context(
            || "the prior and the teacher need a trained autoencoder in this run: run --stage ae first",
        )?;
        let minilm = args
            .minilm
            .clone()
            .unwrap_or_else(sigil_models::minilm::minilm_dir);
        let prepared = sigil_train::teacher::prepare(&args.out, &data, &ae, &ae_cfg, &minilm)?;
        if wants(Stage::Prior) && has_prior {
            let r = sigil_train::prior::train(
                &opts(started.elapsed().as_secs_f64()),
                &preset,
                &data,
                &prepared,
            )?;
            if !args.json {
                eprintln!(
                    "prior: {} steps{}, loss {}, {:.0} s",
                    r.steps,
                    if r.complete { "" } else { " (incomplete)" },
                    loss_text(r.last_loss),
                    r.wall_s
                );
            }
            let complete = r.complete;
            reports.insert("prior".into(), serde_json::to_value(&r)?);
            if !complete {
                return finish(args, reports);
            }
        }
        if !wants(Stage::Teacher) {
            return finish(args, reports);
        }
        let r = sigil_train::teacher::train(
            &opts(started.elapsed().as_secs_f64()),
            &preset,
            &data,
            &prepared,
        )?;
        if !args.json {
            eprintln!(
                "teacher: {}/{} steps, loss {}, {} parameters, {:.0} s; model in {}",
                r.steps,
                r.total_steps,
                loss_text(r.last_loss),
                r.params,
                r.wall_s,
                args.out.join("model").display()
            );
        }
        reports.insert("teacher".into(), serde_json::to_value(&r)?);
    }
    if args.stage == Stage::Outcheck {
        let holdout = match args.holdout_style.as_deref() {
            None => None,
            Some(name) => Some(sigil_train::data::style_id(name).with_context(|| {
                format!("unknown --holdout-style {name:?}: use twitter or google")
            })?),
        };
        let judge = (args.from_judge.as_os_str() != "none").then_some(args.from_judge.as_path());
        if let Some(j) = judge
            && !j.join("judge.json").is_file()
        {
            bail!(
                "no judge in {}: pass --from-judge DIR (a judge folder), or --from-judge none to start from scratch",
                j.display()
            );
        }
        let r = sigil_train::outcheck::train(
            &opts(started.elapsed().as_secs_f64()),
            &preset,
            &data,
            judge,
            holdout,
            args.generated.as_deref(),
            args.skin_tones,
        )?;
        if !args.json {
            eprintln!(
                "outcheck: {} steps{}, {:.0} s; figures in {}",
                r.steps,
                if r.complete { "" } else { " (incomplete)" },
                r.wall_s,
                args.out.join("outcheck/report.json").display()
            );
        }
        reports.insert("outcheck".into(), serde_json::to_value(&r)?);
        return finish(args, reports);
    }
    if args.stage == Stage::Student {
        let device = burn::tensor::Device::flex();
        let model_dir = args.out.join("model");
        let teacher = sigil_train::teacher::load(&model_dir, &device).with_context(|| {
            format!(
                "the student is distilled from this run's teacher ({}): run --stage teacher first",
                model_dir.display()
            )
        })?;
        let minilm = args
            .minilm
            .clone()
            .unwrap_or_else(sigil_models::minilm::minilm_dir);
        let prepared =
            sigil_train::teacher::prepare(&args.out, &data, &teacher.ae, &teacher.ae_cfg, &minilm)?;
        let r = sigil_train::distill::train(
            &opts(started.elapsed().as_secs_f64()),
            &preset,
            &data,
            &prepared,
            &teacher,
        )?;
        if !args.json {
            eprintln!(
                "student: {}/{} steps, loss {}, guidance {} distilled, {:.0} s; model in {}",
                r.steps,
                r.total_steps,
                loss_text(r.last_loss),
                r.guidance,
                r.wall_s,
                args.out.join("student-model").display()
            );
        }
        reports.insert("student".into(), serde_json::to_value(&r)?);
    }
    finish(args, reports)
}

fn finish(args: &Args, reports: serde_json::Map<String, serde_json::Value>) -> Result<()> {
    if args.json {
        println!("{}", serde_json::Value::Object(reports));
    }
    Ok(())
}

/// A stage's smoothed loss for the summary line ("none this session" when it ran no step).
fn loss_text(loss: Option<f64>) -> String {
    loss.map_or_else(|| "none this session".into(), |l| format!("{l:.4}"))
}
