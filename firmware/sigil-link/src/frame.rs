//! Frames: `sigil-wire` envelopes over a std byte stream (TCP, a serial port, a pseudo-terminal): one
//! envelope out, one frame in, with a bound on how much a peer may send.

use std::io::{BufRead, Write};

use sigil_wire::{Envelope, WireError, encode_frame};

/// The largest frame either side accepts: a 64 KiB bundle chunk with its envelope, COBS and CRC.
pub const MAX_FRAME: usize = 80 * 1024;

/// What went wrong on the link.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// The stream failed or timed out.
    #[error("link: {0}")]
    Io(#[from] std::io::Error),
    /// The peer closed the link.
    #[error("the peer closed the link")]
    Closed,
    /// A frame longer than [`MAX_FRAME`] (garbage on the line, or a peer out of step).
    #[error(
        "a frame longer than {MAX_FRAME} bytes arrived: garbage on the line or a peer of another protocol"
    )]
    TooLong,
    /// The frame does not decode.
    #[error("undecodable frame: {0}")]
    Wire(#[from] WireError),
}

/// Send one envelope as a frame.
pub fn send(w: &mut impl Write, envelope: &Envelope<'_>) -> Result<(), LinkError> {
    let mut buf = vec![0u8; MAX_FRAME];
    let n = encode_frame(envelope, &mut buf)?;
    w.write_all(buf.get(..n).unwrap_or_default())?;
    w.flush()?;
    Ok(())
}

/// Read one frame (up to and including its `0x00`) into `buf`, which the caller then decodes
/// with `sigil_wire::decode_frame`. Lone delimiters (a peer flushing) are skipped.
pub fn recv<R: BufRead>(r: &mut R, buf: &mut Vec<u8>) -> Result<(), LinkError> {
    loop {
        buf.clear();
        let n = std::io::Read::take(&mut *r, MAX_FRAME as u64 + 1).read_until(0, buf)?;
        if n == 0 {
            return Err(LinkError::Closed);
        }
        if buf.last() != Some(&0) {
            if n > MAX_FRAME {
                // Skip to the next delimiter so the stream resynchronises, then report.
                let mut sink = Vec::new();
                let _ = r.read_until(0, &mut sink);
                return Err(LinkError::TooLong);
            }
            return Err(LinkError::Closed);
        }
        if n > 1 {
            return Ok(());
        }
    }
}
