//! Cutting frames out of a byte stream (UART, USB CDC, TCP) that arrives in arbitrary chunks.

use crate::frame::decode_cobs;
use crate::{Envelope, WireError};

/// Collects stream bytes until a `0x00` delimiter and decodes the frame in place.
///
/// `N` is the largest frame it accepts, in encoded bytes without the delimiter; announce
/// [`FrameAccumulator::MAX_FRAME`] as `max_frame` in `Hello`. A longer frame is dropped up to its
/// delimiter and reported once as [`WireError::Overflow`]. Garbage is harmless: it spoils at
/// most the frame it precedes, and decoding recovers at the next delimiter. Empty frames (a lone
/// `0x00`, which a sender may emit to resynchronise) are skipped silently.
///
/// ```
/// # use sigil_wire::{Feed, FrameAccumulator};
/// # fn handle(_: sigil_wire::Envelope<'_>) {}
/// # fn log(_: sigil_wire::WireError) {}
/// let mut acc = FrameAccumulator::<512>::new();
/// # let chunk: &[u8] = &[];
/// let mut window = chunk; // bytes just read from the port
/// while !window.is_empty() {
///     window = match acc.feed(window) {
///         Feed::Consumed => break,
///         Feed::Frame { envelope, remaining } => {
///             handle(envelope);
///             remaining
///         }
///         Feed::Error { error, remaining } => {
///             log(error);
///             remaining
///         }
///     };
/// }
/// ```
#[derive(Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct FrameAccumulator<const N: usize> {
    buf: [u8; N],
    len: usize,
    /// Dropping an over-long frame until its delimiter.
    discarding: bool,
}

/// The outcome of one [`FrameAccumulator::feed`] call.
#[derive(Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Feed<'a, 'b> {
    /// All input was consumed without completing a frame; feed more.
    Consumed,
    /// A frame arrived. Feed `remaining` (the input after its delimiter) next.
    Frame {
        /// The message, borrowing the accumulator's buffer.
        envelope: Envelope<'a>,
        /// Input not yet consumed.
        remaining: &'b [u8],
    },
    /// A frame was dropped: corrupt, from another version, or over-long. Feed `remaining` next.
    Error {
        /// Why it was dropped.
        error: WireError,
        /// Input not yet consumed.
        remaining: &'b [u8],
    },
}

impl<const N: usize> Default for FrameAccumulator<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> FrameAccumulator<N> {
    /// The largest frame this accumulator accepts, delimiter included: the `max_frame` to
    /// announce in `Hello`.
    pub const MAX_FRAME: usize = N + 1;

    /// An empty accumulator.
    pub const fn new() -> Self {
        Self {
            buf: [0; N],
            len: 0,
            discarding: false,
        }
    }

    /// Forget any partial frame (e.g. after the link was reset).
    pub fn reset(&mut self) {
        self.len = 0;
        self.discarding = false;
    }

    /// Bytes of an incomplete frame held so far.
    pub fn pending(&self) -> usize {
        self.len
    }

    /// Consume `input` up to and including the next frame's delimiter, and report what it held.
    /// Call again with `remaining` until it answers [`Feed::Consumed`].
    pub fn feed<'a, 'b>(&'a mut self, input: &'b [u8]) -> Feed<'a, 'b> {
        let mut rest = input;
        loop {
            let (chunk, delimited, after) = match rest.iter().position(|&b| b == 0) {
                Some(i) => {
                    let (chunk, tail) = rest.split_at(i);
                    (chunk, true, tail.get(1..).unwrap_or_default())
                }
                None => (rest, false, &[][..]),
            };
            rest = after;
            if !self.discarding {
                let end = self.len + chunk.len();
                match self.buf.get_mut(self.len..end) {
                    Some(slot) => {
                        slot.copy_from_slice(chunk);
                        self.len = end;
                    }
                    None => {
                        self.len = 0;
                        self.discarding = !delimited;
                        return Feed::Error {
                            error: WireError::Overflow { capacity: N },
                            remaining: rest,
                        };
                    }
                }
            }
            if !delimited {
                return Feed::Consumed;
            }
            if self.discarding {
                self.discarding = false;
            } else if self.len > 0 {
                let len = core::mem::take(&mut self.len);
                let frame = self.buf.get_mut(..len).unwrap_or_default();
                return match decode_cobs(frame) {
                    Ok(envelope) => Feed::Frame {
                        envelope,
                        remaining: rest,
                    },
                    Err(error) => Feed::Error {
                        error,
                        remaining: rest,
                    },
                };
            }
        }
    }
}
