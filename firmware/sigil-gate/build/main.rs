//! Build script of sigil-gate: compiles the policy and the character-fold table into static
//! tables, and stamps the policy digest into the crate as a constant.
//!
//! Build-time failures must stop the build with a message, so panics are the error path here.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../src/units.rs"]
#[allow(dead_code)]
mod units;

mod fold;
mod policy;

use std::fmt::Write as _;
use std::path::PathBuf;

use sha2::{Digest, Sha256};

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let policy_dir = std::env::var("SIGIL_POLICY_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| manifest.join("../policy"));
    println!("cargo::rerun-if-env-changed=SIGIL_POLICY_DIR");
    println!("cargo::rerun-if-changed=build");
    println!("cargo::rerun-if-changed=src/units.rs");
    let read = |name: &str| {
        let p = policy_dir.join(name);
        println!("cargo::rerun-if-changed={}", p.display());
        std::fs::read_to_string(&p)
            .unwrap_or_else(|e| panic!("\n\npolicy error: cannot read {}: {e}\n\n", p.display()))
    };
    let default_src = read("default.toml");
    let opt_out_src = read("opt-out.toml");
    let policy: policy::PolicyFile = toml::from_str(&default_src)
        .unwrap_or_else(|e| panic!("\n\npolicy error: default.toml: {e}\n\n"));
    let opt_out: policy::OptOutFile = toml::from_str(&opt_out_src)
        .unwrap_or_else(|e| panic!("\n\npolicy error: opt-out.toml: {e}\n\n"));

    let lang_dir = policy_dir.join("lang");
    println!("cargo::rerun-if-changed={}", lang_dir.display());
    let mut lang_names: Vec<String> = match std::fs::read_dir(&lang_dir) {
        Ok(dir) => dir
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| !n.starts_with('.') && n != "README.md")
            .collect(),
        Err(_) => Vec::new(),
    };
    lang_names.sort();
    let mut lang_sources = Vec::new();
    let mut langs = Vec::new();
    for name in &lang_names {
        let Some(tag) = name.strip_suffix(".toml") else {
            panic!(
                "\n\npolicy error: lang/{name}: only TAG.toml files belong in firmware/policy/lang; move it elsewhere\n\n"
            )
        };
        let src = read(&format!("lang/{name}"));
        let groups = toml::from_str(&src)
            .unwrap_or_else(|e| panic!("\n\npolicy error: lang/{name}: {e}\n\n"));
        langs.push(policy::LangFile {
            name: format!("lang/{name}"),
            tag: tag.to_string(),
            groups,
        });
        lang_sources.push((name.clone(), src));
    }

    let policy::Compiled {
        mut canonical,
        mut compact,
    } = policy::compile(&policy, &opt_out, &langs);

    let fold = fold::build_table();
    // Canonical rendering (what the digest covers, unchanged since policy v1).
    let _ = writeln!(
        canonical,
        "pub static FOLD_KEYS: [u32; {}] = {:?};",
        fold.keys.len(),
        fold.keys
    );
    let _ = writeln!(
        canonical,
        "pub static FOLD_SPANS: [u32; {}] = {:?};",
        fold.spans.len(),
        fold.spans
    );
    let _ = writeln!(
        canonical,
        "pub static FOLD_UNITS: [u64; {}] = {:?};",
        fold.units.len(),
        fold.units
    );
    for out in [&mut canonical, &mut compact] {
        let _ = writeln!(
            out,
            "pub static GLYPH_COMPAT_KEYS: [u32; {}] = {:?};\npub static GLYPH_COMPAT_SPANS: [u16; {}] = {:?};\npub static GLYPH_COMPAT_CPS: [u32; {}] = {:?};",
            fold.glyph_keys.len(),
            fold.glyph_keys,
            fold.glyph_spans.len(),
            fold.glyph_spans,
            fold.glyph_cps.len(),
            fold.glyph_cps
        );
    }
    // Compact rendering: spans as `offset << 3 | len` in a u16, units as indices into the few
    // distinct unit values.
    let mut values: Vec<u64> = fold.units.clone();
    values.sort_unstable();
    values.dedup();
    assert!(values.len() <= 256, "more than 256 distinct fold units");
    let index: Vec<u8> = fold
        .units
        .iter()
        .map(|u| values.binary_search(u).map(|i| i as u8).unwrap())
        .collect();
    let spans: Vec<u16> = fold
        .spans
        .iter()
        .map(|s| {
            let (off, len) = (s >> 8, s & 0xFF);
            assert!(
                off < 1 << 13 && len < 1 << 3,
                "fold span {off}+{len} does not fit a u16"
            );
            ((off << 3) | len) as u16
        })
        .collect();
    let _ = writeln!(
        compact,
        "pub static FOLD_KEYS: [u32; {}] = {:?};",
        fold.keys.len(),
        fold.keys
    );
    let _ = writeln!(
        compact,
        "pub static FOLD_SPANS: [u16; {}] = {spans:?};",
        spans.len()
    );
    let _ = writeln!(
        compact,
        "pub static FOLD_UNITS: [u8; {}] = {index:?};",
        index.len()
    );
    let _ = writeln!(
        compact,
        "pub static FOLD_VALUES: [u64; {}] = {values:?};",
        values.len()
    );

    // The digest covers the policy sources and the canonical rendering of every generated
    // table, so any change to what the gate enforces, including the Unicode data it folds
    // with, changes the digest; a change of representation alone does not.
    let mut h = Sha256::new();
    h.update(b"sigil/policy/v1\0");
    for part in [
        default_src.as_bytes(),
        opt_out_src.as_bytes(),
        canonical.as_bytes(),
    ] {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part);
    }
    // Language files (none before policy v1's lang/ folder, so the digest of a policy without
    // them is what it was).
    for (name, src) in &lang_sources {
        for part in [name.as_bytes(), src.as_bytes()] {
            h.update((part.len() as u64).to_le_bytes());
            h.update(part);
        }
    }
    let digest: [u8; 32] = h.finalize().into();
    let mut tables = compact;
    let _ = writeln!(tables, "pub const POLICY_DIGEST: [u8; 32] = {digest:?};");

    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("policy_tables.rs");
    std::fs::write(&out, tables).unwrap();
}
