//! Verifying a frame file: the orchestration around `sigil-provenance`'s one record check.
//!
//! Order: decode the image; take the record from `--record`, else the PNG chunk; read the
//! watermark (at the frame's size, then at the record's or the canonical size); without a
//! record, find it in the log by the watermark; check the record's signature against the
//! trusted key (`verify_record`); compare the frame hash with the decoded pixels; check the
//! watermark against the record; audit the log and place the record in it.

use sigil_mark::{CANONICAL_SIDE, MarkKey};
use sigil_provenance::{
    AuditEvent, LogReader, RECORD_LEN, Record, VerifyingKey, audit_log, frame_hash, verify_record,
};

use crate::error::FrameError;
use crate::pngio::read_frame;

/// What to verify a frame against.
#[derive(Debug, Clone, Copy)]
pub struct VerifyInput<'a> {
    /// The frame file's bytes (PNG or JPEG).
    pub frame: &'a [u8],
    /// A record given separately (a sidecar), preferred over the PNG chunk.
    pub record: Option<&'a [u8]>,
    /// The device key the record must be signed by.
    pub trust: Option<&'a VerifyingKey>,
    /// The device's log, pulled from it.
    pub log: Option<&'a [u8]>,
    /// The watermark key.
    pub mark_key: &'a MarkKey,
}

/// Where the record came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordSource {
    /// The `--record` file.
    Sidecar,
    /// The PNG's record chunk.
    Chunk,
    /// The log, found by the watermark.
    Log,
}

/// The verdict on a frame.
#[derive(Debug, Clone, PartialEq)]
pub struct FrameReport {
    /// True only when every check passed: trusted signature, pixels equal the sealed frame,
    /// watermark consistent, and (with a log) the record in an intact chain.
    pub valid: bool,
    /// Every failed check, in words that say what to do.
    pub reasons: Vec<String>,
    /// What was found and checked, failing or not.
    pub notes: Vec<String>,
    /// The record, when one was found (verified or not: see `reasons`).
    pub record: Option<Record>,
    /// Where it came from.
    pub source: Option<RecordSource>,
    /// The watermark payload read from the pixels.
    pub watermark: Option<[u8; 8]>,
    /// The decoded pixels hash to the record's frame hash.
    pub pixels_match: bool,
    /// The record is in the log at this index, with the chain intact up to it.
    pub log_index: Option<usize>,
    /// The decoded image's format and size.
    pub format: &'static str,
    /// Width as decoded.
    pub width: u32,
    /// Height as decoded.
    pub height: u32,
}

/// Verify a frame. Errors only for a file that is not an image; everything else is a verdict.
pub fn verify_frame(input: &VerifyInput<'_>) -> Result<FrameReport, FrameError> {
    let frame = read_frame(input.frame)?;
    let mut reasons = Vec::new();
    let mut notes = Vec::new();
    if let Some(p) = &frame.record_problem {
        reasons.push(format!("{p}: the frame's embedded record is damaged"));
    }
    let (mut bytes, mut source) = match (input.record, &frame.record) {
        (Some(r), _) => (Some(r.to_vec()), Some(RecordSource::Sidecar)),
        (None, Some(r)) => (Some(r.clone()), Some(RecordSource::Chunk)),
        (None, None) => (None, None),
    };
    // The size to read the mark at: the frame's own, then the record's, then the canonical.
    let claimed = bytes
        .as_deref()
        .and_then(|b| Record::decode(b).ok())
        .map(|r| (u32::from(r.body().width), u32::from(r.body().height)));
    let watermark = read_mark(
        &frame.rgb,
        frame.width,
        frame.height,
        claimed,
        input.mark_key,
    );
    match watermark {
        Some(w) => notes.push(format!("watermark payload {}", hex(&w))),
        None => notes.push("no watermark found".into()),
    }
    if bytes.is_none()
        && let (Some(log), Some(w)) = (input.log, watermark)
        && let Some(found) = find_by_watermark(log, &w)
    {
        notes.push("record found in the log by the watermark".into());
        bytes = Some(found);
        source = Some(RecordSource::Log);
    }
    let Some(bytes) = bytes else {
        reasons.push(
            "no record: the frame has no record chunk, no --record was given, and no log entry matches its watermark (pass the device's log with --log)"
                .into(),
        );
        return Ok(FrameReport {
            valid: false,
            reasons,
            notes,
            record: None,
            source: None,
            watermark,
            pixels_match: false,
            log_index: None,
            format: frame.format,
            width: frame.width,
            height: frame.height,
        });
    };
    let record = match input.trust {
        Some(key) => match verify_record(&bytes, key) {
            Ok(r) => {
                notes.push("signature verifies under the trusted key".into());
                Some(r)
            }
            Err(e) => {
                reasons.push(format!("record does not verify under the trusted key: {e}"));
                Record::decode(&bytes).ok()
            }
        },
        None => {
            reasons.push("no trust anchor: pass --trust with the device's public key".into());
            Record::decode(&bytes).ok()
        }
    };
    let mut pixels_match = false;
    if let Some(r) = &record {
        let b = r.body();
        let (w, h) = (u16::try_from(frame.width), u16::try_from(frame.height));
        pixels_match =
            matches!((w, h), (Ok(w), Ok(h)) if frame_hash(w, h, &frame.rgb) == b.frame_hash);
        if !pixels_match {
            reasons.push(format!(
                "the pixels are not the sealed frame ({} {}×{} against a sealed {}×{}): edited or re-encoded",
                frame.format, frame.width, frame.height, b.width, b.height
            ));
        }
        match watermark {
            Some(w) if w != b.watermark => reasons.push(format!(
                "the watermark ({}) belongs to another frame than this record's ({})",
                hex(&w),
                hex(&b.watermark)
            )),
            Some(_) => notes.push(format!("watermark matches record seq {}", b.seq)),
            None => {}
        }
        if b.policy_digest == sigil_gate::POLICY_DIGEST {
            notes.push("policy digest is this build's policy".into());
        } else {
            notes.push(format!(
                "policy digest {} is not this build's policy",
                hex(&b.policy_digest)
            ));
        }
    } else {
        reasons.push("the record bytes are not a Record v1".into());
    }
    let mut log_index = None;
    if let (Some(log), Some(r), Some(key)) = (input.log, &record, input.trust) {
        log_index = place_in_log(log, r, key, &mut reasons, &mut notes);
    }
    Ok(FrameReport {
        valid: reasons.is_empty(),
        reasons,
        notes,
        record,
        source,
        watermark,
        pixels_match,
        log_index,
        format: frame.format,
        width: frame.width,
        height: frame.height,
    })
}

fn read_mark(
    rgb: &[u8],
    w: u32,
    h: u32,
    claimed: Option<(u32, u32)>,
    key: &MarkKey,
) -> Option<[u8; 8]> {
    let at = |tw: u32, th: u32| {
        sigil_mark::detect_at(rgb, w, h, tw, th, key)
            .ok()
            .and_then(|d| d.payload)
    };
    // Each size at most once: every read is one more chance of a false match.
    let mut sizes = vec![(w, h)];
    for size in claimed
        .into_iter()
        .chain([(CANONICAL_SIDE, CANONICAL_SIDE)])
    {
        if !sizes.contains(&size) {
            sizes.push(size);
        }
    }
    sizes.into_iter().find_map(|(tw, th)| at(tw, th))
}

fn find_by_watermark(log: &[u8], w: &[u8; 8]) -> Option<Vec<u8>> {
    LogReader::new(log)
        .filter_map(Result::ok)
        .filter(|e| e.bytes.len() == RECORD_LEN)
        .find(|e| Record::decode(e.bytes).is_ok_and(|r| r.body().watermark == *w))
        .map(|e| e.bytes.to_vec())
}

/// Audit the whole log and say where the record sits in it.
fn place_in_log(
    log: &[u8],
    record: &Record,
    key: &VerifyingKey,
    reasons: &mut Vec<String>,
    notes: &mut Vec<String>,
) -> Option<usize> {
    let mut index = None;
    let mut first_break: Option<String> = None;
    let summary = audit_log(log, key, |event| match event {
        AuditEvent::Record {
            index: i,
            record: r,
            ..
        } => {
            if r == record && first_break.is_none() {
                index = Some(i);
            }
        }
        AuditEvent::Break { brk, .. } => {
            first_break.get_or_insert_with(|| brk.to_string());
        }
    });
    match (index, &first_break) {
        (Some(i), _) => notes.push(format!(
            "record is entry {i} of the log, chain intact up to it ({} records checked)",
            summary.records_checked
        )),
        (None, Some(b)) => reasons.push(format!(
            "the record is not in the log's intact prefix; the chain breaks first at: {b}"
        )),
        (None, None) => reasons.push(
            "the record is not in the log: pull the log again from the device (`sigil-host pull-log`) or check that it is this device's"
                .into(),
        ),
    }
    if let Some(b) = first_break {
        notes.push(format!(
            "the log's chain breaks: {b} (run `sigil-host audit`)"
        ));
    }
    index
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
