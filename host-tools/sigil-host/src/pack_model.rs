//! `sigil-host pack-model`: a trained model folder and the text encoder → one model pack.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args as ClapArgs;
use sigil_train::packing::{PackOptions, pack_model};

/// Arguments of `sigil-host pack-model`.
#[derive(Debug, ClapArgs)]
pub struct Args {
    /// Model folder written by `sigil-host train` (`RUN/student-model` or `RUN/model`).
    #[arg(long)]
    pub model: PathBuf,
    /// Output pack file.
    #[arg(short, long)]
    pub out: PathBuf,
    /// Keep every weight in f32 (default: int8 per output channel for convs, linears and
    /// large embedding tables).
    #[arg(long)]
    pub f32: bool,
    /// Sampling steps the pack is made for (default 4 for a student, 12 for a teacher).
    #[arg(long)]
    pub steps: Option<u32>,
    /// Guidance of a teacher pack (a student's is distilled in).
    #[arg(long, default_value_t = 2.0)]
    pub guidance: f32,
    /// Image side, if the model folder does not record it.
    #[arg(long)]
    pub image_side: Option<usize>,
    /// Pack name (default: sigil-emoji-<student|teacher>-<int8|f32>).
    #[arg(long)]
    pub name: Option<String>,
    /// The output check to ship in the pack (`RUN/outcheck`, from `train --stage outcheck`).
    #[arg(long)]
    pub outcheck: Option<PathBuf>,
    /// Override the output check's decision threshold (a category hits at or above it).
    #[arg(long)]
    pub outcheck_threshold: Option<f32>,
    /// Text encoder folder (default: $SIGIL_MINILM or the fetch-minilm.sh cache).
    #[arg(long)]
    pub minilm: Option<PathBuf>,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Write the pack and report its size and digest.
pub fn run(args: &Args) -> Result<()> {
    let summary = pack_model(&PackOptions {
        model: args.model.clone(),
        minilm: args
            .minilm
            .clone()
            .unwrap_or_else(sigil_models::minilm::minilm_dir),
        out: args.out.clone(),
        int8: !args.f32,
        steps: args.steps,
        guidance: args.guidance,
        image_side: args.image_side,
        name: args.name.clone(),
        outcheck: args.outcheck.clone(),
        outcheck_threshold: args.outcheck_threshold,
    })?;
    if args.json {
        println!("{}", serde_json::to_string(&summary)?);
    } else {
        println!(
            "{}: {} bytes, {} parameters ({} tensors int8, {} f32)\nmodel digest {}",
            summary.path,
            summary.bytes,
            summary.params,
            summary.int8_tensors,
            summary.f32_tensors,
            summary.digest
        );
    }
    Ok(())
}
