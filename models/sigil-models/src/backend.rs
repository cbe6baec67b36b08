//! Where models run: wgpu (Vulkan, Metal, DX12; Mesa's lavapipe on a machine without a GPU)
//! when this build has it (feature `wgpu`) and an adapter exists, else burn's flex CPU backend.
//! The device program and the host tools both choose here, so `auto` means the same in both.
//!
//! With the `kernel-cache` feature, compiled kernels persist across runs: CubeCL's SPIR-V compiler
//! stores every kernel it compiles in an on-disk store (a database file in
//! [`kernel_cache_dir`]), and a later process on the same adapter and build loads them instead
//! of compiling, which is most of a cold start's cost on a GPU. A store that cannot be written
//! costs a recompile, never an error. Without the feature (the default: see `Cargo.toml`) the
//! directory is unused and every process compiles its WGSL kernels.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use burn::tensor::Device;

use crate::ModelError;

/// What the user asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// wgpu when an adapter exists, else the CPU.
    Auto,
    /// wgpu only (an error when there is no adapter or the build lacks it).
    Wgpu,
    /// burn's flex CPU backend.
    Cpu,
}

impl FromStr for Backend {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "auto" => Ok(Backend::Auto),
            "wgpu" | "gpu" => Ok(Backend::Wgpu),
            "cpu" | "flex" => Ok(Backend::Cpu),
            other => Err(format!("unknown backend {other:?}: use auto, wgpu or cpu")),
        }
    }
}

/// The chosen device and a name for the user (which backend, which adapter, and why).
#[derive(Debug, Clone)]
pub struct Chosen {
    /// The device to build modules on.
    pub device: Device,
    /// `cpu (burn flex)` or `wgpu (<adapter>, <api>, <type>)`, with the reason for a fallback.
    pub name: String,
    /// Whether it is the wgpu backend.
    pub gpu: bool,
}

/// Where compiled kernels are kept between runs: `$SIGIL_KERNEL_CACHE`, else
/// `$XDG_CACHE_HOME/sigil/kernels`, else `~/.cache/sigil/kernels`, else a folder in the
/// system's temporary directory.
pub fn kernel_cache_dir() -> PathBuf {
    let var = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    var("SIGIL_KERNEL_CACHE")
        .or_else(|| var("XDG_CACHE_HOME").map(|d| d.join("sigil/kernels")))
        .or_else(|| var("HOME").map(|d| d.join(".cache/sigil/kernels")))
        .unwrap_or_else(|| std::env::temp_dir().join("sigil-kernels"))
}

/// The device for `want`, with compiled kernels kept in [`kernel_cache_dir`].
pub fn choose(want: Backend) -> Result<Chosen, ModelError> {
    choose_with(want, &kernel_cache_dir())
}

/// The device for `want`, with compiled kernels kept in `kernel_cache` (wgpu only; the first
/// call in a process decides it).
pub fn choose_with(want: Backend, kernel_cache: &Path) -> Result<Chosen, ModelError> {
    let cpu = |why: Option<String>| Chosen {
        device: Device::flex(),
        name: match why {
            None => "cpu (burn flex)".into(),
            Some(w) => format!("cpu (burn flex; wgpu unavailable: {w})"),
        },
        gpu: false,
    };
    match want {
        Backend::Cpu => Ok(cpu(None)),
        Backend::Wgpu => wgpu_device(kernel_cache).map_err(ModelError::Input),
        Backend::Auto => Ok(wgpu_device(kernel_cache).unwrap_or_else(|e| cpu(Some(e)))),
    }
}

#[cfg(not(feature = "wgpu"))]
fn wgpu_device(_kernel_cache: &Path) -> Result<Chosen, String> {
    Err("this build has no wgpu backend (build with --features wgpu)".into())
}

/// Turn CubeCL's store of compiled kernels on, in `dir`. CubeCL reads its configuration once per
/// process; when something read it first (a `cubecl.toml` found from the working directory, or
/// an earlier device), that configuration stays and this says nothing.
#[cfg(feature = "kernel-cache")]
fn configure_kernel_cache(dir: &Path) {
    use burn::cubecl::config::cache::CacheConfig;
    use burn::cubecl::config::{CubeClRuntimeConfig, RuntimeConfig};
    let mut config = CubeClRuntimeConfig::default();
    config.compilation.cache = true;
    config.environment.path = CacheConfig::Directory(dir.to_path_buf());
    // A directory that cannot be made is not fatal: CubeCL then keeps kernels in memory.
    let _ = std::fs::create_dir_all(dir);
    let _ = CubeClRuntimeConfig::try_set(config);
}

/// Builds without the store keep kernels in memory only.
#[cfg(all(feature = "wgpu", not(feature = "kernel-cache")))]
fn configure_kernel_cache(_dir: &Path) {}

#[cfg(feature = "wgpu")]
fn wgpu_device(kernel_cache: &Path) -> Result<Chosen, String> {
    // burn registers the wgpu runtime once per process: the first answer is every answer.
    static WGPU: std::sync::OnceLock<Result<(Device, String), String>> = std::sync::OnceLock::new();
    let (device, name) = WGPU
        .get_or_init(|| {
            configure_kernel_cache(kernel_cache);
            let (device, setup) = Device::wgpu_options()
                .init_with_setup()
                .map_err(|e| format!("no usable wgpu adapter ({e})"))?;
            let info = setup.adapter.get_info();
            let name = format!(
                "wgpu ({}, {:?}, {:?})",
                info.name, setup.backend, info.device_type
            );
            Ok((device, name))
        })
        .clone()?;
    Ok(Chosen {
        device,
        name,
        gpu: true,
    })
}
