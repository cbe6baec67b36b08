//! `sigil-host bench`: per-stage latency of the shipped pipeline (gate, text encoder, each
//! denoiser step, decoder, total) as p50/p90 over many frames, frames per second, cold start
//! (pack check + load + first frame), peak and growing memory, pack size, FLOPs per image, and
//! the fraction of this machine's matmul peak that a frame achieves (the peak is measured in
//! the same run, on the same device).

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use burn::tensor::{Distribution, Tensor};
use clap::Args as ClapArgs;
use serde::Serialize;
use sigil_models::backend::{Backend, choose_with, kernel_cache_dir};

use crate::coldstart::{self, ColdStart};

#[cfg(feature = "wgpu")]
use crate::convbench::ConvRow;
/// Without wgpu there is no kernel to time.
#[cfg(not(feature = "wgpu"))]
type ConvRow = ();
use sigil_models::denoiser::STYLE_ANY;
use sigil_models::pipeline::Pipeline;
use sigil_pack::Pack;

/// Arguments of `sigil-host bench`.
#[derive(Debug, ClapArgs)]
pub struct Args {
    /// Model pack.
    #[arg(long, default_value = "models/sigil-emoji.sigilpack")]
    pub pack: PathBuf,
    /// Backend: auto, wgpu or cpu.
    #[arg(long, default_value = "auto")]
    pub backend: Backend,
    /// Frames to time (after the first, which is reported as cold).
    #[arg(long, default_value_t = 20)]
    pub frames: usize,
    /// Denoiser steps (default: what the pack was made for).
    #[arg(long)]
    pub steps: Option<usize>,
    /// Also time this many fresh `sigil generate` processes, start to PNG (the first with an
    /// empty kernel cache, the rest warm).
    #[arg(long, default_value_t = 0)]
    pub cold_runs: usize,
    /// The `sigil` program for --cold-runs (default: the one beside this program).
    #[arg(long)]
    pub sigil: Option<PathBuf>,
    /// Where compiled GPU kernels are kept (default: $SIGIL_KERNEL_CACHE, else
    /// ~/.cache/sigil/kernels).
    #[arg(long)]
    pub kernel_cache: Option<PathBuf>,
    /// Also time the int8 convolution kernel against burn's f32 conv2d at the model's shapes
    /// and check it against its reference twin (wgpu only).
    #[arg(long)]
    pub kernels: bool,
    /// Ask the backend to free its unused device memory pages every N frames (0: never), to
    /// tell pool growth from other growth in a soak.
    #[arg(long, default_value_t = 0)]
    pub memory_cleanup_every: usize,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// Memory at one point of the run: process RSS and, where the backend reports them, its
/// device memory pools.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct MemorySample {
    frame: usize,
    rss_mb: Option<f64>,
    pool_reserved_mb: Option<f64>,
    pool_in_use_mb: Option<f64>,
}

fn memory_sample(frame: usize, device: &burn::tensor::Device) -> MemorySample {
    #[allow(clippy::cast_precision_loss)]
    let mb = |b: u64| b as f64 / (1024.0 * 1024.0);
    let pools = device.memory_pool_usage();
    MemorySample {
        frame,
        rss_mb: rss().0,
        pool_reserved_mb: pools.as_ref().map(|p| mb(p.bytes_reserved)),
        pool_in_use_mb: pools.as_ref().map(|p| mb(p.bytes_in_use)),
    }
}

/// p50 and p90 of one quantity, in milliseconds.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Spread {
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
}

pub(crate) fn spread(mut v: Vec<f64>) -> Spread {
    v.sort_by(f64::total_cmp);
    let at = |q: f64| {
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            clippy::cast_precision_loss
        )]
        let i = ((v.len().saturating_sub(1)) as f64 * q).round() as usize;
        v.get(i).copied().unwrap_or(f64::NAN)
    };
    Spread {
        p50: at(0.5),
        p90: at(0.9),
    }
}

/// The report (`--json`).
#[derive(Debug, Serialize)]
pub struct Report {
    backend: String,
    frames: usize,
    steps: usize,
    gate_ms: Spread,
    text_ms: Spread,
    step_ms: Vec<Spread>,
    decode_ms: Spread,
    /// The output check on the generated image (absent for a pack without one).
    outcheck_ms: Option<Spread>,
    total_ms: Spread,
    total_ms_p50: f64,
    total_ms_p90: f64,
    fps: f64,
    pack_check_ms: f64,
    load_ms: f64,
    first_frame_ms: f64,
    cold_start_ms: f64,
    process_cold_start: Option<ColdStart>,
    conv_kernels: Option<Vec<ConvRow>>,
    peak_rss_mb: Option<f64>,
    rss_after_first_mb: Option<f64>,
    rss_end_mb: Option<f64>,
    /// Memory sampled along the run (about 20 points, after the frame numbered).
    memory: Vec<MemorySample>,
    pack_bytes: usize,
    flops_per_image: u64,
    matmul_peak_gflops: f64,
    achieved_gflops: f64,
    peak_fraction: f64,
}

/// Resident memory (`VmRSS`) and its high-water mark (`VmHWM`) in MiB, on Linux.
fn rss() -> (Option<f64>, Option<f64>) {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return (None, None);
    };
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .map(|kb| kb / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Best GFLOP/s of an f32 matmul on `device` (a warm-up, then the best of 8): 1024³, or 4096³
/// where 1024³ takes under 5 ms (a GPU, which a small product cannot fill).
fn matmul_peak(device: &burn::tensor::Device) -> Result<f64> {
    let small = matmul_best(device, 1024)?;
    if small.1 < 5e-3 {
        return Ok(matmul_best(device, 4096)?.0);
    }
    Ok(small.0)
}

/// (GFLOP/s, seconds) of the best of 8 `n`³ products after a warm-up.
fn matmul_best(device: &burn::tensor::Device, n: usize) -> Result<(f64, f64)> {
    let a = Tensor::<2>::random([n, n], Distribution::Normal(0.0, 1.0), device);
    let b = Tensor::<2>::random([n, n], Distribution::Normal(0.0, 1.0), device);
    let run = || -> Result<f64> {
        let t = Instant::now();
        let c = a.clone().matmul(b.clone());
        // Read one value back so that an asynchronous backend has finished.
        sigil_models::minilm::tensor_to_vec(c.slice([0..1, 0..1]))?;
        Ok(t.elapsed().as_secs_f64())
    };
    run()?;
    let mut best = f64::INFINITY;
    for _ in 0..8 {
        best = best.min(run()?);
    }
    #[allow(clippy::cast_precision_loss)]
    let flops = 2.0 * (n * n * n) as f64;
    Ok((flops / best / 1e9, best))
}

const PROMPTS: [&str; 8] = [
    "a red apple",
    "a smiling cat face",
    "slice of pizza",
    "a rocket",
    "a sunflower",
    "a blue car",
    "a snowman",
    "a cup of coffee",
];

/// Run the benchmark.
pub fn run(args: &Args) -> Result<()> {
    let t0 = Instant::now();
    let pack = Pack::open(&args.pack).with_context(|| {
        format!(
            "{}: pass --pack FILE (packs are made by `sigil-host pack-model`)",
            args.pack.display()
        )
    })?;
    let pack_check_ms = t0.elapsed().as_secs_f64() * 1e3;
    let cache = args.kernel_cache.clone().unwrap_or_else(kernel_cache_dir);
    let chosen = choose_with(args.backend, &cache)?;
    let t1 = Instant::now();
    let pipeline = Pipeline::from_pack(&pack, &chosen.device)?;
    let load_ms = t1.elapsed().as_secs_f64() * 1e3;
    let steps = args.steps.unwrap_or(pipeline.default_steps).max(1);
    let t2 = Instant::now();
    pipeline.generate(PROMPTS[0], STYLE_ANY, 0, Some(steps))?;
    let first_frame_ms = t2.elapsed().as_secs_f64() * 1e3;
    let (rss_after_first_mb, _) = rss();
    if !args.json {
        eprintln!(
            "backend {}: pack checked in {pack_check_ms:.0} ms, loaded in {load_ms:.0} ms, first frame {first_frame_ms:.0} ms",
            chosen.name
        );
    }
    let frames = args.frames.max(1);
    let (mut gate, mut text, mut decode, mut total) = (vec![], vec![], vec![], vec![]);
    let mut outcheck = Vec::new();
    let mut per_step = vec![Vec::new(); steps];
    let mut tokens = 0usize;
    let sample_every = (frames / 20).max(1);
    let mut memory = vec![memory_sample(0, &chosen.device)];
    for i in 0..frames {
        let prompt = PROMPTS[i % PROMPTS.len()];
        let started = Instant::now();
        let outcome = sigil_gate::check(prompt)?;
        gate.push(started.elapsed().as_secs_f64() * 1e3);
        anyhow::ensure!(
            outcome.decision.verdict == sigil_gate::Verdict::Allow,
            "bench prompt {prompt:?} is not allowed by the policy"
        );
        let frame = pipeline.generate(prompt, STYLE_ANY, i as u64 + 1, Some(steps))?;
        let checked = Instant::now();
        if pipeline.check_output(&frame.image)?.is_some() {
            outcheck.push(checked.elapsed().as_secs_f64() * 1e3);
        }
        let t = frame.timings;
        total.push(started.elapsed().as_secs_f64() * 1e3);
        text.push(t.text_ms);
        decode.push(t.decode_ms);
        for (k, ms) in t.steps_ms.iter().enumerate() {
            if let Some(v) = per_step.get_mut(k) {
                v.push(*ms);
            }
        }
        tokens += pipeline.text.tokenizer.encode(prompt).ids.len();
        if args.memory_cleanup_every > 0 && (i + 1) % args.memory_cleanup_every == 0 {
            chosen.device.memory_cleanup();
        }
        if (i + 1) % sample_every == 0 || i + 1 == frames {
            memory.push(memory_sample(i + 1, &chosen.device));
        }
    }
    let (rss_end_mb, peak_rss_mb) = rss();
    let arch = &pipeline.arch;
    let latent_side = arch.autoencoder.latent_side(arch.image_side);
    let mean_tokens = tokens.div_ceil(frames);
    let flops_per_image = sigil_models::flops::text_encoder(&pipeline.text.config, mean_tokens)
        + steps as u64 * sigil_models::flops::denoiser(&pipeline.denoiser, latent_side)
        + sigil_models::flops::decoder(&pipeline.decoder, latent_side);
    let matmul_peak_gflops = matmul_peak(&chosen.device)?;
    let total_s = spread(total.clone());
    let conv_kernels = conv_kernels(args, &chosen)?;
    let process_cold_start = if args.cold_runs > 0 {
        let sigil = match &args.sigil {
            Some(p) => p.clone(),
            None => coldstart::sigil_beside_me()?,
        };
        let backend = if chosen.gpu { "wgpu" } else { "cpu" };
        Some(coldstart::measure(
            &sigil,
            &args.pack,
            backend,
            args.cold_runs,
        )?)
    } else {
        None
    };
    #[allow(clippy::cast_precision_loss)]
    let achieved_gflops = flops_per_image as f64 / (total_s.p50 / 1e3) / 1e9;
    let report = Report {
        backend: chosen.name.clone(),
        frames,
        steps,
        gate_ms: spread(gate),
        text_ms: spread(text),
        step_ms: per_step.into_iter().map(spread).collect(),
        decode_ms: spread(decode),
        outcheck_ms: (!outcheck.is_empty()).then(|| spread(outcheck)),
        total_ms: total_s,
        total_ms_p50: total_s.p50,
        total_ms_p90: total_s.p90,
        fps: 1e3 / total_s.p50,
        pack_check_ms,
        load_ms,
        first_frame_ms,
        cold_start_ms: pack_check_ms + load_ms + first_frame_ms,
        process_cold_start,
        conv_kernels,
        peak_rss_mb,
        rss_after_first_mb,
        rss_end_mb,
        memory,
        pack_bytes: pack.len(),
        flops_per_image,
        matmul_peak_gflops,
        achieved_gflops,
        peak_fraction: achieved_gflops / matmul_peak_gflops,
    };
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
        return Ok(());
    }
    let row = |name: &str, s: Spread| {
        println!("{name:<14} p50 {:>9.2} ms   p90 {:>9.2} ms", s.p50, s.p90)
    };
    println!("backend        {}", report.backend);
    row("gate", report.gate_ms);
    row("text encoder", report.text_ms);
    for (k, s) in report.step_ms.iter().enumerate() {
        row(&format!("step {}", k + 1), *s);
    }
    row("decoder", report.decode_ms);
    if let Some(s) = report.outcheck_ms {
        row("output check", s);
    }
    row("total", report.total_ms);
    println!(
        "frames/s       {:.2} ({} frames, {} steps)",
        report.fps, frames, steps
    );
    println!(
        "cold start     {:.0} ms (pack check {:.0} + load {:.0} + first frame {:.0})",
        report.cold_start_ms, pack_check_ms, load_ms, first_frame_ms
    );
    if let Some(c) = &report.process_cold_start {
        let warm = c.warm_cache_ms.map_or("n/a".to_string(), |w| {
            format!("p50 {:.0} ms, p90 {:.0} ms", w.p50, w.p90)
        });
        println!(
            "process start  to PNG, {} runs: first (empty kernel cache) {:.0} ms; warm {warm}",
            c.runs, c.empty_cache_ms
        );
    }
    #[cfg(feature = "wgpu")]
    for r in report.conv_kernels.iter().flatten() {
        println!(
            "conv {:<13} f32 p50 {:>7.3} ms, int8 kernel p50 {:>7.3} ms ({:.2}×); weights {} → {} bytes; error vs twin {:.1e}",
            r.shape,
            r.f32_ms.p50,
            r.int8_ms.p50,
            r.int8_ms.p50 / r.f32_ms.p50,
            r.f32_weight_bytes,
            r.int8_weight_bytes,
            r.rel_err_vs_twin
        );
    }
    let mb = |v: Option<f64>| v.map_or("n/a".to_string(), |v| format!("{v:.0} MiB"));
    println!(
        "memory         peak {}, after the first frame {}, at the end {}",
        mb(peak_rss_mb),
        mb(rss_after_first_mb),
        mb(rss_end_mb)
    );
    println!("pack           {} bytes", report.pack_bytes);
    #[allow(clippy::cast_precision_loss)]
    let gflop = flops_per_image as f64 / 1e9;
    println!(
        "work           {gflop:.3} GFLOP a frame; {:.2} GFLOP/s achieved of a {:.1} GFLOP/s matmul peak ({:.1} %)",
        report.achieved_gflops,
        report.matmul_peak_gflops,
        100.0 * report.peak_fraction
    );
    Ok(())
}

/// The int8 convolution kernel against burn's f32 conv2d, when asked for and on wgpu.
#[cfg(feature = "wgpu")]
fn conv_kernels(
    args: &Args,
    chosen: &sigil_models::backend::Chosen,
) -> Result<Option<Vec<ConvRow>>> {
    if !args.kernels {
        return Ok(None);
    }
    anyhow::ensure!(
        chosen.gpu,
        "--kernels times the wgpu int8 convolution: run it with --backend wgpu"
    );
    crate::convbench::run(&chosen.device, 30).map(Some)
}

#[cfg(not(feature = "wgpu"))]
fn conv_kernels(
    args: &Args,
    _chosen: &sigil_models::backend::Chosen,
) -> Result<Option<Vec<ConvRow>>> {
    anyhow::ensure!(
        !args.kernels,
        "--kernels needs a build with wgpu (the default features)"
    );
    Ok(None)
}
