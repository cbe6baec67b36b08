//! Provisioning: giving a device's state directory a certificate chain under the maker's CA.
//!
//! `sigil-host provision --state DIR` calls [`provision`] on a device's (unmounted, unlocked)
//! state directory at the factory; the device itself calls [`load_or_create_chain`] on every
//! open, which issues a self-issued chain to a device that was never provisioned, so that every
//! frame can carry a C2PA manifest all the same.
//!
//! Provisioning keeps an existing device key: the log continues under it, and only the chain
//! changes. A chain already issued by another maker CA is replaced only when asked (`force`).

use std::fs;
use std::path::Path;

use ed25519_dalek::{SigningKey, VerifyingKey};

use crate::cert::{
    CHAIN_FILE, CertError, ChainFacts, DeviceChain, certifies, check_chain, default_device_id,
    issue_device,
};
use crate::error::StateError;
use crate::state::{KEY_FILE, PUB_FILE, load_or_create_key, take_lock, write_atomic};

/// The maker CA as provisioning uses it.
#[derive(Debug)]
pub struct MakerCa<'a> {
    /// The CA's private key.
    pub key: &'a SigningKey,
    /// Its certificate, DER.
    pub cert: &'a [u8],
}

/// What [`provision`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provisioned {
    /// The device key was created now (the directory had none).
    pub created_key: bool,
    /// What the chain replaced: `None` for none, else the old CA's name.
    pub replaced: Option<String>,
    /// The chain was already issued by this CA for this key, and was kept as it is.
    pub unchanged: bool,
    /// The chain now in the directory.
    pub facts: ChainFacts,
}

/// Why provisioning failed. Nothing in the directory was changed.
#[derive(Debug, thiserror::Error)]
pub enum ProvisionError {
    /// The state directory could not be used.
    #[error(transparent)]
    State(#[from] StateError),
    /// The certificate could not be issued or checked.
    #[error(transparent)]
    Cert(#[from] CertError),
    /// Already provisioned under another maker CA.
    #[error(
        "{dir} is already provisioned under \"{ca}\" (device \"{device}\"): pass --force to re-issue its certificate under this CA (its key and log stay)"
    )]
    OtherMaker {
        /// The directory.
        dir: String,
        /// The CA it is provisioned under.
        ca: String,
        /// Its device name.
        device: String,
    },
}

/// The device's public key: from its private key in `dir`; else, when only `device.pub.pem`
/// is there, from that (the key lives in a trust core, `--trust-core serial:…|tcp:…`, which
/// wrote it); else from a key created now. Whether it was created.
fn device_public_key(dir: &Path) -> Result<(VerifyingKey, bool), StateError> {
    use ed25519_dalek::pkcs8::DecodePublicKey;
    let (private, public) = (dir.join(KEY_FILE), dir.join(PUB_FILE));
    if !private.exists() && public.exists() {
        let pem = fs::read_to_string(&public).map_err(|source| StateError::Io {
            path: public.clone(),
            source,
        })?;
        let key = VerifyingKey::from_public_key_pem(&pem).map_err(|e| StateError::BadKey {
            path: public,
            reason: e.to_string(),
        })?;
        return Ok((key, false));
    }
    let (key, created) = load_or_create_key(dir)?;
    Ok((key.verifying_key(), created))
}

/// Provision the state directory `dir`: create the device key if there is none, issue it a
/// certificate named `device_id` (default [`default_device_id`]) under `ca`, and write the chain atomically. Holds the
/// directory's lock throughout, so a running device is never provisioned under its feet.
pub fn provision(
    dir: &Path,
    ca: &MakerCa<'_>,
    device_id: Option<&str>,
    force: bool,
) -> Result<Provisioned, ProvisionError> {
    if let Some(id) = device_id {
        check_device_id(id)?;
    }
    fs::create_dir_all(dir).map_err(|source| StateError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let _lock = take_lock(dir)?;
    let (public, created_key) = device_public_key(dir)?;
    let mut replaced = None;
    if let Some(old) = read_chain(dir)? {
        let facts = old
            .as_ref()
            .map_err(Clone::clone)
            .and_then(|c| c.facts().map(|f| (c, f)));
        match facts.map(|(c, f)| (c.ca == ca.cert, f)) {
            Ok((same_ca, f))
                if same_ca
                    && f.device_key == public.to_bytes()
                    && device_id.is_none_or(|id| id == f.device_name) =>
            {
                return Ok(Provisioned {
                    created_key,
                    replaced: None,
                    unchanged: true,
                    facts: f,
                });
            }
            // A chain for another key is of no use to this device, whoever issued it.
            Ok((_, f)) if f.device_key != public.to_bytes() => {
                replaced = Some(format!("a chain for another key (under \"{}\")", f.ca_name));
            }
            Ok((_, f)) if !f.self_issued && !force => {
                return Err(ProvisionError::OtherMaker {
                    dir: dir.display().to_string(),
                    ca: f.ca_name,
                    device: f.device_name,
                });
            }
            Ok((_, f)) => replaced = Some(f.ca_name),
            // An unreadable chain is replaced: the key, not the chain, is the device's identity.
            Err(e) => replaced = Some(format!("an unreadable chain ({e})")),
        }
    }
    let id = device_id.map_or_else(|| default_device_id(public.as_bytes()), str::to_owned);
    let chain = issue_chain(ca, &public, &id)?;
    let facts = check_chain(&chain, Some(ca.cert), None)?;
    write_atomic(&dir.join(CHAIN_FILE), chain.to_pem().as_bytes(), false)?;
    Ok(Provisioned {
        created_key,
        replaced,
        unchanged: false,
        facts,
    })
}

/// Issue a chain for a public key alone: a device whose key lives in a secure element sends its
/// public key and receives the chain.
pub fn issue_chain(
    ca: &MakerCa<'_>,
    device: &VerifyingKey,
    device_id: &str,
) -> Result<DeviceChain, CertError> {
    check_device_id(device_id)?;
    let cert = issue_device(ca.key, ca.cert, device, device_id)?;
    Ok(DeviceChain {
        device: cert,
        ca: ca.cert.to_vec(),
    })
}

fn check_device_id(id: &str) -> Result<(), CertError> {
    if id.trim().is_empty() || id.len() > 64 || id.chars().any(char::is_control) {
        return Err(CertError::Issue(format!(
            "device id {id:?} must be 1 to 64 printable characters (e.g. the kiosk's serial number)"
        )));
    }
    Ok(())
}

/// The chain in `dir`, if there is a file: parsed, or why it could not be.
fn read_chain(dir: &Path) -> Result<Option<Result<DeviceChain, CertError>>, StateError> {
    let path = dir.join(CHAIN_FILE);
    match fs::read_to_string(&path) {
        Ok(text) => Ok(Some(DeviceChain::from_pem(&text))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(StateError::Io { path, source }),
    }
}

/// The device's chain, read from its state directory and checked to certify `key`; a device
/// with none gets a self-issued one (written, so later frames carry the same chain). Returns
/// the chain, what it says, and whether it was created now.
pub(crate) fn load_or_create_chain(
    dir: &Path,
    key: &VerifyingKey,
) -> Result<(DeviceChain, ChainFacts, bool), StateError> {
    let path = dir.join(CHAIN_FILE);
    let bad = |reason: String| StateError::BadChain {
        path: path.clone(),
        reason,
    };
    match fs::read_to_string(&path) {
        Ok(text) => {
            let chain = DeviceChain::from_pem(&text).map_err(|e| bad(e.to_string()))?;
            let facts = chain.facts().map_err(|e| bad(e.to_string()))?;
            certifies(&facts, &key.to_bytes()).map_err(|e| bad(e.to_string()))?;
            Ok((chain, facts, false))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let chain = crate::cert::self_issued_chain(key).map_err(|e| bad(e.to_string()))?;
            let facts = chain.facts().map_err(|e| bad(e.to_string()))?;
            write_atomic(&path, chain.to_pem().as_bytes(), false)?;
            Ok((chain, facts, true))
        }
        Err(source) => Err(StateError::Io { path, source }),
    }
}
