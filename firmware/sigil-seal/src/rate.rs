//! The gate's rate limits kept across processes: `STATE/rate.bin`.
//!
//! Each `sigil generate` is a process of its own, so the token buckets of
//! [`sigil_gate::RateLimiter`] (per user and per device, DESIGN §3) are loaded from the state
//! directory before admission and saved after each admitted request, before anything is
//! rendered: a process killed mid-frame has still spent its token.
//!
//! **Time base**: wall-clock Unix milliseconds ([`unix_ms`]), the only clock that continues
//! from one process to the next. A clock that goes backwards refills nothing (the safe
//! direction): buckets stamped in the future are restamped at the earlier time with what they
//! held ([`sigil_gate::RateLimiter::restore`]). A clock moved forwards refills the buckets;
//! whoever can set the clock can also remove the file.
//!
//! **Format** (version 1), every integer little-endian:
//!
//! ```text
//! 0    4  magic "SGRL"
//! 4    2  version (1)
//! 6    1  flags: bit 0 the device bucket is present, bit 1 the unlisted-user bucket is present
//! 7    1  n, the number of tracked users
//! 8   16  device bucket: milli-tokens u64, last update (Unix ms) u64; zero when absent (full)
//! 24  16  unlisted-user bucket, the same; zero when absent (full)
//! 40  48n users: user hash [32], milli-tokens u64, last update u64
//! end  4  CRC-32 (ISO-HDLC) of everything before it
//! ```
//!
//! A missing file means full buckets (a new device). A file that is damaged, or of another
//! version, is never taken as full buckets — that would let anyone lift the limits by
//! corrupting it: it is kept as `rate.bin.damaged`, the limits restart with every bucket empty
//! at the current time, also for users not seen before ([`sigil_gate::RateLimiter::exhausted`]),
//! that state is written at once so the buckets refill with time, and the loader says what was
//! wrong ([`RatesFound::Damaged`]). A restored bucket never holds more than the current
//! [`RateConfig`] allows.
//!
//! The caller holds the state directory's exclusive lock (these are methods of an open
//! [`DeviceState`]), so nobody else writes the file meanwhile; writes are atomic (temporary
//! file, fsync, rename).

use std::path::Path;

use sigil_gate::RateConfig;
use sigil_gate::RateLimiter;
use sigil_gate::rate::{Bucket, RateState};

use crate::error::{RateFileError, StateError};
use crate::state::{DeviceState, write_atomic};

/// File name of the saved buckets inside the state directory.
pub const RATE_FILE: &str = "rate.bin";
/// Where a damaged [`RATE_FILE`] is kept for inspection (the last one only).
pub const RATE_DAMAGED_FILE: &str = "rate.bin.damaged";
/// The file's first four bytes.
pub const RATE_MAGIC: [u8; 4] = *b"SGRL";
/// The format version this build reads and writes.
pub const RATE_VERSION: u16 = 1;

const HEADER_LEN: usize = 40;
const USER_LEN: usize = 48;
const CRC_LEN: usize = 4;
const FLAG_DEVICE: u8 = 1;
const FLAG_UNLISTED: u8 = 2;
static CRC: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);

/// Milliseconds since the Unix epoch by the wall clock (0 before it): the rate limits' time
/// base across processes.
pub fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// What [`DeviceState::load_rates`] found on disk.
#[derive(Debug)]
pub enum RatesFound {
    /// No saved buckets: every bucket starts full.
    Missing,
    /// The saved buckets, restored under the current config.
    Saved,
    /// The file could not be read as buckets: kept as [`RATE_DAMAGED_FILE`], and every bucket
    /// starts empty now (and has been saved so).
    Damaged(RateFileError),
}

/// A rate limiter continued from the state directory.
#[derive(Debug)]
pub struct LoadedRates<const USERS: usize> {
    /// The limiter, to give to [`sigil_gate::Gate::with_rates`].
    pub limiter: RateLimiter<USERS>,
    /// What was on disk.
    pub found: RatesFound,
}

/// The bytes of [`RATE_FILE`] for `state`.
pub fn encode_rates<const USERS: usize>(state: &RateState<USERS>) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + USER_LEN * state.users.len() + CRC_LEN);
    out.extend_from_slice(&RATE_MAGIC);
    out.extend_from_slice(&RATE_VERSION.to_le_bytes());
    let flags = if state.device.is_some() {
        FLAG_DEVICE
    } else {
        0
    } | if state.unlisted.is_some() {
        FLAG_UNLISTED
    } else {
        0
    };
    out.push(flags);
    // A RateState holds at most USERS entries; the gate's tables are far below 256.
    out.push(u8::try_from(state.users.len()).unwrap_or(u8::MAX));
    let none = Bucket {
        milli: 0,
        last_ms: 0,
    };
    for b in [state.device, state.unlisted] {
        put_bucket(&mut out, &b.unwrap_or(none));
    }
    for (hash, b) in state.users.iter().take(usize::from(u8::MAX)) {
        out.extend_from_slice(hash);
        put_bucket(&mut out, b);
    }
    let crc = CRC.checksum(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

fn put_bucket(out: &mut Vec<u8>, b: &Bucket) {
    out.extend_from_slice(&b.milli.to_le_bytes());
    out.extend_from_slice(&b.last_ms.to_le_bytes());
}

/// Read [`RATE_FILE`]'s bytes. Checks, in order: length of the header, magic, version, length,
/// CRC, flags, number of users.
pub fn decode_rates<const USERS: usize>(bytes: &[u8]) -> Result<RateState<USERS>, RateFileError> {
    let len = bytes.len();
    if len < 6 {
        return Err(RateFileError::TooShort { len });
    }
    let magic = [bytes[0], bytes[1], bytes[2], bytes[3]];
    if magic != RATE_MAGIC {
        return Err(RateFileError::BadMagic { found: magic });
    }
    let version = u16::from_le_bytes([bytes[4], bytes[5]]);
    if version != RATE_VERSION {
        return Err(RateFileError::Version {
            found: version,
            supported: RATE_VERSION,
        });
    }
    if len < HEADER_LEN + CRC_LEN {
        return Err(RateFileError::TooShort { len });
    }
    let n = usize::from(bytes[7]);
    let expected = HEADER_LEN + USER_LEN * n + CRC_LEN;
    if len != expected {
        return Err(RateFileError::Length { len, expected });
    }
    let (body, tail) = bytes.split_at(len - CRC_LEN);
    let stored = u32::from_le_bytes([tail[0], tail[1], tail[2], tail[3]]);
    let computed = CRC.checksum(body);
    if stored != computed {
        return Err(RateFileError::Crc { stored, computed });
    }
    let flags = body[6];
    if flags & !(FLAG_DEVICE | FLAG_UNLISTED) != 0 {
        return Err(RateFileError::Flags { flags });
    }
    if n > USERS {
        return Err(RateFileError::TooManyUsers {
            found: n,
            max: USERS,
        });
    }
    let device = (flags & FLAG_DEVICE != 0).then(|| bucket_at(body, 8));
    let unlisted = (flags & FLAG_UNLISTED != 0).then(|| bucket_at(body, 24));
    let mut state = RateState::<USERS> {
        device,
        unlisted,
        ..RateState::default()
    };
    for i in 0..n {
        let at = HEADER_LEN + USER_LEN * i;
        let mut hash = [0u8; 32];
        hash.copy_from_slice(&body[at..at + 32]);
        // Cannot fail: n ≤ USERS was checked above.
        if state.users.push((hash, bucket_at(body, at + 32))).is_err() {
            return Err(RateFileError::TooManyUsers {
                found: n,
                max: USERS,
            });
        }
    }
    Ok(state)
}

/// The bucket stored at `at` (16 bytes; the caller checked the length).
fn bucket_at(body: &[u8], at: usize) -> Bucket {
    let word = |i: usize| {
        let mut b = [0u8; 8];
        b.copy_from_slice(&body[i..i + 8]);
        u64::from_le_bytes(b)
    };
    Bucket {
        milli: word(at),
        last_ms: word(at + 8),
    }
}

impl DeviceState {
    /// The rate limiter of this device under `config` at `now_ms` (Unix ms, [`unix_ms`]),
    /// continued from [`RATE_FILE`]. Missing: full buckets. Damaged or of another version: kept
    /// as [`RATE_DAMAGED_FILE`], every bucket empty at `now_ms` (saved at once), and
    /// [`RatesFound::Damaged`] says why. Only an I/O error other than a missing file is an
    /// error.
    pub fn load_rates<const USERS: usize>(
        &self,
        config: RateConfig,
        now_ms: u64,
    ) -> Result<LoadedRates<USERS>, StateError> {
        load_in(self.dir(), config, now_ms)
    }

    /// Save the in-process trust core's buckets as [`RATE_FILE`], atomically (nothing to do for
    /// a remote core, which keeps its own).
    pub fn save_core_rates(&self) -> Result<(), StateError> {
        match self.core().rates() {
            Some(state) => write_atomic(&self.dir().join(RATE_FILE), &encode_rates(&state), false),
            None => Ok(()),
        }
    }

    /// Save `limiter`'s buckets as [`RATE_FILE`], atomically.
    pub fn save_rates<const USERS: usize>(
        &self,
        limiter: &RateLimiter<USERS>,
    ) -> Result<(), StateError> {
        write_atomic(
            &self.dir().join(RATE_FILE),
            &encode_rates(&limiter.state()),
            false,
        )
    }
}

fn load_in<const USERS: usize>(
    dir: &Path,
    config: RateConfig,
    now_ms: u64,
) -> Result<LoadedRates<USERS>, StateError> {
    let path = dir.join(RATE_FILE);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(LoadedRates {
                limiter: RateLimiter::new(config),
                found: RatesFound::Missing,
            });
        }
        Err(source) => return Err(StateError::Io { path, source }),
    };
    match decode_rates::<USERS>(&bytes) {
        Ok(state) => Ok(LoadedRates {
            limiter: RateLimiter::restore(config, state, now_ms),
            found: RatesFound::Saved,
        }),
        Err(why) => {
            // Keep the evidence, then replace it with empty buckets that refill from now: a
            // crash in between leaves the damaged file, found again next time.
            write_atomic(&dir.join(RATE_DAMAGED_FILE), &bytes, false)?;
            let limiter = RateLimiter::exhausted(config, now_ms);
            write_atomic(&path, &encode_rates(&limiter.state()), false)?;
            Ok(LoadedRates {
                limiter,
                found: RatesFound::Damaged(why),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use sigil_gate::rate::{Limit, Scope};

    use super::*;

    const CFG: RateConfig = RateConfig {
        user: Limit {
            burst: 2,
            refill_ms: 1000,
        },
        device: Limit {
            burst: 3,
            refill_ms: 500,
        },
    };
    const T0: u64 = 1_700_000_000_000;

    fn open() -> (tempfile::TempDir, DeviceState) {
        let dir = tempfile::tempdir().unwrap();
        let state = DeviceState::open(dir.path(), [0; 32]).unwrap();
        (dir, state)
    }

    fn used_up(state: &DeviceState) -> RateLimiter<4> {
        let mut r = state.load_rates::<4>(CFG, T0).unwrap().limiter;
        r.take(&[1; 32], T0).unwrap();
        r.take(&[1; 32], T0).unwrap();
        r.take(&[2; 32], T0).unwrap();
        r
    }

    #[test]
    fn saved_buckets_load_back_and_keep_limiting() {
        let (_dir, state) = open();
        let r = used_up(&state);
        state.save_rates(&r).unwrap();
        let loaded = state.load_rates::<4>(CFG, T0).unwrap();
        assert!(matches!(loaded.found, RatesFound::Saved));
        assert_eq!(loaded.limiter.state(), r.state());
        let mut l = loaded.limiter;
        assert_eq!(l.take(&[1; 32], T0).unwrap_err().scope, Scope::User);
        assert_eq!(l.take(&[3; 32], T0).unwrap_err().scope, Scope::Device);
        // And they refill with (wall-clock) time.
        assert!(l.take(&[1; 32], T0 + 1000).is_ok());
    }

    #[test]
    fn encoding_round_trips_and_has_the_documented_layout() {
        let (_dir, state) = open();
        let s = used_up(&state).state();
        let bytes = encode_rates(&s);
        assert_eq!(&bytes[..4], b"SGRL");
        assert_eq!(&bytes[4..6], &[1, 0]);
        assert_eq!((bytes[6], bytes[7]), (FLAG_DEVICE, 2));
        assert_eq!(bytes.len(), HEADER_LEN + 2 * USER_LEN + CRC_LEN);
        assert_eq!(decode_rates::<4>(&bytes).unwrap(), s);
        let full = RateState::<4>::default();
        assert_eq!(decode_rates::<4>(&encode_rates(&full)).unwrap(), full);
    }

    #[test]
    fn a_missing_file_is_full_buckets() {
        let (_dir, state) = open();
        let loaded = state.load_rates::<4>(CFG, T0).unwrap();
        assert!(matches!(loaded.found, RatesFound::Missing));
        assert_eq!(loaded.limiter.state(), RateState::default());
        assert!(!state.dir().join(RATE_FILE).exists());
    }

    #[test]
    fn a_damaged_file_is_empty_buckets_never_full_ones() {
        let (_dir, state) = open();
        state.save_rates(&used_up(&state)).unwrap();
        let path = state.dir().join(RATE_FILE);
        let good = std::fs::read(&path).unwrap();
        let mut flipped = good.clone();
        flipped[10] ^= 0x40;
        let mut future = good.clone();
        future[4] = 2;
        type Expect = fn(&RateFileError) -> bool;
        let cases: [(&[u8], Expect); 6] = [
            (&flipped, |e| matches!(e, RateFileError::Crc { .. })),
            (&good[..good.len() - 1], |e| {
                matches!(e, RateFileError::Length { .. })
            }),
            (b"", |e| matches!(e, RateFileError::TooShort { len: 0 })),
            (
                b"PNG\x89 not rates at all, but long enough to be a header",
                |e| matches!(e, RateFileError::BadMagic { .. }),
            ),
            (&future, |e| {
                matches!(
                    e,
                    RateFileError::Version {
                        found: 2,
                        supported: 1
                    }
                )
            }),
            (
                &{
                    let mut b = encode_rates(&RateState::<8>::default());
                    b[7] = 5;
                    b.truncate(HEADER_LEN);
                    b.extend_from_slice(&[0; 5 * USER_LEN]);
                    let crc = CRC.checksum(&b);
                    b.extend_from_slice(&crc.to_le_bytes());
                    b
                },
                |e| matches!(e, RateFileError::TooManyUsers { found: 5, max: 4 }),
            ),
        ];
        for (bytes, expected) in cases {
            std::fs::write(&path, bytes).unwrap();
            let loaded = state.load_rates::<4>(CFG, T0 + 5).unwrap();
            let RatesFound::Damaged(e) = &loaded.found else {
                panic!("{bytes:?} was taken as {:?}", loaded.found);
            };
            assert!(expected(e), "{e}");
            assert!(!e.to_string().is_empty());
            // Kept for inspection; replaced by empty buckets stamped now, already on disk.
            assert_eq!(
                std::fs::read(state.dir().join(RATE_DAMAGED_FILE)).unwrap(),
                bytes
            );
            let exhausted = RateLimiter::<4>::exhausted(CFG, T0 + 5).state();
            assert_eq!(loaded.limiter.state(), exhausted);
            assert_eq!(
                decode_rates::<4>(&std::fs::read(&path).unwrap()).unwrap(),
                exhausted
            );
            // Nobody gets through at once, not even a user never seen; time refills.
            let mut l = loaded.limiter;
            assert_eq!(l.take(&[9; 32], T0 + 5).unwrap_err().scope, Scope::User);
            assert!(l.take(&[9; 32], T0 + 1005).is_ok());
        }
    }

    #[test]
    fn a_smaller_config_cuts_saved_buckets_down() {
        let (_dir, state) = open();
        // Saved under the default kiosk limits, untouched buckets for two users.
        let mut r = RateLimiter::<4>::new(RateConfig::default());
        r.take(&[1; 32], T0).unwrap();
        state.save_rates(&r).unwrap();
        let mut l = state.load_rates::<4>(CFG, T0).unwrap().limiter;
        // User 1 held 5 of 6: now at most 2 of 2.
        assert!(l.take(&[1; 32], T0).is_ok());
        assert!(l.take(&[1; 32], T0).is_ok());
        assert_eq!(l.take(&[1; 32], T0).unwrap_err().scope, Scope::User);
    }
}
