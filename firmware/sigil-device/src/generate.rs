//! `sigil generate`: gate → text encoder → denoiser → decoder → compose (upscale, badge,
//! watermark) → seal → log → PNG.
//!
//! The gate runs first and alone: a blocked prompt loads no model and writes nothing (exit 11).
//! A prompt (or its interpretation) that needs review is generated and held in the state's
//! review queue, not released (exit 10; `sigil review`). A released frame
//! is sealed by the trust core against the prompt's ticket, its record appended to the device
//! log and fsync'd, and only then written (sidecar first, then the PNG with the record in its
//! `sgRC` chunk, each atomically) and reported.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use serde::Serialize;
use sha2::{Digest, Sha256};
use sigil_gate::{Gate, RateConfig, Scratch, Verdict};
use sigil_models::denoiser::{STYLE_ANY, STYLE_GOOGLE, STYLE_TWITTER};
use sigil_models::pipeline::{Interpretation, Pipeline, Timings};
use sigil_pack::Pack;
use sigil_provenance::Review;
use sigil_seal::{Held, ReviewQueue, compose_unmarked};

use crate::exit;
use crate::release;
use sigil_models::backend::{Backend, choose_with, kernel_cache_dir};
use sigil_seal::Making;

/// Default model pack, relative to the working directory (the repository root on a clone).
pub const DEFAULT_PACK: &str = "models/sigil-emoji.sigilpack";

/// Artwork style to ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Style {
    /// Whatever the prompt suggests.
    Any,
    /// Twemoji-like.
    Twemoji,
    /// Noto-like.
    Noto,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// What to draw.
    #[arg(long)]
    prompt: String,
    /// Noise seed (random when not given; printed either way).
    #[arg(long)]
    seed: Option<u64>,
    /// Denoiser steps (default: what the pack was made for).
    #[arg(long)]
    steps: Option<usize>,
    /// Output directory for the PNG.
    #[arg(long, default_value = "out")]
    out: PathBuf,
    /// Model pack (default: $SIGIL_PACK, else models/sigil-emoji.sigilpack).
    #[arg(long)]
    pack: Option<PathBuf>,
    /// Backend: auto (wgpu when an adapter exists, else the CPU), wgpu, or cpu.
    #[arg(long, default_value = "auto")]
    backend: Backend,
    /// Artwork style.
    #[arg(long, value_enum, default_value = "any")]
    style: Style,
    /// Where compiled GPU kernels are kept between runs (default: $SIGIL_KERNEL_CACHE, else
    /// ~/.cache/sigil/kernels). The first run on a machine compiles them; later runs load them.
    #[arg(long)]
    kernel_cache: Option<PathBuf>,
    /// The device's state directory: key, log, lock (default: $SIGIL_STATE, else
    /// $XDG_DATA_HOME/sigil, else ~/.local/share/sigil).
    #[arg(long)]
    state: Option<PathBuf>,
    /// Frames to generate from this prompt, with seeds SEED, SEED+1, … (one JSON line each).
    #[arg(long, default_value_t = 1)]
    count: u64,
    /// Who asks (hashed into the record; rate limits are per user).
    #[arg(long, default_value = "local")]
    user: String,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Serialize)]
struct Report {
    status: &'static str,
    png: Option<String>,
    /// The sidecar file with the frame's record.
    record: Option<String>,
    /// The record's position in the device's chain.
    sequence: Option<u64>,
    /// The watermark payload (hex).
    watermark: Option<String>,
    /// SHA-256 of the generated image before composition: equal for equal seeds on a backend.
    image_hash: Option<String>,
    /// The review queue id of a held frame (`sigil review approve|reject ID`).
    review_id: Option<String>,
    seed: u64,
    steps: Option<usize>,
    backend: Option<String>,
    category: Option<&'static str>,
    prompt_hash: String,
    policy: String,
    model: Option<String>,
    /// What a held or blocked verdict came from: `prompt`, or `interpretation` (the training
    /// caption the prompt was snapped to).
    gated_on: Option<&'static str>,
    interpreted_as: Option<Interpretation>,
    timings: Option<Timings>,
    total_ms: f64,
}

/// The model pack to use.
pub fn pack_path(arg: Option<&Path>) -> PathBuf {
    arg.map(Path::to_path_buf)
        .or_else(|| std::env::var_os("SIGIL_PACK").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from(DEFAULT_PACK))
}

/// Load the pack at `path` onto a backend, with errors that say what to do.
pub fn load(
    path: &Path,
    backend: Backend,
    kernel_cache: Option<&Path>,
) -> Result<(Pipeline, String)> {
    if !path.is_file() {
        bail!(
            "no model pack at {}: pass --pack FILE or set SIGIL_PACK (packs are made by `sigil-host pack-model`)",
            path.display()
        );
    }
    let pack = Pack::open(path).with_context(|| format!("{}", path.display()))?;
    let cache = kernel_cache.map_or_else(kernel_cache_dir, Path::to_path_buf);
    let chosen = choose_with(backend, &cache)?;
    let pipeline = Pipeline::from_pack(&pack, &chosen.device)
        .with_context(|| format!("{}", path.display()))?;
    Ok((pipeline, chosen.name))
}

/// For a hold or block: finish the report, print it, and give the exit code.
fn stop(
    report: &mut Report,
    status: &'static str,
    code: u8,
    on: &'static str,
    started: Instant,
    json: bool,
) -> Result<u8> {
    report.status = status;
    report.gated_on = Some(on);
    report.total_ms = started.elapsed().as_secs_f64() * 1e3;
    emit(report, json)?;
    Ok(code)
}

fn emit(r: &Report, json: bool) -> Result<()> {
    if json {
        println!("{}", serde_json::to_string(r)?);
    } else {
        match (&r.png, r.status) {
            (Some(p), _) => {
                println!("{} {p} (seed {})", r.status, r.seed);
                if let Some(i) = &r.interpreted_as {
                    println!(
                        "interpreted as {:?} (concept {}, cosine {:.2})",
                        i.caption, i.concept, i.cosine
                    );
                }
            }
            (None, status) => {
                let what = match (r.gated_on, &r.interpreted_as) {
                    (Some("interpretation"), Some(i)) => {
                        format!("the prompt, read as {:?},", i.caption)
                    }
                    _ => "the prompt".to_string(),
                };
                let category = r.category.unwrap_or("?");
                if status == "blocked" {
                    println!(
                        "blocked by policy: {what} is in category {category}; nothing generated"
                    );
                } else {
                    let id = r.review_id.as_deref().unwrap_or("?");
                    println!(
                        "{status}: {what} needs review (category {category}); held as {id}, nothing released (`sigil review show {id}`)"
                    );
                }
            }
        }
    }
    Ok(())
}

pub fn run(args: &Args) -> Result<u8> {
    let started = Instant::now();
    let seed = match args.seed {
        Some(s) => s,
        None => {
            let mut b = [0u8; 8];
            getrandom::fill(&mut b).map_err(|e| anyhow::anyhow!("no random seed: {e}"))?;
            u64::from_le_bytes(b)
        }
    };
    let outcome = match sigil_gate::check(&args.prompt) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("sigil generate: {e}");
            return Ok(exit::BAD_INPUT);
        }
    };
    let d = outcome.decision;
    let mut report = Report {
        status: "released",
        png: None,
        record: None,
        sequence: None,
        watermark: None,
        image_hash: None,
        review_id: None,
        seed,
        steps: None,
        backend: None,
        category: d
            .category
            .and_then(sigil_gate::policy::category)
            .map(|g| g.id),
        prompt_hash: hex::encode(d.prompt_hash),
        policy: hex::encode(sigil_gate::POLICY_DIGEST),
        model: None,
        gated_on: None,
        interpreted_as: None,
        timings: None,
        total_ms: 0.0,
    };
    // A blocked prompt loads nothing, opens nothing and writes nothing.
    if d.verdict == Verdict::Block {
        return stop(
            &mut report,
            "blocked",
            exit::BLOCK,
            "prompt",
            started,
            args.json,
        );
    }
    let mut held_on = (d.verdict == Verdict::Review).then_some("prompt");
    if args.steps == Some(0) {
        eprintln!("sigil generate: --steps must be at least 1");
        return Ok(exit::BAD_INPUT);
    }
    // The state before the model: a busy or damaged state fails fast.
    let mut state = match release::open_state(args.state.as_deref()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("sigil generate: {e:#}");
            return Ok(exit::BAD_INPUT);
        }
    };
    let path = pack_path(args.pack.as_deref());
    let (pipeline, backend) = match load(&path, args.backend, args.kernel_cache.as_deref()) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("sigil generate: {e:#}");
            return Ok(exit::BAD_INPUT);
        }
    };
    if held_on.is_none()
        && let Err(e) = release::probe_writable(&args.out)
    {
        eprintln!("sigil generate: {e:#}");
        return Ok(exit::BAD_INPUT);
    }
    if !args.json {
        eprintln!("backend: {backend}");
    }
    let style = match args.style {
        Style::Any => STYLE_ANY,
        Style::Twemoji => STYLE_TWITTER,
        Style::Noto => STYLE_GOOGLE,
    };
    let steps = args.steps.unwrap_or(pipeline.default_steps);
    report.steps = Some(steps);
    report.backend = Some(backend);
    report.model = Some(hex::encode(pipeline.digest));
    let reading = pipeline.read(&args.prompt)?;
    if let Some(i) = &reading.interpretation {
        // The model draws the caption it snapped to, which the gate has not seen yet ("a toy
        // that squirts water" → "water pistol"): gate it the same way.
        let seen = sigil_gate::check(&i.caption).map_err(|e| {
            anyhow::anyhow!(
                "the pack's caption {:?} is not a valid prompt: {e}",
                i.caption
            )
        })?;
        report.interpreted_as = Some(i.clone());
        if seen.decision.verdict != Verdict::Allow {
            report.category = seen
                .decision
                .category
                .and_then(sigil_gate::policy::category)
                .map(|g| g.id);
            if seen.decision.verdict == Verdict::Block {
                return stop(
                    &mut report,
                    "blocked",
                    exit::BLOCK,
                    "interpretation",
                    started,
                    args.json,
                );
            }
            held_on = held_on.or(Some("interpretation"));
        }
    }
    let making = |seed: u64, review: Review| -> Result<Making> {
        Ok(release::making(
            seed,
            u16::try_from(steps).context("too many steps")?,
            (pipeline.guidance * 1000.0).round().clamp(0.0, 4.0e9) as u32,
            pipeline.digest,
            review,
        ))
    };
    if let Some(on) = held_on {
        // Held for a human: generated and stored in the review queue, not in --out.
        let frame = pipeline.render(reading, style, seed, Some(steps))?;
        let side = u32::try_from(frame.image.side).context("image too large")?;
        let (rgb, w, h) = compose_unmarked(&frame.image.rgb, side, side)?;
        let m = making(seed, Review::NotRequired)?;
        let id = ReviewQueue::new(state.dir()).hold(
            &rgb,
            &Held {
                id: String::new(),
                prompt: args.prompt.clone(),
                user: args.user.clone(),
                reason: on.into(),
                category: report.category.map(str::to_string),
                held_unix: std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs()),
                seed,
                steps: m.steps,
                guidance_milli: m.guidance_milli,
                model_digest: hex::encode(m.model_digest),
                width: w,
                height: h,
            },
        )?;
        report.review_id = Some(id);
        report.image_hash = Some(hex::encode(Sha256::digest(&frame.image.rgb)));
        report.timings = Some(frame.timings);
        return stop(&mut report, "held", exit::REVIEW, on, started, args.json);
    }
    let mut gate = Gate::<4, 4>::new(RateConfig::default());
    let mut scratch = Box::new(Scratch::new());
    for i in 0..args.count.max(1) {
        let seed = seed.wrapping_add(i);
        // Every frame gets its own ticket: the trust core seals one frame per ticket.
        let now_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let admitted = match gate.admit(&args.prompt, args.user.as_bytes(), now_ms, 0, &mut scratch)
        {
            Ok(a) => a,
            Err(sigil_gate::AdmitError::RateLimited(r)) => {
                eprintln!("sigil generate: {r}");
                return Ok(exit::RATE_LIMITED);
            }
            Err(e) => {
                eprintln!("sigil generate: {e}");
                return Ok(exit::BAD_INPUT);
            }
        };
        let frame = pipeline.render(reading.clone(), style, seed, Some(steps))?;
        let side = u32::try_from(frame.image.side).context("image too large")?;
        let (rgb, w, h) = compose_unmarked(&frame.image.rgb, side, side)?;
        let sealed = match release::seal_frame(
            &mut state,
            &mut gate,
            &admitted.ticket,
            rgb,
            w,
            h,
            &making(seed, Review::NotRequired)?,
            Some(&args.out),
            &d.prompt_hash,
        ) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("sigil generate: {e:#}");
                return Ok(exit::BAD_INPUT);
            }
        };
        report.seed = seed;
        report.png = sealed.png.map(|p| p.display().to_string());
        report.record = sealed.sidecar.map(|p| p.display().to_string());
        report.sequence = Some(sealed.sequence);
        report.watermark = Some(hex::encode(sealed.watermark));
        report.image_hash = Some(hex::encode(Sha256::digest(&frame.image.rgb)));
        report.timings = Some(frame.timings);
        report.interpreted_as = frame.interpretation;
        report.total_ms = started.elapsed().as_secs_f64() * 1e3;
        // One line per frame, flushed: a frame is reported only once it is sealed, logged and
        // written.
        emit(&report, args.json)?;
        std::io::Write::flush(&mut std::io::stdout())?;
    }
    Ok(exit::OK)
}
