//! Frames in, frames out: what a link (a UART, a socket) needs around [`Core::handle`].

use core::ops::DerefMut;

use sigil_gate::Scratch;
use sigil_wire::{Body, Envelope, ErrorCode, Response, WireError, decode_frame, encode_frame};

use crate::service::Core;

/// What [`serve_frame`] produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Served {
    /// Bytes of the response frame at the start of `out` (0: send nothing).
    pub len: usize,
    /// The response carries a newly sealed record: persist [`Core::last_record`] before the
    /// response leaves, so a record cut off on the link can be fetched again.
    pub sealed: bool,
}

/// A response could not be framed (the caller's `out` is smaller than a response).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ServeError(pub WireError);

impl core::fmt::Display for ServeError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "the response could not be framed: {}", self.0)
    }
}

impl core::error::Error for ServeError {}

/// Decode one frame from `frame` (in place), answer it and encode the response into `out`.
/// See [`respond`].
pub fn serve_frame<S, const TICKETS: usize, const USERS: usize>(
    core: &mut Core<S, TICKETS, USERS>,
    frame: &mut [u8],
    out: &mut [u8],
) -> Result<Served, ServeError>
where
    S: DerefMut<Target = Scratch>,
{
    respond(core, decode_frame(frame), out)
}

/// Answer one decoded frame (as [`decode_frame`] or a
/// [`FrameAccumulator`](sigil_wire::FrameAccumulator) gives it) into `out`.
///
/// A frame that did not decode is answered with an error (id 0): another wire version with
/// [`ErrorCode::VersionMismatch`], an unknown request with [`ErrorCode::Unsupported`], an
/// over-long frame with [`ErrorCode::FrameTooLarge`], anything else with
/// [`ErrorCode::BadRequest`]. Responses sent to the core and `Bye` get no answer.
pub fn respond<S, const TICKETS: usize, const USERS: usize>(
    core: &mut Core<S, TICKETS, USERS>,
    decoded: Result<Envelope<'_>, WireError>,
    out: &mut [u8],
) -> Result<Served, ServeError>
where
    S: DerefMut<Target = Scratch>,
{
    let (id, response) = match decoded {
        Ok(Envelope {
            id,
            body: Body::Request(request),
            ..
        }) => match core.handle(request) {
            Some(response) => (id, response),
            None => {
                return Ok(Served {
                    len: 0,
                    sealed: false,
                });
            }
        },
        Ok(_) => {
            return Ok(Served {
                len: 0,
                sealed: false,
            });
        }
        Err(e) => {
            let code = match e {
                WireError::VersionMismatch { .. } => ErrorCode::VersionMismatch,
                WireError::UnknownVariant => ErrorCode::Unsupported,
                WireError::Overflow { .. } => ErrorCode::FrameTooLarge,
                _ => ErrorCode::BadRequest,
            };
            (0, core.refuse(code, format_args!("{e}")))
        }
    };
    let sealed = matches!(response, Response::Sealed { .. });
    let len = encode_frame(&Envelope::response(id, response), out).map_err(ServeError)?;
    Ok(Served { len, sealed })
}
