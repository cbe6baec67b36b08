//! The output check and in-flight control through `sigil generate`, on tiny packs whose output
//! check has a fixed verdict (zero weights, a biased head): a review-tier hit holds the frame and
//! its verdict reaches the record when it is decided; a label-tier hit releases the frame with
//! the label drawn and recorded; a pack without a check, or with one for another policy, is
//! refused; a review-tier prompt is steered.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail by panicking

mod common;

use std::path::Path;

use common::{expect_exit, json, p, sigil, tiny_outcheck, tiny_pack_custom, tiny_pack_with};
use sigil_provenance::{LogReader, Record, Review};

fn generate(pack: &Path, state: &Path, out: &Path, prompt: &str) -> std::process::Output {
    common::generate(pack, state, out, prompt, "local", 3)
}

fn records(state: &Path) -> Vec<Record> {
    let log = std::fs::read(state.join(sigil_seal::LOG_FILE)).unwrap();
    LogReader::new(&log)
        .map(|e| Record::decode(e.unwrap().bytes).unwrap())
        .collect()
}

fn pngs(out: &Path) -> usize {
    std::fs::read_dir(out).map_or(0, |d| {
        d.filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "png")
        })
        .count()
    })
}

#[test]
fn a_review_tier_hit_holds_an_allowed_prompt_and_its_verdict_is_sealed_on_approval() {
    let tmp = tempfile::tempdir().unwrap();
    let pack = tiny_pack_with(tmp.path(), true, Some("weapons"));
    let (state, out) = (tmp.path().join("state"), tmp.path().join("out"));
    let o = generate(&pack, &state, &out, "a red apple");
    expect_exit(&o, 10);
    let j = json(&o);
    assert_eq!(j["status"], "held");
    assert_eq!(j["gated_on"], "output");
    assert_eq!(j["category"], "weapons");
    assert_eq!(j["output_check"]["category"], "weapons");
    assert_eq!(j["output_check"]["verdict"], "review");
    assert!(j["output_check"]["probability"].as_f64().unwrap() > 0.99);
    assert_eq!(j["steered"], false, "an allowed prompt is not steered");
    assert_eq!(pngs(&out), 0, "a held frame is not released");

    let id = j["review_id"].as_str().unwrap();
    let approve = sigil(&[
        "review",
        "approve",
        id,
        "--out",
        p(&out),
        "--state",
        p(&state),
        "--json",
    ]);
    expect_exit(&approve, 0);
    assert_eq!(pngs(&out), 1);
    let body = *records(&state)[0].body();
    assert_eq!(body.review, Review::Approved);
    assert_eq!(body.gate.verdict, sigil_gate::Verdict::Allow);
    assert_eq!(body.post_filter.verdict, sigil_gate::Verdict::Review);
    assert_eq!(
        body.post_filter.class,
        sigil_gate::policy::category_by_id("weapons")
    );
}

#[test]
fn a_label_tier_hit_is_released_with_its_label_drawn_and_recorded() {
    let tmp = tempfile::tempdir().unwrap();
    let labelled = tiny_pack_with(tmp.path(), true, Some("alcohol"));
    let clear = tiny_pack_with(tmp.path(), true, None);
    let (state, out) = (tmp.path().join("state"), tmp.path().join("out"));
    let a = generate(&labelled, &state, &out, "a red apple");
    expect_exit(&a, 0);
    let ja = json(&a);
    assert_eq!(ja["status"], "released");
    assert_eq!(ja["output_check"]["category"], "alcohol");
    assert_eq!(ja["output_check"]["verdict"], "allow");
    let b = json(&generate(&clear, &state, &out, "a red apple"));
    assert_eq!(b["status"], "released");
    assert!(b["output_check"].is_null());

    let rs = records(&state);
    assert_eq!(
        rs[0].body().post_filter.class,
        sigil_gate::policy::category_by_id("alcohol")
    );
    assert_eq!(rs[0].body().post_filter.verdict, sigil_gate::Verdict::Allow);
    assert_eq!(rs[1].body().post_filter.class, None);

    // Same model, same seed: the two frames differ where the label plate is drawn.
    let read = |j: &serde_json::Value| {
        let bytes = std::fs::read(j["png"].as_str().unwrap()).unwrap();
        image::load_from_memory(&bytes).unwrap().to_rgb8()
    };
    let (fa, fb) = (read(&ja), read(&b));
    let area = sigil_seal::compose::label_area(fa.height(), "alcohol".len());
    let (x0, y0) = (area.top_left.x as u32, area.top_left.y as u32);
    let dark = |img: &image::RgbImage| {
        (y0..y0 + area.size.height)
            .flat_map(|y| (x0..x0 + area.size.width).map(move |x| (x, y)))
            .filter(|&(x, y)| {
                img.get_pixel(x, y)
                    .0
                    .iter()
                    .map(|&v| u32::from(v))
                    .sum::<u32>()
                    < 180
            })
            .count() as u32
    };
    let n = area.size.width * area.size.height;
    assert!(dark(&fa) > n / 2, "no label plate: {} of {n}", dark(&fa));
    assert!(
        dark(&fb) < n / 4,
        "a plate without a label: {} of {n}",
        dark(&fb)
    );
}

#[test]
fn packs_without_a_check_or_for_another_policy_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let (state, out) = (tmp.path().join("state"), tmp.path().join("out"));
    let none = tiny_pack_custom(tmp.path(), "none.sigilpack", true, |_| None);
    let o = generate(&none, &state, &out, "a red apple");
    assert_eq!(o.status.code(), Some(2));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(
        e.contains("no output check") && e.contains("--outcheck"),
        "{e}"
    );

    let other = tiny_pack_custom(tmp.path(), "other.sigilpack", true, |d| {
        let mut c = tiny_outcheck(d, None);
        c.spec.classes[0].codes.push("1F34E".into()); // an apple is a weapon here
        Some(c)
    });
    let o = generate(&other, &state, &out, "a red apple");
    assert_eq!(o.status.code(), Some(2));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(e.contains("retrain"), "{e}");
    assert_eq!(pngs(&out), 0);
    assert!(!state.join(sigil_seal::LOG_FILE).exists() || records(&state).is_empty());
}

#[test]
fn a_review_tier_prompt_is_steered() {
    let tmp = tempfile::tempdir().unwrap();
    let pack = tiny_pack_with(tmp.path(), true, None);
    let (state, out) = (tmp.path().join("state"), tmp.path().join("out"));
    let o = generate(&pack, &state, &out, "a pistol");
    expect_exit(&o, 10);
    let j = json(&o);
    assert_eq!(j["steered"], true);
    assert_eq!(j["gated_on"], "prompt");
    assert_eq!(j["category"], "weapons");
    // (What steering does to the image is `sigil_models::steer`'s test and the
    // `eval-outcheck --steer` measurement.)
}
