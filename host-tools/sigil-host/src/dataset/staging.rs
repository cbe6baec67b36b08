//! Build into a temporary sibling folder and rename it into place only when everything has
//! been written, so a failed build never leaves a half-written dataset where a good one was.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

/// A temporary folder beside `out`, removed on drop unless committed.
#[derive(Debug)]
pub struct Staging {
    tmp: PathBuf,
    out: PathBuf,
    committed: bool,
}

fn sibling(out: &Path, tag: &str) -> Result<PathBuf> {
    let name = out
        .file_name()
        .with_context(|| format!("--out {} has no folder name", out.display()))?;
    let parent = out.parent().unwrap_or(Path::new("."));
    let parent = if parent.as_os_str().is_empty() {
        Path::new(".")
    } else {
        parent
    };
    Ok(parent.join(format!(
        ".{}.{tag}-{}",
        name.to_string_lossy(),
        std::process::id()
    )))
}

impl Staging {
    /// Check that `out` is absent, empty or an earlier dataset (has `summary.json`), then create
    /// the temporary folder.
    pub fn new(out: &Path) -> Result<Self> {
        if out.exists() {
            let empty = std::fs::read_dir(out)
                .with_context(|| format!("--out {} exists but cannot be read", out.display()))?
                .next()
                .is_none();
            if !empty && !out.join("summary.json").is_file() {
                bail!(
                    "refusing to replace {}: it exists and is not a sigil dataset (no \
                     summary.json); choose another --out or remove it",
                    out.display()
                );
            }
        }
        let tmp = sibling(out, "tmp")?;
        if tmp.exists() {
            std::fs::remove_dir_all(&tmp)
                .with_context(|| format!("cannot remove stale {}", tmp.display()))?;
        }
        std::fs::create_dir_all(&tmp)
            .with_context(|| format!("cannot create {}", tmp.display()))?;
        Ok(Staging {
            tmp,
            out: out.to_path_buf(),
            committed: false,
        })
    }

    /// The folder to write into.
    pub fn path(&self) -> &Path {
        &self.tmp
    }

    /// Swap the finished folder into place; an earlier dataset at `out` is removed only after
    /// the new one is there.
    pub fn commit(mut self) -> Result<()> {
        let old = sibling(&self.out, "old")?;
        let had_old = self.out.exists();
        if had_old {
            std::fs::rename(&self.out, &old)
                .with_context(|| format!("cannot move the earlier {} aside", self.out.display()))?;
        }
        if let Err(e) = std::fs::rename(&self.tmp, &self.out) {
            if had_old {
                // Put the earlier dataset back; the new one stays in tmp and is dropped.
                let _ = std::fs::rename(&old, &self.out);
            }
            return Err(e).with_context(|| {
                format!(
                    "cannot move {} to {}",
                    self.tmp.display(),
                    self.out.display()
                )
            });
        }
        self.committed = true;
        if had_old {
            std::fs::remove_dir_all(&old)
                .with_context(|| format!("built, but cannot remove {}", old.display()))?;
        }
        Ok(())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_dir_all(&self.tmp);
        }
    }
}
