//! Composition: the generated image becomes a frame: upscaled to at least [`FRAME_SIDE`] a side,
//! a visible badge drawn with embedded-graphics, then the invisible watermark over everything
//! (so the badge's pixels carry the mark too, and the frame hash covers the marked pixels).

use embedded_graphics::mono_font::MonoTextStyle;
use embedded_graphics::mono_font::ascii::FONT_6X10;
use embedded_graphics::pixelcolor::Rgb888;
use embedded_graphics::prelude::*;
use embedded_graphics::primitives::{PrimitiveStyle, Rectangle};
use embedded_graphics::text::{Baseline, Text};
use image::{RgbImage, imageops};
use sigil_mark::{EmbedReport, MarkKey};

use crate::error::FrameError;

/// Smallest side of a released frame (the watermark's working size).
pub const FRAME_SIDE: u32 = sigil_mark::MIN_SIDE;

/// The visible label on every frame.
pub const BADGE_TEXT: &str = "AI-generated";

const BADGE_MARGIN: i32 = 4;
const BADGE_PAD: u32 = 3;
const BADGE_FILL: Rgb888 = Rgb888::new(24, 24, 24);
const BADGE_INK: Rgb888 = Rgb888::WHITE;

/// A composed, marked frame.
#[derive(Debug, Clone)]
pub struct Composed {
    /// RGB pixels, row-major.
    pub rgb: Vec<u8>,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// What the watermark did (PSNR, blocks).
    pub mark: EmbedReport,
}

/// Compose a frame from a generated RGB image: upscale (Catmull-Rom) so the shorter side is at
/// least [`FRAME_SIDE`], draw the badge in the bottom-left corner, embed `payload`.
pub fn compose(
    rgb: &[u8],
    width: u32,
    height: u32,
    payload: &[u8; 8],
    key: &MarkKey,
) -> Result<Composed, FrameError> {
    let (frame, w, h) = compose_unmarked(rgb, width, height)?;
    mark(frame, w, h, payload, key)
}

/// Upscale and badge, without the watermark (a frame held for review is stored like this: its
/// sequence number, hence its payload, is known only when it is sealed). Returns (RGB, w, h).
pub fn compose_unmarked(
    rgb: &[u8],
    width: u32,
    height: u32,
) -> Result<(Vec<u8>, u32, u32), FrameError> {
    compose_labelled(rgb, width, height, None)
}

/// [`compose_unmarked`] with an extra label above the badge (a `label`-tier category such as
/// `alcohol`: "released with an extra label"). The label is ASCII, at most
/// [`MAX_LABEL_CHARS`] characters (longer ones are cut).
pub fn compose_labelled(
    rgb: &[u8],
    width: u32,
    height: u32,
    label: Option<&str>,
) -> Result<(Vec<u8>, u32, u32), FrameError> {
    let img = RgbImage::from_raw(width, height, rgb.to_vec()).ok_or_else(|| {
        FrameError::Mark(sigil_mark::MarkError::BadBuffer {
            width,
            height,
            expected: width as usize * height as usize * 3,
            found: rgb.len(),
        })
    })?;
    let short = width.min(height).max(1);
    let (w, h) = if short >= FRAME_SIDE {
        (width, height)
    } else {
        let scale = f64::from(FRAME_SIDE) / f64::from(short);
        (
            (f64::from(width) * scale).round() as u32,
            (f64::from(height) * scale).round() as u32,
        )
    };
    if w > u32::from(u16::MAX) || h > u32::from(u16::MAX) {
        return Err(FrameError::TooLarge {
            width: w,
            height: h,
        });
    }
    let mut frame = if (w, h) == (width, height) {
        img
    } else {
        imageops::resize(&img, w, h, imageops::FilterType::CatmullRom)
    };
    draw_badge(&mut frame);
    if let Some(label) = label {
        draw_label(&mut frame, label);
    }
    Ok((frame.into_raw(), w, h))
}

/// Embed the watermark into a composed frame.
pub fn mark(
    mut rgb: Vec<u8>,
    width: u32,
    height: u32,
    payload: &[u8; 8],
    key: &MarkKey,
) -> Result<Composed, FrameError> {
    let mark = sigil_mark::embed(&mut rgb, width, height, payload, key)?;
    Ok(Composed {
        rgb,
        width,
        height,
        mark,
    })
}

/// The badge's rectangle in a frame of this size.
pub fn badge_area(height: u32) -> Rectangle {
    let text_w = FONT_6X10.character_size.width * BADGE_TEXT.len() as u32;
    let size = Size::new(
        text_w + 2 * BADGE_PAD,
        FONT_6X10.character_size.height + 2 * BADGE_PAD,
    );
    let top = i32::try_from(height).unwrap_or(i32::MAX) - BADGE_MARGIN - size.height as i32;
    Rectangle::new(Point::new(BADGE_MARGIN, top), size)
}

/// Longest extra label drawn (the 256-pixel frame's width in the badge's font, less margins).
pub const MAX_LABEL_CHARS: usize = 38;

/// The extra label's rectangle: directly above the badge, as wide as its text.
pub fn label_area(height: u32, chars: usize) -> Rectangle {
    let badge = badge_area(height);
    let text_w = FONT_6X10.character_size.width * chars.min(MAX_LABEL_CHARS) as u32;
    let size = Size::new(text_w + 2 * BADGE_PAD, badge.size.height);
    let top = badge.top_left.y - 1 - size.height as i32;
    Rectangle::new(Point::new(BADGE_MARGIN, top), size)
}

fn draw_badge(frame: &mut RgbImage) {
    let area = badge_area(frame.height());
    draw_box(frame, area, BADGE_TEXT);
}

fn draw_label(frame: &mut RgbImage, label: &str) {
    let text: String = label
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '?'
            }
        })
        .take(MAX_LABEL_CHARS)
        .collect();
    let area = label_area(frame.height(), text.len());
    draw_box(frame, area, &text);
}

fn draw_box(frame: &mut RgbImage, area: Rectangle, text: &str) {
    let mut canvas = Canvas(frame);
    // Drawing into memory cannot fail (Infallible).
    let _ = area
        .into_styled(PrimitiveStyle::with_fill(BADGE_FILL))
        .draw(&mut canvas);
    let origin = area.top_left + Point::new(BADGE_PAD as i32, BADGE_PAD as i32);
    let _ = Text::with_baseline(
        text,
        origin,
        MonoTextStyle::new(&FONT_6X10, BADGE_INK),
        Baseline::Top,
    )
    .draw(&mut canvas);
}

/// embedded-graphics' view of an RGB frame.
struct Canvas<'a>(&'a mut RgbImage);

impl OriginDimensions for Canvas<'_> {
    fn size(&self) -> Size {
        Size::new(self.0.width(), self.0.height())
    }
}

impl DrawTarget for Canvas<'_> {
    type Color = Rgb888;
    type Error = core::convert::Infallible;

    fn draw_iter<I: IntoIterator<Item = Pixel<Rgb888>>>(
        &mut self,
        pixels: I,
    ) -> Result<(), Self::Error> {
        for Pixel(p, c) in pixels {
            if let (Ok(x), Ok(y)) = (u32::try_from(p.x), u32::try_from(p.y))
                && x < self.0.width()
                && y < self.0.height()
            {
                self.0.put_pixel(x, y, image::Rgb([c.r(), c.g(), c.b()]));
            }
        }
        Ok(())
    }
}
