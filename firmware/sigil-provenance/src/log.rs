//! The device's append-only log framing, as pure functions over bytes.
//!
//! ```text
//! entry = len u32 LE ‖ record bytes (len) ‖ CRC-32/ISO-HDLC(len ‖ record) u32 LE
//! ```
//!
//! The device appends entries and fsyncs. On open it runs [`recover`] and truncates the file to
//! [`Recovery::valid_len`]: a torn last write is dropped, a valid entry never is. Damage in the
//! middle of the log is skipped by [`LogReader`], which resynchronises at the next offset where a
//! whole entry with a valid CRC parses, and reported by the audit.

use crc::{CRC_32_ISO_HDLC, Crc};

use crate::error::LogError;

/// Bytes an entry adds around its record: length prefix and CRC.
pub const FRAME_OVERHEAD: usize = 8;
/// The longest record an entry may hold. Longer lengths are treated as damage.
pub const MAX_RECORD_LEN: usize = 1024;

static CRC: Crc<u32> = Crc::<u32>::new(&CRC_32_ISO_HDLC);

/// Length of the entry that frames a `record_len`-byte record.
pub const fn frame_len(record_len: usize) -> usize {
    record_len + FRAME_OVERHEAD
}

/// Frame `record` into `out`; returns the number of bytes written.
pub fn append_frame(record: &[u8], out: &mut [u8]) -> Result<usize, LogError> {
    if record.is_empty() || record.len() > MAX_RECORD_LEN {
        return Err(LogError::BadRecordLen { len: record.len() });
    }
    let needed = frame_len(record.len());
    let capacity = out.len();
    let out = out
        .get_mut(..needed)
        .ok_or(LogError::BufferTooSmall { needed, capacity })?;
    let len = u32::try_from(record.len())
        .map_err(|_| LogError::BadRecordLen { len: record.len() })?
        .to_le_bytes();
    let (len_field, rest) = out.split_at_mut(4);
    let (body, crc_field) = rest.split_at_mut(record.len());
    len_field.copy_from_slice(&len);
    body.copy_from_slice(record);
    crc_field.copy_from_slice(&entry_crc(&len, record).to_le_bytes());
    Ok(needed)
}

fn entry_crc(len: &[u8; 4], record: &[u8]) -> u32 {
    let mut digest = CRC.digest();
    digest.update(len);
    digest.update(record);
    digest.finalize()
}

/// A whole, CRC-valid entry at `offset`: its record bytes and total entry length.
fn parse_at(bytes: &[u8], offset: usize) -> Option<(&[u8], usize)> {
    let tail = bytes.get(offset..)?;
    let len: [u8; 4] = tail.get(..4)?.try_into().ok()?;
    let record_len = usize::try_from(u32::from_le_bytes(len)).ok()?;
    if record_len == 0 || record_len > MAX_RECORD_LEN {
        return None;
    }
    let record = tail.get(4..4 + record_len)?;
    let crc: [u8; 4] = tail
        .get(4 + record_len..frame_len(record_len))?
        .try_into()
        .ok()?;
    (u32::from_le_bytes(crc) == entry_crc(&len, record)).then_some((record, frame_len(record_len)))
}

/// One valid entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Entry<'a> {
    /// Byte offset of the entry (its length prefix) in the log.
    pub offset: usize,
    /// The record bytes it frames.
    pub bytes: &'a [u8],
}

impl Entry<'_> {
    /// Length of the whole entry, framing included.
    pub const fn frame_len(&self) -> usize {
        frame_len(self.bytes.len())
    }
}

/// What kind of damage the framing found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum DefectKind {
    /// An incomplete or damaged entry with no valid entry after it: a torn last write.
    TornTail,
    /// A damaged stretch (bad CRC, absurd length) with valid entries after it.
    Corrupt,
}

/// A damaged stretch of log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct LogDefect {
    /// Byte offset where the damage starts.
    pub offset: usize,
    /// How many bytes were skipped.
    pub len: usize,
    /// Torn tail or corruption.
    pub kind: DefectKind,
}

impl core::fmt::Display for LogDefect {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self.kind {
            DefectKind::TornTail => write!(
                f,
                "torn tail: {} bytes at offset {} are not a whole entry (interrupted write); \
                 truncate the log to its valid length (recover())",
                self.len, self.offset
            ),
            DefectKind::Corrupt => write!(
                f,
                "corrupt log: {} bytes at offset {} are damaged (bad CRC or length) and were \
                 skipped; restore the log from a backup",
                self.len, self.offset
            ),
        }
    }
}

impl core::error::Error for LogDefect {}

/// Iterates the entries of a log, reporting damage instead of stopping at it.
#[derive(Debug, Clone)]
pub struct LogReader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> LogReader<'a> {
    /// Read `bytes` from the start.
    pub const fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, pos: 0 }
    }

    /// The offset of the next entry to be read.
    pub const fn position(&self) -> usize {
        self.pos
    }
}

impl<'a> Iterator for LogReader<'a> {
    type Item = Result<Entry<'a>, LogDefect>;

    fn next(&mut self) -> Option<Self::Item> {
        let offset = self.pos;
        if offset >= self.bytes.len() {
            return None;
        }
        if let Some((bytes, len)) = parse_at(self.bytes, offset) {
            self.pos = offset + len;
            return Some(Ok(Entry { offset, bytes }));
        }
        let resync = (offset + 1..self.bytes.len()).find(|&p| parse_at(self.bytes, p).is_some());
        let (end, kind) = match resync {
            Some(p) => (p, DefectKind::Corrupt),
            None => (self.bytes.len(), DefectKind::TornTail),
        };
        self.pos = end;
        Some(Err(LogDefect {
            offset,
            len: end - offset,
            kind,
        }))
    }
}

/// What the device should do with its log on open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Recovery {
    /// Keep this many bytes; truncate the rest (the torn tail).
    pub valid_len: usize,
    /// Valid entries in the kept bytes.
    pub entries: usize,
    /// Bytes in the torn tail (`bytes.len() - valid_len`).
    pub torn_tail_bytes: usize,
    /// Damaged stretches inside the kept bytes. They are kept (valid entries follow them); the
    /// audit reports them.
    pub corrupt_regions: usize,
}

/// Find the torn tail of a log. Never drops a valid entry.
pub fn recover(bytes: &[u8]) -> Recovery {
    let mut r = Recovery {
        valid_len: 0,
        entries: 0,
        torn_tail_bytes: 0,
        corrupt_regions: 0,
    };
    for item in LogReader::new(bytes) {
        match item {
            Ok(entry) => {
                r.entries += 1;
                r.valid_len = entry.offset + entry.frame_len();
            }
            Err(LogDefect {
                kind: DefectKind::Corrupt,
                ..
            }) => r.corrupt_regions += 1,
            Err(LogDefect {
                offset,
                kind: DefectKind::TornTail,
                ..
            }) => r.valid_len = offset,
        }
    }
    r.torn_tail_bytes = bytes.len() - r.valid_len;
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_rejects_zero_and_absurd_lengths() {
        let mut out = [0u8; 16];
        let n = append_frame(b"x", &mut out).unwrap();
        assert_eq!(parse_at(&out[..n], 0), Some((&b"x"[..], 9)));
        // Length 0 with a CRC that matches it is still damage, not an entry.
        let zero = [0u8, 0, 0, 0];
        let mut framed = zero.to_vec();
        framed.extend_from_slice(&entry_crc(&zero, &[]).to_le_bytes());
        assert_eq!(parse_at(&framed, 0), None);
        let huge = u32::try_from(MAX_RECORD_LEN + 1).unwrap().to_le_bytes();
        assert_eq!(parse_at(&huge, 0), None);
    }
}
