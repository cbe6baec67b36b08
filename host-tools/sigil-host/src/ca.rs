//! `sigil-host ca init` (the maker CA) and `sigil-host provision` (a device certificate under
//! it). The certificates themselves are made and checked in `sigil_seal::cert`.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::DecodePrivateKey;
use ed25519_dalek::pkcs8::EncodePrivateKey;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use sigil_seal::cert::{
    ChainFacts, certs_from_pem, check_chain, default_device_id, new_ca, to_pem,
};
use sigil_seal::provision::{MakerCa, issue_chain, provision};

use crate::keys::{load_public, write_new};

/// The CA's private key inside its directory.
pub const CA_KEY_FILE: &str = "ca.key.pem";
/// The CA's certificate inside its directory: what `verify --trust` takes.
pub const CA_CERT_FILE: &str = "ca.crt.pem";

#[derive(Debug, clap::Args)]
pub struct CaArgs {
    #[command(subcommand)]
    command: CaCommand,
}

#[derive(Debug, clap::Subcommand)]
enum CaCommand {
    /// Create the maker CA: an Ed25519 key (`ca.key.pem`, mode 0600) and its self-signed
    /// certificate (`ca.crt.pem`).
    Init(InitArgs),
}

#[derive(Debug, clap::Args)]
struct InitArgs {
    /// Directory for `ca.key.pem` and `ca.crt.pem` (created if missing).
    #[arg(long)]
    out: PathBuf,
    /// The maker's organisation name, as it appears in every device certificate.
    #[arg(long)]
    org: String,
    /// The CA's common name (default: "ORG device CA").
    #[arg(long)]
    name: Option<String>,
    /// Replace an existing CA (every device provisioned under the old one must be re-provisioned).
    #[arg(long)]
    force: bool,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

pub fn ca(args: &CaArgs) -> anyhow::Result<()> {
    match &args.command {
        CaCommand::Init(a) => init(a),
    }
}

fn init(a: &InitArgs) -> anyhow::Result<()> {
    if a.org.trim().is_empty() {
        bail!("--org is empty: give the maker's organisation name");
    }
    fs::create_dir_all(&a.out).with_context(|| format!("cannot create {}", a.out.display()))?;
    let key_path = a.out.join(CA_KEY_FILE);
    let cert_path = a.out.join(CA_CERT_FILE);
    if !a.force {
        for p in [&key_path, &cert_path] {
            if p.exists() {
                bail!(
                    "{} already exists: a CA is made once (pass --force to replace it, which orphans every device provisioned under it)",
                    p.display()
                );
            }
        }
    }
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| anyhow::anyhow!("operating system RNG failed: {e}"))?;
    let key = SigningKey::from_bytes(&seed);
    seed.fill(0);
    let name = a
        .name
        .clone()
        .unwrap_or_else(|| format!("{} device CA", a.org.trim()));
    let cert = new_ca(&key, a.org.trim(), &name)?;
    let private = key
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|e| anyhow::anyhow!("cannot encode the CA key: {e}"))?;
    write_new(&key_path, private.as_bytes(), true, a.force)?;
    write_new(&cert_path, to_pem(&cert).as_bytes(), false, a.force)?;
    let fingerprint = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&cert));
    if a.json {
        let v = serde_json::json!({
            "key": key_path, "certificate": cert_path, "org": a.org.trim(), "name": name,
            "fingerprint": fingerprint,
        });
        println!("{v}");
    } else {
        println!("wrote {} and {}", key_path.display(), cert_path.display());
        println!("CA \"{name}\" ({}), SHA-256 {fingerprint}", a.org.trim());
        println!(
            "keep {} offline; hand out {} as the trust anchor (`sigil-host verify --trust`)",
            CA_KEY_FILE, CA_CERT_FILE
        );
    }
    Ok(())
}

#[derive(Debug, clap::Args)]
pub struct ProvisionArgs {
    /// The device's state directory: its key is created if it has none (an existing key is
    /// kept, so its log continues), and `device.chain.pem` is written into it.
    #[arg(
        long,
        conflicts_with = "public_key",
        required_unless_present = "public_key"
    )]
    state: Option<PathBuf>,
    /// Instead of a state directory: the public key (SPKI PEM) of a device whose key never
    /// leaves its secure element. The chain is written to --out.
    #[arg(long, requires = "out")]
    public_key: Option<PathBuf>,
    /// Where to write the chain for --public-key.
    #[arg(long, short = 'o')]
    out: Option<PathBuf>,
    /// The maker CA's directory (from `sigil-host ca init`).
    #[arg(long)]
    ca: PathBuf,
    /// The device's name in its certificate, e.g. its serial number (default: sigil-<key prefix>).
    #[arg(long)]
    device_id: Option<String>,
    /// Re-issue even if the device is provisioned under another maker CA.
    #[arg(long)]
    force: bool,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

/// Load the maker CA from its directory, checking that key and certificate belong together.
pub fn load_ca(dir: &Path) -> anyhow::Result<(SigningKey, Vec<u8>)> {
    let key_path = dir.join(CA_KEY_FILE);
    let cert_path = dir.join(CA_CERT_FILE);
    let key_pem = fs::read_to_string(&key_path).with_context(|| {
        format!(
            "cannot read the CA key {}: pass the directory written by `sigil-host ca init`",
            key_path.display()
        )
    })?;
    let key = SigningKey::from_pkcs8_pem(&key_pem).map_err(|e| {
        anyhow::anyhow!(
            "{} is not an Ed25519 private key in PKCS#8 PEM: {e}",
            key_path.display()
        )
    })?;
    let cert = load_cert(&cert_path)?;
    Ok((key, cert))
}

/// Load one certificate (PEM) from a file.
pub fn load_cert(path: &Path) -> anyhow::Result<Vec<u8>> {
    let text = fs::read_to_string(path)
        .with_context(|| format!("cannot read certificate {}", path.display()))?;
    let mut certs = certs_from_pem(&text).with_context(|| format!("{}", path.display()))?;
    match certs.len() {
        1 => Ok(certs.remove(0)),
        0 => bail!(
            "{} holds no \"-----BEGIN CERTIFICATE-----\" block: pass the CA's certificate ({CA_CERT_FILE})",
            path.display()
        ),
        n => bail!(
            "{} holds {n} certificates: pass the maker CA's certificate alone ({CA_CERT_FILE})",
            path.display()
        ),
    }
}

fn print_chain(json: bool, what: &str, facts: &ChainFacts, extra: serde_json::Value) {
    if json {
        let mut v = serde_json::json!({
            "device": facts.device_name, "org": facts.device_org, "serial": facts.serial,
            "ca": facts.ca_name, "ca_fingerprint": facts.ca_fingerprint,
            "device_key": hex::encode(facts.device_key),
            "not_before": facts.not_before, "not_after": facts.not_after,
        });
        if let (Some(o), Some(e)) = (v.as_object_mut(), extra.as_object()) {
            o.extend(e.clone());
        }
        println!("{v}");
    } else {
        println!(
            "{what}: device \"{}\" ({}), serial {}, under \"{}\"",
            facts.device_name, facts.device_org, facts.serial, facts.ca_name
        );
        println!("device key {}", hex::encode(facts.device_key));
    }
}

pub fn run_provision(a: &ProvisionArgs) -> anyhow::Result<()> {
    let (key, cert) = load_ca(&a.ca)?;
    let ca = MakerCa {
        key: &key,
        cert: &cert,
    };
    if let Some(state) = &a.state {
        let done = provision(state, &ca, a.device_id.as_deref(), a.force)?;
        let what = if done.unchanged {
            "already provisioned under this CA"
        } else {
            "provisioned"
        };
        if !a.json {
            if done.created_key {
                println!("created the device key in {}", state.display());
            }
            if let Some(old) = &done.replaced {
                println!("replaced the chain issued by \"{old}\"");
            }
        }
        print_chain(
            a.json,
            what,
            &done.facts,
            serde_json::json!({
                "state": state, "created_key": done.created_key, "unchanged": done.unchanged,
                "replaced": done.replaced,
            }),
        );
        return Ok(());
    }
    let (Some(pub_path), Some(out)) = (&a.public_key, &a.out) else {
        bail!("pass --state DIR, or --public-key FILE with --out FILE");
    };
    let public = load_public(pub_path)?;
    let id = a
        .device_id
        .clone()
        .unwrap_or_else(|| default_device_id(public.as_bytes()));
    let chain = issue_chain(&ca, &public, &id)?;
    let facts = check_chain(&chain, Some(&cert), None)?;
    write_new(out, chain.to_pem().as_bytes(), false, a.force)?;
    print_chain(
        a.json,
        &format!("wrote {}", out.display()),
        &facts,
        serde_json::json!({ "chain": out }),
    );
    Ok(())
}
