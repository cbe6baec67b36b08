//! Cold start as a kiosk sees it: from starting the `sigil` process to its first PNG on disk.
//!
//! `sigil generate` runs `runs` times in fresh processes on one backend. The first run starts
//! with an empty kernel cache (what the first boot after flashing pays); the rest find the
//! kernels that run compiled (every later boot). The pack file is in the OS page cache after
//! the first run either way: this measures the process, not the disk.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail, ensure};
use serde::Serialize;

use crate::bench::{Spread, spread};

/// Process cold-start figures, in milliseconds.
#[derive(Debug, Clone, Serialize)]
pub struct ColdStart {
    /// Processes run.
    pub runs: usize,
    /// The first, with an empty kernel cache.
    pub empty_cache_ms: f64,
    /// The others, with the cache the first one filled (`None` with one run).
    pub warm_cache_ms: Option<Spread>,
}

/// The `sigil` program beside this one (both are built into one target folder).
pub fn sigil_beside_me() -> Result<PathBuf> {
    let me = std::env::current_exe().context("cannot find this program's path")?;
    let name = format!("sigil{}", std::env::consts::EXE_SUFFIX);
    let sigil = me.with_file_name(name);
    ensure!(
        sigil.is_file(),
        "no `sigil` program beside {} to time: build both (`cargo build --release`) or pass --sigil PATH",
        me.display()
    );
    Ok(sigil)
}

/// Time `runs` fresh `sigil generate` processes on `backend` with `pack`.
pub fn measure(sigil: &Path, pack: &Path, backend: &str, runs: usize) -> Result<ColdStart> {
    let tmp = tempfile::tempdir().context("cannot make a temporary folder")?;
    let cache = tmp.path().join("kernels");
    let mut times = Vec::with_capacity(runs);
    for i in 0..runs.max(1) {
        let out = tmp.path().join(format!("out-{i}"));
        let started = Instant::now();
        let o = Command::new(sigil)
            .args([
                "generate",
                "--prompt",
                "a red apple",
                "--seed",
                "7",
                "--json",
            ])
            .arg("--backend")
            .arg(backend)
            .arg("--pack")
            .arg(pack)
            .arg("--out")
            .arg(&out)
            .arg("--kernel-cache")
            .arg(&cache)
            .output()
            .with_context(|| format!("cannot run {}", sigil.display()))?;
        let ms = started.elapsed().as_secs_f64() * 1e3;
        if !o.status.success() {
            bail!(
                "{} generate failed ({}): {}",
                sigil.display(),
                o.status,
                String::from_utf8_lossy(&o.stderr).trim()
            );
        }
        let report: serde_json::Value = serde_json::from_slice(&o.stdout)
            .with_context(|| format!("{} generate printed no JSON", sigil.display()))?;
        let png = report["png"].as_str().map(PathBuf::from);
        ensure!(
            png.as_deref().is_some_and(Path::is_file),
            "{} generate reported no PNG: {report}",
            sigil.display()
        );
        times.push(ms);
    }
    let empty_cache_ms = times.first().copied().unwrap_or(f64::NAN);
    let rest = times.get(1..).unwrap_or_default().to_vec();
    Ok(ColdStart {
        runs: times.len(),
        empty_cache_ms,
        warm_cache_ms: (!rest.is_empty()).then(|| spread(rest)),
    })
}
