//! Modules in and out of Sigil model packs (`sigil-pack`): parameters are written under a
//! component prefix (`denoiser.`, `decoder.`, `text.`) by their module path, f32 or int8 per
//! output channel, and loaded back by the same names. Loading insists on an exact fit: a
//! parameter missing from the pack, or a tensor of the component the module does not have,
//! is an error naming it (the pack was made for another architecture).

use burn::module::Module;
use burn::store::ModuleSnapshot;
use burn::store::bridge::{from_data, into_data};
use burn::tensor::TensorData;
use sigil_pack::{Pack, PackError, PackWriter};

use crate::ModelError;
use crate::conv::Conv;

/// How a parameter is stored in a pack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Storage {
    /// f32, exact.
    F32,
    /// int8 with one scale per index of `axis` (the output channel).
    I8 {
        /// Output-channel axis.
        axis: usize,
    },
}

/// Sigil's quantisation rule, by module path and shape:
/// - conv weights `[out, in, kh, kw]`: int8 per output channel (axis 0);
/// - linear weights (burn stores them `[in, out]`): int8 per output channel (axis 1), except the
///   timestep MLP (`time_in`, `time_out`), which stays f32;
/// - embedding tables `[rows, dim]` (`*embeddings.weight`, `style.weight`): int8 per row, except
///   tables with fewer than 64 rows, which are too small to matter;
/// - biases, norms (GroupNorm, LayerNorm) and everything else: f32.
pub fn int8_rule(path: &str, shape: &[usize]) -> Storage {
    let leaf = path.rsplit('.').next().unwrap_or(path);
    if leaf != "weight" || path.contains("norm") {
        return Storage::F32;
    }
    if path.starts_with("time_") || path.contains(".time_") {
        return Storage::F32;
    }
    match shape {
        [_, _, _, _] => Storage::I8 { axis: 0 },
        [rows, _] if path.contains("embeddings.") || path.ends_with("style.weight") => {
            if *rows >= 64 {
                Storage::I8 { axis: 0 }
            } else {
                Storage::F32
            }
        }
        [_, _] => Storage::I8 { axis: 1 },
        _ => Storage::F32,
    }
}

/// Everything f32.
pub fn f32_rule(_path: &str, _shape: &[usize]) -> Storage {
    Storage::F32
}

/// Add every parameter of `module` to `writer` as `prefix.path`, stored per `rule`.
pub fn add_module<M: ModuleSnapshot + Module>(
    writer: &mut PackWriter,
    prefix: &str,
    module: &M,
    rule: impl Fn(&str, &[usize]) -> Storage,
) -> Result<(), ModelError> {
    for t in module.collect(None, None, false) {
        let path = t.name.clone();
        let name = format!("{prefix}.{path}");
        let data = into_data(t).map_err(|e| PackError::Invalid {
            name: name.clone(),
            reason: format!("cannot read the parameter ({e:?})"),
        })?;
        let shape = data.shape().to_vec();
        let values = data.try_to_vec::<f32>().map_err(|e| PackError::Invalid {
            name: name.clone(),
            reason: format!("not an f32 parameter ({e:?})"),
        })?;
        match rule(&path, &shape) {
            Storage::F32 => writer.add_f32(&name, &shape, &values)?,
            Storage::I8 { axis } => writer.add_i8(&name, &shape, &values, axis)?,
        }
    }
    Ok(())
}

/// Load the parameters stored under `prefix.` in `pack` into `module`.
pub fn load_module<M: ModuleSnapshot + Module>(
    mut module: M,
    pack: &Pack,
    prefix: &str,
) -> Result<M, ModelError> {
    let lead = format!("{prefix}.");
    let mut tensors = Vec::new();
    for entry in &pack.manifest().tensors {
        let Some(path) = entry.name.strip_prefix(&lead) else {
            continue;
        };
        if entry.encoding == sigil_pack::Encoding::Bytes {
            continue;
        }
        let (values, shape) = pack.f32(&entry.name)?;
        tensors.push(from_data(
            TensorData::new(values, shape),
            path.to_string(),
            None,
        ));
    }
    let result = module.apply(tensors, None, None, false);
    let problem = if let Some((name, _)) = result.missing.first() {
        Some(format!("has no tensor `{lead}{name}`"))
    } else if let Some(name) = result.unused.first() {
        Some(format!(
            "holds `{lead}{name}`, which this model does not have"
        ))
    } else {
        result
            .errors
            .first()
            .map(|e| format!("does not fit the model: {e:?}"))
    };
    match problem {
        Some(p) => Err(ModelError::Input(format!(
            "model pack `{}` {p}: the pack was made for another architecture or version",
            pack.manifest().name
        ))),
        None => Ok(module),
    }
}

/// Whether convolutions stored as int8 run as int8 on `device`: on wgpu, through
/// `sigil-kernels` (burn 0.22.1 has no working quantised conv there); on the CPU they are
/// dequantised at load, since burn's conv2d would dequantise them on every call anyway.
pub fn runs_int8_convs(device: &burn::tensor::Device) -> bool {
    #[cfg(feature = "wgpu")]
    {
        sigil_kernels::wgpu::is_wgpu(device)
    }
    #[cfg(not(feature = "wgpu"))]
    {
        let _ = device;
        false
    }
}

/// Hand every convolution whose weight `prefix.PATH.weight` is int8 in `pack` its int8 values
/// and scales, so that it runs from them (see [`Conv::run_int8`]). Returns how many did.
pub fn int8_convs(
    convs: Vec<(String, &mut Conv)>,
    pack: &Pack,
    prefix: &str,
) -> Result<usize, ModelError> {
    // Counted only where int8 convolutions exist (the `wgpu` feature).
    #[cfg_attr(not(feature = "wgpu"), allow(unused_mut))]
    let mut n = 0;
    for (path, conv) in convs {
        let name = format!("{prefix}.{path}.weight");
        let int8 = pack.manifest().tensors.iter().any(|t| {
            t.name == name && matches!(t.encoding, sigil_pack::Encoding::I8PerChannel { axis: 0 })
        });
        if !int8 {
            continue;
        }
        #[cfg(feature = "wgpu")]
        {
            let (values, scales) = pack.i8(&name)?;
            conv.run_int8(&values, &scales)?;
            n += 1;
        }
        #[cfg(not(feature = "wgpu"))]
        let _ = conv;
    }
    Ok(n)
}
