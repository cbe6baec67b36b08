//! A/B update slots in the state directory: receiving a bundle chunk by chunk, staging it in
//! the slot not in use, and booting it only if it passes its health check.
//!
//! ```text
//! STATE/slots/
//!   boot.json            {"active": 0|1|null, "version": N, "pending": {slot, version, tries}|null}
//!   incoming.part        the bundle being received: header, then payload chunks in order
//!   0/bundle.sigilbundle slot A, 1/bundle.sigilbundle slot B (checked bundles)
//! ```
//!
//! * The running slot is never written: a transfer goes to `incoming.part`, and a checked
//!   bundle is renamed into the *other* slot. Only `boot.json`, written atomically, says which
//!   slot boots, so a cut at any point leaves the device booting a verified slot.
//! * A transfer resumes: beginning again with the same header keeps every complete chunk that
//!   still matches its digest (a chunk cut by power loss is dropped) and asks for the next.
//! * Anti-downgrade: a bundle whose version is not above the confirmed one is refused, as is one
//!   for another device class or signed by another maker.
//! * Boot-confirm: [`Slots::boot`] counts an attempt *before* running the health check, so a
//!   crash inside it counts too; a slot that fails it, or has used up [`MAX_TRIES`], is rolled
//!   back (the pending entry is dropped; the confirmed slot stays).

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use ed25519_dalek::VerifyingKey;
use serde::{Deserialize, Serialize};
use sigil_bundle::{BundleError, Header};

use crate::state::write_atomic;

/// Boot attempts a staged slot gets before it is rolled back.
pub const MAX_TRIES: u32 = 3;
const BOOT_FILE: &str = "boot.json";
const INCOMING: &str = "incoming.part";
const BUNDLE: &str = "bundle.sigilbundle";

/// A slot waiting for its first good boot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    /// The slot (0 = A, 1 = B).
    pub slot: u8,
    /// Its bundle's version.
    pub version: u64,
    /// Boot attempts so far.
    pub tries: u32,
}

/// Which slot boots.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct BootState {
    /// The confirmed slot, if any bundle was ever confirmed.
    pub active: Option<u8>,
    /// The confirmed version: the anti-downgrade floor.
    pub version: u64,
    /// A staged slot to try at the next boot.
    pub pending: Option<Pending>,
}

/// Where a transfer stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// First chunk not yet held.
    pub next_chunk: u32,
    /// Chunks in the bundle.
    pub total: u32,
}

/// What a boot did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Booted {
    /// No update pending: the confirmed slot (if any) boots.
    Unchanged(Option<u8>),
    /// The staged slot passed its health check and is now the confirmed one.
    Confirmed {
        /// The slot.
        slot: u8,
        /// Its version.
        version: u64,
    },
    /// The staged slot failed (or used up its tries) and was dropped.
    RolledBack {
        /// The slot dropped.
        slot: u8,
        /// Why.
        reason: String,
    },
}

/// Why an update step was refused. Nothing that boots was changed.
#[derive(Debug, thiserror::Error)]
pub enum SlotError {
    /// The bundle itself.
    #[error(transparent)]
    Bundle(#[from] BundleError),
    /// For another kind of device.
    #[error("the bundle is for device class \"{bundle}\", this device is \"{device}\"")]
    DeviceClass {
        /// The bundle's class.
        bundle: String,
        /// This device's.
        device: String,
    },
    /// Not newer than what runs.
    #[error(
        "the bundle's version {bundle} is not above the version this device runs ({running}): downgrades are refused; pack a higher --version"
    )]
    Downgrade {
        /// The bundle's version.
        bundle: u64,
        /// The confirmed version.
        running: u64,
    },
    /// A chunk out of order, or a commit before every chunk arrived.
    #[error("{0}")]
    OutOfOrder(String),
    /// File trouble.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The boot file is damaged.
    #[error(
        "{path} is damaged ({reason}): restore it or remove it (the device then boots no slot until one is flashed)"
    )]
    BadBootFile {
        /// The file.
        path: PathBuf,
        /// The parser's complaint.
        reason: String,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> SlotError + '_ {
    move |source| SlotError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The update slots of one device, for bundles signed by `maker` for `device_class`.
#[derive(Debug)]
pub struct Slots {
    dir: PathBuf,
    maker: VerifyingKey,
    device_class: String,
    state: BootState,
    /// The transfer under way: its header and the file being filled.
    incoming: Option<(Header, File)>,
}

/// `slots/boot.json`, or the state of a device never updated.
fn read_boot(dir: &Path) -> Result<BootState, SlotError> {
    let path = dir.join(BOOT_FILE);
    match fs::read(&path) {
        Ok(b) => serde_json::from_slice(&b).map_err(|e| SlotError::BadBootFile {
            path: path.clone(),
            reason: e.to_string(),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BootState::default()),
        Err(e) => Err(io(&path)(e)),
    }
}

/// The model pack of the confirmed slot, with the bundle's version: what the device runs
/// after an update. The bundle is checked whole against `maker` again (bytes on disk can rot
/// or be swapped after they were confirmed). `None` when no bundle was ever confirmed.
pub fn confirmed_model(
    state_dir: &Path,
    maker: &VerifyingKey,
) -> Result<Option<(u64, Vec<u8>)>, SlotError> {
    let dir = state_dir.join("slots");
    let Some(slot) = read_boot(&dir)?.active else {
        return Ok(None);
    };
    let path = dir.join(slot.to_string()).join(BUNDLE);
    let bytes = fs::read(&path).map_err(io(&path))?;
    let verified = sigil_bundle::open(&bytes, maker)?;
    Ok(Some((verified.manifest.version, verified.model.to_vec())))
}

impl Slots {
    /// Open (creating) `STATE/slots`.
    pub fn open(
        state_dir: &Path,
        maker: VerifyingKey,
        device_class: &str,
    ) -> Result<Self, SlotError> {
        let dir = state_dir.join("slots");
        fs::create_dir_all(&dir).map_err(io(&dir))?;
        let state = read_boot(&dir)?;
        Ok(Self {
            dir,
            maker,
            device_class: device_class.to_owned(),
            state,
            incoming: None,
        })
    }

    /// Which slot boots, and what is pending.
    pub const fn state(&self) -> BootState {
        self.state
    }

    /// The bundle file of a slot.
    pub fn bundle_path(&self, slot: u8) -> PathBuf {
        self.dir.join(slot.to_string()).join(BUNDLE)
    }

    /// The slot an update goes to: the one not confirmed.
    pub fn inactive(&self) -> u8 {
        match self.state.active {
            Some(0) => 1,
            _ => 0,
        }
    }

    fn save(&self) -> Result<(), SlotError> {
        let json = serde_json::to_vec(&self.state).map_err(|e| SlotError::BadBootFile {
            path: self.dir.join(BOOT_FILE),
            reason: e.to_string(),
        })?;
        write_atomic(&self.dir.join(BOOT_FILE), &json, false).map_err(|e| SlotError::Io {
            path: self.dir.join(BOOT_FILE),
            source: std::io::Error::other(e.to_string()),
        })
    }

    /// Begin (or resume) a transfer with the bundle's header.
    pub fn begin(&mut self, header: &[u8]) -> Result<Progress, SlotError> {
        let h = Header::parse(header, &self.maker)?;
        if h.len != header.len() {
            return Err(SlotError::OutOfOrder(format!(
                "the header is {} bytes, its manifest says {}: send exactly the header",
                header.len(),
                h.len
            )));
        }
        let m = &h.manifest;
        if m.device_class != self.device_class {
            return Err(SlotError::DeviceClass {
                bundle: m.device_class.clone(),
                device: self.device_class.clone(),
            });
        }
        if m.version <= self.state.version {
            return Err(SlotError::Downgrade {
                bundle: m.version,
                running: self.state.version,
            });
        }
        let path = self.dir.join(INCOMING);
        let mut f = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io(&path))?;
        let mut have = Vec::new();
        f.read_to_end(&mut have).map_err(io(&path))?;
        // Resume only the same bundle; keep the complete chunks that still match.
        let mut keep = 0u64;
        if have.get(..header.len()) == Some(header) {
            let payload = have.get(header.len()..).unwrap_or_default();
            for (i, c) in payload.chunks(m.chunk_size as usize).enumerate() {
                if m.check_chunk(i, c).is_err() {
                    break;
                }
                keep += c.len() as u64;
            }
        } else {
            f.set_len(0).map_err(io(&path))?;
            f.seek(SeekFrom::Start(0)).map_err(io(&path))?;
            f.write_all(header).map_err(io(&path))?;
        }
        f.set_len(header.len() as u64 + keep).map_err(io(&path))?;
        f.seek(SeekFrom::End(0)).map_err(io(&path))?;
        f.sync_all().map_err(io(&path))?;
        self.incoming = Some((h, f));
        self.progress()
    }

    fn progress(&mut self) -> Result<Progress, SlotError> {
        let Some((h, f)) = &mut self.incoming else {
            return Err(SlotError::OutOfOrder(
                "no update begun: send the bundle's header first".into(),
            ));
        };
        let len = f
            .seek(SeekFrom::End(0))
            .map_err(io(&self.dir.join(INCOMING)))?;
        let have = len.saturating_sub(h.len as u64);
        let m = &h.manifest;
        let total = u32::try_from(m.chunks.len()).unwrap_or(u32::MAX);
        let next = if have >= m.payload_len() {
            total
        } else {
            u32::try_from(have / u64::from(m.chunk_size)).unwrap_or(u32::MAX)
        };
        Ok(Progress {
            next_chunk: next,
            total,
        })
    }

    /// Take chunk `index`: checked against its digest, appended and fsync'd. A chunk already
    /// held is acknowledged again (a resent chunk after a lost answer); one past the next is
    /// refused.
    pub fn put(&mut self, index: u32, bytes: &[u8]) -> Result<Progress, SlotError> {
        let p = self.progress()?;
        if index < p.next_chunk {
            return Ok(p);
        }
        if index > p.next_chunk {
            return Err(SlotError::OutOfOrder(format!(
                "chunk {index} arrived, the device needs chunk {} first",
                p.next_chunk
            )));
        }
        let path = self.dir.join(INCOMING);
        if let Some((h, f)) = &mut self.incoming {
            h.manifest.check_chunk(index as usize, bytes)?;
            f.write_all(bytes).map_err(io(&path))?;
            f.sync_data().map_err(io(&path))?;
        }
        self.progress()
    }

    /// Every chunk is in: check the whole bundle again, move it into the inactive slot and
    /// stage that slot for the next boot.
    pub fn commit(&mut self) -> Result<Pending, SlotError> {
        let p = self.progress()?;
        if p.next_chunk != p.total {
            return Err(SlotError::OutOfOrder(format!(
                "commit with {} of {} chunks: send the rest first",
                p.next_chunk, p.total
            )));
        }
        let incoming = self.dir.join(INCOMING);
        let bytes = fs::read(&incoming).map_err(io(&incoming))?;
        let v = sigil_bundle::open(&bytes, &self.maker)?;
        let version = v.manifest.version;
        let slot = self.inactive();
        let target = self.bundle_path(slot);
        let slot_dir = self.dir.join(slot.to_string());
        fs::create_dir_all(&slot_dir).map_err(io(&slot_dir))?;
        fs::rename(&incoming, &target).map_err(io(&target))?;
        if let Ok(d) = File::open(&self.dir) {
            let _ = d.sync_all();
        }
        self.incoming = None;
        let pending = Pending {
            slot,
            version,
            tries: 0,
        };
        self.state.pending = Some(pending);
        self.save()?;
        Ok(pending)
    }

    /// Boot: try a pending slot with `health` (given the slot's bundle file), confirming it
    /// or rolling it back. The attempt is counted before `health` runs.
    pub fn boot(
        &mut self,
        health: impl FnOnce(&Path) -> Result<(), String>,
    ) -> Result<Booted, SlotError> {
        let Some(mut p) = self.state.pending else {
            return Ok(Booted::Unchanged(self.state.active));
        };
        if p.tries >= MAX_TRIES {
            return self.roll_back(
                p.slot,
                format!("{MAX_TRIES} boot attempts without passing the health check"),
            );
        }
        p.tries += 1;
        self.state.pending = Some(p);
        self.save()?;
        let path = self.bundle_path(p.slot);
        let check = fs::read(&path)
            .map_err(|e| format!("{}: {e}", path.display()))
            .and_then(|b| {
                sigil_bundle::open(&b, &self.maker)
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            })
            .and_then(|()| health(&path));
        match check {
            Ok(()) => {
                self.state = BootState {
                    active: Some(p.slot),
                    version: p.version,
                    pending: None,
                };
                self.save()?;
                Ok(Booted::Confirmed {
                    slot: p.slot,
                    version: p.version,
                })
            }
            Err(reason) => self.roll_back(p.slot, reason),
        }
    }

    fn roll_back(&mut self, slot: u8, reason: String) -> Result<Booted, SlotError> {
        self.state.pending = None;
        self.save()?;
        Ok(Booted::RolledBack { slot, reason })
    }
}
