//! Shared by the `sigil generate` tests: a tiny model pack and running the binary.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use burn::tensor::Device;
use sigil_models::autoencoder::AutoencoderConfig;
use sigil_models::captions::{Caption, CaptionIndex};
use sigil_models::denoiser::DenoiserConfig;
use sigil_models::minilm::{TextEncoder, minilm_dir};
use sigil_models::pipeline::Architecture;
use sigil_train::packing::writer;

pub fn tiny_pack(dir: &Path, int8: bool) -> PathBuf {
    let d = Device::flex();
    d.seed(11);
    let denoiser = DenoiserConfig::new()
        .with_base(16)
        .with_mults(vec![1, 2])
        .with_blocks(1)
        .with_emb(32)
        .with_groups(4)
        .with_spatial_cond(true)
        .with_step_cond(true);
    let ae = AutoencoderConfig::new().with_width(8);
    let arch = Architecture {
        denoiser: denoiser.clone(),
        autoencoder: ae.clone(),
        image_side: 32,
    };
    let text = TextEncoder::load(&minilm_dir(), &d).expect("run models/data/fetch-minilm.sh");
    let known = [
        ("red apple", "1F34E"),
        ("cat face", "1F431"),
        ("slice of pizza", "1F355"),
        ("water pistol", "1F52B"),
    ];
    let rows = text.embed_rows(&known.map(|k| k.0), 8).unwrap();
    let captions = CaptionIndex::new(
        text.config.hidden,
        known
            .iter()
            .map(|(caption, concept)| Caption {
                caption: (*caption).into(),
                concept: (*concept).into(),
                target: None,
            })
            .collect(),
        &rows,
    )
    .unwrap();
    let w = writer(
        "tiny-test",
        &arch,
        2,
        3.0,
        &serde_json::json!({"data_manifest_sha256": "00"}),
        &minilm_dir(),
        &text,
        &denoiser.init(&d),
        &ae.init_decoder(&d),
        Some(&captions),
        int8,
    )
    .unwrap();
    let path = dir.join(if int8 {
        "tiny-int8.sigilpack"
    } else {
        "tiny.sigilpack"
    });
    w.write(&path).unwrap();
    path
}

/// Run `sigil`; without `--state`, each run gets a fresh state directory of its own.
pub fn sigil(args: &[&str]) -> Output {
    let state = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sigil"));
    if !args.contains(&"--state") {
        cmd.env("SIGIL_STATE", state.path());
    }
    cmd.args(args).output().unwrap()
}

pub fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: stdout {:?} stderr {:?}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    })
}

pub fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}
