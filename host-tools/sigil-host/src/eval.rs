//! `sigil-host eval`: score a model folder or a model pack with the judge (see
//! `sigil_train::eval`).

use std::path::PathBuf;

use anyhow::Result;
use clap::Args as ClapArgs;
use sigil_models::sampler::SamplerSpec;
use sigil_train::eval::{EvalOptions, evaluate};

/// Arguments of `sigil-host eval`.
#[derive(Debug, ClapArgs)]
pub struct Args {
    /// Model folder (autoencoder + denoiser): `models/teacher` or a run's `model/`.
    #[arg(long, required_unless_present = "pack", conflicts_with = "pack")]
    pub model: Option<PathBuf>,
    /// A model pack instead, run as `sigil generate` runs it (its text encoder, int8 weights,
    /// caption index and 8-bit pixels); steps default to the pack's.
    #[arg(long)]
    pub pack: Option<PathBuf>,
    /// Judge folder (trained on real images only).
    #[arg(long, default_value = "models/judge")]
    pub judge: PathBuf,
    /// Dataset folder written by `sigil-host dataset build`.
    #[arg(long)]
    pub data: PathBuf,
    /// Paraphrase set.
    #[arg(long, default_value = "tests/eval/paraphrases.tsv")]
    pub paraphrases: PathBuf,
    /// Text encoder folder (default: $SIGIL_MINILM or the fetch-minilm.sh cache).
    #[arg(long)]
    pub minilm: Option<PathBuf>,
    /// Sampling steps (default: 12 for a model folder, the pack's own for a pack).
    #[arg(long)]
    pub steps: Option<usize>,
    /// Classifier-free guidance weight.
    #[arg(long, default_value_t = 2.0)]
    pub guidance: f32,
    /// Heun's second-order steps instead of Euler.
    #[arg(long)]
    pub heun: bool,
    /// Evaluate every k-th concept only (faster; 1 = all).
    #[arg(long, default_value_t = 1)]
    pub every: usize,
    /// Decode the prior's prediction alone, without the denoiser (a diagnostic).
    #[arg(long)]
    pub prior_only: bool,
    /// Use the raw prompt embedding instead of snapping it to the nearest training caption (a
    /// diagnostic: the device snaps whenever its pack has a caption index).
    #[arg(long)]
    pub no_snap: bool,
    /// Noise seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Contact sheet PNG to write.
    #[arg(long)]
    pub sheet: Option<PathBuf>,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// Run the evaluation and print it.
pub fn run(args: &Args) -> Result<()> {
    let opts = EvalOptions {
        model: args.model.clone().unwrap_or_default(),
        pack: args.pack.clone(),
        pack_steps: args.steps,
        judge: args.judge.clone(),
        data: args.data.clone(),
        paraphrases: args.paraphrases.clone(),
        minilm: args
            .minilm
            .clone()
            .unwrap_or_else(sigil_models::minilm::minilm_dir),
        sampler: SamplerSpec {
            steps: args.steps.unwrap_or(12),
            guidance: args.guidance,
            heun: args.heun,
        },
        every: args.every,
        prior_only: args.prior_only,
        snap: !args.no_snap,
        seed: args.seed,
        sheet: args.sheet.clone(),
    };
    let r = evaluate(&opts, &|m| eprintln!("eval: {m}"))?;
    if args.json {
        println!("{}", serde_json::to_string(&r)?);
        return Ok(());
    }
    println!(
        "{:<34} {:>8} {:>8} {:>7}",
        "prompts", "top-1", "top-5", "images"
    );
    let row = |name: &str, t1: f64, t5: f64, n: usize| {
        println!(
            "{name:<34} {:>7.1}% {:>7.1}% {n:>7}",
            t1 * 100.0,
            t5 * 100.0
        )
    };
    row(
        "labels, Twemoji style",
        r.labels_twitter.top1,
        r.labels_twitter.top5,
        r.labels_twitter.images,
    );
    row(
        "labels, Noto style",
        r.labels_google.top1,
        r.labels_google.top5,
        r.labels_google.images,
    );
    row(
        "labels, both",
        r.labels_top1,
        r.labels_top5,
        r.labels_twitter.images + r.labels_google.images,
    );
    row(
        "paraphrases (style any)",
        r.paraphrase_top1,
        r.paraphrase_top5,
        r.paraphrases,
    );
    match r.paraphrase_caption_top1 {
        Some(c) => println!(
            "prompts snapped to their nearest training caption; paraphrases whose caption names the intended concept: {:.1}%",
            c * 100.0
        ),
        None => println!("prompts not snapped (raw text embeddings)"),
    }
    println!(
        "Fréchet distance (judge features): {:.3} (real vs real halves: {:.3})",
        r.fd, r.fd_real_halves
    );
    println!(
        "judge top-1 on real images: {:.1}%",
        r.judge_real_top1 * 100.0
    );
    println!(
        "sampler: {} {} steps, guidance {}; {:.0} s",
        r.sampler, r.steps, r.guidance, r.seconds
    );
    if let Some(s) = &r.sheet {
        println!("contact sheet: {s}");
    }
    Ok(())
}
