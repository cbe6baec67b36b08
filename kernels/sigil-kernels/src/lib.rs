//! Sigil's custom compute kernels, each beside a plain-Rust reference twin that a test compares
//! it with on every backend the workspace builds.
//!
//! Today: a 2-D convolution whose weights stay int8 (one scale per output channel) on the device
//! and are widened inside the kernel, one weight at a time. burn 0.22.1 has no working path for
//! this on wgpu: its quantised 3×3 conv weights are refused (`PackedU32(0)`, `Native`) or
//! silently wrong (`PackedU32(2)`), and its conv2d turns a quantised weight back into f32 before
//! computing on every backend. `tests/conv_i8.rs` keeps that case in sight.
//!
//! - [`conv`]: the shape of a convolution and how int8 weights are packed for the device.
//! - [`reference`]: the twin, in plain loops; the definition of what the kernel computes.
//! - `wgpu` (feature `wgpu`): the CubeCL kernel and [`wgpu::I8Conv2d`], its host side.
//!
//! Architecture invariant: nothing in `firmware/` depends on this crate.

pub mod conv;
pub mod error;
pub mod reference;
#[cfg(feature = "wgpu")]
pub mod wgpu;

pub use conv::{Conv2dSpec, pack_i8};
pub use error::KernelError;
