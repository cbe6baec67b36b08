//! Checkpoints of one training stage: `STAGE/ckpt-STEP/{model.bpk, optim.bpk, state.json}` and a
//! `STAGE/LATEST` pointer. A checkpoint is written completely (files synced) before `LATEST` is
//! switched to it by an atomic rename, and the previous one is deleted only after that, so a
//! crash or power loss at any point leaves the last good checkpoint in place.

use std::io::Write;
use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::store::{BurnpackStore, ModuleSnapshot};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::TrainError;

/// What a checkpoint says about itself.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct State {
    /// Stage name (`ae`, `teacher`, `judge`).
    pub stage: String,
    /// Steps done.
    pub step: u64,
    /// The stage's config, as JSON.
    pub config: serde_json::Value,
    /// SHA-256 of the config JSON: a checkpoint only resumes under the same config.
    pub config_sha256: String,
    /// Training seed.
    pub seed: u64,
    /// SHA-256 of the dataset manifest it trained on.
    pub data_sha256: String,
    /// Wall seconds spent training, summed over sessions.
    pub wall_s: f64,
}

/// SHA-256 of a config's canonical JSON.
pub fn config_digest(config: &serde_json::Value) -> String {
    hex::encode(Sha256::digest(config.to_string().as_bytes()))
}

/// One stage's checkpoint folder.
#[derive(Debug, Clone)]
pub struct Checkpoints {
    dir: PathBuf,
}

fn sync_file(path: &Path) -> Result<(), TrainError> {
    std::fs::File::open(path)
        .and_then(|f| f.sync_all())
        .map_err(|e| TrainError::io(path, e))
}

fn sync_dir(path: &Path) {
    // Directory fsync is best effort (not every file system supports it).
    if let Ok(d) = std::fs::File::open(path) {
        let _ = d.sync_all();
    }
}

/// Save a module as Burnpack, replacing `path`.
pub fn save_module<M: Module + ModuleSnapshot>(model: &M, path: &Path) -> Result<(), TrainError> {
    let mut store = BurnpackStore::from_file(path).overwrite(true);
    model
        .save_into(&mut store)
        .map_err(|e| TrainError::data(path, format!("cannot save: {e}")))?;
    sync_file(path)
}

/// Load a module's weights from a Burnpack file into `model` (which fixes the shapes).
pub fn load_module<M: Module + ModuleSnapshot>(mut model: M, path: &Path) -> Result<M, TrainError> {
    if !path.is_file() {
        return Err(TrainError::data(
            path,
            "missing: train this stage first, or check --model",
        ));
    }
    // Read the whole file now: a file-backed store reads tensors lazily, and checkpoint folders
    // are deleted once a newer one is complete.
    let bytes = std::fs::read(path).map_err(|e| TrainError::io(path, e))?;
    let mut store = BurnpackStore::from_bytes(Some(burn::tensor::Bytes::from_bytes_vec(bytes)));
    let result = model.load_from(&mut store).map_err(|e| {
        TrainError::data(
            path,
            format!("cannot be read ({e}); the file is damaged or truncated"),
        )
    })?;
    if !result.errors.is_empty() || !result.missing.is_empty() {
        let first = result
            .errors
            .first()
            .map(ToString::to_string)
            .or_else(|| {
                result
                    .missing
                    .first()
                    .map(|m| format!("missing tensor {}", m.0))
            })
            .unwrap_or_default();
        return Err(TrainError::data(
            path,
            format!("does not fit this model's config: {first}; it was saved by another config"),
        ));
    }
    Ok(model)
}

impl Checkpoints {
    /// The checkpoints of `stage` under the run folder `run`.
    pub fn new(run: &Path, stage: &str) -> Self {
        Checkpoints {
            dir: run.join(stage),
        }
    }

    /// The stage folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The latest complete checkpoint, if any: its folder and state.
    pub fn latest(&self) -> Result<Option<(PathBuf, State)>, TrainError> {
        let pointer = self.dir.join("LATEST");
        let name = match std::fs::read_to_string(&pointer) {
            Ok(n) => n.trim().to_string(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(TrainError::io(&pointer, e)),
        };
        let ckpt = self.dir.join(&name);
        let state_path = ckpt.join("state.json");
        let text =
            std::fs::read_to_string(&state_path).map_err(|e| TrainError::io(&state_path, e))?;
        let state: State = serde_json::from_str(&text).map_err(|e| TrainError::Checkpoint {
            file: state_path.display().to_string(),
            reason: format!("unreadable checkpoint state ({e})"),
        })?;
        Ok(Some((ckpt, state)))
    }

    /// The latest checkpoint if it was made under `config`; an error naming the file if it was
    /// made under another one.
    pub fn resumable(
        &self,
        config: &serde_json::Value,
    ) -> Result<Option<(PathBuf, State)>, TrainError> {
        let Some((ckpt, state)) = self.latest()? else {
            return Ok(None);
        };
        if state.config_sha256 != config_digest(config) {
            return Err(TrainError::Checkpoint {
                file: ckpt.join("state.json").display().to_string(),
                reason: format!(
                    "this checkpoint was trained with another {} config ({}); resume with the \
                     same preset and options, or train into a fresh --out folder",
                    state.stage, state.config
                ),
            });
        }
        Ok(Some((ckpt, state)))
    }

    /// Write a complete checkpoint for `state.step`, switch `LATEST` to it, then delete the
    /// older ones. `write` saves the model and optimiser files into the folder it is given.
    pub fn save(
        &self,
        state: &State,
        write: impl FnOnce(&Path) -> Result<(), TrainError>,
    ) -> Result<PathBuf, TrainError> {
        std::fs::create_dir_all(&self.dir).map_err(|e| TrainError::io(&self.dir, e))?;
        let name = format!("ckpt-{:08}", state.step);
        let ckpt = self.dir.join(&name);
        let partial = self.dir.join(format!("{name}.partial"));
        if partial.exists() {
            std::fs::remove_dir_all(&partial).map_err(|e| TrainError::io(&partial, e))?;
        }
        std::fs::create_dir_all(&partial).map_err(|e| TrainError::io(&partial, e))?;
        write(&partial)?;
        let state_path = partial.join("state.json");
        let json = serde_json::to_string_pretty(state)
            .map_err(|e| TrainError::data(&state_path, e.to_string()))?;
        std::fs::write(&state_path, json).map_err(|e| TrainError::io(&state_path, e))?;
        sync_file(&state_path)?;
        sync_dir(&partial);
        if ckpt.exists() {
            std::fs::remove_dir_all(&ckpt).map_err(|e| TrainError::io(&ckpt, e))?;
        }
        std::fs::rename(&partial, &ckpt).map_err(|e| TrainError::io(&ckpt, e))?;
        sync_dir(&self.dir);
        // Switch the pointer atomically.
        let pointer = self.dir.join("LATEST");
        let tmp = self.dir.join("LATEST.tmp");
        let mut f = std::fs::File::create(&tmp).map_err(|e| TrainError::io(&tmp, e))?;
        f.write_all(name.as_bytes())
            .and_then(|()| f.sync_all())
            .map_err(|e| TrainError::io(&tmp, e))?;
        std::fs::rename(&tmp, &pointer).map_err(|e| TrainError::io(&pointer, e))?;
        sync_dir(&self.dir);
        // Only now drop older checkpoints and leftovers.
        if let Ok(entries) = std::fs::read_dir(&self.dir) {
            for entry in entries.flatten() {
                let n = entry.file_name().to_string_lossy().to_string();
                if n.starts_with("ckpt-") && n != name {
                    let _ = std::fs::remove_dir_all(entry.path());
                }
            }
        }
        Ok(ckpt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(step: u64, config: &serde_json::Value) -> State {
        State {
            stage: "ae".into(),
            step,
            config: config.clone(),
            config_sha256: config_digest(config),
            seed: 1,
            data_sha256: String::new(),
            wall_s: 0.0,
        }
    }

    #[test]
    fn a_failed_write_keeps_the_last_good_checkpoint() {
        let tmp = tempfile::tempdir().unwrap();
        let ck = Checkpoints::new(tmp.path(), "ae");
        let cfg = serde_json::json!({"width": 8});
        ck.save(&state(10, &cfg), |d| {
            std::fs::write(d.join("model.bpk"), b"ten").map_err(|e| TrainError::io(d, e))
        })
        .unwrap();
        // A save that dies half-way (the writer fails after writing part of its files).
        let err = ck.save(&state(20, &cfg), |d| {
            std::fs::write(d.join("model.bpk"), b"twe").unwrap();
            Err(TrainError::data(d, "disk full"))
        });
        assert!(err.is_err());
        let (dir, st) = ck.latest().unwrap().unwrap();
        assert_eq!(st.step, 10);
        assert_eq!(std::fs::read(dir.join("model.bpk")).unwrap(), b"ten");
        // The next good save replaces the leftovers and the old checkpoint.
        ck.save(&state(30, &cfg), |d| {
            std::fs::write(d.join("model.bpk"), b"thirty").map_err(|e| TrainError::io(d, e))
        })
        .unwrap();
        let (dir, st) = ck.latest().unwrap().unwrap();
        assert_eq!(st.step, 30);
        assert_eq!(std::fs::read(dir.join("model.bpk")).unwrap(), b"thirty");
        let names: Vec<String> = std::fs::read_dir(ck.dir())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into())
            .collect();
        assert!(
            !names
                .iter()
                .any(|n| n.contains("00000010") || n.contains("partial")),
            "{names:?}"
        );
    }

    #[test]
    fn another_config_is_refused_by_name() {
        let tmp = tempfile::tempdir().unwrap();
        let ck = Checkpoints::new(tmp.path(), "ae");
        let cfg = serde_json::json!({"width": 8});
        ck.save(&state(5, &cfg), |_| Ok(())).unwrap();
        let other = serde_json::json!({"width": 16});
        let err = ck.resumable(&other).unwrap_err().to_string();
        assert!(
            err.contains("state.json") && err.contains("another ae config"),
            "{err}"
        );
        assert_eq!(ck.resumable(&cfg).unwrap().unwrap().1.step, 5);
    }
}
