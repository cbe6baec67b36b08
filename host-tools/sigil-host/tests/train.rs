//! `sigil-host train` and `sigil-host eval` end to end with the `tiny` preset on the committed
//! fixture (6 concepts × 2 styles): stages, checkpoints, resume, seeds, the evaluation report,
//! and the bad-input paths. Needs the text encoder (models/data/fetch-minilm.sh; CI runs it).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail by panicking

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn host(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sigil-host"))
        .args(args)
        .output()
        .unwrap()
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// A dataset built from the fixture into `tmp/data`.
fn dataset(tmp: &Path) -> PathBuf {
    let out = tmp.join("data");
    let npm = repo().join("models/data/fixture/npm");
    let opt = repo().join("models/data/opt-out.toml");
    let o = host(&[
        "dataset",
        "build",
        "--npm",
        p(&npm),
        "--out",
        p(&out),
        "--opt-out",
        p(&opt),
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    out
}

fn train(data: &Path, run: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "train",
        "--preset",
        "tiny",
        "--quiet",
        "--json",
        "--data",
        p(data),
        "--out",
        p(run),
    ];
    args.extend_from_slice(extra);
    host(&args)
}

fn ok(o: &Output) -> Value {
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).unwrap()
}

fn failed(o: &Output) -> String {
    assert_eq!(
        o.status.code(),
        Some(2),
        "expected a bad-input failure: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn losses(run: &Path, stage: &str) -> Vec<f64> {
    std::fs::read_to_string(run.join(stage).join("log.jsonl"))
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["loss"]
                .as_f64()
                .unwrap()
        })
        .collect()
}

/// `sigil-host eval --json` of a model folder (`--model`) or pack (`--pack`) with the run's
/// judge, the dataset and a paraphrase set.
fn eval(source: (&str, &Path), judge: &Path, data: &Path, para: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "eval",
        "--json",
        source.0,
        p(source.1),
        "--judge",
        p(judge),
        "--data",
        p(data),
        "--paraphrases",
        p(para),
    ];
    args.extend_from_slice(extra);
    host(&args)
}

#[test]
fn trains_every_stage_resumes_and_evaluates() {
    let tmp = tempfile::tempdir().unwrap();
    let data = dataset(tmp.path());
    let run = tmp.path().join("run");
    let r = ok(&train(&data, &run, &[]));
    assert_eq!(r["ae"]["steps"], 12);
    assert_eq!(r["ae"]["complete"], true);
    assert!(r["ae"]["psnr_db"].as_f64().unwrap().is_finite());
    assert_eq!(r["judge"]["complete"], true);
    // The 10 skin-tone variants of the fixture map onto "waving hand".
    assert_eq!(r["judge"]["heldout_images"], 10);
    assert_eq!(r["teacher"]["steps"], 12);
    for f in [
        "ae.json",
        "ae.bpk",
        "denoiser.json",
        "denoiser.bpk",
        "model.json",
    ] {
        assert!(run.join("model").join(f).is_file(), "{f}");
    }
    let model: Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("model/model.json")).unwrap())
            .unwrap();
    assert_eq!(model["concepts"], 6);
    assert_eq!(model["data_manifest_sha256"].as_str().unwrap().len(), 64);
    assert_eq!(losses(&run, "teacher").len(), 12);

    // Running again resumes: nothing is retrained, the logs do not grow.
    let again = ok(&train(&data, &run, &[]));
    assert_eq!(again["teacher"]["steps"], 12);
    assert_eq!(losses(&run, "teacher").len(), 12);

    // More steps extend the run from the checkpoint.
    let more = ok(&train(
        &data,
        &run,
        &["--stage", "teacher", "--teacher-steps", "15"],
    ));
    assert_eq!(more["teacher"]["steps"], 15);
    assert_eq!(losses(&run, "teacher").len(), 15);

    // Evaluation: the JSON fields, fractions in range, and a contact sheet.
    let para = tmp.path().join("para.tsv");
    std::fs::write(
        &para,
        "unified\tprompt\n1F355\ta cheesy slice\n1F431\ta kitty's face\n",
    )
    .unwrap();
    let sheet = tmp.path().join("sheet.png");
    let e = ok(&eval(
        ("--model", &run.join("model")),
        &run.join("judge"),
        &data,
        &para,
        &["--steps", "2", "--sheet", p(&sheet)],
    ));
    for k in [
        "labels_top1",
        "labels_top5",
        "paraphrase_top1",
        "paraphrase_top5",
    ] {
        let v = e[k].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&v), "{k} = {v}");
    }
    assert!(e["fd"].as_f64().unwrap() >= 0.0);
    assert_eq!(e["paraphrases"], 2);
    assert_eq!(e["concepts"], 6);
    // Top-5 of 6 classes: at least the judge's own accuracy on real images must be sane.
    assert!(e["judge_real_top1"].as_f64().unwrap() >= 0.0);
    let png = std::fs::read(&sheet).unwrap();
    assert_eq!(&png[1..4], b"PNG");
    // The model folder carries its caption index, and eval snaps prompts as the device does:
    // both paraphrases land on a caption of the intended concept among these six.
    assert!(run.join("model/captions.sigilpack").is_file());
    assert_eq!(e["snap"], true);
    assert_eq!(e["paraphrase_caption_top1"], 1.0);
    let raw = ok(&eval(
        ("--model", &run.join("model")),
        &run.join("judge"),
        &data,
        &para,
        &["--no-snap", "--every", "3", "--steps", "1"],
    ));
    assert_eq!(raw["snap"], false);
    assert!(raw["paraphrase_caption_top1"].is_null());
    assert_eq!(raw["concepts"], 2);
}

#[test]
fn the_same_seed_trains_the_same_and_another_seed_does_not() {
    let tmp = tempfile::tempdir().unwrap();
    let data = dataset(tmp.path());
    let (a, b, c) = (
        tmp.path().join("a"),
        tmp.path().join("b"),
        tmp.path().join("c"),
    );
    ok(&train(&data, &a, &["--stage", "ae", "--seed", "5"]));
    ok(&train(&data, &b, &["--stage", "ae", "--seed", "5"]));
    ok(&train(&data, &c, &["--stage", "ae", "--seed", "6"]));
    assert_eq!(losses(&a, "ae"), losses(&b, "ae"));
    assert_ne!(losses(&a, "ae"), losses(&c, "ae"));
}

#[test]
fn checkpoints_of_another_config_and_damaged_files_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let data = dataset(tmp.path());
    let run = tmp.path().join("run");
    ok(&train(&data, &run, &["--stage", "ae"]));

    // Another preset into the same run: refused, naming the checkpoint and the fix.
    let err = failed(&host(&[
        "train",
        "--preset",
        "teacher",
        "--quiet",
        "--stage",
        "ae",
        "--data",
        p(&data),
        "--out",
        p(&run),
    ]));
    assert!(
        err.contains("state.json")
            && err.contains("another ae config")
            && err.contains("fresh --out"),
        "{err}"
    );

    // A truncated model file.
    let bpk = run.join("ae/final.bpk");
    let bytes = std::fs::read(&bpk).unwrap();
    std::fs::write(&bpk, &bytes[..bytes.len() / 3]).unwrap();
    let err = failed(&train(&data, &run, &["--stage", "teacher"]));
    assert!(err.contains("final.bpk"), "{err}");

    // A corrupt PNG in the dataset.
    let png = data.join("images/twitter/1F355.png");
    std::fs::write(&png, b"\x89PNG\r\n\x1a\nnot really").unwrap();
    let err = failed(&train(&data, &tmp.path().join("run2"), &["--stage", "ae"]));
    assert!(
        err.contains("1F355.png") && err.contains("dataset build"),
        "{err}"
    );

    // No dataset at all.
    let err = failed(&train(&tmp.path().join("nowhere"), &run, &[]));
    assert!(
        err.contains("manifest.jsonl") && err.contains("dataset build"),
        "{err}"
    );

    // An unknown preset.
    let err = failed(&host(&[
        "train",
        "--preset",
        "huge",
        "--data",
        p(&data),
        "--out",
        p(&run),
    ]));
    assert!(err.contains("huge"), "{err}");
}

#[test]
fn eval_refuses_a_missing_model_and_a_paraphrase_of_an_unknown_concept() {
    let tmp = tempfile::tempdir().unwrap();
    let data = dataset(tmp.path());
    let run = tmp.path().join("run");
    ok(&train(&data, &run, &["--stage", "judge"]));
    let para = tmp.path().join("para.tsv");
    std::fs::write(&para, "unified\tprompt\n1F9FF\tan evil eye\n").unwrap();
    let err = failed(&host(&[
        "eval",
        "--model",
        p(&tmp.path().join("none")),
        "--judge",
        p(&run.join("judge")),
        "--data",
        p(&data),
        "--paraphrases",
        p(&para),
    ]));
    assert!(
        err.contains("ae.json") || err.contains("config.json"),
        "{err}"
    );
    ok(&train(&data, &run, &[]));
    let err = failed(&host(&[
        "eval",
        "--model",
        p(&run.join("model")),
        "--judge",
        p(&run.join("judge")),
        "--data",
        p(&data),
        "--paraphrases",
        p(&para),
    ]));
    assert!(err.contains("1F9FF") && err.contains("line 2"), "{err}");
}

#[test]
fn distils_a_few_step_student_that_eval_samples_in_one_step() {
    let tmp = tempfile::tempdir().unwrap();
    let data = dataset(tmp.path());
    let run = tmp.path().join("run");
    let err = failed(&train(&data, &run, &["--stage", "student"]));
    assert!(err.contains("--stage teacher first"), "{err}");
    ok(&train(&data, &run, &[]));
    let r = ok(&train(&data, &run, &["--stage", "student"]));
    assert_eq!(r["student"]["steps"], 12);
    assert_eq!(r["student"]["guidance"], 3.0);
    assert_eq!(losses(&run, "student").len(), 12);
    let cfg: Value = serde_json::from_str(
        &std::fs::read_to_string(run.join("student-model/denoiser.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(cfg["step_cond"], true);
    // Resumes rather than retrains.
    ok(&train(&data, &run, &["--stage", "student"]));
    assert_eq!(losses(&run, "student").len(), 12);
    let para = tmp.path().join("para.tsv");
    std::fs::write(&para, "unified\tprompt\n1F431\ta kitty's face\n").unwrap();
    let e = ok(&eval(
        ("--model", &run.join("student-model")),
        &run.join("judge"),
        &data,
        &para,
        &["--steps", "1"],
    ));
    assert_eq!(e["sampler"], "shortcut");
    assert_eq!(e["steps"], 1);
    assert_eq!(e["guidance"], 3.0);
    assert!((0.0..=1.0).contains(&e["labels_top5"].as_f64().unwrap()));

    // Packs: int8 is at most 35 % of f32; both load and run in the benchmark.
    let student = run.join("student-model");
    let pack = |name: &str, extra: &[&str]| {
        let out = tmp.path().join(name);
        let mut args = vec![
            "pack-model",
            "--json",
            "--model",
            p(&student),
            "-o",
            p(&out),
            "--steps",
            "2",
        ];
        args.extend_from_slice(extra);
        (ok(&host(&args)), out)
    };
    let (q, q_path) = pack("int8.sigilpack", &[]);
    let (f, _) = pack("f32.sigilpack", &["--f32"]);
    assert!(q["int8_tensors"].as_u64().unwrap() > 0);
    assert_eq!(f["int8_tensors"], 0);
    assert_eq!(q["params"], f["params"]);
    let (qb, fb) = (q["bytes"].as_f64().unwrap(), f["bytes"].as_f64().unwrap());
    assert!(qb <= 0.35 * fb, "int8 pack {qb} bytes vs f32 {fb}");
    assert_eq!(q["digest"].as_str().unwrap().len(), 64);
    let b = ok(&host(&[
        "bench",
        "--json",
        "--pack",
        p(&q_path),
        "--backend",
        "cpu",
        "--frames",
        "3",
    ]));
    assert!(b["backend"].as_str().unwrap().starts_with("cpu"));
    assert_eq!(b["steps"], 2);
    assert_eq!(b["step_ms"].as_array().unwrap().len(), 2);
    for k in [
        "total_ms_p50",
        "total_ms_p90",
        "peak_rss_mb",
        "peak_fraction",
    ] {
        assert!(b[k].as_f64().unwrap() > 0.0, "{k}: {}", b[k]);
    }
    assert!(b["total_ms_p90"].as_f64() >= b["total_ms_p50"].as_f64());
    assert_eq!(b["pack_bytes"].as_f64().unwrap(), qb);
    assert!(b["flops_per_image"].as_u64().unwrap() > 0);
    let err = failed(&host(&["bench", "--pack", p(&tmp.path().join("none"))]));
    assert!(err.contains("pack-model"), "{err}");

    // The int8 pack on the harness, run as the device runs it: the pack's step count, its own
    // (int8) text encoder and caption index.
    let judge = run.join("judge");
    let e = ok(&eval(("--pack", &q_path), &judge, &data, &para, &[]));
    assert_eq!(e["sampler"], "shortcut (pack)");
    assert_eq!(e["steps"], 2);
    assert_eq!(e["snap"], true);
    assert_eq!(e["paraphrase_caption_top1"], 1.0);
    assert!((0.0..=1.0).contains(&e["labels_top5"].as_f64().unwrap()));
    let one = ok(&eval(
        ("--pack", &q_path),
        &judge,
        &data,
        &para,
        &["--steps", "1"],
    ));
    assert_eq!(one["steps"], 1);
    let err = failed(&eval(
        ("--pack", &q_path),
        &judge,
        &data,
        &para,
        &["--model", p(&student)],
    ));
    assert!(err.contains("cannot be used with"), "{err}");
    let err = failed(&eval(
        ("--pack", &q_path),
        &judge,
        &data,
        &para,
        &["--prior-only"],
    ));
    assert!(err.contains("model folder"), "{err}");
}
