//! What `sigil generate` prints: one JSON object (`--json`) or a line of text per frame, and
//! for a prompt stopped before anything was generated.

use std::time::Instant;

use anyhow::Result;
use serde::Serialize;
use sigil_models::pipeline::{Interpretation, Timings};

/// An output-check hit, as reported.
#[derive(Debug, Clone, Serialize)]
pub struct OutputReport {
    /// The policy category.
    pub category: &'static str,
    /// Its verdict: `allow` (released with a label), `review` or `block`.
    pub verdict: &'static str,
    /// The classifier's probability for it.
    pub probability: f32,
}

/// One JSON line (or one text line) per frame, or for a prompt stopped before generation.
#[derive(Debug, Serialize)]
pub struct Report {
    pub status: &'static str,
    pub png: Option<String>,
    /// The sidecar file with the frame's record.
    pub record: Option<String>,
    /// The record's position in the device's chain.
    pub sequence: Option<u64>,
    /// The watermark payload (hex).
    pub watermark: Option<String>,
    /// SHA-256 of the generated image before composition: equal for equal seeds on a backend.
    pub image_hash: Option<String>,
    /// The review queue id of a held frame (`sigil review approve|reject ID`).
    pub review_id: Option<String>,
    pub seed: u64,
    pub steps: Option<usize>,
    pub backend: Option<String>,
    pub category: Option<&'static str>,
    pub prompt_hash: String,
    pub policy: String,
    pub model: Option<String>,
    /// What a held or blocked verdict came from: `prompt`, or `interpretation` (the training
    /// caption the prompt was snapped to).
    pub gated_on: Option<&'static str>,
    /// Whether sampling was steered away from unwanted concepts (in-flight control, for
    /// prompts held for review).
    pub steered: bool,
    /// What the output check found in the image, if anything.
    pub output_check: Option<OutputReport>,
    pub interpreted_as: Option<Interpretation>,
    pub timings: Option<Timings>,
    pub total_ms: f64,
}

/// For a hold or block: finish the report, print it, and give the exit code.
pub fn stop(
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

pub fn emit(r: &Report, json: bool) -> Result<()> {
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
                    (Some("output"), _) => "the generated image".to_string(),
                    _ => "the prompt".to_string(),
                };
                let category = r.category.unwrap_or("?");
                if status == "blocked" && r.gated_on == Some("output") {
                    println!(
                        "blocked by the output check: {what} shows category {category}; sealed as not released (record {}), nothing written",
                        r.sequence
                            .map_or_else(|| "?".to_string(), |s| s.to_string())
                    );
                } else if status == "blocked" {
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

/// Finish and print the report of one generated frame.
pub fn finish_frame(
    report: &mut Report,
    status: &'static str,
    on: Option<&'static str>,
    started: Instant,
    json: bool,
) -> Result<()> {
    report.status = status;
    report.gated_on = on;
    report.total_ms = started.elapsed().as_secs_f64() * 1e3;
    emit(report, json)?;
    std::io::Write::flush(&mut std::io::stdout())?;
    // The next frame starts clean.
    report.png = None;
    report.record = None;
    report.sequence = None;
    report.watermark = None;
    report.review_id = None;
    Ok(())
}
