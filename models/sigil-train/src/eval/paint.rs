//! What draws the evaluation's images: a model folder (teacher or student, f32, as trained) or
//! a model pack (what a device runs: the pack's own text encoder, int8 where the pack is int8,
//! its caption index, and the PNG's 8-bit pixels).

use std::path::Path;

use burn::tensor::{Device, Int, Tensor, TensorData};
use sigil_models::captions::CaptionIndex;
use sigil_models::minilm::{TextEncoder, tensor_to_vec};
use sigil_models::pipeline::Pipeline;
use sigil_models::sampler::{SamplerSpec, sample, sample_shortcut};
use sigil_pack::Pack;

use crate::error::TrainError;
use crate::teacher::Teacher;

/// Images `[3, s, s]` in [-1, 1], and per prompt the concept of the caption it was snapped to.
#[derive(Debug, Default)]
pub struct Painted {
    /// One image per prompt.
    pub images: Vec<Vec<f32>>,
    /// `None` where the prompt was not snapped.
    pub snapped: Vec<Option<String>>,
}

/// A source of evaluation images.
pub trait Painter {
    /// One image per prompt, in the given styles, the noise of prompt `i` drawn from `(seed, i)`.
    fn paint(&self, prompts: &[&str], styles: &[i64], seed: u64) -> Result<Painted, TrainError>;
    /// Whether prompts are snapped to training captions.
    fn snaps(&self) -> bool;
    /// Sampler name, steps and guidance, for the report.
    fn sampler(&self) -> (String, usize, f32);
}

/// A model folder written by `train`, with its text encoder loaded from the wheel.
#[derive(Debug)]
pub struct FolderPainter {
    /// The model.
    pub model: Teacher,
    /// MiniLM.
    pub enc: TextEncoder,
    /// How latents are drawn.
    pub draw: Draw,
    /// Snap prompts (when the folder has a caption index).
    pub snap: bool,
    /// Image side.
    pub side: usize,
    /// Where it runs.
    pub device: Device,
}

impl Painter for FolderPainter {
    fn paint(&self, prompts: &[&str], styles: &[i64], seed: u64) -> Result<Painted, TrainError> {
        let mut text = self.enc.embed_rows(prompts, 64)?;
        let snapped = match (&self.model.captions, self.snap) {
            (Some(index), true) => snap_rows(index, &mut text)
                .into_iter()
                .map(|c| c.map(str::to_string))
                .collect(),
            _ => vec![None; prompts.len()],
        };
        let images = generate(
            &self.model,
            &text,
            styles,
            seed,
            self.draw,
            self.side,
            &self.device,
        )?;
        Ok(Painted { images, snapped })
    }

    fn snaps(&self) -> bool {
        self.snap && self.model.captions.is_some()
    }

    fn sampler(&self) -> (String, usize, f32) {
        match self.draw {
            Draw::PriorOnly => ("prior only".into(), 0, 0.0),
            Draw::Sample(spec) if self.model.cfg.step_cond => {
                // Distilled into the student; the sampler's weight is not used.
                #[allow(clippy::cast_possible_truncation)]
                let g = self.model.meta["guidance"].as_f64().unwrap_or(f64::NAN) as f32;
                ("shortcut".into(), spec.steps, g)
            }
            Draw::Sample(spec) => (
                if spec.heun { "heun" } else { "euler" }.into(),
                spec.steps,
                spec.guidance,
            ),
        }
    }
}

/// A model pack, run the way `sigil generate` runs it.
#[derive(Debug)]
pub struct PackPainter {
    /// The loaded pack.
    pub pipeline: Pipeline,
    /// Steps per image.
    pub steps: usize,
}

impl PackPainter {
    /// Open and load `path` on `device`; `snap` false turns caption snapping off.
    pub fn open(
        path: &Path,
        steps: Option<usize>,
        snap: bool,
        device: &Device,
    ) -> Result<Self, TrainError> {
        let pack = Pack::open(path)?;
        let mut pipeline = Pipeline::from_pack(&pack, device)?;
        pipeline.snap = snap && pipeline.captions.is_some();
        let steps = steps.unwrap_or(pipeline.default_steps).max(1);
        Ok(PackPainter { pipeline, steps })
    }
}

impl Painter for PackPainter {
    fn paint(&self, prompts: &[&str], styles: &[i64], seed: u64) -> Result<Painted, TrainError> {
        let mut out = Painted::default();
        for (i, (prompt, style)) in prompts.iter().zip(styles).enumerate() {
            let reading = self.pipeline.read(prompt)?;
            out.snapped
                .push(reading.interpretation.as_ref().map(|r| r.concept.clone()));
            // Prompt i's noise: its own stream under the run's seed.
            let frame_seed = seed.wrapping_add((i as u64) << 32);
            let frame = self
                .pipeline
                .render(reading, *style, frame_seed, Some(self.steps))?;
            out.images.push(planar(&frame.image.rgb, frame.image.side));
        }
        Ok(out)
    }

    fn snaps(&self) -> bool {
        self.pipeline.snap
    }

    fn sampler(&self) -> (String, usize, f32) {
        let name = if self.pipeline.arch.denoiser.step_cond {
            "shortcut (pack)"
        } else {
            "euler (pack)"
        };
        (name.into(), self.steps, self.pipeline.guidance)
    }
}

/// Interleaved RGB bytes → planar `[3, s, s]` values in [-1, 1].
fn planar(rgb: &[u8], side: usize) -> Vec<f32> {
    let plane = side * side;
    let mut out = vec![-1.0; 3 * plane];
    for (i, px) in rgb.chunks_exact(3).enumerate().take(plane) {
        for (c, v) in px.iter().enumerate() {
            if let Some(o) = out.get_mut(c * plane + i) {
                *o = f32::from(*v) / 127.5 - 1.0;
            }
        }
    }
    out
}

/// How `generate` draws latents.
#[derive(Debug, Clone, Copy)]
pub enum Draw {
    /// The model's sampler (shortcut for a student, `SamplerSpec` for a teacher).
    Sample(SamplerSpec),
    /// The prior's prediction alone.
    PriorOnly,
}

/// Generate images `[3, s, s]` in [-1, 1] for text embeddings and styles, noise seeded per index.
pub fn generate(
    teacher: &Teacher,
    text: &[Vec<f32>],
    styles: &[i64],
    seed: u64,
    draw: Draw,
    side: usize,
    device: &Device,
) -> Result<Vec<Vec<f32>>, TrainError> {
    let c = teacher.ae_cfg.latent;
    let s = teacher.ae_cfg.latent_side(side);
    let dim = teacher.cfg.text_dim;
    let mut out = Vec::with_capacity(text.len());
    for (chunk_i, (tchunk, schunk)) in text.chunks(64).zip(styles.chunks(64)).enumerate() {
        let b = tchunk.len();
        let mut noise = Vec::with_capacity(b * c * s * s);
        for i in 0..b {
            noise.extend(sigil_models::rng::noise(
                seed,
                (chunk_i * 64 + i) as u64,
                c * s * s,
            ));
        }
        let mut flat = Vec::with_capacity(b * dim);
        for t in tchunk {
            if t.len() != dim {
                return Err(TrainError::Model(sigil_models::ModelError::Input(format!(
                    "text embedding of width {}, the denoiser takes {dim}",
                    t.len()
                ))));
            }
            flat.extend_from_slice(t);
        }
        let noise = Tensor::<4>::from_data(TensorData::new(noise, [b, c, s, s]), device);
        let text_t = Tensor::<2>::from_data(TensorData::new(flat, [b, dim]), device);
        let style_t = Tensor::<1, Int>::from_data(TensorData::new(schunk.to_vec(), [b]), device);
        let z = match (draw, &teacher.denoiser.prior) {
            (Draw::PriorOnly, Some(prior)) => prior.forward(text_t, style_t),
            (Draw::PriorOnly, None) => {
                return Err(TrainError::Model(sigil_models::ModelError::Input(
                    "--prior-only: this model has no prior".into(),
                )));
            }
            (Draw::Sample(spec), _) if teacher.cfg.step_cond => {
                sample_shortcut(&teacher.denoiser, noise, text_t, style_t, spec.steps)
            }
            (Draw::Sample(spec), _) => sample(&teacher.denoiser, noise, text_t, style_t, spec),
        };
        let img = teacher.ae.decode(teacher.ae_cfg.denormalise(z));
        let flat = tensor_to_vec(img)?;
        out.extend(flat.chunks(3 * side * side).map(<[f32]>::to_vec));
    }
    Ok(out)
}

/// Replace each embedding by that of its nearest training caption; the concepts matched.
fn snap_rows<'a>(index: &'a CaptionIndex, rows: &mut [Vec<f32>]) -> Vec<Option<&'a str>> {
    rows.iter_mut()
        .map(|row| {
            let s = index.nearest(row)?;
            *row = index.snap_row(s.index)?.to_vec();
            index.caption(s.index).map(|c| c.concept.as_str())
        })
        .collect()
}
