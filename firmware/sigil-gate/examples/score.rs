//! Score the compiled-in policy on prompt files, without building the device program.
//!
//! `cargo run -p sigil-gate --features std --example score -- FILE... [--misses]`
//!
//! A file is either the red-team corpus format (`label<TAB>category<TAB>evasion<TAB>lang<TAB>prompt`,
//! `#` comments) or one prompt per line (scored as unlabelled: each line's verdict is printed).
//! For labelled files it prints, per language and per label, how many prompts were allowed,
//! held for review or blocked; `--misses` also lists every harmful prompt allowed and every
//! benign prompt not allowed, with the category and term that decided.
use std::collections::BTreeMap;

use sigil_gate::{Verdict, check, policy};

#[derive(Default)]
struct Tally {
    allow: usize,
    review: usize,
    block: usize,
}

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let misses = args.iter().any(|a| a == "--misses");
    let mut tallies: BTreeMap<(String, String), Tally> = BTreeMap::new();
    for path in args.iter().filter(|a| !a.starts_with("--")) {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("score: cannot read {path}: {e}");
                return std::process::ExitCode::from(2);
            }
        };
        for line in text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        {
            let fields: Vec<&str> = line.split('\t').collect();
            let (label, cat, evasion, lang, prompt) = match fields.as_slice() {
                [l, c, e, g, p] => (*l, *c, *e, *g, *p),
                _ => ("?", "-", "-", "-", line),
            };
            let (verdict, why) = match check(prompt) {
                Ok(o) => {
                    let why = o.decision.category.map_or(String::new(), |c| {
                        let id = policy::category(c).map_or("?", |g| g.id);
                        format!("{id}: {}", o.matched_term(c).unwrap_or("(combination)"))
                    });
                    (o.decision.verdict, why)
                }
                Err(e) => {
                    println!("ERROR\t{e}\t{prompt}");
                    continue;
                }
            };
            let t = tallies
                .entry((lang.to_string(), label.to_string()))
                .or_default();
            match verdict {
                Verdict::Allow => t.allow += 1,
                Verdict::Review => t.review += 1,
                Verdict::Block => t.block += 1,
            }
            let wrong = (label == "harmful" && verdict == Verdict::Allow)
                || (label == "benign" && verdict != Verdict::Allow);
            if label == "?" || (misses && wrong) {
                println!(
                    "{}\t{label}\t{cat}\t{evasion}\t{lang}\t{prompt}\t{why}",
                    verdict.as_str()
                );
            }
        }
    }
    println!("lang\tlabel\tn\tallow\treview\tblock");
    for ((lang, label), t) in &tallies {
        let n = t.allow + t.review + t.block;
        println!(
            "{lang}\t{label}\t{n}\t{}\t{}\t{}",
            t.allow, t.review, t.block
        );
    }
    std::process::ExitCode::SUCCESS
}
