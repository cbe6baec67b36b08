//! Errors of the state directory and of frame files.

use std::path::PathBuf;

/// What went wrong with the device's state directory.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// Another process holds the directory's lock.
    #[error(
        "state directory {dir} is in use by another sigil process{holder}: wait for it to finish, or pass another --state"
    )]
    Busy {
        /// The directory.
        dir: PathBuf,
        /// ", pid N" when the holder wrote its pid.
        holder: String,
    },
    /// An earlier append to the log failed in this process; nothing more is sealed.
    #[error(
        "the log in {dir} could not take a record earlier ({reason}): this process seals nothing more; run again (the log is recovered from disk on open)"
    )]
    Poisoned {
        /// The directory.
        dir: PathBuf,
        /// The failed write's error.
        reason: String,
    },
    /// A file of the state could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The device key file is not an Ed25519 PKCS#8 PEM key.
    #[error(
        "{path} is not an Ed25519 private key in PKCS#8 PEM ({reason}): restore it from the provisioning backup; a new key would start a new chain"
    )]
    BadKey {
        /// The key file.
        path: PathBuf,
        /// The decoder's complaint.
        reason: String,
    },
    /// The log's last record was not signed by this device's key, or does not verify.
    #[error(
        "the log in {dir} does not continue under this device key ({reason}): the key or the log was replaced; keep both, and audit the log with `sigil-host audit`"
    )]
    ForeignLog {
        /// The directory.
        dir: PathBuf,
        /// What did not match.
        reason: String,
    },
    /// The device's certificate chain is unreadable or certifies another key.
    #[error(
        "{path}: {reason}: re-provision the device (`sigil-host provision --state DIR --ca CA_DIR`), or remove the file to have the device issue itself a new, self-issued chain"
    )]
    BadChain {
        /// The chain file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The boot counter file holds something else than a number.
    #[error("{path} does not hold a boot counter ({found:?}): remove it to start again from 0")]
    BadCounter {
        /// The file.
        path: PathBuf,
        /// Its content (cut short).
        found: String,
    },
    /// The chain has no room for another record.
    #[error("the chain is exhausted (sequence number overflow)")]
    ChainExhausted,
    /// The trust core cannot be reached or does not check out.
    #[error(transparent)]
    Core(#[from] crate::trust::CoreError),
}

/// Why the saved rate limits (`STATE/rate.bin`) could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RateFileError {
    /// Shorter than the header.
    #[error("{len} bytes is too short for saved rate limits")]
    TooShort {
        /// The file's length.
        len: usize,
    },
    /// Not a rate file.
    #[error("not saved rate limits (magic {found:02x?}, expected \"SGRL\")")]
    BadMagic {
        /// The first four bytes.
        found: [u8; 4],
    },
    /// Another format version.
    #[error("saved rate limits of format version {found}; this firmware reads version {supported}")]
    Version {
        /// The file's version.
        found: u16,
        /// The version this build reads.
        supported: u16,
    },
    /// The length does not match the number of users in the header.
    #[error("saved rate limits are {len} bytes, their header says {expected}")]
    Length {
        /// The file's length.
        len: usize,
        /// The length the header implies.
        expected: usize,
    },
    /// The checksum does not match.
    #[error("saved rate limits fail their CRC (stored {stored:08x}, computed {computed:08x})")]
    Crc {
        /// The CRC in the file.
        stored: u32,
        /// The CRC of the content.
        computed: u32,
    },
    /// Unknown flag bits.
    #[error("saved rate limits have unknown flags {flags:#04x}")]
    Flags {
        /// The flags byte.
        flags: u8,
    },
    /// More users than this build tracks.
    #[error("saved rate limits track {found} users; this firmware tracks at most {max}")]
    TooManyUsers {
        /// Users in the file.
        found: usize,
        /// Users this build tracks.
        max: usize,
    },
}

/// What is wrong with a frame file.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// Reading or writing the file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The bytes are not an image this crate reads.
    #[error("not a PNG or JPEG image ({0})")]
    Decode(String),
    /// The PNG's chunk structure is damaged.
    #[error("damaged PNG: {0}")]
    BadPng(String),
    /// The frame cannot be composed or marked.
    #[error(transparent)]
    Mark(#[from] sigil_mark::MarkError),
    /// The C2PA manifest could not be made.
    #[error("cannot add the C2PA manifest: {0}")]
    Credentials(String),
    /// The image is too large for a record's 16-bit size fields.
    #[error("a {width}×{height} frame is larger than a record can describe (65535 a side)")]
    TooLarge {
        /// Width.
        width: u32,
        /// Height.
        height: u32,
    },
}
