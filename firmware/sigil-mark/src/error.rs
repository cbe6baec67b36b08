//! Errors of embedding and detection.

/// What is wrong with a frame handed to the watermark.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MarkError {
    /// The RGB buffer does not hold width × height × 3 bytes.
    #[error("the RGB buffer holds {found} bytes but a {width}×{height} frame needs {expected}")]
    BadBuffer {
        /// Frame width.
        width: u32,
        /// Frame height.
        height: u32,
        /// width × height × 3.
        expected: usize,
        /// The buffer's length.
        found: usize,
    },
    /// The frame is too small to carry the payload with its repetitions.
    #[error(
        "a {width}×{height} frame is too small for the watermark: both sides must be at least {min} (compose the frame at {min}×{min} or larger)"
    )]
    TooSmall {
        /// Frame width.
        width: u32,
        /// Frame height.
        height: u32,
        /// Smallest side.
        min: u32,
    },
}
