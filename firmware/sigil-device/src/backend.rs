//! Choosing where the model runs: wgpu (Vulkan, Metal, DX12; Mesa's lavapipe on a machine
//! without a GPU) when this build has it and an adapter exists, else burn's flex CPU backend.

use anyhow::{Result, bail};
use burn::tensor::Device;

/// What the user asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Backend {
    /// wgpu when an adapter exists, else the CPU.
    Auto,
    /// wgpu only (an error when there is no adapter or the build lacks it).
    Wgpu,
    /// burn's flex CPU backend.
    Cpu,
}

/// The device for `want`, and its name for the user.
pub fn choose(want: Backend) -> Result<(Device, String)> {
    match want {
        Backend::Cpu => Ok((Device::flex(), "cpu (burn flex)".into())),
        Backend::Wgpu => wgpu_device(),
        Backend::Auto => Ok(wgpu_device().unwrap_or_else(|e| {
            (
                Device::flex(),
                format!("cpu (burn flex; wgpu unavailable: {e})"),
            )
        })),
    }
}

#[cfg(not(feature = "wgpu"))]
fn wgpu_device() -> Result<(Device, String)> {
    bail!("this build of sigil has no wgpu backend (build with --features wgpu)")
}

#[cfg(feature = "wgpu")]
fn wgpu_device() -> Result<(Device, String)> {
    crate::gpu::device()
}
