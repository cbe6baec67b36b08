//! Where models run: wgpu (Vulkan, Metal, DX12; Mesa's lavapipe on a machine without a GPU)
//! when this build has it (feature `wgpu`) and an adapter exists, else burn's flex CPU backend.
//! The device program and the host tools both choose here, so `auto` means the same in both.

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

/// The device for `want`.
pub fn choose(want: Backend) -> Result<Chosen, ModelError> {
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
        Backend::Wgpu => wgpu_device().map_err(ModelError::Input),
        Backend::Auto => Ok(wgpu_device().unwrap_or_else(|e| cpu(Some(e)))),
    }
}

#[cfg(not(feature = "wgpu"))]
fn wgpu_device() -> Result<Chosen, String> {
    Err("this build has no wgpu backend (build with --features wgpu)".into())
}

#[cfg(feature = "wgpu")]
fn wgpu_device() -> Result<Chosen, String> {
    let (device, setup) = Device::wgpu_options()
        .init_with_setup()
        .map_err(|e| format!("no usable wgpu adapter ({e})"))?;
    let info = setup.adapter.get_info();
    Ok(Chosen {
        device,
        name: format!(
            "wgpu ({}, {:?}, {:?})",
            info.name, setup.backend, info.device_type
        ),
        gpu: true,
    })
}
