//! One frame: `COBS(postcard(Envelope) ‖ CRC-32 LE) ‖ 0x00`.

use cobs::{EncoderState, PushResult};
use crc::{CRC_32_ISO_HDLC, Crc, Digest};
use postcard::ser_flavors::Flavor;

use crate::{Body, Envelope, MAGIC, WIRE_VERSION, WireError};

/// Length of the CRC-32 trailer inside a frame, before COBS.
pub const CRC_LEN: usize = 4;

static CRC: Crc<u32> = Crc::<u32>::new(&CRC_32_ISO_HDLC);

/// The largest encoded frame, delimiter included, for a postcard body of `postcard_len` bytes.
/// Use it to size buffers and to derive the `max_frame` announced in `Hello`.
pub const fn max_encoded_len(postcard_len: usize) -> usize {
    cobs::max_encoding_length(postcard_len + CRC_LEN) + 1
}

/// Encode `envelope` as one frame into `out`, delimiter included; returns the frame's length.
///
/// The envelope is written as given: build it with [`Envelope::new`] (or `request`/`response`)
/// to get this build's magic and version.
pub fn encode_frame(envelope: &Envelope<'_>, out: &mut [u8]) -> Result<usize, WireError> {
    let capacity = out.len();
    let too_small = |_| WireError::BufferTooSmall { capacity };
    let writer = FrameWriter::new(out).map_err(too_small)?;
    postcard::serialize_with_flavor(envelope, writer).map_err(too_small)
}

/// Decode one frame in place. `buf` must hold exactly one frame: its COBS bytes and the
/// terminating `0x00`, nothing before or after. The returned message borrows from `buf`.
///
/// Checks, in order: delimiter, COBS, CRC, magic, version, body, no trailing bytes.
pub fn decode_frame(buf: &mut [u8]) -> Result<Envelope<'_>, WireError> {
    let end = buf
        .iter()
        .position(|&b| b == 0)
        .ok_or(WireError::Unterminated)?;
    if end + 1 != buf.len() {
        return Err(WireError::UnexpectedDelimiter { at: end });
    }
    let (encoded, _delimiter) = buf.split_at_mut(end);
    decode_cobs(encoded)
}

/// Decode the COBS bytes of one frame (no `0x00` anywhere) in place.
pub(crate) fn decode_cobs(encoded: &mut [u8]) -> Result<Envelope<'_>, WireError> {
    if encoded.is_empty() {
        return Err(WireError::TooShort { len: 0 });
    }
    let report = cobs::decode_in_place_report(encoded).map_err(|_| WireError::Cobs)?;
    if report.parsed_size() != encoded.len() {
        return Err(WireError::Cobs);
    }
    let len = report.frame_size();
    let decoded = encoded.get(..len).ok_or(WireError::Cobs)?;
    let body_len = len
        .checked_sub(CRC_LEN)
        .ok_or(WireError::TooShort { len })?;
    let (payload, trailer) = decoded.split_at(body_len);
    let mut carried = [0u8; CRC_LEN];
    carried.copy_from_slice(trailer);
    let carried = u32::from_le_bytes(carried);
    let computed = CRC.checksum(payload);
    if computed != carried {
        return Err(WireError::CrcMismatch { computed, carried });
    }
    decode_payload(payload)
}

/// Decode the postcard bytes of an envelope, checking the frozen header before the body.
fn decode_payload(payload: &[u8]) -> Result<Envelope<'_>, WireError> {
    let too_short = WireError::TooShort {
        len: payload.len() + CRC_LEN,
    };
    let (magic, rest) = payload.split_first_chunk::<2>().ok_or(too_short)?;
    if *magic != MAGIC {
        return Err(WireError::BadMagic { found: *magic });
    }
    let (version, rest) =
        postcard::take_from_bytes::<u16>(rest).map_err(WireError::from_postcard_de)?;
    if version != WIRE_VERSION {
        return Err(WireError::VersionMismatch {
            local: WIRE_VERSION,
            remote: version,
        });
    }
    let (id, rest) = postcard::take_from_bytes::<u32>(rest).map_err(WireError::from_postcard_de)?;
    let (body, rest) =
        postcard::take_from_bytes::<Body<'_>>(rest).map_err(WireError::from_postcard_de)?;
    if !rest.is_empty() {
        return Err(WireError::TrailingBytes { count: rest.len() });
    }
    Ok(Envelope {
        magic: *magic,
        version,
        id,
        body,
    })
}

/// A postcard flavor that CRCs the serialized bytes and COBS-encodes them (and then the CRC)
/// straight into the output slice, so encoding needs no scratch buffer.
struct FrameWriter<'o> {
    out: &'o mut [u8],
    len: usize,
    cobs: EncoderState,
    crc: Digest<'static, u32>,
    /// A full 254-byte block just closed; the next block's code byte is not placed yet, so a
    /// frame ending here carries no superfluous empty block (canonical COBS).
    code_pending: bool,
}

impl<'o> FrameWriter<'o> {
    fn new(out: &'o mut [u8]) -> postcard::Result<Self> {
        let mut writer = Self {
            out,
            len: 0,
            cobs: EncoderState::default(),
            crc: CRC.digest(),
            code_pending: false,
        };
        writer.put(0)?; // placeholder for the first code byte
        Ok(writer)
    }

    fn put(&mut self, byte: u8) -> postcard::Result<()> {
        let slot = self
            .out
            .get_mut(self.len)
            .ok_or(postcard::Error::SerializeBufferFull)?;
        *slot = byte;
        self.len += 1;
        Ok(())
    }

    fn set(&mut self, at: usize, byte: u8) -> postcard::Result<()> {
        let slot = self
            .out
            .get_mut(at)
            .ok_or(postcard::Error::SerializeBufferFull)?;
        *slot = byte;
        Ok(())
    }

    fn encode(&mut self, byte: u8) -> postcard::Result<()> {
        if self.code_pending {
            self.code_pending = false;
            self.put(0)?;
        }
        match self.cobs.push(byte) {
            PushResult::AddSingle(b) => self.put(b),
            PushResult::ModifyFromStartAndSkip((at, code)) => {
                self.set(at, code)?;
                self.put(0)
            }
            PushResult::ModifyFromStartAndPushAndSkip((at, code, b)) => {
                self.set(at, code)?;
                self.put(b)?;
                self.code_pending = true;
                Ok(())
            }
        }
    }
}

impl Flavor for FrameWriter<'_> {
    type Output = usize;

    fn try_push(&mut self, data: u8) -> postcard::Result<()> {
        self.crc.update(&[data]);
        self.encode(data)
    }

    fn try_extend(&mut self, data: &[u8]) -> postcard::Result<()> {
        self.crc.update(data);
        data.iter().try_for_each(|&b| self.encode(b))
    }

    fn finalize(mut self) -> postcard::Result<usize> {
        let crc = core::mem::replace(&mut self.crc, CRC.digest()).finalize();
        for b in crc.to_le_bytes() {
            self.encode(b)?;
        }
        let (at, code) = self.cobs.clone().finalize();
        if !self.code_pending {
            self.set(at, code)?;
        }
        self.put(0)?;
        Ok(self.len)
    }
}
