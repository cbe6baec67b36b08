//! Verifying a frame file: the orchestration around `sigil-provenance`'s one record check.
//!
//! Order: decode the image; read its C2PA manifest (`crate::credential`); take the record from
//! `--record`, else the PNG chunk; read the watermark (at the frame's size, then at the
//! record's or the canonical size); without a record, find it in the log by the watermark;
//! settle the device key (a trusted key as given, or the key a trusted CA certified in the
//! frame's or a given chain); check the record's signature under it (`verify_record`); compare
//! the frame hash with the decoded pixels; check the watermark against the record; check the
//! manifest (intact, declares a generated frame, carries this record, signed by this device);
//! audit the log and place the record in it.

use sigil_mark::{CANONICAL_SIDE, MarkKey};
use sigil_provenance::{
    AuditEvent, LogReader, RECORD_LEN, Record, VerifyingKey, audit_log, frame_hash, verify_record,
};

use crate::cert::{ChainFacts, DeviceChain, certifies, check_chain};
use crate::credential::{Credentials, read_credentials};
use crate::error::FrameError;
use crate::pngio::read_frame;

/// What vouches for the device that signed a record.
#[derive(Debug, Clone, Copy)]
pub enum Trust<'a> {
    /// The device's own public key.
    Key(&'a VerifyingKey),
    /// The maker CA's certificate (DER): any device it certified.
    Ca(&'a [u8]),
}

/// What to verify a frame against.
#[derive(Debug, Clone, Copy)]
pub struct VerifyInput<'a> {
    /// The frame file's bytes (PNG or JPEG).
    pub frame: &'a [u8],
    /// A record given separately (a sidecar), preferred over the PNG chunk.
    pub record: Option<&'a [u8]>,
    /// What the record's signer must be vouched for by.
    pub trust: Option<Trust<'a>>,
    /// The device's certificate chain, for a frame that no longer carries its manifest.
    pub chain: Option<&'a DeviceChain>,
    /// The device's log, pulled from it.
    pub log: Option<&'a [u8]>,
    /// The watermark key.
    pub mark_key: &'a MarkKey,
    /// Bundles the maker signed (already checked against the maker's key): the record's
    /// firmware, policy and model digests must be those of one of them. Empty: not checked.
    pub bundles: &'a [KnownBundle],
}

/// What a signed bundle says a device runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownBundle {
    /// How to name it in a report (file name, device class, version).
    pub name: String,
    /// SHA-256 of the firmware.
    pub firmware: [u8; 32],
    /// The policy digest the firmware enforces.
    pub policy: [u8; 32],
    /// SHA-256 of the model pack.
    pub model: [u8; 32],
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
    /// The frame's C2PA manifest, as read.
    pub credentials: Credentials,
    /// The device's certificate chain as checked against a trusted CA.
    pub certified: Option<ChainFacts>,
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
    let anchor = match input.trust {
        Some(Trust::Ca(der)) => Some(der),
        _ => None,
    };
    let credentials = read_credentials(input.frame, frame.format, anchor);
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
        Some(w) => notes.push(format!("watermark payload {}", hex::encode(w))),
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
            credentials,
            certified: None,
            format: frame.format,
            width: frame.width,
            height: frame.height,
        });
    };
    let (key, certified) = settle_key(input, &credentials, &bytes, &mut reasons, &mut notes);
    let record = match &key {
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
        None => Record::decode(&bytes).ok(),
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
                hex::encode(w),
                hex::encode(b.watermark)
            )),
            Some(_) => notes.push(format!("watermark matches record seq {}", b.seq)),
            None => {}
        }
        check_bundles(b, input.bundles, &mut reasons, &mut notes);
        if b.policy_digest == sigil_gate::POLICY_DIGEST {
            notes.push("policy digest is this build's policy".into());
        } else {
            notes.push(format!(
                "policy digest {} is not this build's policy",
                hex::encode(b.policy_digest)
            ));
        }
    } else {
        reasons.push("the record bytes are not a Record v1".into());
    }
    check_credentials(frame.format, &credentials, &bytes, &mut reasons, &mut notes);
    let mut log_index = None;
    if let (Some(log), Some(r), Some(key)) = (input.log, &record, &key) {
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
        credentials,
        certified,
        format: frame.format,
        width: frame.width,
        height: frame.height,
    })
}

/// The key the record must verify under: the trusted key itself, or the device key that the
/// trusted CA certified in the given chain (else the manifest's). Adds a reason when there is
/// none, and checks that the manifest's signer is the record's device.
fn settle_key(
    input: &VerifyInput<'_>,
    credentials: &Credentials,
    record: &[u8],
    reasons: &mut Vec<String>,
    notes: &mut Vec<String>,
) -> (Option<VerifyingKey>, Option<ChainFacts>) {
    let decoded = Record::decode(record).ok();
    let record_key = decoded.as_ref().map(|r| *r.device_key());
    let signer = credentials.device_chain().and_then(|c| c.facts().ok());
    if let (Some(s), Some(k)) = (&signer, record_key)
        && s.device_key != k
    {
        reasons.push(format!(
            "the C2PA manifest is signed by device \"{}\", not by the device that signed the record: the manifest was moved from another frame",
            s.device_name
        ));
    }
    match input.trust {
        None => {
            reasons.push(
                "no trust anchor: pass --trust with the maker's CA certificate or the device's public key"
                    .into(),
            );
            (None, None)
        }
        Some(Trust::Key(k)) => (Some(*k), None),
        Some(Trust::Ca(ca)) => {
            let chain = input.chain.cloned().or_else(|| credentials.device_chain());
            let Some(chain) = chain else {
                reasons.push(
                    "no device certificate to check against the CA: the frame carries no C2PA manifest; pass the device's chain with --chain (device.chain.pem)"
                        .into(),
                );
                return (None, None);
            };
            // The certificate had to be valid when the frame was sealed (if the device knew
            // the time).
            let at = decoded
                .as_ref()
                .map(|r| r.body().time_unix)
                .filter(|t| *t > 0)
                .and_then(|t| i64::try_from(t).ok());
            let facts = check_chain(&chain, Some(ca), at).and_then(|f| match record_key {
                Some(k) => certifies(&f, &k).map(|()| f),
                None => Ok(f),
            });
            match facts {
                Ok(f) => {
                    notes.push(format!(
                        "device \"{}\" ({}) is certified by the trusted CA \"{}\"",
                        f.device_name, f.device_org, f.ca_name
                    ));
                    let key = VerifyingKey::from_bytes(&f.device_key).ok();
                    (key, Some(f))
                }
                Err(e) => {
                    reasons.push(format!(
                        "the device is not certified by the trusted CA: {e}"
                    ));
                    (None, None)
                }
            }
        }
    }
}

/// The record's firmware, policy and model digests against the signed bundles.
fn check_bundles(
    b: &sigil_provenance::RecordBody,
    bundles: &[KnownBundle],
    reasons: &mut Vec<String>,
    notes: &mut Vec<String>,
) {
    if bundles.is_empty() {
        notes.push(
            "firmware, policy and model digests not checked against known bundles (pass --bundle)"
                .into(),
        );
        return;
    }
    if let Some(k) = bundles.iter().find(|k| {
        k.firmware == b.firmware_digest && k.policy == b.policy_digest && k.model == b.model_digest
    }) {
        notes.push(format!(
            "firmware, policy and model digests are those of bundle {}",
            k.name
        ));
        return;
    }
    let mut unknown = Vec::new();
    for (what, d, pick) in [
        (
            "firmware",
            b.firmware_digest,
            (|k: &KnownBundle| k.firmware) as fn(&KnownBundle) -> [u8; 32],
        ),
        ("policy", b.policy_digest, |k: &KnownBundle| k.policy),
        ("model", b.model_digest, |k: &KnownBundle| k.model),
    ] {
        if !bundles.iter().any(|k| pick(k) == d) {
            unknown.push(format!("{what} {}", hex::encode(d)));
        }
    }
    if unknown.is_empty() {
        reasons.push(
            "the record's firmware, policy and model digests each appear in a known bundle, but in no single one: the device ran a mix no maker signed"
                .into(),
        );
    } else {
        reasons.push(format!(
            "the record names digests in none of the {} known bundles ({}): the device ran software its maker did not sign, or pass the bundle it was flashed with",
            bundles.len(),
            unknown.join(", ")
        ));
    }
}

/// What the C2PA manifest says about this frame and record.
fn check_credentials(
    format: &str,
    c: &Credentials,
    record: &[u8],
    reasons: &mut Vec<String>,
    notes: &mut Vec<String>,
) {
    if !c.present {
        if format == "png" {
            reasons.push(
                "the PNG carries no C2PA manifest: it was stripped (every Sigil frame is released with one)"
                    .into(),
            );
        } else {
            notes.push(format!("no C2PA manifest (a {format} copy)"));
        }
        return;
    }
    if let Some(e) = &c.unreadable {
        reasons.push(format!(
            "the C2PA manifest is damaged and cannot be read: {e}"
        ));
        return;
    }
    for f in &c.failures {
        reasons.push(format!("C2PA manifest check failed: {f}"));
    }
    if !c.generated {
        reasons.push(
            "the C2PA manifest does not declare the frame as created by a trained model (c2pa.created, trainedAlgorithmicMedia)"
                .into(),
        );
    }
    match &c.record {
        Some(r) if r.as_slice() == record => {
            notes.push("the C2PA manifest carries this record".into());
        }
        Some(_) => reasons.push(
            "the C2PA manifest carries another record than this frame's: one of them was swapped"
                .into(),
        ),
        None => reasons.push(format!(
            "the C2PA manifest has no readable {} assertion",
            crate::credential::RECORD_ASSERTION
        )),
    }
    if c.failures.is_empty() {
        notes.push(format!(
            "C2PA manifest intact ({})",
            c.state.unwrap_or("unknown")
        ));
    }
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
