//! `sigil-host keygen` and loading keys: Ed25519 as PKCS#8 (private) and SPKI (public) PEM.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use ed25519_dalek::{SigningKey, VerifyingKey};

#[derive(Debug, clap::Args)]
pub struct KeygenArgs {
    /// Directory to write `device.key.pem` (private, mode 0600) and `device.pub.pem` into.
    #[arg(long)]
    out: PathBuf,
    /// Replace existing key files (otherwise refuse: keys are never overwritten by accident).
    #[arg(long)]
    force: bool,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

/// File names inside the key directory.
pub const PRIVATE_FILE: &str = "device.key.pem";
/// File name of the public key.
pub const PUBLIC_FILE: &str = "device.pub.pem";

pub fn write_new(path: &Path, bytes: &[u8], private: bool, force: bool) -> anyhow::Result<()> {
    let mut opts = fs::OpenOptions::new();
    opts.write(true);
    if force {
        opts.create(true).truncate(true);
    } else {
        opts.create_new(true);
    }
    #[cfg(unix)]
    if private {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let _ = private;
    let mut f = opts.open(path).with_context(|| {
        if path.exists() && !force {
            format!(
                "{} already exists: pass --force to replace it, or choose another --out",
                path.display()
            )
        } else {
            format!("cannot create {}", path.display())
        }
    })?;
    f.write_all(bytes)
        .with_context(|| format!("cannot write {}", path.display()))?;
    f.sync_all()
        .with_context(|| format!("cannot sync {}", path.display()))?;
    Ok(())
}

pub fn keygen(args: &KeygenArgs) -> anyhow::Result<()> {
    fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| anyhow::anyhow!("operating system RNG failed: {e}"))?;
    let key = SigningKey::from_bytes(&seed);
    seed.fill(0);
    let private = key
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|e| anyhow::anyhow!("cannot encode private key: {e}"))?;
    let public = key
        .verifying_key()
        .to_public_key_pem(LineEnding::LF)
        .map_err(|e| anyhow::anyhow!("cannot encode public key: {e}"))?;
    let priv_path = args.out.join(PRIVATE_FILE);
    let pub_path = args.out.join(PUBLIC_FILE);
    if !args.force {
        for p in [&priv_path, &pub_path] {
            if p.exists() {
                bail!(
                    "{} already exists: pass --force to replace it, or choose another --out",
                    p.display()
                );
            }
        }
    }
    write_new(&priv_path, private.as_bytes(), true, args.force)?;
    write_new(&pub_path, public.as_bytes(), false, args.force)?;
    let fingerprint = hex::encode(key.verifying_key().as_bytes());
    if args.json {
        let v = serde_json::json!({
            "private": priv_path, "public": pub_path, "public_key": fingerprint,
        });
        println!("{v}");
    } else {
        println!("wrote {} and {}", priv_path.display(), pub_path.display());
        println!("public key {fingerprint}");
    }
    Ok(())
}

/// Load a trusted public key (SPKI PEM), naming the file and what is wrong with it.
pub fn load_public(path: &Path) -> anyhow::Result<VerifyingKey> {
    let text = fs::read_to_string(path)
        .with_context(|| format!("cannot read public key {}", path.display()))?;
    if text.contains("PRIVATE KEY") {
        bail!(
            "{} holds a private key: pass the public key ({PUBLIC_FILE}) to --trust, and keep the private key on the device",
            path.display()
        );
    }
    VerifyingKey::from_public_key_pem(&text).map_err(|e| {
        anyhow::anyhow!(
            "{} is not an Ed25519 public key in SPKI PEM (\"-----BEGIN PUBLIC KEY-----\"): {e}; use the {PUBLIC_FILE} written by `sigil-host keygen`",
            path.display()
        )
    })
}
