//! Why a prompt could not be checked at all (as opposed to a verdict about it).

/// The most bytes a prompt may have.
pub const MAX_PROMPT_BYTES: usize = 4096;

/// A prompt the gate refuses to look at. Every variant names the problem and the fix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum InputError {
    /// Nothing left to check (empty, white space or invisible characters only).
    Empty,
    /// Longer than [`MAX_PROMPT_BYTES`].
    TooLong {
        /// Bytes given.
        len: usize,
    },
    /// Expands past the normaliser's buffer (compatibility characters that expand a lot).
    TooLongNormalised,
    /// Contains a NUL byte at this byte offset.
    ContainsNul {
        /// Byte offset of the first NUL.
        offset: usize,
    },
    /// Not UTF-8; valid up to this byte offset.
    InvalidUtf8 {
        /// Length of the valid prefix.
        valid_up_to: usize,
    },
}

impl core::fmt::Display for InputError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            InputError::Empty => f.write_str(
                "prompt is empty (nothing but white space or invisible characters): type a description of the image",
            ),
            InputError::TooLong { len } => write!(
                f,
                "prompt is {len} bytes, the limit is {MAX_PROMPT_BYTES}: shorten it"
            ),
            InputError::TooLongNormalised => f.write_str(
                "prompt expands beyond the gate's buffer after Unicode normalisation: shorten it or use plain letters",
            ),
            InputError::ContainsNul { offset } => write!(
                f,
                "prompt contains a NUL byte at offset {offset}: remove control characters"
            ),
            InputError::InvalidUtf8 { valid_up_to } => write!(
                f,
                "prompt is not valid UTF-8 after byte {valid_up_to}: send UTF-8 text"
            ),
        }
    }
}

impl core::error::Error for InputError {}
