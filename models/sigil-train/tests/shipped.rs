//! The committed teacher and judge load, fit their configs exactly, and agree with each other
//! and with the model card's facts (the figures themselves come from `sigil-host eval`, which
//! needs the dataset).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail by panicking

use std::path::PathBuf;

use burn::tensor::Device;
use sigil_train::judge::LoadedJudge;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn the_shipped_teacher_and_judge_load_and_agree() {
    let device = Device::flex();
    let teacher = sigil_train::teacher::load(&repo().join("models/teacher"), &device).unwrap();
    assert!(
        teacher.cfg.prior.is_some(),
        "the shipped teacher has a prior"
    );
    assert_eq!(teacher.meta["steps"], 3000);
    assert_eq!(teacher.meta["image_side"], 32);
    let index = teacher
        .captions
        .as_ref()
        .expect("the teacher ships its caption index");
    assert!(index.len() > 7624, "{} captions", index.len());
    assert_eq!(index.dim(), teacher.cfg.text_dim);
    // Every concept the judge knows has captions in the index, and nothing else does.
    let judge = LoadedJudge::load(&repo().join("models/judge"), &device).unwrap();
    let classes: std::collections::BTreeSet<&str> =
        judge.file.classes.iter().map(String::as_str).collect();
    let captioned: std::collections::BTreeSet<&str> = (0..index.len())
        .filter_map(|i| index.caption(i).map(|c| c.concept.as_str()))
        .collect();
    assert_eq!(classes.len(), 1906);
    assert_eq!(captioned, classes);
}
