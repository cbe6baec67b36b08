//! What a device runs, built from one model pack: prompt → MiniLM sentence embedding → the
//! denoiser from noise (a shortcut student in `K` jumps, or a teacher with guided Euler steps)
//! → decoder → RGB pixels. Weights are loaded once; every frame reuses them.
//!
//! A pack names its parts under fixed prefixes: `text.` (MiniLM weights), `denoiser.`,
//! `decoder.`, and the files `files/text/config.json`, `files/text/tokenizer.json`,
//! `files/text/vocab.txt`. The manifest's `architecture` holds `denoiser` and `autoencoder`
//! configs and `image_side`. A pack may also hold a caption index (`crate::captions`): the
//! prompt's embedding is then replaced by that of its nearest training caption, and the frame
//! says which ("interpreted as").

use std::time::Instant;

use burn::tensor::{Device, Int, Tensor, TensorData};
use serde::{Deserialize, Serialize};
use sigil_pack::Pack;

use crate::ModelError;
use crate::autoencoder::{AeDecoder, AutoencoderConfig};
use crate::captions::CaptionIndex;
use crate::denoiser::{Denoiser, DenoiserConfig};
use crate::minilm::{MiniLmConfig, TextEncoder, tensor_to_vec};
use crate::outcheck::{OutputCheck, OutputCheckSpec, OutputScore};
use crate::pack::load_module;
use crate::sampler::{SamplerSpec, sample, sample_shortcut};
use crate::steer::Steer;
use crate::tokenizer::WordPiece;

/// The `architecture` object of a Sigil model pack.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Architecture {
    /// The denoiser (a student has `step_cond`).
    pub denoiser: DenoiserConfig,
    /// The autoencoder (the pack holds only its decoder).
    pub autoencoder: AutoencoderConfig,
    /// Side of the generated image in pixels.
    pub image_side: usize,
    /// The output check, when the pack has one (`crate::outcheck`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_check: Option<OutputCheckSpec>,
}

/// Names of the text encoder's files inside a pack.
pub const TEXT_FILES: [&str; 3] = [
    "files/text/config.json",
    "files/text/tokenizer.json",
    "files/text/vocab.txt",
];

/// Where the time of one frame went, in milliseconds.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Timings {
    /// Tokenizer and text encoder.
    pub text_ms: f64,
    /// Each denoiser step.
    pub steps_ms: Vec<f64>,
    /// Decoder (and read-back of the pixels).
    pub decode_ms: f64,
}

/// One generated image.
#[derive(Debug, Clone, PartialEq)]
pub struct Image {
    /// Side in pixels.
    pub side: usize,
    /// Row-major RGB, 3 bytes a pixel.
    pub rgb: Vec<u8>,
}

/// How the prompt was read, for packs with a caption index.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Interpretation {
    /// The training caption the prompt was snapped to.
    pub caption: String,
    /// The concept that caption names (dataset `unified` code).
    pub concept: String,
    /// Cosine similarity of prompt and caption embeddings.
    pub cosine: f32,
}

/// A prompt as the model will see it.
#[derive(Debug, Clone)]
pub struct Reading {
    /// The conditioning embedding `[1, dim]` (the snapped caption's, with an index).
    pub text: Tensor<2>,
    /// The caption the prompt was snapped to.
    pub interpretation: Option<Interpretation>,
    /// Time to tokenise, encode and snap, in milliseconds.
    pub text_ms: f64,
}

/// One generated frame and how it came about.
#[derive(Debug, Clone)]
pub struct Frame {
    /// The pixels.
    pub image: Image,
    /// Where the time went.
    pub timings: Timings,
    /// The caption the prompt was snapped to (`None` without an index or with snapping off).
    pub interpretation: Option<Interpretation>,
}

/// A loaded model.
#[derive(Debug)]
pub struct Pipeline {
    /// Tokenizer + MiniLM.
    pub text: TextEncoder,
    /// The denoiser.
    pub denoiser: Denoiser,
    /// The decoder.
    pub decoder: AeDecoder,
    /// Shapes.
    pub arch: Architecture,
    /// Steps the pack was made for.
    pub default_steps: usize,
    /// Guidance (distilled into a student; applied by the sampler for a teacher).
    pub guidance: f32,
    /// SHA-256 of the pack file: the model digest of provenance records.
    pub digest: [u8; 32],
    /// The training captions, when the pack has them.
    pub captions: Option<CaptionIndex>,
    /// Whether prompts are snapped to their nearest caption (on when the pack has an index).
    pub snap: bool,
    /// Convolutions that run from int8 weights on the device (wgpu), not from f32 copies.
    pub int8_convs: usize,
    /// The output check (image classifier for the policy's drawable categories), when the pack
    /// has one.
    pub output_check: Option<OutputCheck>,
    device: Device,
}

fn text_file<'a>(pack: &'a Pack, name: &str) -> Result<&'a str, ModelError> {
    std::str::from_utf8(pack.bytes(name)?)
        .map_err(|_| ModelError::Input(format!("model pack file {name} is not UTF-8")))
}

impl Pipeline {
    /// Build every module from `pack` on `device`.
    pub fn from_pack(pack: &Pack, device: &Device) -> Result<Self, ModelError> {
        let m = pack.manifest();
        let arch: Architecture = serde_json::from_value(m.architecture.clone()).map_err(|e| {
            ModelError::Input(format!(
                "model pack `{}` has no Sigil architecture ({e}): make packs with `sigil-host pack-model`",
                m.name
            ))
        })?;
        let [config, tokenizer, vocab] = TEXT_FILES.map(|f| text_file(pack, f));
        let config = MiniLmConfig::from_hf_str(config?).map_err(ModelError::Input)?;
        let tokenizer = WordPiece::from_parts(tokenizer?, vocab?).map_err(ModelError::Input)?;
        let model = load_module(config.init(device), pack, "text")?;
        let text = TextEncoder::from_parts(tokenizer, model, config, device)?;
        let mut denoiser = load_module(arch.denoiser.init(device), pack, "denoiser")?;
        let mut decoder = load_module(arch.autoencoder.init_decoder(device), pack, "decoder")?;
        let int8_convs = if crate::pack::runs_int8_convs(device) {
            crate::pack::int8_convs(denoiser.convs_mut(), pack, "denoiser")?
                + crate::pack::int8_convs(decoder.convs_mut(), pack, "decoder")?
        } else {
            0
        };
        let captions = CaptionIndex::from_pack(pack)?;
        let output_check = OutputCheck::from_pack(pack, arch.output_check.as_ref(), device)?;
        Ok(Pipeline {
            output_check,
            int8_convs,
            snap: captions.is_some(),
            captions,
            text,
            denoiser,
            decoder,
            default_steps: usize::try_from(m.sampling_steps).unwrap_or(1).max(1),
            guidance: m.guidance,
            arch,
            digest: pack.digest(),
            device: device.clone(),
        })
    }

    /// The device the pipeline runs on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    fn sync(&self) {
        // Timings only: an error here would surface again on the read-back that follows.
        let _ = self.device.sync();
    }

    /// Generate one image for `prompt` in `style` from the noise of `seed`, in `steps` steps
    /// (the pack's default when `None`): [`Pipeline::read`] then [`Pipeline::render`].
    pub fn generate(
        &self,
        prompt: &str,
        style: i64,
        seed: u64,
        steps: Option<usize>,
    ) -> Result<Frame, ModelError> {
        let reading = self.read(prompt)?;
        self.render(reading, style, seed, steps)
    }

    /// Embed `prompt` and, with a caption index, snap it to the nearest training caption. A
    /// caller that gates prompts gates the interpretation too before rendering: the caption
    /// the model will draw is not always the words the user typed.
    pub fn read(&self, prompt: &str) -> Result<Reading, ModelError> {
        let started = Instant::now();
        let mut text = self.text.embed(&[prompt], 1); // [1, 384]
        let mut interpretation = None;
        if let (true, Some(index)) = (self.snap, &self.captions) {
            let query = tensor_to_vec(text.clone())?;
            if let Some((snap, row, cap)) = index
                .nearest(&query)
                .and_then(|s| Some((s, index.snap_row(s.index)?, index.caption(s.index)?)))
            {
                text = Tensor::<2>::from_data(
                    TensorData::new(row.to_vec(), [1, index.dim()]),
                    &self.device,
                );
                interpretation = Some(Interpretation {
                    caption: cap.caption.clone(),
                    concept: cap.concept.clone(),
                    cosine: snap.cosine,
                });
            }
        }
        self.sync();
        Ok(Reading {
            text,
            interpretation,
            text_ms: started.elapsed().as_secs_f64() * 1e3,
        })
    }

    /// Run the output check on a generated image: `None` when the pack has no output check.
    pub fn check_output(&self, image: &Image) -> Result<Option<OutputScore>, ModelError> {
        self.output_check
            .as_ref()
            .map(|c| c.score(image, &self.device))
            .transpose()
    }

    /// Draw the image of a [`Reading`].
    pub fn render(
        &self,
        reading: Reading,
        style: i64,
        seed: u64,
        steps: Option<usize>,
    ) -> Result<Frame, ModelError> {
        self.render_steered(reading, style, seed, steps, None)
    }

    /// [`Pipeline::render`], optionally steered away from concepts during sampling (the
    /// in-flight control for review-tier prompts, see [`crate::steer`]).
    pub fn render_steered(
        &self,
        reading: Reading,
        style: i64,
        seed: u64,
        steps: Option<usize>,
        steer: Option<&Steer>,
    ) -> Result<Frame, ModelError> {
        let steps = steps.unwrap_or(self.default_steps).max(1);
        let Reading {
            text,
            interpretation,
            text_ms,
        } = reading;
        let mut timings = Timings {
            text_ms,
            ..Timings::default()
        };

        let c = self.arch.autoencoder.latent;
        let s = self.arch.autoencoder.latent_side(self.arch.image_side);
        let noise = crate::rng::noise(seed, 0, c * s * s);
        let mut x = Tensor::<4>::from_data(TensorData::new(noise, [1, c, s, s]), &self.device);
        let style = Tensor::<1, Int>::from_data(TensorData::new(vec![style], [1]), &self.device);
        // One step at a time, so that each can be timed; the arithmetic is the samplers'.
        for i in 0..steps {
            let t0 = Instant::now();
            x = match (self.arch.denoiser.step_cond, steer) {
                (true, None) => {
                    step_shortcut(&self.denoiser, x, text.clone(), style.clone(), i, steps)
                }
                (true, Some(steer)) => crate::steer::step_shortcut_steered(
                    &self.denoiser,
                    x,
                    text.clone(),
                    style.clone(),
                    (i, steps),
                    steer,
                ),
                (false, _) => step_euler(
                    &self.denoiser,
                    x,
                    text.clone(),
                    style.clone(),
                    i,
                    steps,
                    self.guidance,
                ),
            };
            self.sync();
            timings.steps_ms.push(t0.elapsed().as_secs_f64() * 1e3);
        }
        let t0 = Instant::now();
        let img = self.decoder.forward(self.arch.autoencoder.denormalise(x));
        let values = tensor_to_vec(img)?;
        timings.decode_ms = t0.elapsed().as_secs_f64() * 1e3;
        Ok(Frame {
            image: to_rgb(&values, self.arch.image_side),
            timings,
            interpretation,
        })
    }
}

/// Jump `i` of a `steps`-jump shortcut sample (the same arithmetic as `sample_shortcut`).
pub(crate) fn step_shortcut(
    model: &Denoiser,
    x: Tensor<4>,
    text: Tensor<2>,
    style: Tensor<1, Int>,
    i: usize,
    steps: usize,
) -> Tensor<4> {
    // Re-enter the sampler at time 1 − i/steps with one jump left of the same size.
    #[allow(clippy::cast_precision_loss)]
    let d = 1.0 / steps as f32;
    #[allow(clippy::cast_precision_loss)]
    let t = 1.0 - i as f32 * d;
    let device = x.device();
    let tt = Tensor::<1>::ones([1], &device).mul_scalar(t);
    let dd = Tensor::<1>::ones([1], &device).mul_scalar(d);
    let v = model.forward_step(x.clone(), tt, Some(dd), text, style);
    x - v.mul_scalar(d)
}

/// Step `i` of a guided Euler sample (teacher packs).
fn step_euler(
    model: &Denoiser,
    x: Tensor<4>,
    text: Tensor<2>,
    style: Tensor<1, Int>,
    i: usize,
    steps: usize,
    guidance: f32,
) -> Tensor<4> {
    #[allow(clippy::cast_precision_loss)]
    let (t0, t1) = (
        1.0 - i as f32 / steps as f32,
        1.0 - (i + 1) as f32 / steps as f32,
    );
    let v = crate::sampler::guided_velocity(model, x.clone(), t0, text, style, guidance);
    x - v.mul_scalar(t0 - t1)
}

/// Whole-sample reference of [`Pipeline::generate`]'s denoising (tests compare the two).
pub fn sample_reference(
    p: &Pipeline,
    noise: Tensor<4>,
    text: Tensor<2>,
    style: Tensor<1, Int>,
    steps: usize,
) -> Tensor<4> {
    if p.arch.denoiser.step_cond {
        sample_shortcut(&p.denoiser, noise, text, style, steps)
    } else {
        sample(
            &p.denoiser,
            noise,
            text,
            style,
            SamplerSpec {
                steps,
                guidance: p.guidance,
                heun: false,
            },
        )
    }
}

/// `[1, 3, s, s]` values in [-1, 1] → RGB bytes.
pub fn to_rgb(values: &[f32], side: usize) -> Image {
    let plane = side * side;
    let mut rgb = vec![0u8; plane * 3];
    for (i, px) in rgb.chunks_exact_mut(3).enumerate() {
        for (ch, out) in px.iter_mut().enumerate() {
            let v = values.get(ch * plane + i).copied().unwrap_or(-1.0);
            // In [0, 255] after the clamp, so the cast is exact.
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let b = ((v.clamp(-1.0, 1.0) + 1.0) * 127.5).round() as u8;
            *out = b;
        }
    }
    Image { side, rgb }
}
