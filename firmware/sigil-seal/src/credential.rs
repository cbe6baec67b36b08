//! Content Credentials: the C2PA manifest every released PNG carries, and reading it back.
//!
//! The manifest says what any Content Credentials tool should show: the frame was created
//! (`c2pa.created`) by a trained model (`trainedAlgorithmicMedia`); our signed record rides
//! along as the assertion [`RECORD_ASSERTION`]. The claim is signed with the device key through
//! the trust core ([`Sealer::sign_credential`]) under the device's certificate chain, and its
//! hard binding (`c2pa.hash.data`) covers every byte of the PNG outside the manifest, so the
//! pixels and the `sgRC` chunk are both bound. No thumbnail, no time-stamp authority, no
//! network: everything works offline.
//!
//! Reading goes through the `c2pa` crate's own validation; [`read_credentials`] turns its
//! status codes into facts, and `crate::verify` decides what they mean for a frame.

use std::io::Cursor;

use c2pa::{Builder, Context, Reader, Settings, SigningAlg, ValidationState};
use serde_json::json;
use sigil_provenance::{RECORD_LEN, Record};

use crate::trust::TrustCore;

use crate::cert::{DeviceChain, certs_from_pem, to_pem};
use crate::error::FrameError;

/// The label of the assertion that carries the record.
pub const RECORD_ASSERTION: &str = "org.sigil.record";
/// IPTC digital source type of a generated frame.
pub const SOURCE_TYPE: &str =
    "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia";
/// The one status code that only says no trust anchor vouched for the signer.
const UNTRUSTED: &str = "signingCredential.untrusted";

/// The device key, through the trust core, as the C2PA claim signer.
struct DeviceSigner<'a> {
    core: &'a TrustCore,
    certs: Vec<Vec<u8>>,
}

impl c2pa::Signer for DeviceSigner<'_> {
    fn sign(&self, data: &[u8]) -> c2pa::Result<Vec<u8>> {
        self.core
            .sign_credential(data)
            .map(|s| s.to_vec())
            .map_err(|e| c2pa::Error::OtherError(e.to_string().into()))
    }
    fn alg(&self) -> SigningAlg {
        SigningAlg::Ed25519
    }
    fn certs(&self) -> c2pa::Result<Vec<Vec<u8>>> {
        Ok(self.certs.clone())
    }
    fn reserve_size(&self) -> usize {
        // The COSE signature with its headers, plus the chain in `x5chain`.
        1024 + self.certs.iter().map(Vec::len).sum::<usize>()
    }
}

/// What signs a frame's Content Credentials: the device key (through the trust core) and the
/// chain that certifies it. [`DeviceState::frame_signer`](crate::DeviceState::frame_signer)
/// gives one.
#[derive(Debug, Clone, Copy)]
pub struct FrameSigner<'a> {
    /// The trust core, which holds the device key.
    pub core: &'a TrustCore,
    /// The device's chain.
    pub chain: &'a DeviceChain,
}

/// Add the C2PA manifest to an encoded PNG (which already holds the record chunk) and return
/// the new file. `title` is the frame's file name.
pub fn add_credentials(
    png: &[u8],
    record: &Record,
    signer: &FrameSigner<'_>,
    title: &str,
) -> Result<Vec<u8>, FrameError> {
    let (core, chain) = (signer.core, signer.chain);
    let err = |e: c2pa::Error| FrameError::Credentials(e.to_string());
    let mut bytes = [0u8; RECORD_LEN];
    record.encode(&mut bytes);
    let mut builder = Builder::from_context(Context::new())
        .with_definition(json!({
            "claim_generator_info": [{"name": "sigil", "version": env!("CARGO_PKG_VERSION")}],
            "title": title,
            "format": "image/png",
        }))
        .map_err(err)?;
    builder
        .add_action(json!({"action": "c2pa.created", "digitalSourceType": SOURCE_TYPE}))
        .map_err(err)?;
    builder
        .add_assertion(
            RECORD_ASSERTION,
            &json!({
                "version": 1,
                "sequence": record.body().seq,
                "record": hex::encode(bytes),
            }),
        )
        .map_err(err)?;
    let signer = DeviceSigner {
        core,
        certs: vec![chain.device.clone(), chain.ca.clone()],
    };
    let mut out = Cursor::new(Vec::with_capacity(png.len() + 8192));
    builder
        .sign(&signer, "image/png", &mut Cursor::new(png), &mut out)
        .map_err(err)?;
    Ok(out.into_inner())
}

/// What a frame's C2PA manifest says.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Credentials {
    /// A manifest was found.
    pub present: bool,
    /// The manifest could not be read at all (damaged JUMBF, bad box); `present` is true.
    pub unreadable: Option<String>,
    /// `c2pa`'s verdict: "invalid", "valid" (signature and bindings good, signer not vouched
    /// for) or "trusted" (signer chains to the trust anchor given).
    pub state: Option<&'static str>,
    /// Failed checks other than "no trust anchor", as `code: explanation`.
    pub failures: Vec<String>,
    /// The manifest says `c2pa.created` from `trainedAlgorithmicMedia`.
    pub generated: bool,
    /// The record bytes in [`RECORD_ASSERTION`] (untrustworthy unless `failures` is empty).
    pub record: Option<Vec<u8>>,
    /// The signer's certificate chain, DER, end entity first.
    pub chain: Vec<Vec<u8>>,
}

/// Read a file's C2PA manifest. `anchor` is a trusted CA certificate (DER): the state is
/// "trusted" only if the signer chains to it. Never fails: a missing or damaged manifest is a
/// fact in the result.
pub fn read_credentials(bytes: &[u8], format: &str, anchor: Option<&[u8]>) -> Credentials {
    let mime = match format {
        "png" => "image/png",
        "jpeg" => "image/jpeg",
        _ => return Credentials::default(),
    };
    let mut settings = Settings::default();
    if let Some(a) = anchor {
        settings.trust.user_anchors = Some(to_pem(a));
    }
    let reader = Context::new()
        .with_settings(settings)
        .and_then(|ctx| Reader::from_context(ctx).with_stream(mime, Cursor::new(bytes)));
    let reader = match reader {
        Ok(r) => r,
        Err(c2pa::Error::JumbfNotFound) => return Credentials::default(),
        Err(e) => {
            return Credentials {
                present: true,
                unreadable: Some(e.to_string()),
                ..Credentials::default()
            };
        }
    };
    let mut out = Credentials {
        present: true,
        state: Some(match reader.validation_state() {
            ValidationState::Invalid => "invalid",
            ValidationState::Valid => "valid",
            ValidationState::Trusted => "trusted",
        }),
        ..Credentials::default()
    };
    if let Some(active) = reader
        .validation_results()
        .and_then(|r| r.active_manifest())
    {
        out.failures = active
            .failure()
            .iter()
            .filter(|s| s.code() != UNTRUSTED)
            .map(|s| match s.explanation() {
                Some(e) => format!("{}: {e}", s.code()),
                None => s.code().to_owned(),
            })
            .collect();
    }
    let Some(m) = reader.active_manifest() else {
        out.failures.push("no active manifest".into());
        return out;
    };
    out.generated = ["c2pa.actions.v2", "c2pa.actions"].iter().any(|label| {
        m.find_assertion::<serde_json::Value>(label)
            .ok()
            .and_then(|v| v.get("actions").and_then(|a| a.as_array()).cloned())
            .is_some_and(|actions| {
                actions.iter().any(|a| {
                    a.get("action").and_then(|x| x.as_str()) == Some("c2pa.created")
                        && a.get("digitalSourceType").and_then(|x| x.as_str()) == Some(SOURCE_TYPE)
                })
            })
    });
    out.record = m
        .find_assertion::<serde_json::Value>(RECORD_ASSERTION)
        .ok()
        .and_then(|v| v.get("record").and_then(|r| r.as_str()).map(str::to_owned))
        .and_then(|h| hex::decode(h).ok());
    if let Some(info) = m.signature_info() {
        out.chain = certs_from_pem(&info.cert_chain).unwrap_or_default();
    }
    out
}

impl Credentials {
    /// The signer's chain as a device chain (device certificate then its CA), if it is one.
    pub fn device_chain(&self) -> Option<DeviceChain> {
        match self.chain.as_slice() {
            [device, ca] => Some(DeviceChain {
                device: device.clone(),
                ca: ca.clone(),
            }),
            _ => None,
        }
    }
}
