//! The device's state directory.
//!
//! ```text
//! STATE/
//!   lock              held exclusively while a process uses the directory (pid inside)
//!   device.key.pem    Ed25519 PKCS#8; created on first use if none was provisioned (0600)
//!   device.pub.pem    its public key (SPKI), for `sigil-host verify --trust`
//!   device.chain.pem  its certificate then its CA's (`crate::cert`): issued by the maker CA at
//!                     provisioning, else self-issued on first use (`crate::provision`)
//!   boot              the boot counter, raised once per process
//!   log.sigil         the append-only record log (length ‖ record ‖ CRC per entry)
//!   rate.bin          the rate-limit buckets (`crate::rate`); rate.bin.damaged if one was
//!   review/           frames held for review (`crate::review`)
//!   firmware.sha256   the running program's digest, cached by the device program
//! ```
//!
//! The log is the authority for the chain: the sequence counter is its last record's seq + 1.
//! On open a torn tail (a write cut by a crash or power loss) is cut off; complete entries are
//! never dropped. Each record is appended and fsync'd before the caller may report its frame.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey};
use sigil_provenance::{
    LogReader, RECORD_LEN, Record, Recovery, Sealer, SigningKey, append_frame, frame_len, recover,
};

use crate::trust::{REMOTE_TIMEOUT, TrustCore, TrustCoreAt};

use crate::cert::{ChainFacts, DeviceChain};
use crate::error::StateError;
use crate::provision::load_or_create_chain;

/// File name of the log inside the state directory.
pub const LOG_FILE: &str = "log.sigil";
const LOCK_FILE: &str = "lock";
pub(crate) const KEY_FILE: &str = "device.key.pem";
pub(crate) const PUB_FILE: &str = "device.pub.pem";
const BOOT_FILE: &str = "boot";

pub(crate) fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StateError + '_ {
    move |source| StateError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// An open state directory: locked, log recovered, trust core at the chain head.
#[derive(Debug)]
pub struct DeviceState {
    dir: PathBuf,
    _lock: File,
    pub(crate) log: File,
    core: TrustCore,
    boot_counter: u32,
    created_key: bool,
    chain: DeviceChain,
    chain_facts: ChainFacts,
    created_chain: bool,
    recovery: Recovery,
    last: Option<Record>,
    /// Set when an append failed: the core's chain head has moved past a record the log may
    /// not hold, so nothing more may be sealed until the directory is opened again (which
    /// recovers the log from what is on disk).
    poisoned: Option<String>,
}

impl DeviceState {
    /// Open (creating if needed) the state directory `dir` for a firmware with
    /// `firmware_digest`, under the compiled-in policy, with the trust core in this process.
    pub fn open(dir: &Path, firmware_digest: [u8; 32]) -> Result<Self, StateError> {
        Self::open_with(dir, firmware_digest, &TrustCoreAt::InProcess)
    }

    /// Open the state directory with the trust core `at`.
    ///
    /// In-process, the key is the directory's (`device.key.pem`, made on first use) and the
    /// sealer resumes after the log's last record. A remote core holds its own key and chain
    /// head: its key must be the one that signed the log, and its head must be the log's (or
    /// one record past it: a record whose response was cut off, which is fetched from the
    /// core, checked and appended). Either way the chain in the log continues unbroken.
    pub fn open_with(
        dir: &Path,
        firmware_digest: [u8; 32],
        at: &TrustCoreAt,
    ) -> Result<Self, StateError> {
        fs::create_dir_all(dir).map_err(io(dir))?;
        let lock = take_lock(dir)?;
        let boot_counter = raise_boot_counter(dir)?;
        let log_path = dir.join(LOG_FILE);
        let mut log = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&log_path)
            .map_err(io(&log_path))?;
        let mut bytes = Vec::new();
        log.read_to_end(&mut bytes).map_err(io(&log_path))?;
        let recovery = recover(&bytes);
        if recovery.torn_tail_bytes > 0 {
            // A cut-off write: cut it, durably, before anything is appended after it.
            log.set_len(recovery.valid_len as u64)
                .map_err(io(&log_path))?;
            log.sync_all().map_err(io(&log_path))?;
        }
        let last = LogReader::new(bytes.get(..recovery.valid_len).unwrap_or_default())
            .filter_map(Result::ok)
            .last()
            .map(|e| Record::decode(e.bytes))
            .transpose()
            .map_err(|e| StateError::ForeignLog {
                dir: dir.to_path_buf(),
                reason: format!("last record unreadable: {e}"),
            })?;
        let foreign = |reason: String| StateError::ForeignLog {
            dir: dir.to_path_buf(),
            reason,
        };
        let (core, created_key, missing) = match at {
            TrustCoreAt::InProcess => {
                let (key, created_key) = load_or_create_key(dir)?;
                // After the log: a replaced key is first of all a forked chain.
                let policy = sigil_gate::POLICY_DIGEST;
                let sealer = match &last {
                    None => Sealer::new(key, firmware_digest, policy),
                    Some(r) => Sealer::resume(key, firmware_digest, policy, r)
                        .map_err(|e| foreign(e.to_string()))?,
                };
                (
                    TrustCore::in_process(sealer, last.as_ref()),
                    created_key,
                    None,
                )
            }
            TrustCoreAt::Link(endpoint) => {
                let core = TrustCore::connect(endpoint, REMOTE_TIMEOUT)?;
                if let Some(r) = &last
                    && r.device_key() != core.key().as_bytes()
                {
                    return Err(foreign(format!(
                        "its records are signed by key {}, the trust core holds key {}: \
                             use this trust core with its own state directory",
                        hex::encode(r.device_key()),
                        hex::encode(core.key().as_bytes())
                    )));
                }
                let missing = core.missing_record(last.as_ref()).map_err(foreign)?;
                write_public_key(dir, core.key())?;
                (core, false, missing)
            }
        };
        let (chain, chain_facts, created_chain) = load_or_create_chain(dir, core.key())?;
        log.seek(SeekFrom::End(0)).map_err(io(&log_path))?;
        let mut state = Self {
            dir: dir.to_path_buf(),
            _lock: lock,
            log,
            core,
            boot_counter,
            created_key,
            chain,
            chain_facts,
            created_chain,
            recovery,
            last,
            poisoned: None,
        };
        if let Some(record) = missing {
            state.append(&record)?;
        }
        Ok(state)
    }

    /// The trust core, at the log's chain head.
    pub const fn core(&self) -> &TrustCore {
        &self.core
    }

    /// The trust core, to admit prompts and seal frames.
    pub fn core_mut(&mut self) -> &mut TrustCore {
        &mut self.core
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Whether this open created the device key (no key had been provisioned).
    pub const fn created_key(&self) -> bool {
        self.created_key
    }

    /// This process's boot counter.
    pub const fn boot_counter(&self) -> u32 {
        self.boot_counter
    }

    /// What recovery found in the log on open.
    pub const fn recovery(&self) -> Recovery {
        self.recovery
    }

    /// The last record in the log, if any.
    pub const fn last(&self) -> Option<&Record> {
        self.last.as_ref()
    }

    /// Append a sealed record to the log and fsync it. Only after this returns may the frame
    /// be reported as released.
    pub fn append(&mut self, record: &Record) -> Result<(), StateError> {
        let mut bytes = [0u8; RECORD_LEN];
        record.encode(&mut bytes);
        let mut framed = vec![0u8; frame_len(RECORD_LEN)];
        let n = append_frame(&bytes, &mut framed).map_err(|e| StateError::Io {
            path: self.dir.join(LOG_FILE),
            source: std::io::Error::other(e.to_string()),
        })?;
        self.check_usable()?;
        let path = self.dir.join(LOG_FILE);
        let written = self
            .log
            .write_all(framed.get(..n).unwrap_or_default())
            .and_then(|()| self.log.sync_data());
        if let Err(e) = written {
            self.poisoned = Some(e.to_string());
            return Err(io(&path)(e));
        }
        self.last = Some(*record);
        Ok(())
    }

    /// The logged record with sequence number `seq`, read from disk.
    pub fn record(&self, seq: u64) -> Result<Option<Record>, StateError> {
        let path = self.dir.join(LOG_FILE);
        let bytes = fs::read(&path).map_err(io(&path))?;
        Ok(LogReader::new(&bytes)
            .filter_map(Result::ok)
            .filter_map(|e| Record::decode(e.bytes).ok())
            .find(|r| r.body().seq == seq))
    }

    /// Refuse to go on after a failed append (see [`StateError::Poisoned`]).
    pub fn check_usable(&self) -> Result<(), StateError> {
        match &self.poisoned {
            None => Ok(()),
            Some(reason) => Err(StateError::Poisoned {
                dir: self.dir.clone(),
                reason: reason.clone(),
            }),
        }
    }
}

pub(crate) fn take_lock(dir: &Path) -> Result<File, StateError> {
    let path = dir.join(LOCK_FILE);
    let mut f = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(io(&path))?;
    match f.try_lock() {
        Ok(()) => {}
        Err(fs::TryLockError::WouldBlock) => {
            let mut pid = String::new();
            let _ = f.read_to_string(&mut pid);
            let pid = pid.trim();
            return Err(StateError::Busy {
                dir: dir.to_path_buf(),
                holder: if pid.is_empty() {
                    String::new()
                } else {
                    format!(", pid {pid}")
                },
            });
        }
        Err(fs::TryLockError::Error(e)) => return Err(io(&path)(e)),
    }
    // Only the holder writes the pid, so a reader sees either the old or the new one.
    f.set_len(0).map_err(io(&path))?;
    f.write_all(std::process::id().to_string().as_bytes())
        .map_err(io(&path))?;
    Ok(f)
}

pub(crate) fn load_or_create_key(dir: &Path) -> Result<(SigningKey, bool), StateError> {
    let path = dir.join(KEY_FILE);
    match fs::read_to_string(&path) {
        Ok(pem) => SigningKey::from_pkcs8_pem(&pem)
            .map(|k| (k, false))
            .map_err(|e| StateError::BadKey {
                path,
                reason: e.to_string(),
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut seed = [0u8; 32];
            getrandom::fill(&mut seed)
                .map_err(|e| io(&path)(std::io::Error::other(e.to_string())))?;
            let key = SigningKey::from_bytes(&seed);
            seed.fill(0);
            let private = key
                .to_pkcs8_pem(LineEnding::LF)
                .map_err(|e| io(&path)(std::io::Error::other(e.to_string())))?;
            write_public_key(dir, &key.verifying_key())?;
            write_atomic(&path, private.as_bytes(), true)?;
            Ok((key, true))
        }
        Err(e) => Err(io(&path)(e)),
    }
}

/// Keep `device.pub.pem` equal to the device key (made here, or held by a remote core), for
/// `sigil-host verify --trust`.
fn write_public_key(dir: &Path, key: &sigil_provenance::VerifyingKey) -> Result<(), StateError> {
    let path = dir.join(PUB_FILE);
    let pem = key
        .to_public_key_pem(LineEnding::LF)
        .map_err(|e| io(&path)(std::io::Error::other(e.to_string())))?;
    if fs::read_to_string(&path).ok().as_deref() != Some(pem.as_str()) {
        write_atomic(&path, pem.as_bytes(), false)?;
    }
    Ok(())
}

fn raise_boot_counter(dir: &Path) -> Result<u32, StateError> {
    let path = dir.join(BOOT_FILE);
    let now = match fs::read_to_string(&path) {
        Ok(s) => s
            .trim()
            .parse::<u32>()
            .map_err(|_| StateError::BadCounter {
                path: path.clone(),
                found: s.chars().take(20).collect(),
            })?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0,
        Err(e) => return Err(io(&path)(e)),
    };
    let next = now.saturating_add(1);
    write_atomic(&path, next.to_string().as_bytes(), false)?;
    Ok(next)
}

/// Write `bytes` to `path` through a temporary file in the same directory, fsync'd, renamed
/// over the target, directory fsync'd: a reader sees the old or the new content, never a mix.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8], private: bool) -> Result<(), StateError> {
    write_via_temp(path, bytes, private, false)
}

/// As [`write_atomic`], but never replaces an existing file: the temporary file is hard-linked
/// to `path`, which fails if `path` exists (an `AlreadyExists` I/O error).
pub(crate) fn write_new_atomic(path: &Path, bytes: &[u8]) -> Result<(), StateError> {
    write_via_temp(path, bytes, false, true)
}

fn write_via_temp(
    path: &Path,
    bytes: &[u8],
    private: bool,
    no_clobber: bool,
) -> Result<(), StateError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.partial"));
    let mut opts = OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    if private {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let _ = private;
    let mut f = opts.open(&tmp).map_err(io(&tmp))?;
    f.write_all(bytes).map_err(io(&tmp))?;
    f.sync_all().map_err(io(&tmp))?;
    drop(f);
    if no_clobber {
        let linked = fs::hard_link(&tmp, path);
        let _ = fs::remove_file(&tmp);
        linked.map_err(io(path))?;
    } else {
        fs::rename(&tmp, path).map_err(io(path))?;
    }
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

impl DeviceState {
    /// The device's certificate chain (maker-issued or self-issued).
    pub fn chain(&self) -> &DeviceChain {
        &self.chain
    }

    /// The device key (through the trust core) and chain, to sign a frame's Content
    /// Credentials.
    pub fn frame_signer(&self) -> crate::credential::FrameSigner<'_> {
        crate::credential::FrameSigner {
            core: &self.core,
            chain: &self.chain,
        }
    }

    /// What the chain says (issuer, subject, whether it was self-issued).
    pub fn chain_facts(&self) -> &ChainFacts {
        &self.chain_facts
    }

    /// Whether this open issued the device a self-issued chain (it had none).
    pub const fn created_chain(&self) -> bool {
        self.created_chain
    }

    /// The device's public key bytes.
    pub fn sealer_key(&self) -> [u8; 32] {
        self.core.key().to_bytes()
    }

    /// The watermark payload of the next frame: (device tag, next sequence number).
    pub fn next_watermark(&self) -> [u8; 8] {
        self.core.next_watermark()
    }
}
