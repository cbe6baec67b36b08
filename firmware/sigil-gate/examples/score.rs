//! Score the compiled-in policy on prompt files, without building the device program.
//!
//! `cargo run -p sigil-gate --features std --example score -- FILE... [--misses] [--by-all]`
//!
//! A file is either the red-team corpus format (`label<TAB>category<TAB>evasion<TAB>lang<TAB>prompt`,
//! `#` comments) or one prompt per line (scored as unlabelled: each line's verdict is printed).
//! For labelled files it prints, per language and per label, how many prompts were allowed,
//! held for review or blocked (`--by-all`: also per category and per evasion); `--misses` also
//! lists every harmful prompt allowed, every block-tier prompt not blocked and every benign
//! prompt not allowed, with the category and term that decided.
use std::collections::BTreeMap;

use sigil_gate::{Tier, Verdict, check, policy};

#[derive(Default)]
struct Tally {
    allow: usize,
    review: usize,
    block: usize,
    /// Harmful rows of a block-tier category, and how many of them were blocked.
    block_tier: usize,
    block_tier_blocked: usize,
}

impl Tally {
    fn add(&mut self, verdict: Verdict, block_tier: bool) {
        match verdict {
            Verdict::Allow => self.allow += 1,
            Verdict::Review => self.review += 1,
            Verdict::Block => self.block += 1,
        }
        if block_tier {
            self.block_tier += 1;
            self.block_tier_blocked += usize::from(verdict == Verdict::Block);
        }
    }
}

fn pct(a: usize, n: usize) -> String {
    if n == 0 {
        "-".into()
    } else {
        format!("{:.1}", 100.0 * a as f64 / n as f64)
    }
}

fn print_table(title: &str, t: &BTreeMap<(String, String), Tally>) {
    println!("{title}\tlabel\tn\tallow\treview\tblock\tnot_allowed_%\tblock_tier_blocked");
    for ((key, label), t) in t {
        let n = t.allow + t.review + t.block;
        let not_allowed = if label == "benign" {
            format!("flagged {}", pct(n - t.allow, n))
        } else {
            pct(n - t.allow, n)
        };
        let bt = if t.block_tier > 0 {
            format!(
                "{}/{} ({})",
                t.block_tier_blocked,
                t.block_tier,
                pct(t.block_tier_blocked, t.block_tier)
            )
        } else {
            "-".into()
        };
        println!(
            "{key}\t{label}\t{n}\t{}\t{}\t{}\t{not_allowed}\t{bt}",
            t.allow, t.review, t.block
        );
    }
    println!();
}

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let misses = args.iter().any(|a| a == "--misses");
    let by_all = args.iter().any(|a| a == "--by-all");
    let mut by_lang: BTreeMap<(String, String), Tally> = BTreeMap::new();
    let mut by_cat: BTreeMap<(String, String), Tally> = BTreeMap::new();
    let mut by_evasion: BTreeMap<(String, String), Tally> = BTreeMap::new();
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
            let block_tier = label == "harmful"
                && policy::category_by_id(cat)
                    .and_then(policy::category)
                    .is_some_and(|g| g.tier == Tier::Block);
            for (map, key) in [
                (&mut by_lang, lang),
                (&mut by_cat, cat),
                (&mut by_evasion, evasion),
            ] {
                map.entry((key.to_string(), label.to_string()))
                    .or_default()
                    .add(verdict, block_tier);
            }
            let wrong = (label == "harmful" && verdict == Verdict::Allow)
                || (label == "benign" && verdict != Verdict::Allow)
                || (block_tier && verdict != Verdict::Block);
            if label == "?" || (misses && wrong) {
                println!(
                    "{}\t{label}\t{cat}\t{evasion}\t{lang}\t{prompt}\t{why}",
                    verdict.as_str()
                );
            }
        }
    }
    print_table("lang", &by_lang);
    if by_all {
        print_table("category", &by_cat);
        print_table("evasion", &by_evasion);
    }
    std::process::ExitCode::SUCCESS
}
