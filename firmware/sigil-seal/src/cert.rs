//! Certificates: the maker's CA, device certificates issued under it, and checking a device's
//! chain against a trusted CA.
//!
//! Every key is Ed25519 and stays an `ed25519_dalek::SigningKey`; `rcgen` only lays out the
//! DER (it signs through [`DalekKey`], so no second crypto stack is involved), and
//! `x509-parser` only reads it back. A device's chain is two certificates, device then CA, in
//! `STATE/device.chain.pem`.
//!
//! The device certificate is made to C2PA's signer profile (C2PA 2.x, "Certificate Profile"):
//! X.509 v3, not a CA, `digitalSignature` key usage, an extended key usage that C2PA accepts
//! (document signing, `1.3.6.1.5.5.7.3.36`), subject and authority key identifiers.
//!
//! A device that was never provisioned still gets a chain, so that every frame can carry a C2PA
//! manifest: at first use it issues itself one under a throw-away CA whose key is dropped at
//! once ("self-issued"). Such a chain proves nothing beyond the record's own key, and
//! [`check_chain`] says so unless that very CA is trusted.

use std::time::{SystemTime, UNIX_EPOCH};

use ed25519_dalek::{Signature, SigningKey, Verifier, VerifyingKey};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, DnValue,
    ExtendedKeyUsagePurpose, IsCa, Issuer, KeyIdMethod, KeyUsagePurpose, PKCS_ED25519,
    PublicKeyData, SerialNumber,
};
use sha2::{Digest, Sha256};
use x509_parser::prelude::{FromDer, X509Certificate};

/// File name of a device's certificate chain inside its state directory.
pub const CHAIN_FILE: &str = "device.chain.pem";

/// The organisation named in a self-issued chain.
pub const SELF_ISSUED_ORG: &str = "Sigil (unprovisioned device, self-issued)";

/// id-kp-documentSigning (RFC 9336), one of the extended key usages C2PA accepts for signers.
const EKU_DOCUMENT_SIGNING: &[u64] = &[1, 3, 6, 1, 5, 5, 7, 3, 36];
/// id-Ed25519 (RFC 8410).
const OID_ED25519: &str = "1.3.101.112";

/// A maker CA is valid this long.
const CA_YEARS: i64 = 25;
/// A device certificate is valid this long (a kiosk's service life, with margin).
const DEVICE_YEARS: i64 = 15;
/// Certificates start this far in the past, so a device whose clock is a little behind the
/// provisioning station's still sees them valid.
const BACKDATE_S: i64 = 24 * 3600;
const YEAR_S: i64 = 365 * 24 * 3600 + 6 * 3600;

/// What went wrong making or checking a certificate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertError {
    /// A PEM or DER blob is not a certificate.
    #[error("not an X.509 certificate ({0})")]
    Malformed(String),
    /// A certificate's key or signature is not Ed25519.
    #[error("{what} is not Ed25519 ({oid}): Sigil's CAs and devices use Ed25519 only")]
    NotEd25519 {
        /// Which certificate.
        what: &'static str,
        /// The algorithm found.
        oid: String,
    },
    /// The CA certificate is not a CA.
    #[error(
        "{0} is not a CA certificate (no basicConstraints CA:TRUE with keyCertSign): pass the maker CA's certificate (`ca.crt.pem` from `sigil-host ca init`)"
    )]
    NotCa(String),
    /// The device certificate is not one a device signs with.
    #[error("the device certificate is not a signer certificate: {0}")]
    NotSigner(String),
    /// The device certificate was not issued by the given CA.
    #[error("the device certificate ({device}) was not issued by {ca}: {why}")]
    WrongIssuer {
        /// The device certificate's subject.
        device: String,
        /// The CA's subject.
        ca: String,
        /// Name mismatch or a bad signature.
        why: String,
    },
    /// Outside the validity period.
    #[error("{what} is not valid at {at} (valid {from} to {until}, Unix seconds)")]
    Expired {
        /// Which certificate.
        what: &'static str,
        /// The time checked.
        at: i64,
        /// notBefore.
        from: i64,
        /// notAfter.
        until: i64,
    },
    /// The chain certifies another key than the one that signed the record.
    #[error(
        "the device certificate is for key {cert_key}, but the record was signed by {record_key}: the chain belongs to another device"
    )]
    KeyMismatch {
        /// Hex of the certified key.
        cert_key: String,
        /// Hex of the record's key.
        record_key: String,
    },
    /// A chain file does not hold two certificates.
    #[error(
        "a device chain holds the device certificate then its CA's, {found} found: re-run `sigil-host provision`"
    )]
    ChainShape {
        /// How many certificates were found.
        found: usize,
    },
    /// rcgen refused the parameters.
    #[error("cannot issue the certificate: {0}")]
    Issue(String),
}

/// An Ed25519 key as rcgen's signer: rcgen lays out the certificate, dalek signs it.
struct DalekKey<'a> {
    key: &'a SigningKey,
    public: [u8; 32],
}

impl<'a> DalekKey<'a> {
    fn new(key: &'a SigningKey) -> Self {
        Self {
            key,
            public: key.verifying_key().to_bytes(),
        }
    }
}

impl PublicKeyData for DalekKey<'_> {
    fn der_bytes(&self) -> &[u8] {
        &self.public
    }
    fn algorithm(&self) -> &'static rcgen::SignatureAlgorithm {
        &PKCS_ED25519
    }
}

impl rcgen::SigningKey for DalekKey<'_> {
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, rcgen::Error> {
        use ed25519_dalek::Signer;
        Ok(self.key.sign(msg).to_bytes().to_vec())
    }
}

/// A public key alone (a device key certified without its private half, e.g. one that lives in
/// a secure element).
struct PublicOnly([u8; 32]);

impl PublicKeyData for PublicOnly {
    fn der_bytes(&self) -> &[u8] {
        &self.0
    }
    fn algorithm(&self) -> &'static rcgen::SignatureAlgorithm {
        &PKCS_ED25519
    }
}

/// RFC 7093 method 1: the leftmost 160 bits of SHA-256 over the subjectPublicKey.
fn key_id(public: &[u8; 32]) -> Vec<u8> {
    Sha256::digest(public)
        .get(..20)
        .map(<[u8]>::to_vec)
        .unwrap_or_default()
}

/// A positive, 16-byte random serial number (RFC 5280: unique per CA, at most 20 bytes).
fn serial() -> Result<SerialNumber, CertError> {
    let mut s = [0u8; 16];
    getrandom::fill(&mut s).map_err(|e| CertError::Issue(format!("OS RNG failed: {e}")))?;
    s[0] = (s[0] & 0x7f) | 0x40;
    Ok(SerialNumber::from_slice(&s))
}

fn offset_time(unix: i64) -> Result<time::OffsetDateTime, CertError> {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .map_err(|e| CertError::Issue(format!("time {unix} out of range: {e}")))
}

/// Seconds since the Unix epoch now (0 if the clock is before it).
pub fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

fn ca_params(
    org: &str,
    name: &str,
    key: &SigningKey,
    now: i64,
) -> Result<CertificateParams, CertError> {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, org);
    dn.push(DnType::CommonName, name);
    let mut p = CertificateParams::default();
    p.distinguished_name = dn;
    p.not_before = offset_time(now - BACKDATE_S)?;
    p.not_after = offset_time(now + CA_YEARS * YEAR_S)?;
    p.serial_number = Some(serial()?);
    // Devices sit directly under the maker CA: no intermediates.
    p.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    p.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    p.key_identifier_method = KeyIdMethod::PreSpecified(key_id(&key.verifying_key().to_bytes()));
    Ok(p)
}

/// A self-signed maker CA certificate (DER) for `key`: organisation `org`, common name `name`.
pub fn new_ca(key: &SigningKey, org: &str, name: &str) -> Result<Vec<u8>, CertError> {
    let params = ca_params(org, name, key, now_unix())?;
    let cert = params
        .self_signed(&DalekKey::new(key))
        .map_err(|e| CertError::Issue(e.to_string()))?;
    Ok(cert.der().to_vec())
}

/// Issue a device certificate (DER) for `device` under the CA (`ca_key`, `ca_cert` DER). The
/// subject's common name is `device_id`, its organisation the CA's.
pub fn issue_device(
    ca_key: &SigningKey,
    ca_cert: &[u8],
    device: &VerifyingKey,
    device_id: &str,
) -> Result<Vec<u8>, CertError> {
    let ca = parse(ca_cert, "the CA certificate")?;
    check_ca(&ca)?;
    if ca.public_key().subject_public_key.data.as_ref() != ca_key.verifying_key().as_bytes() {
        return Err(CertError::Issue(
            "the CA key does not belong to the CA certificate: pass the ca.key.pem written beside this ca.crt.pem".into(),
        ));
    }
    // The issuer as rcgen needs it, rebuilt from the CA certificate (rcgen's own parser path
    // wants ring). The issued certificate is checked against the CA below, so a CA whose name
    // this does not reproduce byte for byte is refused rather than mis-issued.
    let (ca_name, org) = name_of(&ca);
    let mut ca_dn = DistinguishedName::new();
    ca_dn.push(DnType::OrganizationName, org.as_str());
    ca_dn.push(DnType::CommonName, ca_name.as_str());
    let mut ca_p = CertificateParams::default();
    ca_p.distinguished_name = ca_dn;
    ca_p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    ca_p.key_identifier_method =
        KeyIdMethod::PreSpecified(key_id(&ca_key.verifying_key().to_bytes()));
    let issuer = Issuer::new(ca_p, DalekKey::new(ca_key));
    let now = now_unix();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, DnValue::Utf8String(org));
    dn.push(
        DnType::CommonName,
        DnValue::Utf8String(device_id.to_owned()),
    );
    let mut p = CertificateParams::default();
    p.distinguished_name = dn;
    p.not_before = offset_time(now - BACKDATE_S)?;
    p.not_after = offset_time(now + DEVICE_YEARS * YEAR_S)?;
    p.serial_number = Some(serial()?);
    p.is_ca = IsCa::ExplicitNoCa;
    p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    p.extended_key_usages = vec![ExtendedKeyUsagePurpose::Other(
        EKU_DOCUMENT_SIGNING.to_vec(),
    )];
    p.use_authority_key_identifier_extension = true;
    p.key_identifier_method = KeyIdMethod::PreSpecified(key_id(device.as_bytes()));
    let cert = p
        .signed_by(&PublicOnly(device.to_bytes()), &issuer)
        .map_err(|e| CertError::Issue(e.to_string()))?;
    let chain = DeviceChain {
        device: cert.der().to_vec(),
        ca: ca_cert.to_vec(),
    };
    check_chain(&chain, None, None).map_err(|e| {
        CertError::Issue(format!(
            "the issued certificate does not check against the CA ({e}): use a CA made by `sigil-host ca init`"
        ))
    })?;
    Ok(chain.device)
}

/// A chain for a device that was never provisioned: a throw-away CA (its key is dropped when
/// this returns) issues the device's certificate. Returns (device DER, CA DER).
pub fn self_issued_chain(public: &VerifyingKey) -> Result<DeviceChain, CertError> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| CertError::Issue(format!("OS RNG failed: {e}")))?;
    let ca_key = SigningKey::from_bytes(&seed);
    seed.fill(0);
    let id = default_device_id(public.as_bytes());
    let ca = new_ca(&ca_key, SELF_ISSUED_ORG, &format!("self-issued CA of {id}"))?;
    let dev = issue_device(&ca_key, &ca, public, &id)?;
    Ok(DeviceChain { device: dev, ca })
}

/// A device's name when the maker gives none: `sigil-` and the first 8 bytes of its key, hex.
pub fn default_device_id(public: &[u8; 32]) -> String {
    let tag: String = public.iter().take(8).map(|x| format!("{x:02x}")).collect();
    format!("sigil-{tag}")
}

/// A device's certificate and its CA's, DER.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceChain {
    /// The device (end-entity) certificate.
    pub device: Vec<u8>,
    /// The CA that issued it.
    pub ca: Vec<u8>,
}

impl DeviceChain {
    /// PEM, device first.
    pub fn to_pem(&self) -> String {
        let mut s = to_pem(&self.device);
        s.push_str(&to_pem(&self.ca));
        s
    }

    /// Read a chain written by [`DeviceChain::to_pem`].
    pub fn from_pem(text: &str) -> Result<Self, CertError> {
        let mut certs = certs_from_pem(text)?;
        if certs.len() != 2 {
            return Err(CertError::ChainShape { found: certs.len() });
        }
        let ca = certs.pop().unwrap_or_default();
        let device = certs.pop().unwrap_or_default();
        Ok(Self { device, ca })
    }

    /// What the chain says, checked for shape and signature but not against any trust anchor.
    pub fn facts(&self) -> Result<ChainFacts, CertError> {
        check_chain(self, None, None)
    }
}

/// One certificate as PEM.
pub fn to_pem(der: &[u8]) -> String {
    use ed25519_dalek::pkcs8::spki::der::pem::{LineEnding, encode_string};
    // Only fails for a label that is not PEM-safe; "CERTIFICATE" is.
    encode_string("CERTIFICATE", LineEnding::LF, der).unwrap_or_default()
}

/// Every `CERTIFICATE` block in a PEM text, DER, in order.
pub fn certs_from_pem(text: &str) -> Result<Vec<Vec<u8>>, CertError> {
    let mut out = Vec::new();
    for block in x509_parser::pem::Pem::iter_from_buffer(text.as_bytes()) {
        let block = block.map_err(|e| CertError::Malformed(e.to_string()))?;
        if block.label == "CERTIFICATE" {
            out.push(block.contents);
        }
    }
    Ok(out)
}

/// What a checked chain says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainFacts {
    /// The device certificate's common name.
    pub device_name: String,
    /// Its organisation.
    pub device_org: String,
    /// Its serial number, hex.
    pub serial: String,
    /// The CA's common name.
    pub ca_name: String,
    /// The CA's organisation.
    pub ca_org: String,
    /// The certified device key.
    pub device_key: [u8; 32],
    /// SHA-256 of the CA certificate (DER), hex: how a CA is named in reports.
    pub ca_fingerprint: String,
    /// The device certificate's validity, Unix seconds.
    pub not_before: i64,
    /// notAfter.
    pub not_after: i64,
    /// The chain was made by an unprovisioned device for itself.
    pub self_issued: bool,
}

fn parse<'a>(der: &'a [u8], what: &'static str) -> Result<X509Certificate<'a>, CertError> {
    let (rest, cert) =
        X509Certificate::from_der(der).map_err(|e| CertError::Malformed(format!("{what}: {e}")))?;
    if !rest.is_empty() {
        return Err(CertError::Malformed(format!(
            "{what}: {} bytes after the certificate",
            rest.len()
        )));
    }
    Ok(cert)
}

fn ed25519_key(cert: &X509Certificate<'_>, what: &'static str) -> Result<VerifyingKey, CertError> {
    let spki = cert.public_key();
    let oid = spki.algorithm.algorithm.to_id_string();
    if oid != OID_ED25519 {
        return Err(CertError::NotEd25519 { what, oid });
    }
    let bytes: [u8; 32] = spki
        .subject_public_key
        .data
        .as_ref()
        .try_into()
        .map_err(|_| CertError::Malformed(format!("{what}: Ed25519 key is not 32 bytes")))?;
    VerifyingKey::from_bytes(&bytes)
        .map_err(|e| CertError::Malformed(format!("{what}: bad Ed25519 key: {e}")))
}

fn name_of(cert: &X509Certificate<'_>) -> (String, String) {
    let cn = cert
        .subject()
        .iter_common_name()
        .next()
        .and_then(|v| v.as_str().ok())
        .unwrap_or("")
        .to_owned();
    let o = cert
        .subject()
        .iter_organization()
        .next()
        .and_then(|v| v.as_str().ok())
        .unwrap_or("")
        .to_owned();
    (cn, o)
}

fn check_ca(ca: &X509Certificate<'_>) -> Result<(), CertError> {
    let subject = ca.subject().to_string();
    let is_ca = ca
        .basic_constraints()
        .ok()
        .flatten()
        .is_some_and(|b| b.value.ca);
    let signs_certs = ca
        .key_usage()
        .ok()
        .flatten()
        .is_some_and(|k| k.value.key_cert_sign());
    if !(is_ca && signs_certs) {
        return Err(CertError::NotCa(subject));
    }
    ed25519_key(ca, "the CA certificate")?;
    Ok(())
}

/// Verify `cert`'s signature with `issuer_key`: Ed25519 over the TBSCertificate's DER.
fn signed_by(cert: &X509Certificate<'_>, issuer_key: &VerifyingKey) -> Result<(), String> {
    let oid = cert.signature_algorithm.algorithm.to_id_string();
    if oid != OID_ED25519 {
        return Err(format!("signature algorithm {oid} is not Ed25519"));
    }
    let sig = Signature::from_slice(cert.signature_value.data.as_ref())
        .map_err(|e| format!("malformed signature: {e}"))?;
    issuer_key
        .verify(cert.tbs_certificate.as_ref(), &sig)
        .map_err(|_| "the issuer's signature does not verify".to_owned())
}

/// Check a device chain: shapes, the CA's signature on the device certificate, and, when given,
/// that the CA is `anchor` (DER, compared byte for byte) and that both are valid at `at` (Unix
/// seconds). The CA's self-signature is checked too. Without an anchor this proves only that
/// the chain is well formed.
pub fn check_chain(
    chain: &DeviceChain,
    anchor: Option<&[u8]>,
    at: Option<i64>,
) -> Result<ChainFacts, CertError> {
    let ca = parse(&chain.ca, "the CA certificate")?;
    let dev = parse(&chain.device, "the device certificate")?;
    check_ca(&ca)?;
    let ca_key = ed25519_key(&ca, "the CA certificate")?;
    signed_by(&ca, &ca_key).map_err(|why| CertError::NotCa(format!("{} ({why})", ca.subject())))?;
    let device_key = ed25519_key(&dev, "the device certificate")?;
    if dev.is_ca() {
        return Err(CertError::NotSigner("it is a CA certificate".into()));
    }
    if !dev
        .key_usage()
        .ok()
        .flatten()
        .is_some_and(|k| k.value.digital_signature())
    {
        return Err(CertError::NotSigner("no digitalSignature key usage".into()));
    }
    if dev.issuer().as_raw() != ca.subject().as_raw() {
        return Err(CertError::WrongIssuer {
            device: dev.subject().to_string(),
            ca: ca.subject().to_string(),
            why: format!("its issuer is {}", dev.issuer()),
        });
    }
    signed_by(&dev, &ca_key).map_err(|why| CertError::WrongIssuer {
        device: dev.subject().to_string(),
        ca: ca.subject().to_string(),
        why,
    })?;
    if let Some(anchor) = anchor
        && anchor != chain.ca.as_slice()
    {
        let trusted = parse(anchor, "the trusted CA certificate")?;
        return Err(CertError::WrongIssuer {
            device: dev.subject().to_string(),
            ca: trusted.subject().to_string(),
            why: format!("the chain's CA is {}", ca.subject()),
        });
    }
    if let Some(t) = at {
        for (cert, what) in [
            (&ca, "the CA certificate"),
            (&dev, "the device certificate"),
        ] {
            let v = cert.validity();
            let (from, until) = (v.not_before.timestamp(), v.not_after.timestamp());
            if t < from || t > until {
                return Err(CertError::Expired {
                    what,
                    at: t,
                    from,
                    until,
                });
            }
        }
    }
    let (device_name, device_org) = name_of(&dev);
    let (ca_name, ca_org) = name_of(&ca);
    let v = dev.validity();
    Ok(ChainFacts {
        device_name,
        device_org,
        serial: dev.raw_serial_as_string().replace(':', ""),
        ca_name,
        self_issued: ca_org == SELF_ISSUED_ORG,
        ca_org,
        device_key: device_key.to_bytes(),
        ca_fingerprint: Sha256::digest(&chain.ca)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect(),
        not_before: v.not_before.timestamp(),
        not_after: v.not_after.timestamp(),
    })
}

/// The public key of a CA certificate (DER), after checking that it is an Ed25519 CA: the key
/// that signs the maker's bundles.
pub fn ca_key(der: &[u8]) -> Result<VerifyingKey, CertError> {
    let ca = parse(der, "the CA certificate")?;
    check_ca(&ca)?;
    ed25519_key(&ca, "the CA certificate")
}

/// Check that `facts` certify `record_key`.
pub fn certifies(facts: &ChainFacts, record_key: &[u8; 32]) -> Result<(), CertError> {
    if facts.device_key == *record_key {
        Ok(())
    } else {
        Err(CertError::KeyMismatch {
            cert_key: facts
                .device_key
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect(),
            record_key: record_key.iter().map(|b| format!("{b:02x}")).collect(),
        })
    }
}
