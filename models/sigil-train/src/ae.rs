//! Stage 1: the autoencoder, trained on real images with an L2 + L1 reconstruction loss; then its
//! latent statistics are measured and its reconstruction PSNR is reported.

use burn::tensor::{Device, Tensor};
use sigil_models::autoencoder::{Autoencoder, AutoencoderConfig};

use crate::checkpoint::{load_module, save_module};
use crate::data::Dataset;
use crate::error::TrainError;
use crate::preset::Preset;
use crate::stage::{StageEnd, StageOptions, batch4, run_stage, write_json};

/// What the autoencoder stage reports.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AeReport {
    /// Steps done.
    pub steps: u64,
    /// Whether training is complete.
    pub complete: bool,
    /// Mean reconstruction PSNR (dB) over the training images.
    pub psnr_db: f64,
    /// Wall seconds of training, all sessions.
    pub wall_s: f64,
    /// Latent shape `[c, s, s]`.
    pub latent_shape: [usize; 3],
}

/// Train (or resume) the autoencoder; when complete, write `ae/final.bpk` and `ae/config.json`
/// (with latent statistics).
pub fn train(opts: &StageOptions, preset: &Preset, data: &Dataset) -> Result<AeReport, TrainError> {
    let cfg = preset.ae.clone();
    let config =
        serde_json::to_value(&cfg).map_err(|e| TrainError::data(&opts.run, e.to_string()))?;
    let sched = preset.ae_schedule.clone();
    let (side, n) = (data.side, data.samples.len());
    let (model, end): (Autoencoder, StageEnd) = run_stage(
        opts,
        "ae",
        &config,
        &sched,
        |d| Ok(cfg.init(d)),
        |m, device, _step, rng| {
            let rows: Vec<&[f32]> = (0..sched.batch)
                .filter_map(|_| data.samples.get(rng.below(n)).map(|s| s.pixels.as_slice()))
                .collect();
            let x = batch4(&rows, 3, side, device);
            let y = m.decode(m.encode(x.clone()));
            let diff = y - x;
            Ok(
                (diff.clone().powi_scalar(2).mean() + diff.abs().mean().mul_scalar(0.1))
                    .reshape([1]),
            )
        },
    )?;
    let dir = opts.run.join("ae");
    let plain = Device::flex();
    if !end.complete {
        return Ok(AeReport {
            steps: end.step,
            complete: false,
            psnr_db: f64::NAN,
            wall_s: end.wall_s,
            latent_shape: [cfg.latent, cfg.latent_side(side), cfg.latent_side(side)],
        });
    }
    // Move to the plain device through the file format (the same path inference uses).
    let tmp = dir.join("final.tmp.bpk");
    save_module(&model, &tmp)?;
    let model = load_module(cfg.init(&plain), &tmp)?;
    let (mean, std, psnr) = measure(&model, data, &plain)?;
    let mut out = cfg.clone();
    out.latent_mean = mean;
    out.latent_std = std;
    std::fs::rename(&tmp, dir.join("final.bpk")).map_err(|e| TrainError::io(&tmp, e))?;
    write_json(&dir.join("config.json"), &out)?;
    let report = AeReport {
        steps: end.step,
        complete: true,
        psnr_db: psnr,
        wall_s: end.wall_s,
        latent_shape: [cfg.latent, cfg.latent_side(side), cfg.latent_side(side)],
    };
    write_json(&dir.join("report.json"), &report)?;
    Ok(report)
}

/// Per-channel latent mean and std, and mean PSNR of reconstructions, over `data`.
pub fn measure(
    model: &Autoencoder,
    data: &Dataset,
    device: &Device,
) -> Result<(Vec<f32>, Vec<f32>, f64), TrainError> {
    let side = data.side;
    let mut sum: Vec<f64> = Vec::new();
    let mut sq: Vec<f64> = Vec::new();
    let mut count = 0f64;
    let mut psnr_sum = 0f64;
    for chunk in data.samples.chunks(256) {
        let rows: Vec<&[f32]> = chunk.iter().map(|s| s.pixels.as_slice()).collect();
        let x = batch4(&rows, 3, side, device);
        let z = model.encode(x.clone());
        let [b, c, h, w] = z.dims();
        let y = model.decode(z.clone());
        // PSNR per image on [0, 1] pixels: peak 1, MSE of (y - x) / 2.
        let mse: Tensor<2> = (y - x)
            .div_scalar(2.0)
            .powi_scalar(2)
            .reshape([b, 3 * side * side])
            .mean_dim(1);
        for m in sigil_models::minilm::tensor_to_vec(mse)? {
            psnr_sum += -10.0 * f64::from(m.max(1e-10)).log10();
        }
        let zc = z.swap_dims(0, 1).reshape([c, b * h * w]);
        let s = sigil_models::minilm::tensor_to_vec(zc.clone().sum_dim(1))?;
        let q = sigil_models::minilm::tensor_to_vec(zc.powi_scalar(2).sum_dim(1))?;
        sum.resize(c, 0.0);
        sq.resize(c, 0.0);
        for i in 0..c {
            sum[i] += f64::from(s.get(i).copied().unwrap_or(0.0));
            sq[i] += f64::from(q.get(i).copied().unwrap_or(0.0));
        }
        #[allow(clippy::cast_precision_loss)]
        {
            count += (b * h * w) as f64;
        }
    }
    #[allow(clippy::cast_possible_truncation)]
    let mean: Vec<f32> = sum.iter().map(|s| (s / count) as f32).collect();
    #[allow(clippy::cast_possible_truncation)]
    let std: Vec<f32> = sum
        .iter()
        .zip(&sq)
        .map(|(s, q)| ((q / count - (s / count).powi(2)).max(1e-8)).sqrt() as f32)
        .collect();
    #[allow(clippy::cast_precision_loss)]
    let psnr = psnr_sum / data.samples.len().max(1) as f64;
    Ok((mean, std, psnr))
}

/// Load a trained autoencoder from a folder holding `config.json` and `final.bpk` (or
/// `ae.json`/`ae.bpk` in an exported model folder).
pub fn load(
    dir: &std::path::Path,
    device: &Device,
) -> Result<(Autoencoder, AutoencoderConfig), TrainError> {
    let (cfg_path, bpk) = if dir.join("ae.json").is_file() {
        (dir.join("ae.json"), dir.join("ae.bpk"))
    } else {
        (dir.join("config.json"), dir.join("final.bpk"))
    };
    let text = std::fs::read_to_string(&cfg_path).map_err(|e| TrainError::io(&cfg_path, e))?;
    let cfg: AutoencoderConfig = serde_json::from_str(&text)
        .map_err(|e| TrainError::data(&cfg_path, format!("not an autoencoder config: {e}")))?;
    let model = load_module(cfg.init(device), &bpk)?;
    Ok((model, cfg))
}
