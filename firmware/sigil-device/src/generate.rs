//! `sigil generate`: gate → text encoder → denoiser → decoder → PNG.
//!
//! The gate runs first and alone: a blocked prompt loads no model and writes nothing (exit 11);
//! a prompt that needs review is held (exit 10) — the review queue that releases held frames
//! comes with sealing. Frames are written atomically (temporary file, then rename).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use serde::Serialize;
use sigil_gate::Verdict;
use sigil_models::denoiser::{STYLE_ANY, STYLE_GOOGLE, STYLE_TWITTER};
use sigil_models::pipeline::{Image, Interpretation, Pipeline, Timings};
use sigil_pack::Pack;

use crate::exit;
use sigil_models::backend::{Backend, choose_with, kernel_cache_dir};

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
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Serialize)]
struct Report {
    status: &'static str,
    png: Option<String>,
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

fn write_png(dir: &Path, name: &str, img: &Image) -> Result<PathBuf> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let path = dir.join(name);
    let tmp = dir.join(format!(".{name}.partial"));
    let side = u32::try_from(img.side).context("image too large")?;
    let mut bytes = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut bytes, side, side);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut w = enc.write_header()?;
        w.write_image_data(&img.rgb)?;
    }
    let mut f = std::fs::File::create(&tmp).with_context(|| format!("{}", tmp.display()))?;
    f.write_all(&bytes)?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(&tmp, &path).with_context(|| format!("{}", path.display()))?;
    Ok(path)
}

/// For a hold or block: finish the report, print it, and give the exit code.
fn stop_if_gated(
    report: &mut Report,
    verdict: Verdict,
    on: &'static str,
    started: Instant,
    json: bool,
) -> Result<Option<u8>> {
    let (status, code) = match verdict {
        Verdict::Allow => return Ok(None),
        Verdict::Block => ("blocked", exit::BLOCK),
        Verdict::Review => ("held", exit::REVIEW),
    };
    report.status = status;
    report.gated_on = Some(on);
    report.total_ms = started.elapsed().as_secs_f64() * 1e3;
    emit(report, json)?;
    Ok(Some(code))
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
                    println!(
                        "{status}: {what} needs review (category {category}); nothing released"
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
    if let Some(code) = stop_if_gated(&mut report, d.verdict, "prompt", started, args.json)? {
        return Ok(code);
    }
    let path = pack_path(args.pack.as_deref());
    let (pipeline, backend) = match load(&path, args.backend, args.kernel_cache.as_deref()) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("sigil generate: {e:#}");
            return Ok(exit::BAD_INPUT);
        }
    };
    if !args.json {
        eprintln!("backend: {backend}");
    }
    if args.steps == Some(0) {
        eprintln!("sigil generate: --steps must be at least 1");
        return Ok(exit::BAD_INPUT);
    }
    let style = match args.style {
        Style::Any => STYLE_ANY,
        Style::Twemoji => STYLE_TWITTER,
        Style::Noto => STYLE_GOOGLE,
    };
    let steps = args.steps.unwrap_or(pipeline.default_steps);
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
            report.model = Some(hex::encode(pipeline.digest));
            report.backend = Some(backend.clone());
            if let Some(code) = stop_if_gated(
                &mut report,
                seen.decision.verdict,
                "interpretation",
                started,
                args.json,
            )? {
                return Ok(code);
            }
        }
    }
    let frame = pipeline.render(reading, style, seed, Some(steps))?;
    let name = format!(
        "sigil-{}-{seed}-k{steps}.png",
        report.prompt_hash.get(..12).unwrap_or_default()
    );
    let png = write_png(&args.out, &name, &frame.image)?;
    report.png = Some(png.display().to_string());
    report.steps = Some(steps);
    report.backend = Some(backend);
    report.model = Some(hex::encode(pipeline.digest));
    report.timings = Some(frame.timings);
    report.interpreted_as = frame.interpretation;
    report.total_ms = started.elapsed().as_secs_f64() * 1e3;
    emit(&report, args.json)?;
    Ok(exit::OK)
}
