//! Shared by the `sigil generate` tests: a tiny model pack and running the binary.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use burn::tensor::Device;
use sigil_models::autoencoder::AutoencoderConfig;
use sigil_models::captions::{Caption, CaptionIndex};
use sigil_models::denoiser::DenoiserConfig;
use sigil_models::judge::JudgeConfig;
use sigil_models::minilm::{TextEncoder, minilm_dir};
use sigil_models::outcheck::{OutputCheck, OutputCheckSpec};
use sigil_models::pipeline::Architecture;
use sigil_train::packing::writer;

/// A tiny output check for the compiled-in policy's categories whose verdict is fixed: its
/// weights are zero and its bias makes `favour` (a category id) or "none" certain.
pub fn tiny_outcheck(d: &Device, favour: Option<&str>) -> OutputCheck {
    use burn::module::Param;
    use burn::tensor::{Tensor, TensorData};
    let classes = sigil_train::outcheck::policy_classes();
    let k = classes.len() + 1;
    let config = JudgeConfig::new(k).with_width(8).with_stages(1);
    let mut model = config.init(d);
    let hot = favour.map_or(0, |f| {
        1 + classes
            .iter()
            .position(|c| c.category == f)
            .expect("a category with output emoji")
    });
    let bias: Vec<f32> = (0..k).map(|i| if i == hot { 20.0 } else { 0.0 }).collect();
    model.head.weight = Param::from_tensor(model.head.weight.val().zeros_like());
    model.head.bias = Some(Param::from_tensor(Tensor::<1>::from_data(
        TensorData::new(bias, [k]),
        d,
    )));
    OutputCheck {
        model,
        spec: OutputCheckSpec {
            config,
            classes,
            threshold: 0.5,
            image_side: 32,
        },
    }
}

pub fn tiny_pack(dir: &Path, int8: bool) -> PathBuf {
    tiny_pack_with(dir, int8, None)
}

/// A tiny pack whose output check always reports `favour` (or nothing).
pub fn tiny_pack_with(dir: &Path, int8: bool, favour: Option<&str>) -> PathBuf {
    let name = format!(
        "tiny{}{}.sigilpack",
        favour.map(|f| format!("-{f}")).unwrap_or_default(),
        if int8 { "-int8" } else { "" }
    );
    tiny_pack_custom(dir, &name, int8, |d| Some(tiny_outcheck(d, favour)))
}

/// A tiny pack named `name` with the output check `check` makes (or none).
pub fn tiny_pack_custom(
    dir: &Path,
    name: &str,
    int8: bool,
    check: impl FnOnce(&Device) -> Option<OutputCheck>,
) -> PathBuf {
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
    let check = check(&d);
    let arch = Architecture {
        denoiser: denoiser.clone(),
        autoencoder: ae.clone(),
        image_side: 32,
        output_check: check.as_ref().map(|c| c.spec.clone()),
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
        check.as_ref(),
        int8,
    )
    .unwrap();
    let path = dir.join(name);
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

/// `sigil generate --json` on the CPU with the given pack, state and output folders.
pub fn generate(
    pack: &Path,
    state: &Path,
    out: &Path,
    prompt: &str,
    user: &str,
    seed: u64,
) -> Output {
    sigil(&[
        "generate",
        "--prompt",
        prompt,
        "--user",
        user,
        "--seed",
        &seed.to_string(),
        "--pack",
        p(pack),
        "--out",
        p(out),
        "--state",
        p(state),
        "--backend",
        "cpu",
        "--json",
    ])
}

/// Assert the exit code, showing stderr when it differs.
pub fn expect_exit(o: &Output, code: i32) {
    assert_eq!(
        o.status.code(),
        Some(code),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
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
