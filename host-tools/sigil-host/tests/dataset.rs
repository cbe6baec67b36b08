//! `sigil-host dataset build` on the committed fixture (models/data/fixture/npm: 12 Twemoji and
//! 12 Noto images in the npm packages' layout). No network.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail by panicking

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use sha2::{Digest, Sha256};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn fixture() -> PathBuf {
    repo().join("models/data/fixture/npm")
}

/// A writable copy of the fixture, to damage.
fn fixture_copy(tmp: &Path) -> PathBuf {
    fn copy(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                copy(&e.path(), &to.join(e.file_name()));
            } else {
                std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
            }
        }
    }
    let to = tmp.join("npm");
    copy(&fixture(), &to);
    to
}

fn build(npm: &Path, out: &Path, extra: &[&str]) -> Output {
    let opt_out = repo().join("models/data/opt-out.toml");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sigil-host"));
    cmd.args(["dataset", "build", "--json", "--npm"])
        .arg(npm)
        .arg("--out")
        .arg(out);
    if !extra.contains(&"--opt-out") {
        cmd.arg("--opt-out").arg(opt_out);
    }
    cmd.args(extra).output().unwrap()
}

fn ok(out: &Output) -> Value {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    serde_json::from_slice(&out.stdout).unwrap()
}

fn failed(out: &Output) -> String {
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn manifest(dir: &Path) -> Vec<Value> {
    std::fs::read_to_string(dir.join("manifest.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn entry<'a>(m: &'a [Value], id: &str) -> &'a Value {
    m.iter()
        .find(|e| e["id"] == id)
        .unwrap_or_else(|| panic!("{id} not in manifest"))
}

/// Decode a PNG to (width, height, colour type, bytes).
fn decode(path: &Path) -> (u32, u32, png::ColorType, Vec<u8>) {
    let file = std::io::BufReader::new(std::fs::File::open(path).unwrap());
    let mut decoder = png::Decoder::new(file);
    decoder.set_transformations(png::Transformations::EXPAND);
    let mut r = decoder.read_info().unwrap();
    let mut buf = vec![0; r.output_buffer_size().unwrap()];
    let info = r.next_frame(&mut buf).unwrap();
    (info.width, info.height, info.color_type, buf)
}

#[test]
fn fixture_builds_with_manifest_fields_and_skin_tone_split() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("ds");
    let s = ok(&build(&fixture(), &out, &[]));
    assert_eq!(s["format"], "sigil-dataset/1");
    assert_eq!(s["images"], 24);
    for style in ["twitter", "google"] {
        assert_eq!(s["counts"][style]["train"], 6, "{s}");
        assert_eq!(s["counts"][style]["fairness"], 6, "{s}");
    }
    assert_eq!(s["removed_count"], 0);
    assert_eq!(s["skipped_count"], 0);
    assert_eq!(s["locales"], serde_json::json!(["de"]));
    assert_eq!(s["uncaptioned"], serde_json::json!([]));
    let on_disk: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(on_disk, s);

    let m = manifest(&out);
    assert_eq!(m.len(), 24);
    let wave = entry(&m, "twitter/1F44B-1F3FD");
    assert_eq!(wave["split"], "fairness");
    assert_eq!(
        wave["code_points"],
        serde_json::json!(["U+1F44B", "U+1F3FD"])
    );
    assert_eq!(wave["emoji"], "👋🏽");
    assert_eq!(wave["image"], "images/twitter/1F44B-1F3FD.png");
    assert_eq!(wave["licence"], "CC-BY-4.0");
    assert_eq!(wave["source"]["package"], "emoji-datasource-twitter");
    assert_eq!(wave["source"]["version"], "16.0.0");
    assert_eq!(wave["source"]["file"], "img/twitter/64/1f44b-1f3fd.png");
    let src =
        std::fs::read(fixture().join("emoji-datasource-twitter/img/twitter/64/1f44b-1f3fd.png"));
    assert_eq!(
        wave["source"]["sha256"],
        hex::encode(Sha256::digest(src.unwrap()))
    );
    assert_eq!(wave["captions"]["label"], "waving hand: medium skin tone");
    assert!(
        wave["captions"]["tags"]
            .as_array()
            .unwrap()
            .contains(&"wave".into())
    );
    assert!(
        wave["captions"]["locales"]["de"]
            .as_str()
            .unwrap()
            .contains("Hand")
    );

    let heart = entry(&m, "google/2764-FE0F");
    assert_eq!(heart["split"], "train");
    assert_eq!(heart["licence"], "Apache-2.0");
    assert_eq!(heart["captions"]["label"], "red heart");
    // Other names from emoji-datasource, matched at inference: the Unicode name and short names.
    let pizza = entry(&m, "twitter/1F355");
    assert_eq!(pizza["captions"]["unicode_name"], "slice of pizza");
    assert_eq!(
        pizza["captions"]["short_names"],
        serde_json::json!(["pizza"])
    );
    assert_eq!(heart["captions"]["unicode_name"], "heavy black heart");
    assert_eq!(entry(&m, "google/1F3FB")["split"], "fairness");
    assert_eq!(entry(&m, "twitter/1F44B")["split"], "train");
    for e in &m {
        let file = e["source"]["file"].as_str().unwrap();
        assert!(
            !file.contains("apple") && !file.contains("facebook"),
            "{file}"
        );
        let (w, h, color, _) = decode(&out.join(e["image"].as_str().unwrap()));
        assert_eq!((w, h, color), (32, 32, png::ColorType::Rgb));
    }
}

/// Composite `rgba` onto white, as the spec says, in f64.
fn on_white(rgba: &[u8]) -> Vec<f64> {
    rgba.chunks_exact(4)
        .flat_map(|p| {
            let a = f64::from(p[3]) / 255.0;
            [p[0], p[1], p[2]].map(|c| 255.0 - (255.0 - f64::from(c)) * a)
        })
        .collect()
}

#[test]
fn pixels_are_composited_on_white_and_box_resized() {
    let tmp = tempfile::tempdir().unwrap();
    let (d64, d32) = (tmp.path().join("d64"), tmp.path().join("d32"));
    ok(&build(&fixture(), &d64, &["--size", "64"]));
    ok(&build(&fixture(), &d32, &["--size", "32"]));
    let src = fixture().join("emoji-datasource-google/img/google/64/1f600.png");
    let (_, _, color, rgba) = decode(&src);
    assert_eq!(color, png::ColorType::Rgba);
    assert!(
        rgba.chunks_exact(4).any(|p| p[3] > 0 && p[3] < 255),
        "want partial alpha"
    );
    let white = on_white(&rgba);
    let exact: Vec<u8> = white.iter().map(|v| v.round() as u8).collect();
    let same = decode(&d64.join("images/google/1F600.png")).3 == exact;
    assert!(
        same,
        "64×64 output differs from the source composited onto white"
    );
    let (_, _, _, half) = decode(&d32.join("images/google/1F600.png"));
    for (i, &got) in half.iter().enumerate() {
        let (y, x, c) = (i / 96, i / 3 % 32, i % 3);
        let at = |dy: usize, dx: usize| white[((2 * y + dy) * 64 + 2 * x + dx) * 3 + c];
        let mean = (at(0, 0) + at(0, 1) + at(1, 0) + at(1, 1)) / 4.0;
        assert!(
            (f64::from(got) - mean).abs() <= 0.5 + 1e-3,
            "({x},{y},{c}) {got} vs {mean}"
        );
    }
}

#[test]
fn opt_out_removes_entries_and_the_summary_says_why() {
    let tmp = tempfile::tempdir().unwrap();
    let reg = tmp.path().join("opt-out.toml");
    std::fs::write(
        &reg,
        "[[opt_out]]\ncode_points = [\"U+1F52B\"]\nreason = \"weapon, test\"\n\
         [[opt_out]]\nstyle = \"google\"\ncode_points = [\"1F44B\"]\nreason = \"asked\"\n\
         [[opt_out]]\nsource = \"emoji-datasource-twitter\"\ncode_points = [\"1F99C\"]\nreason = \"unused\"\n",
    )
    .unwrap();
    let out = tmp.path().join("ds");
    let s = ok(&build(
        &fixture(),
        &out,
        &["--opt-out", reg.to_str().unwrap()],
    ));
    // 1F52B in both styles, the google waving hand and its 5 skin tones.
    assert_eq!(s["removed_count"], 8, "{s}");
    assert_eq!(s["images"], 16);
    assert_eq!(s["counts"]["twitter"]["train"], 5);
    assert_eq!(s["counts"]["google"]["train"], 4);
    assert_eq!(s["counts"]["google"]["fairness"], 1);
    assert_eq!(s["opt_out_unused"], serde_json::json!([3]));
    let removed = s["removed"].as_array().unwrap();
    let gun = removed.iter().find(|r| r["id"] == "twitter/1F52B").unwrap();
    assert_eq!(gun["reason"], "weapon, test");
    assert_eq!(gun["rule"], 1);
    assert!(
        removed
            .iter()
            .any(|r| r["id"] == "google/1F44B-1F3FF" && r["reason"] == "asked")
    );
    let m = manifest(&out);
    assert!(m.iter().all(|e| e["unified"] != "1F52B"));
    assert!(!out.join("images/google/1F44B.png").exists());
    assert!(out.join("images/twitter/1F44B.png").exists());

    std::fs::write(&reg, "[[opt_out]]\nstyle = \"google\"\n").unwrap();
    let err = failed(&build(
        &fixture(),
        &tmp.path().join("x"),
        &["--opt-out", reg.to_str().unwrap()],
    ));
    assert!(err.contains("opt-out.toml"), "{err}");
}

#[test]
fn damaged_images_are_skipped_and_counted_or_fatal_with_strict() {
    let tmp = tempfile::tempdir().unwrap();
    let npm = fixture_copy(tmp.path());
    let out = tmp.path().join("ds");
    ok(&build(&npm, &out, &[])); // an earlier good dataset
    let good = std::fs::read(out.join("summary.json")).unwrap();

    let bad = npm.join("emoji-datasource-twitter/img/twitter/64/1f600.png");
    let bytes = std::fs::read(&bad).unwrap();
    std::fs::write(&bad, &bytes[..bytes.len() / 2]).unwrap();
    std::fs::remove_file(npm.join("emoji-datasource-google/img/google/64/1f355.png")).unwrap();

    let strict = failed(&build(&npm, &out, &["--strict"]));
    assert!(
        strict.contains("1f600.png") && strict.contains("fetch-emoji.sh"),
        "{strict}"
    );
    assert_eq!(
        std::fs::read(out.join("summary.json")).unwrap(),
        good,
        "old dataset kept"
    );
    let leftovers: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    let s = ok(&build(&npm, &out, &[]));
    assert_eq!(s["skipped_count"], 2, "{s}");
    assert_eq!(s["images"], 22);
    let skipped = s["skipped"].as_array().unwrap();
    let corrupt = skipped.iter().find(|k| k["id"] == "twitter/1F600").unwrap();
    assert!(corrupt["file"].as_str().unwrap().ends_with("1f600.png"));
    assert!(skipped.iter().any(|k| k["id"] == "google/1F355"));
    assert!(!out.join("images/twitter/1F600.png").exists());
}

#[test]
fn wrong_version_missing_package_and_malformed_json_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let npm = fixture_copy(tmp.path());
    let out = tmp.path().join("ds");

    let pj = npm.join("emojibase-data/package.json");
    let text = std::fs::read_to_string(&pj).unwrap();
    std::fs::write(&pj, text.replace("\"17.0.0\"", "\"16.0.0\"")).unwrap();
    let err = failed(&build(&npm, &out, &[]));
    assert!(
        err.contains("emojibase-data/package.json") && err.contains("17.0.0"),
        "{err}"
    );
    assert!(err.contains("fetch-emoji.sh"), "{err}");
    assert!(!out.exists());
    std::fs::write(&pj, text).unwrap();

    let emoji_json = npm.join("emoji-datasource-google/emoji.json");
    std::fs::write(&emoji_json, "[{\"unified\": \"1F600\", ").unwrap();
    let err = failed(&build(&npm, &out, &[]));
    assert!(err.contains("emoji-datasource-google/emoji.json"), "{err}");
    assert!(!out.exists());

    std::fs::remove_dir_all(npm.join("emoji-datasource-google")).unwrap();
    let err = failed(&build(&npm, &out, &[]));
    assert!(
        err.contains("emoji-datasource-google") && err.contains("fetch-emoji.sh"),
        "{err}"
    );
    let err = failed(&build(&tmp.path().join("nowhere"), &out, &[]));
    assert!(err.contains("nowhere"), "{err}");
}

#[test]
fn foreign_output_folders_and_bad_sizes_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("mine");
    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join("notes.txt"), "keep me").unwrap();
    let err = failed(&build(&fixture(), &out, &[]));
    assert!(err.contains("refusing to replace"), "{err}");
    assert!(out.join("notes.txt").exists());
    let err = failed(&build(
        &fixture(),
        &tmp.path().join("ds"),
        &["--size", "48"],
    ));
    assert!(err.contains("32 or 64"), "{err}");
}
