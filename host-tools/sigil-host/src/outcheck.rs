//! `sigil-host eval-outcheck`: the output check's precision and recall on *generated* images.
//!
//! Every concept's label is rendered through the pack as `sigil generate` renders it (caption
//! snap, the pack's steps, 8-bit pixels) with seeds `0..seeds`, and the output check scores
//! the image. Truth is the prompted concept's category under the compiled-in policy (an image
//! the model failed to draw still counts as its prompt's category: recall is what a device
//! gets, not what a perfect generator would). Figures at the check's threshold and at a sweep
//! of others; real-image figures are in the training report (`RUN/outcheck/report.json`).

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Args as ClapArgs;
use serde::Serialize;
use sigil_models::denoiser::STYLE_ANY;
use sigil_train::data::Dataset;
use sigil_train::outcheck::{Tally, TallyReport, concept_classes};

use sigil_models::pipeline::Pipeline;
use sigil_pack::Pack;

/// Arguments of `sigil-host eval-outcheck`.
#[derive(Debug, ClapArgs)]
pub struct Args {
    /// Model pack (its generator, and its output check unless `--outcheck` is given).
    #[arg(long, default_value = "models/sigil-emoji.sigilpack")]
    pub pack: PathBuf,
    /// An output check to evaluate instead of the pack's (a run's `outcheck` folder).
    #[arg(long)]
    pub outcheck: Option<PathBuf>,
    /// Dataset folder written by `sigil-host dataset build` (concepts and labels).
    #[arg(long)]
    pub data: PathBuf,
    /// Seeds per concept.
    #[arg(long, default_value_t = 2)]
    pub seeds: u64,
    /// First seed.
    #[arg(long, default_value_t = 1000)]
    pub seed: u64,
    /// Score every k-th concept without an output category (all concepts with one are always
    /// scored); 1 = all.
    #[arg(long, default_value_t = 1)]
    pub every: usize,
    /// Seeds per concept of an output category (default: `--seeds`).
    #[arg(long)]
    pub positive_seeds: Option<u64>,
    /// Also write every generated image as `DIR/CODE-SEED.png` (training data for
    /// `train --stage outcheck --generated DIR`; use seeds apart from the evaluation's).
    #[arg(long)]
    pub save: Option<PathBuf>,
    /// Measure the in-flight control instead: render every concept of a review- or block-tier
    /// output category with and without steering (same seeds) and count how often the output
    /// check's verdict changes.
    #[arg(long)]
    pub steer: bool,
    /// Steering scale for `--steer`.
    #[arg(long, default_value_t = sigil_models::steer::DEFAULT_SCALE)]
    pub steer_scale: f32,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// What steering did to the output check's verdicts.
#[derive(Debug, Serialize)]
struct SteerReport {
    scale: f32,
    seeds: u64,
    images: usize,
    /// Images the check flagged without steering.
    hits_plain: usize,
    /// With steering.
    hits_steered: usize,
    /// Images whose verdict (category or none) differs.
    changed: usize,
    /// Flagged without steering, clear with it.
    cleared: usize,
    /// Per category: (images, hits plain, hits steered).
    per_category: Vec<(String, usize, usize, usize)>,
    seconds: f64,
}

fn run_steer(args: &Args, pipeline: &Pipeline, data: &Dataset) -> Result<()> {
    let started = std::time::Instant::now();
    let check = pipeline
        .output_check
        .as_ref()
        .context("no output check to measure with")?;
    let index = pipeline
        .captions
        .as_ref()
        .context("steering needs a pack with a caption index")?;
    let classes = check.spec.classes.clone();
    let labels = concept_classes(data, &classes);
    let mut r = SteerReport {
        scale: args.steer_scale,
        seeds: args.seeds,
        images: 0,
        hits_plain: 0,
        hits_steered: 0,
        changed: 0,
        cleared: 0,
        per_category: Vec::new(),
        seconds: 0.0,
    };
    for (k, class) in classes.iter().enumerate() {
        let Some((_, group)) = sigil_gate::policy::output_category(&class.category) else {
            continue;
        };
        if !matches!(
            group.tier,
            sigil_gate::Tier::Review | sigil_gate::Tier::Block
        ) {
            continue;
        }
        // As on the device: away from the prompt's own category.
        let steer = sigil_models::steer::Steer::from_captions(
            index,
            std::slice::from_ref(&class.codes),
            args.steer_scale,
            pipeline.device(),
        )
        .with_context(|| format!("no captions of {} in the pack", class.category))?;
        let (mut n, mut plain_hits, mut steered_hits) = (0, 0, 0);
        for (i, concept) in data.concepts.iter().enumerate() {
            if labels.get(i) != Some(&(k + 1)) {
                continue;
            }
            let reading = pipeline.read(&concept.label)?;
            for s in 0..args.seeds {
                let seed = args.seed + s;
                let plain = pipeline.render(reading.clone(), STYLE_ANY, seed, None)?;
                let steered = pipeline.render_steered(
                    reading.clone(),
                    STYLE_ANY,
                    seed,
                    None,
                    Some(&steer),
                )?;
                let a = pipeline.check_output(&plain.image)?.and_then(|x| x.hit);
                let b = pipeline.check_output(&steered.image)?.and_then(|x| x.hit);
                n += 1;
                plain_hits += usize::from(a.is_some());
                steered_hits += usize::from(b.is_some());
                r.changed += usize::from(a != b);
                r.cleared += usize::from(a.is_some() && b.is_none());
            }
        }
        r.images += n;
        r.hits_plain += plain_hits;
        r.hits_steered += steered_hits;
        r.per_category
            .push((class.category.clone(), n, plain_hits, steered_hits));
    }
    r.seconds = started.elapsed().as_secs_f64();
    if args.json {
        println!("{}", serde_json::to_string(&r)?);
    } else {
        println!(
            "in-flight control at scale {}: {} images; output check hits {} without steering, {} with; verdict changed on {} ({} cleared)",
            r.scale, r.images, r.hits_plain, r.hits_steered, r.changed, r.cleared
        );
        for (c, n, a, b) in &r.per_category {
            println!("  {c}: {n} images, hits {a} → {b}");
        }
    }
    Ok(())
}

fn save_png(path: &std::path::Path, rgb: &[u8], side: usize) -> Result<()> {
    let side = u32::try_from(side).context("image too large")?;
    let file = std::fs::File::create(path).with_context(|| format!("{}", path.display()))?;
    let mut e = png::Encoder::new(std::io::BufWriter::new(file), side, side);
    e.set_color(png::ColorType::Rgb);
    e.set_depth(png::BitDepth::Eight);
    let mut w = e.write_header()?;
    w.write_image_data(rgb)?;
    w.finish()?;
    Ok(())
}

#[derive(Debug, Serialize)]
struct Report {
    pack: String,
    outcheck: String,
    threshold: f32,
    seeds: u64,
    every: usize,
    at_threshold: TallyReport,
    sweep: Vec<(f32, TallyReport)>,
    /// Positive concepts the check missed at its threshold, with how many seeds were missed.
    missed: Vec<(String, String, u64)>,
    /// Negative concepts it flagged, with the category and how many seeds.
    false_hits: Vec<(String, String, String, u64)>,
    seconds: f64,
}

/// Run the evaluation.
pub fn run(args: &Args) -> Result<()> {
    let started = std::time::Instant::now();
    let data = Dataset::load(&args.data)?;
    let pack = Pack::open(&args.pack).with_context(|| {
        format!(
            "{}: pass --pack FILE (packs are made by `sigil-host pack-model`)",
            args.pack.display()
        )
    })?;
    let mut pipeline = Pipeline::from_pack(&pack, &burn::tensor::Device::flex())?;
    if let Some(dir) = &args.outcheck {
        pipeline.output_check = Some(sigil_train::outcheck::load(dir, pipeline.device())?);
    }
    let Some(check) = pipeline.output_check.as_ref() else {
        bail!(
            "{} has no output check: pass --outcheck RUN/outcheck, or repack with `sigil-host pack-model --outcheck`",
            args.pack.display()
        );
    };
    if args.steer {
        return run_steer(args, &pipeline, &data);
    }
    let classes = check.spec.classes.clone();
    let threshold = check.spec.threshold;
    let labels = concept_classes(&data, &classes);
    let sweep_at = [0.2f32, 0.3, 0.5, 0.7, 0.9];
    let mut main = Tally::new(classes.len());
    let mut sweep: Vec<Tally> = sweep_at.iter().map(|_| Tally::new(classes.len())).collect();
    let (mut missed, mut false_hits) = (Vec::new(), Vec::new());
    let every = args.every.max(1);
    let chosen: Vec<usize> = (0..data.concepts.len())
        .filter(|&i| labels.get(i).copied().unwrap_or(0) > 0 || i % every == 0)
        .collect();
    for (n, &i) in chosen.iter().enumerate() {
        let Some(concept) = data.concepts.get(i) else {
            continue;
        };
        let truth = labels.get(i).copied().unwrap_or(0).checked_sub(1);
        let reading = pipeline
            .read(&concept.label)
            .with_context(|| format!("reading {:?}", concept.label))?;
        let (mut miss, mut flagged) = (0u64, std::collections::BTreeMap::new());
        let seeds = if truth.is_some() {
            args.positive_seeds.unwrap_or(args.seeds)
        } else {
            args.seeds
        };
        for s in 0..seeds {
            let frame = pipeline.render(reading.clone(), STYLE_ANY, args.seed + s, None)?;
            if let Some(dir) = &args.save {
                std::fs::create_dir_all(dir).with_context(|| format!("{}", dir.display()))?;
                let name = format!("{}-{}.png", concept.unified, args.seed + s);
                save_png(&dir.join(name), &frame.image.rgb, frame.image.side)?;
            }
            let score = pipeline
                .check_output(&frame.image)?
                .context("the output check vanished")?;
            main.add(truth, score.hit);
            let top = score.top_category();
            for (t, at) in sweep.iter_mut().zip(sweep_at) {
                t.add(truth, top.filter(|(_, p)| *p >= at).map(|(c, _)| c));
            }
            if truth.is_some() && score.hit.is_none() {
                miss += 1;
            }
            if let (None, Some(c)) = (truth, score.hit) {
                *flagged.entry(c).or_insert(0u64) += 1;
            }
        }
        if miss > 0 {
            missed.push((concept.unified.clone(), concept.label.clone(), miss));
        }
        for (c, k) in flagged {
            let name = classes.get(c).map_or("?", |k| k.category.as_str());
            false_hits.push((
                concept.unified.clone(),
                concept.label.clone(),
                name.to_string(),
                k,
            ));
        }
        if !args.json && (n + 1) % 100 == 0 {
            eprintln!(
                "{}/{} concepts, {:.0} s",
                n + 1,
                chosen.len(),
                started.elapsed().as_secs_f64()
            );
        }
    }
    let report = Report {
        pack: args.pack.display().to_string(),
        outcheck: args
            .outcheck
            .as_ref()
            .map_or_else(|| "the pack's".to_string(), |p| p.display().to_string()),
        threshold,
        seeds: args.seeds,
        every,
        at_threshold: main.report(&classes),
        sweep: sweep_at
            .iter()
            .zip(&sweep)
            .map(|(a, t)| (*a, t.report(&classes)))
            .collect(),
        missed,
        false_hits,
        seconds: started.elapsed().as_secs_f64(),
    };
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
        return Ok(());
    }
    let r = &report.at_threshold;
    println!(
        "generated images: {} (threshold {threshold}); any category: precision {:.3} recall {:.3} ({} flagged, {} positives)",
        r.images, r.any.precision, r.any.recall, r.any.flagged, r.any.positives
    );
    for (name, pr) in &r.categories {
        println!(
            "  {name}: precision {:.3} recall {:.3} ({} hits / {} flagged / {} positives)",
            pr.precision, pr.recall, pr.hits, pr.flagged, pr.positives
        );
    }
    for (at, t) in &report.sweep {
        println!(
            "  at {at}: precision {:.3} recall {:.3}",
            t.any.precision, t.any.recall
        );
    }
    Ok(())
}
