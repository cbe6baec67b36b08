//! `sigil generate`: gate → text encoder → denoiser → decoder → compose (upscale, badge,
//! watermark) → seal → log → PNG.
//!
//! The gate runs first and alone: a blocked prompt loads no model and writes nothing (exit 11).
//! A prompt (or its interpretation) that needs review is generated, steered away from the
//! concepts the policy does not want drawn (in-flight control), and held in the state's review
//! queue, not released (exit 10; `sigil review`). Every image then passes the output check
//! (`crate::outcheck`): a hit holds it (exit 10), blocks it (sealed as not released, exit 11),
//! or releases it with an extra label, as the category's tier says. A released frame is sealed
//! by the trust core against the prompt's ticket, its record appended to the device log and
//! fsync'd, and only then written (sidecar first, then the PNG with the record in its `sgRC`
//! chunk, each atomically) and reported. Every frame takes a rate-limit token first; the
//! buckets persist in the state directory.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};
use sigil_gate::{Tier, Verdict};
use sigil_models::backend::{Backend, choose_with, kernel_cache_dir};
use sigil_models::denoiser::{STYLE_ANY, STYLE_GOOGLE, STYLE_TWITTER};
use sigil_models::pipeline::Pipeline;
use sigil_models::steer::{DEFAULT_SCALE, Steer};
use sigil_pack::Pack;
use sigil_provenance::Review;
use sigil_seal::{Held, ReviewQueue, TrustCoreAt, compose_labelled};

use crate::exit;
use crate::outcheck::{self, Action};
use crate::release;
use crate::report::{OutputReport, Report, finish_frame, stop};

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
    /// Where the trust core runs: `in-process`, or a trust-core MCU at `serial:PATH[@BAUD]` or
    /// `tcp:HOST:PORT` (which holds the key and the rate limits).
    #[arg(long, default_value = "in-process")]
    trust_core: TrustCoreAt,
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
    onto_backend(&pack, backend, kernel_cache, &path.display().to_string())
}

/// Build the pipeline of a checked pack (named `what` in errors) on the chosen backend.
fn onto_backend(
    pack: &Pack,
    backend: Backend,
    kernel_cache: Option<&Path>,
    what: &str,
) -> Result<(Pipeline, String)> {
    let cache = kernel_cache.map_or_else(kernel_cache_dir, Path::to_path_buf);
    let chosen = choose_with(backend, &cache)?;
    let pipeline = Pipeline::from_pack(pack, &chosen.device).with_context(|| what.to_owned())?;
    Ok((pipeline, chosen.name))
}

/// The confirmed update slot's model pack, when neither `--pack` nor $SIGIL_PACK names one and
/// the device was ever updated (its bundle is checked again against the maker's key).
fn slot_model(state: &sigil_seal::DeviceState, pack_given: bool) -> Result<Option<(u64, Vec<u8>)>> {
    if pack_given || std::env::var_os("SIGIL_PACK").is_some() || state.chain_facts().self_issued {
        return Ok(None);
    }
    let maker = sigil_seal::cert::ca_key(&state.chain().ca)?;
    sigil_seal::slots::confirmed_model(state.dir(), &maker)
        .context("the confirmed update slot cannot be used: flash a good bundle, or pass --pack")
}

/// Load a pack held in memory (an update slot's) onto a backend.
fn load_pack_bytes(
    bytes: Vec<u8>,
    backend: Backend,
    kernel_cache: Option<&Path>,
) -> Result<(Pipeline, String)> {
    const WHAT: &str = "the update slot's model pack";
    let pack = Pack::from_bytes(bytes).context(WHAT)?;
    onto_backend(&pack, backend, kernel_cache, WHAT)
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
        steered: false,
        output_check: None,
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
    let prompt_held = d.verdict == Verdict::Review;
    if args.steps == Some(0) {
        eprintln!("sigil generate: --steps must be at least 1");
        return Ok(exit::BAD_INPUT);
    }
    // The state before the model: a busy or damaged state fails fast.
    let mut state = match release::open_state(args.state.as_deref(), &args.trust_core) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("sigil generate: {e:#}");
            return Ok(exit::BAD_INPUT);
        }
    };
    // The model: --pack, else $SIGIL_PACK, else the confirmed update slot's, else the default.
    let loaded = match slot_model(&state, args.pack.is_some()) {
        Ok(Some((version, bytes))) => {
            load_pack_bytes(bytes, args.backend, args.kernel_cache.as_deref()).map(|l| {
                (
                    format!("the confirmed update slot (bundle version {version})"),
                    l,
                )
            })
        }
        Ok(None) => {
            let path = pack_path(args.pack.as_deref());
            load(&path, args.backend, args.kernel_cache.as_deref())
                .map(|l| (path.display().to_string(), l))
        }
        Err(e) => Err(e),
    };
    let (path, (pipeline, backend)) = match loaded {
        Ok(p) => p,
        Err(e) => {
            eprintln!("sigil generate: {e:#}");
            return Ok(exit::BAD_INPUT);
        }
    };
    if let Err(e) = crate::outcheck::check_matches_policy(pipeline.arch.output_check.as_ref()) {
        eprintln!("sigil generate: {path}: {e:#}");
        return Ok(exit::BAD_INPUT);
    }
    if !prompt_held && let Err(e) = release::probe_writable(&args.out) {
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
    // The model draws the caption it snapped to ("a toy that squirts water" → "water pistol"):
    // the trust core gates it with the prompt, in the same admission, and its ticket carries the
    // stricter verdict. From here on the device acts on the ticket alone.
    report.interpreted_as = reading.interpretation.clone();
    let read_as = reading.interpretation.as_ref().map(|i| i.caption.clone());
    if let Err(e) = release::restore_rates(&mut state, "sigil generate") {
        eprintln!("sigil generate: {e}");
        return Ok(exit::BAD_INPUT);
    }
    let mut worst = exit::OK;
    // In-flight control: a frame held for review is drawn steered away from the concepts the
    // policy does not want drawn (the same ticket verdict every frame: worked out once).
    let mut steer: Option<Option<Steer>> = None;
    for i in 0..args.count.max(1) {
        let seed = seed.wrapping_add(i);
        // Every frame takes a token, held ones too, and gets its own ticket: the trust core
        // seals one frame per ticket.
        let now_ms = sigil_seal::rate::unix_ms();
        let user = args.user.as_bytes();
        let admitted = match &read_as {
            Some(r) => state.core_mut().admit_read(&args.prompt, r, user, now_ms),
            None => state.core_mut().admit(&args.prompt, user, now_ms),
        };
        let ticket = match release::spend_token(&state, admitted, "sigil generate", "") {
            Ok(t) => t,
            Err(code) => return Ok(code),
        };
        report.category = ticket
            .category
            .and_then(sigil_gate::policy::category)
            .map(|g| g.id);
        // What decided, for the report: the prompt alone, or what it was read as.
        let on = if ticket.verdict == d.verdict {
            "prompt"
        } else {
            "interpretation"
        };
        if ticket.verdict == Verdict::Block {
            return stop(&mut report, "blocked", exit::BLOCK, on, started, args.json);
        }
        let held_on = (ticket.verdict == Verdict::Review).then_some(on);
        let steer = steer
            .get_or_insert_with(|| held_on.and_then(|_| steer_for(&pipeline, report.category)));
        let frame =
            pipeline.render_steered(reading.clone(), style, seed, Some(steps), steer.as_ref())?;
        let score = pipeline.check_output(&frame.image)?;
        let post = outcheck::verdict(score.as_ref(), pipeline.arch.output_check.as_ref())?;
        report.seed = seed;
        report.steered = steer.is_some();
        report.output_check = post.category.map(|category| OutputReport {
            category,
            verdict: post.post_filter.verdict.as_str(),
            probability: post.probability,
        });
        report.image_hash = Some(hex::encode(Sha256::digest(&frame.image.rgb)));
        report.interpreted_as = frame.interpretation.clone();
        report.timings = Some(frame.timings.clone());
        let side = u32::try_from(frame.image.side).context("image too large")?;
        let label = match post.action {
            Action::Label(l) => Some(l),
            _ => None,
        };
        let (rgb, w, h) = compose_labelled(&frame.image.rgb, side, side, label)?;
        let making = release::making(
            seed,
            u16::try_from(steps).context("too many steps")?,
            (pipeline.guidance * 1000.0).round().clamp(0.0, 4.0e9) as u32,
            pipeline.digest,
            post.post_filter,
            // A frame the output check blocks is sealed as not released (nothing is written).
            if post.action == Action::Block {
                Review::Rejected
            } else {
                Review::NotRequired
            },
        );
        let on_output = matches!(post.action, Action::Hold | Action::Block);
        if on_output {
            report.category = post.category;
        }
        let blocked = post.action == Action::Block;
        if let (false, Some(on)) = (blocked, held_on.or(on_output.then_some("output"))) {
            // Held for a human: stored in the review queue, not in --out.
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
                    steps: making.steps,
                    guidance_milli: making.guidance_milli,
                    model_digest: hex::encode(making.model_digest),
                    width: w,
                    height: h,
                    output: post.finding(),
                },
            )?;
            report.review_id = Some(id);
            finish_frame(&mut report, "held", Some(on), started, args.json)?;
            if worst != exit::BLOCK {
                worst = exit::REVIEW;
            }
            continue;
        }
        // Released, or blocked by the output check: sealed either way; a blocked frame is
        // written nowhere.
        let sealed = match release::seal_frame(
            &mut state,
            &ticket,
            rgb,
            w,
            h,
            &making,
            (!blocked).then_some(args.out.as_path()),
        ) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("sigil generate: {e:#}");
                return Ok(exit::BAD_INPUT);
            }
        };
        report.sequence = Some(sealed.sequence);
        if blocked {
            finish_frame(&mut report, "blocked", Some("output"), started, args.json)?;
            worst = exit::BLOCK;
            continue;
        }
        report.png = sealed.png.map(|p| p.display().to_string());
        report.record = sealed.sidecar.map(|p| p.display().to_string());
        report.watermark = Some(hex::encode(sealed.watermark));
        // One line per frame, flushed: a frame is reported only once it is sealed, logged and
        // written.
        finish_frame(&mut report, "released", None, started, args.json)?;
    }
    Ok(worst)
}

/// The steer for a held prompt: away from its category's emoji when the policy names some,
/// else away from every review- or block-tier category the output check knows.
fn steer_for(pipeline: &Pipeline, category: Option<&str>) -> Option<Steer> {
    let index = pipeline.captions.as_ref()?;
    let own = category.and_then(sigil_gate::policy::output_category);
    let codes: Vec<Vec<String>> = match own {
        Some((_, g)) => vec![g.output.iter().map(|c| (*c).to_string()).collect()],
        None => sigil_gate::policy::output_categories()
            .filter(|(_, g)| matches!(g.tier, Tier::Review | Tier::Block))
            .map(|(_, g)| g.output.iter().map(|c| (*c).to_string()).collect())
            .collect(),
    };
    Steer::from_captions(index, &codes, DEFAULT_SCALE, pipeline.device())
}
