//! Progress of a training stage: an indicatif bar on a terminal, periodic lines otherwise, and a
//! JSON-lines loss log (`STAGE/log.jsonl`) that survives resumes.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::error::TrainError;

/// Reports steps and losses.
#[derive(Debug)]
pub struct Progress {
    bar: ProgressBar,
    log: PathBuf,
    stage: String,
    started: Instant,
    last_line: Instant,
    smoothed: Option<f64>,
    total: u64,
}

impl Progress {
    /// A reporter for `stage`, from step `start` to `total`, logging into `dir/log.jsonl`.
    pub fn new(stage: &str, dir: &Path, start: u64, total: u64, quiet: bool) -> Self {
        let bar = if quiet {
            ProgressBar::hidden()
        } else {
            ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr())
        };
        bar.set_style(
            ProgressStyle::with_template(
                "{prefix:>8} [{elapsed_precise}] {bar:30} {pos}/{len} {msg} (eta {eta})",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar.set_prefix(stage.to_string());
        bar.set_position(start);
        let log = dir.join("log.jsonl");
        trim_log(&log, start);
        Progress {
            bar,
            log,
            stage: stage.to_string(),
            started: Instant::now(),
            last_line: Instant::now(),
            smoothed: None,
            total,
        }
    }

    /// Record one step's loss.
    pub fn step(&mut self, step: u64, loss: f64, lr: f64) -> Result<(), TrainError> {
        let s = self.smoothed.map_or(loss, |p| 0.98 * p + 0.02 * loss);
        self.smoothed = Some(s);
        self.bar.set_position(step);
        self.bar.set_message(format!("loss {s:.5}"));
        let line = serde_json::json!({
            "step": step, "loss": loss, "smoothed": s, "lr": lr,
            "secs": self.started.elapsed().as_secs_f64(),
        });
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .map_err(|e| TrainError::io(&self.log, e))?;
        writeln!(f, "{line}").map_err(|e| TrainError::io(&self.log, e))?;
        if self.bar.is_hidden() && self.last_line.elapsed().as_secs() >= 30 {
            self.last_line = Instant::now();
            eprintln!(
                "{} step {step}/{} loss {s:.5} ({:.0} s)",
                self.stage,
                self.total,
                self.started.elapsed().as_secs_f64()
            );
        }
        Ok(())
    }

    /// Say something without breaking the bar.
    pub fn note(&self, msg: &str) {
        if self.bar.is_hidden() {
            eprintln!("{}: {msg}", self.stage);
        } else {
            self.bar.println(format!("{}: {msg}", self.stage));
        }
    }

    /// Done.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }

    /// Seconds since this reporter started.
    pub fn elapsed(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }
}

/// Keep only the log lines up to `step`: later lines came after the last checkpoint of an
/// interrupted session and are about to be redone.
fn trim_log(path: &Path, step: u64) {
    let Ok(text) = std::fs::read_to_string(path) else {
        return;
    };
    let kept: Vec<&str> = text
        .lines()
        .filter(|l| {
            serde_json::from_str::<serde_json::Value>(l)
                .ok()
                .and_then(|v| v.get("step").and_then(serde_json::Value::as_u64))
                .is_some_and(|s| s <= step)
        })
        .collect();
    if kept.len() != text.lines().count() {
        let mut out = kept.join("\n");
        if !out.is_empty() {
            out.push('\n');
        }
        let _ = std::fs::write(path, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resuming_drops_log_lines_after_the_checkpoint() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("log.jsonl");
        let lines: Vec<String> = (1..=5)
            .map(|s| format!("{{\"step\":{s},\"loss\":1.0}}"))
            .collect();
        std::fs::write(&path, lines.join("\n") + "\n").unwrap();
        trim_log(&path, 3);
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 3);
        assert!(text.ends_with("{\"step\":3,\"loss\":1.0}\n"));
        trim_log(&path, 0);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "");
    }
}
