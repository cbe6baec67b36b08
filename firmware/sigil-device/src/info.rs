//! `sigil info`: what this firmware is and which policy it enforces.

use std::io::Read;

use anyhow::Context;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::exit;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Serialize)]
struct Category {
    id: &'static str,
    tier: &'static str,
    escalate: bool,
    description: &'static str,
}

#[derive(Debug, Serialize)]
struct Info {
    program: &'static str,
    version: &'static str,
    firmware: String,
    policy: String,
    policy_name: &'static str,
    policy_version: u32,
    categories: Vec<Category>,
}

/// SHA-256 of the running executable: the digest of the firmware as flashed.
pub fn firmware_digest() -> anyhow::Result<[u8; 32]> {
    let exe = std::env::current_exe().context("cannot locate the running executable")?;
    let mut f =
        std::fs::File::open(&exe).with_context(|| format!("cannot read {}", exe.display()))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f
            .read(&mut buf)
            .with_context(|| format!("cannot read {}", exe.display()))?;
        if n == 0 {
            break;
        }
        h.update(buf.get(..n).unwrap_or_default());
    }
    Ok(h.finalize().into())
}

pub fn run(args: &Args) -> anyhow::Result<u8> {
    let info = Info {
        program: "sigil",
        version: env!("CARGO_PKG_VERSION"),
        firmware: hex::encode(firmware_digest()?),
        policy: hex::encode(sigil_gate::POLICY_DIGEST),
        policy_name: sigil_gate::POLICY_NAME,
        policy_version: sigil_gate::POLICY_VERSION,
        categories: sigil_gate::policy::categories()
            .map(|(_, g)| Category {
                id: g.id,
                tier: g.tier.as_str(),
                escalate: g.escalate,
                description: g.description,
            })
            .collect(),
    };
    if args.json {
        println!("{}", serde_json::to_string(&info)?);
    } else {
        println!("sigil {}", info.version);
        println!("firmware  {}", info.firmware);
        println!(
            "policy    {} ({} v{})",
            info.policy, info.policy_name, info.policy_version
        );
        for c in &info.categories {
            println!("  {:<14} {:<6} {}", c.id, c.tier, c.description);
        }
    }
    Ok(exit::OK)
}
