//! The review queue: frames held for a human, kept in the state directory and out of the
//! output directory until a decision. Each held frame is a folder `STATE/review/ID/` with the
//! composed but unmarked frame (`frame.png`: its sequence number, hence its watermark, is only
//! known when it is sealed) and `held.json` (the prompt, which stays on the device, and the
//! generation facts the record will carry). Entries are written to a temporary folder and
//! renamed into place, so a listed entry is always complete.

use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::FrameError;

/// Generation facts of a held frame.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Held {
    /// The queue id (`r` + 12 hex digits).
    pub id: String,
    /// The prompt as typed (local only: records carry its hash).
    pub prompt: String,
    /// The user id as given.
    pub user: String,
    /// Why it is held: `prompt` (the gate's review tier), `interpretation`, `output-check`.
    pub reason: String,
    /// The deciding category id, if any.
    pub category: Option<String>,
    /// Seconds since the Unix epoch when it was held.
    pub held_unix: u64,
    /// Sampler seed.
    pub seed: u64,
    /// Denoiser steps.
    pub steps: u16,
    /// Guidance × 1000.
    pub guidance_milli: u32,
    /// SHA-256 of the model pack (hex).
    pub model_digest: String,
    /// Frame size.
    pub width: u32,
    /// Frame size.
    pub height: u32,
    /// What the output check found in the frame, if anything (its verdict goes into the
    /// record when the frame is decided).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<OutputFinding>,
}

/// An output-check hit on a held frame.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutputFinding {
    /// The category id (e.g. `weapons`).
    pub category: String,
    /// The verdict its tier gave: `allow` (a label), `review` or `block`.
    pub verdict: String,
    /// The check's probability for it, × 1000.
    pub probability_milli: u32,
}

/// What went wrong with the queue.
#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    /// No held frame has this id.
    #[error("no held frame has id {id:?}: `sigil review list` shows the {held} held now")]
    UnknownId {
        /// The id asked for.
        id: String,
        /// How many are held.
        held: usize,
    },
    /// A file of the queue could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A queue entry is damaged.
    #[error("{path} is damaged ({reason}): move it aside and review the frame again")]
    Damaged {
        /// The entry.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The frame could not be encoded or decoded.
    #[error(transparent)]
    Frame(#[from] FrameError),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ReviewError + '_ {
    move |source| ReviewError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The queue in a state directory.
#[derive(Debug, Clone)]
pub struct ReviewQueue {
    dir: PathBuf,
}

impl ReviewQueue {
    /// The queue of the state directory `state`.
    pub fn new(state: &Path) -> Self {
        Self {
            dir: state.join("review"),
        }
    }

    /// Hold a composed, unmarked frame. `held.id` is ignored; the new id is returned.
    pub fn hold(&self, rgb: &[u8], held: &Held) -> Result<String, ReviewError> {
        fs::create_dir_all(&self.dir).map_err(io(&self.dir))?;
        let mut raw = [0u8; 6];
        getrandom::fill(&mut raw)
            .map_err(|e| io(&self.dir)(std::io::Error::other(e.to_string())))?;
        let id = format!(
            "r{}",
            raw.iter().map(|b| format!("{b:02x}")).collect::<String>()
        );
        let tmp = self.dir.join(format!(".{id}.partial"));
        fs::create_dir_all(&tmp).map_err(io(&tmp))?;
        let png = crate::pngio::encode_png(rgb, held.width, held.height, &[])?;
        let frame = tmp.join("frame.png");
        fs::write(&frame, png).map_err(io(&frame))?;
        let mut entry = held.clone();
        entry.id.clone_from(&id);
        let meta = tmp.join("held.json");
        let json = serde_json::to_vec_pretty(&entry)
            .map_err(|e| io(&meta)(std::io::Error::other(e.to_string())))?;
        fs::write(&meta, json).map_err(io(&meta))?;
        for f in [&frame, &meta] {
            fs::File::open(f)
                .and_then(|f| f.sync_all())
                .map_err(io(f))?;
        }
        let dest = self.dir.join(&id);
        fs::rename(&tmp, &dest).map_err(io(&dest))?;
        if let Ok(d) = fs::File::open(&self.dir) {
            let _ = d.sync_all();
        }
        Ok(id)
    }

    /// Every held frame, oldest first.
    pub fn list(&self) -> Result<Vec<Held>, ReviewError> {
        let mut out = Vec::new();
        let entries = match fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(io(&self.dir)(e)),
        };
        for e in entries {
            let e = e.map_err(io(&self.dir))?;
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with('r') && e.path().is_dir() {
                out.push(self.meta(&name)?);
            }
        }
        out.sort_by(|a, b| a.held_unix.cmp(&b.held_unix).then(a.id.cmp(&b.id)));
        Ok(out)
    }

    fn meta(&self, id: &str) -> Result<Held, ReviewError> {
        let path = self.dir.join(id).join("held.json");
        let bytes = fs::read(&path).map_err(io(&path))?;
        serde_json::from_slice(&bytes).map_err(|e| ReviewError::Damaged {
            path,
            reason: e.to_string(),
        })
    }

    /// A held frame: its facts and its pixels (RGB).
    pub fn get(&self, id: &str) -> Result<(Held, Vec<u8>), ReviewError> {
        let valid = id.len() == 13
            && id.starts_with('r')
            && id.chars().skip(1).all(|c| c.is_ascii_hexdigit());
        if !valid || !self.dir.join(id).is_dir() {
            return Err(ReviewError::UnknownId {
                id: id.to_string(),
                held: self.list()?.len(),
            });
        }
        let held = self.meta(id)?;
        let path = self.dir.join(id).join("frame.png");
        let bytes = fs::read(&path).map_err(io(&path))?;
        let frame = crate::pngio::read_frame(&bytes)?;
        if (frame.width, frame.height) != (held.width, held.height) {
            return Err(ReviewError::Damaged {
                path,
                reason: format!(
                    "frame is {}×{}, held.json says {}×{}",
                    frame.width, frame.height, held.width, held.height
                ),
            });
        }
        Ok((held, frame.rgb))
    }

    /// The path of a held frame's PNG (for a reviewer to look at).
    pub fn frame_path(&self, id: &str) -> PathBuf {
        self.dir.join(id).join("frame.png")
    }

    /// Drop a decided entry.
    pub fn remove(&self, id: &str) -> Result<(), ReviewError> {
        let path = self.dir.join(id);
        fs::remove_dir_all(&path).map_err(io(&path))
    }

    /// Note, durably, that the decision on `id` is about to be sealed as record `seq`: a
    /// process killed between the log append and [`ReviewQueue::remove`] leaves this behind,
    /// and the next decision on `id` finds the record instead of sealing a second one.
    pub fn mark_deciding(&self, id: &str, seq: u64) -> Result<(), ReviewError> {
        let path = self.dir.join(id).join(DECIDING);
        crate::state::write_atomic(&path, format!("{seq}\n").as_bytes(), false)
            .map_err(|e| io(&path)(std::io::Error::other(e.to_string())))
    }

    /// The record a decision on `id` was being sealed as, if one was begun.
    pub fn deciding(&self, id: &str) -> Option<u64> {
        fs::read_to_string(self.dir.join(id).join(DECIDING))
            .ok()
            .and_then(|s| s.trim().parse().ok())
    }
}

/// The marker file of a decision being sealed (see [`ReviewQueue::mark_deciding`]).
const DECIDING: &str = "deciding";
