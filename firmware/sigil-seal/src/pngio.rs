//! Frame files: a PNG whose `sgRC` chunk holds the record, a sidecar with the same record, and
//! reading a frame (PNG or JPEG) back with whatever record it still carries.

use std::path::{Path, PathBuf};

use sigil_provenance::{RECORD_LEN, Record};

use crate::credential::{FrameSigner, add_credentials};
use crate::error::FrameError;
use crate::state::write_new_atomic;

/// The PNG chunk type of the record: ancillary (s), private (g), reserved bit clear (R), not
/// safe to copy (C): an editor that changes the pixels must drop it.
pub const RECORD_CHUNK: [u8; 4] = *b"sgRC";

/// Extension added to a frame's file name for its sidecar record.
pub const SIDECAR_EXT: &str = "sigil-record";

const PNG_SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a];
static PNG_CRC: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);

/// Encode an RGB frame as PNG with `record` in its own chunk, before the image data.
pub fn encode_png(
    rgb: &[u8],
    width: u32,
    height: u32,
    record: &[u8],
) -> Result<Vec<u8>, FrameError> {
    let mut out = Vec::new();
    let png_err = |e: png::EncodingError| FrameError::BadPng(e.to_string());
    {
        let mut enc = png::Encoder::new(&mut out, width, height);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        // fdeflate's PNG-tuned mode: a few ms a frame instead of ~20 ms for the default level.
        enc.set_compression(png::Compression::Fast);
        let mut w = enc.write_header().map_err(png_err)?;
        w.write_chunk(png::chunk::ChunkType(RECORD_CHUNK), record)
            .map_err(png_err)?;
        w.write_image_data(rgb).map_err(png_err)?;
        w.finish().map_err(png_err)?;
    }
    Ok(out)
}

/// Write a released frame: the sidecar `NAME.sigil-record` first, then `NAME` (PNG with the
/// record chunk and the C2PA manifest signed by `signer`), each atomically. A frame on disk therefore always has its sidecar. Neither
/// replaces an existing file: a released frame is never overwritten.
pub fn write_frame(
    dir: &Path,
    name: &str,
    rgb: &[u8],
    width: u32,
    height: u32,
    record: &Record,
    signer: &FrameSigner<'_>,
) -> Result<(PathBuf, PathBuf), FrameError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |e: crate::StateError| FrameError::Io {
            path,
            source: std::io::Error::other(e.to_string()),
        }
    };
    std::fs::create_dir_all(dir).map_err(|source| FrameError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut bytes = [0u8; RECORD_LEN];
    record.encode(&mut bytes);
    let png = encode_png(rgb, width, height, &bytes)?;
    let png = add_credentials(&png, record, signer, name)?;
    let frame = dir.join(name);
    let sidecar = sidecar_path(&frame);
    write_new_atomic(&sidecar, &bytes).map_err(io(&sidecar))?;
    write_new_atomic(&frame, &png).map_err(io(&frame))?;
    Ok((frame, sidecar))
}

/// The sidecar of a frame file.
pub fn sidecar_path(frame: &Path) -> PathBuf {
    let mut s = frame.as_os_str().to_owned();
    s.push(".");
    s.push(SIDECAR_EXT);
    PathBuf::from(s)
}

/// A frame read back from a file.
#[derive(Debug, Clone)]
pub struct ReadFrame {
    /// RGB pixels as decoded.
    pub rgb: Vec<u8>,
    /// Width.
    pub width: u32,
    /// Height.
    pub height: u32,
    /// `png` or `jpeg` (or another format the decoder knew).
    pub format: &'static str,
    /// The record chunk's bytes, if the PNG has one with a good CRC.
    pub record: Option<Vec<u8>>,
    /// Why a record chunk that is present could not be taken (bad CRC, two of them).
    pub record_problem: Option<String>,
}

/// Decode a frame (PNG or JPEG) and find its record chunk.
pub fn read_frame(bytes: &[u8]) -> Result<ReadFrame, FrameError> {
    let format = match image::guess_format(bytes) {
        Ok(image::ImageFormat::Png) => "png",
        Ok(image::ImageFormat::Jpeg) => "jpeg",
        Ok(other) => return Err(FrameError::Decode(format!("{other:?} is not supported"))),
        Err(e) => return Err(FrameError::Decode(e.to_string())),
    };
    let img = image::load_from_memory(bytes)
        .map_err(|e| FrameError::Decode(e.to_string()))?
        .to_rgb8();
    let (record, record_problem) = if format == "png" {
        find_record_chunk(bytes)?
    } else {
        (None, None)
    };
    Ok(ReadFrame {
        width: img.width(),
        height: img.height(),
        rgb: img.into_raw(),
        format,
        record,
        record_problem,
    })
}

/// Walk a PNG's chunks for [`RECORD_CHUNK`].
fn find_record_chunk(bytes: &[u8]) -> Result<(Option<Vec<u8>>, Option<String>), FrameError> {
    if bytes.get(..8) != Some(&PNG_SIGNATURE[..]) {
        return Err(FrameError::BadPng("no PNG signature".into()));
    }
    let mut at = 8usize;
    let mut found: Option<Vec<u8>> = None;
    let mut problem = None;
    while let Some(head) = bytes.get(at..at + 8) {
        let len = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize;
        let kind = [head[4], head[5], head[6], head[7]];
        let end = at
            .checked_add(12)
            .and_then(|x| x.checked_add(len))
            .filter(|e| *e <= bytes.len())
            .ok_or_else(|| FrameError::BadPng(format!("chunk at byte {at} runs past the end")))?;
        if kind == RECORD_CHUNK {
            let data = bytes.get(at + 8..at + 8 + len).unwrap_or_default();
            let stored = bytes
                .get(at + 8 + len..end)
                .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]));
            let mut digest = PNG_CRC.digest();
            digest.update(&kind);
            digest.update(data);
            if stored != Some(digest.finalize()) {
                problem = Some(format!("the record chunk at byte {at} fails its CRC"));
            } else if found.is_some() {
                problem = Some("the PNG has more than one record chunk".into());
                found = None;
                break;
            } else {
                found = Some(data.to_vec());
            }
        }
        if kind == *b"IEND" {
            break;
        }
        at = end;
    }
    Ok((found, problem))
}
