//! Pack format: round trips, int8 error bounds, and refusal of every kind of damage.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proptest::prelude::*;
use sigil_pack::quant::{dequantize, quantize};
use sigil_pack::{FORMAT_VERSION, Licence, Pack, PackError, PackWriter, sha256};

fn writer() -> PackWriter {
    PackWriter::new(
        "test-pack",
        serde_json::json!({"denoiser": {"base": 8}}),
        4,
        3.0,
        &"ab".repeat(32),
        serde_json::json!({"steps": 12}),
        vec![Licence {
            component: "weights".into(),
            licence: "Apache-2.0".into(),
            source: "test".into(),
        }],
    )
}

fn sample() -> (PackWriter, Vec<f32>, Vec<f32>) {
    let conv: Vec<f32> = (0..2 * 3 * 3 * 3)
        .map(|i| ((i * 37 % 23) as f32 - 11.0) / 7.0)
        .collect();
    let bias = vec![0.5f32, -0.25];
    let mut w = writer();
    w.add_i8("conv.weight", &[2, 3, 3, 3], &conv, 0).unwrap();
    w.add_f32("conv.bias", &[2], &bias).unwrap();
    w.add_bytes("text.vocab", b"[PAD]\n[UNK]\nhello\n").unwrap();
    (w, conv, bias)
}

#[test]
fn round_trip_keeps_f32_exact_and_int8_within_half_a_step() {
    let (w, conv, bias) = sample();
    let bytes = w.to_bytes().unwrap();
    let pack = Pack::from_bytes(bytes.clone()).unwrap();
    assert_eq!(pack.digest(), sha256(&bytes));
    assert_eq!(pack.manifest().sampling_steps, 4);
    assert_eq!(pack.f32("conv.bias").unwrap(), (bias, vec![2]));
    let (back, shape) = pack.f32("conv.weight").unwrap();
    assert_eq!(shape, vec![2, 3, 3, 3]);
    let (_, scales) = pack.i8("conv.weight").unwrap();
    for (i, (a, b)) in conv.iter().zip(&back).enumerate() {
        assert!(
            (a - b).abs() <= scales[i / 27] / 2.0 + 1e-7,
            "{i}: {a} vs {b}"
        );
    }
    // Deterministic: the same content gives the same bytes, hence the same model digest.
    assert_eq!(sample().0.to_bytes().unwrap(), bytes);
    assert!(pack.i8("conv.bias").is_err());
    assert_eq!(pack.bytes("text.vocab").unwrap(), b"[PAD]\n[UNK]\nhello\n");
    assert!(pack.bytes("conv.bias").is_err());
    assert!(pack.f32("text.vocab").is_err());
    assert!(matches!(
        pack.f32("nope"),
        Err(PackError::MissingTensor(n)) if n == "nope"
    ));
}

#[test]
fn every_single_bit_flip_is_refused() {
    let bytes = sample().0.to_bytes().unwrap();
    for i in 0..bytes.len() {
        for bit in [0u8, 3, 7] {
            let mut bad = bytes.clone();
            bad[i] ^= 1 << bit;
            assert!(
                Pack::from_bytes(bad).is_err(),
                "flip of bit {bit} at byte {i} of {} went unnoticed",
                bytes.len()
            );
        }
    }
}

#[test]
fn a_damaged_tensor_is_named() {
    let (w, _, _) = sample();
    let bytes = w.to_bytes().unwrap();
    let pack = Pack::from_bytes(bytes.clone()).unwrap();
    let at = pack.entry("conv.bias").unwrap().data.offset as usize;
    let mut bad = bytes;
    bad[at] ^= 0x40;
    let err = Pack::from_bytes(bad).unwrap_err();
    assert!(
        matches!(&err, PackError::Digest { what } if what.contains("conv.bias")),
        "{err}"
    );
}

#[test]
fn every_truncation_is_refused_without_panicking() {
    let bytes = sample().0.to_bytes().unwrap();
    for cut in 0..bytes.len() {
        let err = Pack::from_bytes(bytes[..cut].to_vec()).unwrap_err();
        let text = err.to_string();
        assert!(!text.is_empty());
    }
}

#[test]
fn wrong_magic_and_future_versions_say_what_mismatched() {
    let bytes = sample().0.to_bytes().unwrap();
    let mut png = bytes.clone();
    png[..8].copy_from_slice(b"\x89PNG\r\n\x1a\n");
    let err = Pack::from_bytes(png).unwrap_err();
    assert!(matches!(err, PackError::BadMagic { .. }));
    assert!(err.to_string().contains("SIGLPACK"), "{err}");
    let mut future = bytes;
    future[8..10].copy_from_slice(&(FORMAT_VERSION + 1).to_le_bytes());
    let err = Pack::from_bytes(future).unwrap_err();
    assert!(
        matches!(err, PackError::UnsupportedVersion { found, supported }
            if found == FORMAT_VERSION + 1 && supported == FORMAT_VERSION),
        "{err}"
    );
    assert!(err.to_string().contains("repack"), "{err}");
}

#[test]
fn writer_refuses_bad_tensors() {
    let mut w = writer();
    assert!(w.add_f32("a", &[2, 2], &[1.0; 3]).is_err());
    assert!(w.add_i8("b", &[2], &[f32::NAN, 1.0], 0).is_err());
    assert!(w.add_i8("c", &[2, 2], &[1.0; 4], 2).is_err());
    w.add_f32("d", &[1], &[1.0]).unwrap();
    let err = w.add_f32("d", &[1], &[1.0]).unwrap_err();
    assert!(err.to_string().contains("twice"), "{err}");
}

#[test]
fn atomic_write_replaces_a_pack_whole_and_leaves_no_partial_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.sigilpack");
    let (w, _, _) = sample();
    let d1 = w.write(&path).unwrap();
    assert_eq!(Pack::open(&path).unwrap().digest(), d1);
    let mut w2 = writer();
    w2.add_f32("x", &[1], &[2.0]).unwrap();
    let d2 = w2.write(&path).unwrap();
    assert_ne!(d1, d2);
    assert_eq!(Pack::open(&path).unwrap().digest(), d2);
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("model.sigilpack")]);
    let missing = Pack::open(&dir.path().join("none.sigilpack")).unwrap_err();
    assert!(missing.to_string().contains("none.sigilpack"), "{missing}");
}

#[test]
fn a_zero_channel_quantises_to_zero() {
    let q = quantize("z", &[0.0, 0.0, 1.0, -2.0], &[2, 2], 0).unwrap();
    assert_eq!(q.scales[0], 0.0);
    assert_eq!(&q.values[..2], &[0, 0]);
    assert_eq!(q.values[3], -127);
    let back = dequantize("z", &q.values, &q.scales, &[2, 2], 0).unwrap();
    assert_eq!(back[..2], [0.0, 0.0]);
    assert!((back[3] + 2.0).abs() < 1e-6);
}

proptest! {
    #[test]
    fn int8_error_is_at_most_half_a_step_on_any_axis(
        dims in proptest::collection::vec(1usize..5, 1..4),
        seed in any::<u64>(),
        axis_pick in any::<usize>(),
    ) {
        let n: usize = dims.iter().product();
        let mut s = seed | 1;
        let data: Vec<f32> = (0..n).map(|_| {
            s ^= s << 13; s ^= s >> 7; s ^= s << 17;
            ((s % 20_001) as f32 - 10_000.0) / 997.0
        }).collect();
        let axis = axis_pick % dims.len();
        let q = quantize("p", &data, &dims, axis).unwrap();
        prop_assert_eq!(q.scales.len(), dims[axis]);
        prop_assert!(q.values.iter().all(|v| *v != i8::MIN));
        let back = dequantize("p", &q.values, &q.scales, &dims, axis).unwrap();
        let inner: usize = dims[axis + 1..].iter().product();
        for (i, (a, b)) in data.iter().zip(&back).enumerate() {
            let scale = q.scales[(i / inner) % dims[axis]];
            prop_assert!((a - b).abs() <= scale / 2.0 + 1e-6);
        }
    }
}
