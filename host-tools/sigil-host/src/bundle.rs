//! `sigil-host pack`: a signed, versioned update bundle (format in `sigil-bundle`), and loading
//! the bundles `verify --bundle` checks records against.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::DecodePrivateKey;
use sigil_bundle::{DEFAULT_CHUNK, Meta};
use sigil_seal::KnownBundle;

use crate::keys::write_new;

#[derive(Debug, clap::Args)]
pub struct PackArgs {
    /// The firmware: the `sigil` program as it will run on the device.
    #[arg(long)]
    firmware: PathBuf,
    /// The model pack (`*.sigilpack`).
    #[arg(long = "pack")]
    model: PathBuf,
    /// The policy digest the firmware enforces, hex (`sigil info --json` → `policy`).
    #[arg(long)]
    policy_digest: String,
    /// The anti-downgrade version counter: devices refuse a lower one than they run.
    #[arg(long)]
    version: u64,
    /// The maker key (PKCS#8 PEM): the CA key from `sigil-host ca init` (`ca.key.pem`).
    #[arg(long)]
    key: PathBuf,
    /// The hardware the bundle is for; a device of another class refuses it.
    #[arg(long, default_value = "sigil-generic")]
    device_class: String,
    /// Payload chunk size in bytes (each chunk is checked on arrival).
    #[arg(long, default_value_t = DEFAULT_CHUNK)]
    chunk_size: u32,
    /// The bundle file to write.
    #[arg(long, short = 'o')]
    out: PathBuf,
    /// Replace an existing file.
    #[arg(long)]
    force: bool,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

fn digest_arg(s: &str) -> anyhow::Result<[u8; 32]> {
    let v = hex::decode(s.trim())
        .ok()
        .and_then(|v| <[u8; 32]>::try_from(v).ok());
    v.with_context(|| {
        format!(
            "--policy-digest {s:?} is not 64 hex digits: take `policy` from `sigil info --json`"
        )
    })
}

pub fn pack(a: &PackArgs) -> anyhow::Result<()> {
    let policy = digest_arg(&a.policy_digest)?;
    if a.chunk_size < 1024 || a.chunk_size > (16 << 20) {
        bail!("--chunk-size {} is outside 1 KiB..16 MiB", a.chunk_size);
    }
    let firmware = std::fs::read(&a.firmware)
        .with_context(|| format!("cannot read the firmware {}", a.firmware.display()))?;
    let model = std::fs::read(&a.model)
        .with_context(|| format!("cannot read the model pack {}", a.model.display()))?;
    sigil_pack::Pack::open(&a.model)
        .with_context(|| format!("{} is not a valid model pack", a.model.display()))?;
    let pem = std::fs::read_to_string(&a.key)
        .with_context(|| format!("cannot read the maker key {}", a.key.display()))?;
    let key = SigningKey::from_pkcs8_pem(&pem).map_err(|e| {
        anyhow::anyhow!(
            "{} is not an Ed25519 private key in PKCS#8 PEM ({e}): pass the maker CA's ca.key.pem",
            a.key.display()
        )
    })?;
    let meta = Meta {
        device_class: a.device_class.clone(),
        version: a.version,
        policy_digest: policy,
        chunk_size: a.chunk_size,
        created_unix: sigil_seal::unix_ms() / 1000,
    };
    let bundle = sigil_bundle::build(&firmware, &model, &meta, &key)?;
    // Check what was written the way a device will, before anyone ships it.
    let v = sigil_bundle::open(&bundle, &key.verifying_key())?;
    write_new(&a.out, &bundle, false, a.force)?;
    let m = &v.manifest;
    if a.json {
        let j = serde_json::json!({
            "bundle": a.out, "bytes": bundle.len(), "version": m.version,
            "device_class": m.device_class, "firmware": m.firmware.sha256,
            "model": m.model.sha256, "policy": m.policy_digest, "chunks": m.chunks.len(),
            "sha256": hex::encode(sigil_bundle::sha256(&bundle)),
        });
        println!("{j}");
    } else {
        println!(
            "wrote {} ({} bytes, {} chunks): {} version {}",
            a.out.display(),
            bundle.len(),
            m.chunks.len(),
            m.device_class,
            m.version
        );
        println!("firmware {}", m.firmware.sha256);
        println!("model    {}", m.model.sha256);
        println!("policy   {}", m.policy_digest);
    }
    Ok(())
}

/// Load and fully check bundles against the maker CA's key.
pub fn load_known(
    paths: &[PathBuf],
    maker: &sigil_provenance::VerifyingKey,
) -> anyhow::Result<Vec<KnownBundle>> {
    paths.iter().map(|p| load_one(p, maker)).collect()
}

fn load_one(path: &Path, maker: &sigil_provenance::VerifyingKey) -> anyhow::Result<KnownBundle> {
    let bytes = std::fs::read(path)
        .with_context(|| format!("cannot read the bundle {}", path.display()))?;
    let v = sigil_bundle::open(&bytes, maker).with_context(|| format!("{}", path.display()))?;
    let m = &v.manifest;
    Ok(KnownBundle {
        name: format!(
            "{} ({} version {})",
            path.file_name()
                .map(|n| n.to_string_lossy())
                .unwrap_or_default(),
            m.device_class,
            m.version
        ),
        firmware: m.firmware_digest()?,
        policy: m.policy()?,
        model: m.model_digest()?,
    })
}
