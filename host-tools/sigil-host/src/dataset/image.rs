//! PNG in, PNG out: decode (the `png` crate), composite alpha onto white, resize with an area
//! (box) filter, encode 8-bit RGB.

use std::io::Cursor;

/// Largest source side accepted (the packages ship 64×64; anything far larger is not theirs).
const MAX_SIDE: u32 = 1024;

/// A decoded image, 8-bit RGBA, rows top to bottom.
#[derive(Debug, Clone, PartialEq)]
pub struct Rgba8 {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// `width * height * 4` bytes.
    pub data: Vec<u8>,
}

/// Decode a PNG of any colour type and bit depth to 8-bit RGBA. The error says what is wrong
/// with the file (the caller names the file).
pub fn decode_png(bytes: &[u8]) -> Result<Rgba8, String> {
    let mut decoder =
        png::Decoder::new_with_limits(Cursor::new(bytes), png::Limits { bytes: 16 << 20 });
    decoder.set_transformations(
        png::Transformations::normalize_to_color8() | png::Transformations::ALPHA,
    );
    let mut reader = decoder
        .read_info()
        .map_err(|e| format!("not a valid PNG: {e}"))?;
    let (width, height) = reader.info().size();
    if width == 0 || width != height || width > MAX_SIDE {
        return Err(format!(
            "unexpected size {width}×{height} (emoji images are square, at most {MAX_SIDE})"
        ));
    }
    let size = reader
        .output_buffer_size()
        .ok_or_else(|| "image too large".to_string())?;
    let mut buf = vec![0; size];
    let info = reader
        .next_frame(&mut buf)
        .map_err(|e| format!("damaged PNG data: {e}"))?;
    buf.truncate(info.buffer_size());
    let data = match info.color_type {
        png::ColorType::Rgba => buf,
        png::ColorType::GrayscaleAlpha => buf
            .chunks_exact(2)
            .flat_map(|p| [p[0], p[0], p[0], p[1]])
            .collect(),
        other => return Err(format!("unexpected decoded colour type {other:?}")),
    };
    if data.len() != width as usize * height as usize * 4 {
        return Err("decoded pixel data has the wrong length".to_string());
    }
    Ok(Rgba8 {
        width,
        height,
        data,
    })
}

/// Composite straight (non-premultiplied) alpha onto white: `255 - (255 - c) · a / 255` per
/// channel. Returns RGB as `f32` in 0..=255, unrounded, so resizing rounds only once.
pub fn composite_on_white(img: &Rgba8) -> Vec<f32> {
    img.data
        .chunks_exact(4)
        .flat_map(|p| {
            let a = f32::from(p[3]) / 255.0;
            [p[0], p[1], p[2]].map(|c| 255.0 - (255.0 - f32::from(c)) * a)
        })
        .collect()
}

/// For each destination index, the source indices it covers and their weights (the fraction
/// of the destination pixel each source pixel covers; they sum to 1).
fn area_weights(src: usize, dst: usize) -> Vec<Vec<(usize, f32)>> {
    let scale = src as f64 / dst as f64;
    (0..dst)
        .map(|d| {
            let (lo, hi) = (d as f64 * scale, (d + 1) as f64 * scale);
            let first = lo.floor() as usize;
            let last = (hi.ceil() as usize).min(src);
            (first..last)
                .filter_map(|s| {
                    let overlap = (hi.min((s + 1) as f64) - lo.max(s as f64)).max(0.0);
                    (overlap > 0.0).then_some((s, (overlap / scale) as f32))
                })
                .collect()
        })
        .collect()
}

/// Resize a square RGB `f32` image from `src`×`src` to `dst`×`dst` with an area (box) filter:
/// each output pixel is the average of the source area it covers, so 64→32 is the exact mean
/// of each 2×2 block and `src == dst` is the identity.
pub fn resize_area(rgb: &[f32], src: usize, dst: usize) -> Vec<f32> {
    let w = area_weights(src, dst);
    // Horizontal pass: src rows × dst columns.
    let mut tmp = vec![0.0f32; src * dst * 3];
    for y in 0..src {
        for (x, taps) in w.iter().enumerate() {
            for c in 0..3 {
                tmp[(y * dst + x) * 3 + c] = taps
                    .iter()
                    .map(|&(s, k)| rgb[(y * src + s) * 3 + c] * k)
                    .sum();
            }
        }
    }
    // Vertical pass.
    let mut out = vec![0.0f32; dst * dst * 3];
    for (y, taps) in w.iter().enumerate() {
        for x in 0..dst {
            for c in 0..3 {
                out[(y * dst + x) * 3 + c] = taps
                    .iter()
                    .map(|&(s, k)| tmp[(s * dst + x) * 3 + c] * k)
                    .sum();
            }
        }
    }
    out
}

/// Round to 8 bits.
pub fn to_u8(rgb: &[f32]) -> Vec<u8> {
    rgb.iter()
        .map(|v| v.round().clamp(0.0, 255.0) as u8)
        .collect()
}

/// Encode 8-bit RGB as PNG.
pub fn encode_png_rgb(side: u32, rgb: &[u8]) -> Result<Vec<u8>, png::EncodingError> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, side, side);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header()?;
    writer.write_image_data(rgb)?;
    writer.finish()?;
    Ok(out)
}

/// The whole pipeline for one source file: decode, composite, resize to `size`, encode.
pub fn convert(bytes: &[u8], size: u32) -> Result<Vec<u8>, String> {
    let img = decode_png(bytes)?;
    let rgb = resize_area(&composite_on_white(&img), img.width as usize, size as usize);
    encode_png_rgb(size, &to_u8(&rgb)).map_err(|e| format!("cannot encode: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rgba(side: u32, f: impl Fn(u32, u32) -> [u8; 4]) -> Rgba8 {
        let data = (0..side * side)
            .flat_map(|i| f(i % side, i / side))
            .collect();
        Rgba8 {
            width: side,
            height: side,
            data,
        }
    }

    #[test]
    fn half_transparent_pixels_blend_with_white() {
        let img = rgba(1, |_, _| [0, 0, 0, 128]);
        assert_eq!(to_u8(&composite_on_white(&img)), [127, 127, 127]);
        let img = rgba(1, |_, _| [255, 0, 100, 128]);
        assert_eq!(to_u8(&composite_on_white(&img)), [255, 127, 177]);
        let clear = rgba(1, |_, _| [10, 20, 30, 0]);
        assert_eq!(to_u8(&composite_on_white(&clear)), [255, 255, 255]);
        let opaque = rgba(1, |_, _| [10, 20, 30, 255]);
        assert_eq!(to_u8(&composite_on_white(&opaque)), [10, 20, 30]);
    }

    #[test]
    fn halving_is_an_exact_2x2_mean_and_same_size_is_identity() {
        let img = rgba(64, |x, y| {
            [(x * 4) as u8, (y * 4) as u8, ((x + y) % 7 * 30) as u8, 255]
        });
        let rgb = composite_on_white(&img);
        let half = resize_area(&rgb, 64, 32);
        for (y, x, c) in [(0, 0, 0), (5, 17, 1), (31, 31, 2), (12, 3, 2)] {
            let at = |yy: usize, xx: usize| rgb[(yy * 64 + xx) * 3 + c];
            let mean = (at(2 * y, 2 * x)
                + at(2 * y, 2 * x + 1)
                + at(2 * y + 1, 2 * x)
                + at(2 * y + 1, 2 * x + 1))
                / 4.0;
            assert!((half[(y * 32 + x) * 3 + c] - mean).abs() < 1e-4);
        }
        assert_eq!(to_u8(&resize_area(&rgb, 64, 64)), to_u8(&rgb));
    }

    #[test]
    fn area_filter_preserves_flat_colour_and_mean_for_odd_ratios() {
        let img = rgba(48, |x, _| {
            if x < 24 {
                [0, 0, 0, 255]
            } else {
                [200, 200, 200, 255]
            }
        });
        let rgb = composite_on_white(&img);
        let out = resize_area(&rgb, 48, 32);
        let mean_in: f32 = rgb.iter().sum::<f32>() / rgb.len() as f32;
        let mean_out: f32 = out.iter().sum::<f32>() / out.len() as f32;
        assert!((mean_in - mean_out).abs() < 1e-3);
        assert!(out[..3].iter().all(|&v| v.abs() < 1e-4));
    }

    #[test]
    fn roundtrip_and_corrupt_input() {
        let rgb: Vec<u8> = (0..4 * 4 * 3).map(|i| (i * 5) as u8).collect();
        let bytes = encode_png_rgb(4, &rgb).unwrap();
        let back = decode_png(&bytes).unwrap();
        assert_eq!(back.width, 4);
        assert_eq!(to_u8(&composite_on_white(&back)), rgb);
        assert!(decode_png(b"not a png").is_err());
        assert!(decode_png(&bytes[..bytes.len() / 2]).is_err());
        let wide = {
            let mut out = Vec::new();
            let mut e = png::Encoder::new(&mut out, 2, 1);
            e.set_color(png::ColorType::Rgb);
            let mut w = e.write_header().unwrap();
            w.write_image_data(&[0; 6]).unwrap();
            w.finish().unwrap();
            out
        };
        assert!(decode_png(&wide).unwrap_err().contains("unexpected size"));
    }
}
