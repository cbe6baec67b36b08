//! Watermark rates over a folder of images: each is composited on white, resized to 256×256,
//! marked with its own payload, attacked, and read back.
//!
//! `cargo run --release -p sigil-mark --example mark-eval -- DIR [LIMIT]`
//! prints PSNR (min, median) and the exact-recovery rate per attack, and the false-payload
//! count on the unmarked originals.

use std::path::{Path, PathBuf};

use image::codecs::jpeg::JpegEncoder;
use image::{DynamicImage, RgbImage, imageops};
use sigil_mark::{CANONICAL_SIDE, MarkKey, detect, detect_at, embed};

const SIDE: u32 = 256;

type Attack = fn(&RgbImage) -> Option<RgbImage>;

fn pngs(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for e in std::fs::read_dir(dir)? {
        let p = e?.path();
        if p.is_dir() {
            pngs(&p, out)?;
        } else if p.extension().is_some_and(|x| x == "png") {
            out.push(p);
        }
    }
    Ok(())
}

fn frame(path: &Path) -> Option<RgbImage> {
    let rgba = image::open(path).ok()?.to_rgba8();
    let mut rgb = RgbImage::new(rgba.width(), rgba.height());
    for (d, s) in rgb.pixels_mut().zip(rgba.pixels()) {
        let a = f32::from(s[3]) / 255.0;
        for c in 0..3 {
            d[c] = (f32::from(s[c]) * a + 255.0 * (1.0 - a)).round() as u8;
        }
    }
    Some(imageops::resize(
        &rgb,
        SIDE,
        SIDE,
        imageops::FilterType::CatmullRom,
    ))
}

fn jpeg(img: &RgbImage, q: u8) -> Option<RgbImage> {
    let mut bytes = Vec::new();
    JpegEncoder::new_with_quality(&mut bytes, q)
        .encode_image(&DynamicImage::ImageRgb8(img.clone()))
        .ok()?;
    Some(image::load_from_memory(&bytes).ok()?.to_rgb8())
}

fn resize(img: &RgbImage, side: u32) -> RgbImage {
    imageops::resize(img, side, side, imageops::FilterType::Triangle)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(args.next().ok_or("usage: mark-eval DIR [LIMIT]")?);
    let limit: usize = args
        .next()
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(usize::MAX);
    let mut files = Vec::new();
    pngs(&dir, &mut files)?;
    files.sort();
    // An even spread over the folder, not its first styles only.
    let stride = (files.len() / limit.min(files.len()).max(1)).max(1);
    let files: Vec<_> = files.into_iter().step_by(stride).take(limit).collect();
    let key = MarkKey::sigil_default();
    let attacks: [(&str, Attack); 6] = [
        ("none", |i| Some(i.clone())),
        ("jpeg q90", |i| jpeg(i, 90)),
        ("jpeg q75", |i| jpeg(i, 75)),
        ("jpeg q50", |i| jpeg(i, 50)),
        ("0.5x and back", |i| {
            Some(resize(&resize(i, SIDE / 2), SIDE))
        }),
        ("0.5x+back, jpeg q75", |i| {
            jpeg(&resize(&resize(i, SIDE / 2), SIDE), 75)
        }),
    ];
    let mut ok = [0usize; 6];
    let (mut half_ok, mut false_hits, mut n) = (0usize, 0usize, 0usize);
    let mut psnrs = Vec::new();
    let (mut embed_ms, mut detect_ms) = (Vec::new(), Vec::new());
    for (i, f) in files.iter().enumerate() {
        let Some(plain) = frame(f) else { continue };
        n += 1;
        let mut payload = [0x5e, 0x11, 0xa7, 0x01, 0, 0, 0, 0];
        payload[4..].copy_from_slice(&(i as u32).to_be_bytes());
        if detect(&plain, SIDE, SIDE, &key)?.payload.is_some() {
            false_hits += 1;
        }
        let mut img = plain.clone();
        let t = std::time::Instant::now();
        let r = embed(&mut img, SIDE, SIDE, &payload, &key)?;
        embed_ms.push(t.elapsed().as_secs_f64() * 1e3);
        let t = std::time::Instant::now();
        let _ = detect(&img, SIDE, SIDE, &key)?;
        detect_ms.push(t.elapsed().as_secs_f64() * 1e3);
        if r.psnr_db < 36.0 {
            eprintln!(
                "low PSNR {:.1} skipped {} {}",
                r.psnr_db,
                r.skipped,
                f.display()
            );
        }
        psnrs.push(r.psnr_db);
        for (k, (_, attack)) in attacks.iter().enumerate() {
            if let Some(a) = attack(&img)
                && detect(&a, SIDE, SIDE, &key)?.payload == Some(payload)
            {
                ok[k] += 1;
            }
        }
        let half = resize(&img, SIDE / 2);
        if detect_at(
            &half,
            SIDE / 2,
            SIDE / 2,
            CANONICAL_SIDE,
            CANONICAL_SIDE,
            &key,
        )?
        .payload
            == Some(payload)
        {
            half_ok += 1;
        }
    }
    psnrs.sort_by(f64::total_cmp);
    println!("{n} images from {}", dir.display());
    println!(
        "PSNR min {:.2} dB, median {:.2} dB",
        psnrs.first().copied().unwrap_or(0.0),
        psnrs.get(psnrs.len() / 2).copied().unwrap_or(0.0)
    );
    for (k, (name, _)) in attacks.iter().enumerate() {
        println!(
            "{name:>22}: {:>5}/{n} = {:.2} %",
            ok[k],
            100.0 * ok[k] as f64 / n.max(1) as f64
        );
    }
    println!(
        "{:>22}: {half_ok:>5}/{n} = {:.2} %",
        "left at 0.5x",
        100.0 * half_ok as f64 / n.max(1) as f64
    );
    println!("false payloads on unmarked originals: {false_hits}/{n}");
    embed_ms.sort_by(f64::total_cmp);
    detect_ms.sort_by(f64::total_cmp);
    println!(
        "embed p50 {:.2} ms, detect p50 {:.2} ms (256×256, this build)",
        embed_ms.get(embed_ms.len() / 2).copied().unwrap_or(0.0),
        detect_ms.get(detect_ms.len() / 2).copied().unwrap_or(0.0)
    );
    Ok(())
}
