//! Errors of the kernels' host side.

use thiserror::Error;

/// Why a kernel could not run.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum KernelError {
    /// Inputs that do not fit the convolution.
    #[error("{0}")]
    Shape(String),
    /// The tensor or device is not one this kernel runs on.
    #[error("{0}")]
    Device(String),
}
