//! `sigil check`: gate prompts with the compiled-in policy, without generating anything.

use std::io::{BufRead, Write};

use anyhow::Context;
use serde::Serialize;
use sigil_gate::{InputError, Outcome, Verdict, policy};

use crate::exit;

#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("input").required(true).args(["prompt", "stdin"])))]
pub struct Args {
    /// The prompt to check.
    #[arg(long)]
    prompt: Option<String>,
    /// Read one prompt per line from standard input; write one result per line, in order.
    #[arg(long)]
    stdin: bool,
    /// Print JSON (one object per prompt).
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Serialize)]
struct Evidence {
    group: &'static str,
    term: &'static str,
}

/// One result line. `error` is set (and the decision fields are null) for a prompt that could
/// not be checked.
#[derive(Debug, Serialize)]
struct Report {
    verdict: Option<&'static str>,
    category: Option<&'static str>,
    tier: Option<&'static str>,
    escalate: Option<bool>,
    categories: Vec<&'static str>,
    matched: Option<&'static str>,
    /// Every category or signal that hit, with the first policy term that hit it.
    evidence: Vec<Evidence>,
    prompt_hash: Option<String>,
    policy: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

fn report(result: &Result<Outcome, InputError>) -> Report {
    let policy = hex::encode(sigil_gate::POLICY_DIGEST);
    match result {
        Ok(o) => {
            let d = o.decision;
            Report {
                verdict: Some(d.verdict.as_str()),
                category: d.category.and_then(policy::category).map(|g| g.id),
                tier: Some(d.tier.as_str()),
                escalate: Some(d.escalate),
                categories: policy::categories()
                    .filter(|(id, _)| o.categories & (1 << id) != 0)
                    .map(|(_, g)| g.id)
                    .collect(),
                matched: d.category.and_then(|c| o.matched_term(c)),
                evidence: policy::GROUPS
                    .iter()
                    .enumerate()
                    .filter_map(|(i, g)| {
                        let term = o.matched_term(u8::try_from(i).ok()?)?;
                        Some(Evidence { group: g.id, term })
                    })
                    .collect(),
                prompt_hash: Some(hex::encode(d.prompt_hash)),
                policy,
                error: None,
            }
        }
        Err(e) => Report {
            verdict: None,
            category: None,
            tier: None,
            escalate: None,
            categories: Vec::new(),
            matched: None,
            evidence: Vec::new(),
            prompt_hash: None,
            policy,
            error: Some(e.to_string()),
        },
    }
}

fn print_human(out: &mut impl Write, r: &Report) -> std::io::Result<()> {
    match (&r.error, r.verdict) {
        (Some(e), _) => writeln!(out, "error: {e}"),
        (None, Some(v)) => {
            write!(out, "{v}")?;
            if let Some(c) = r.category {
                write!(out, "  category={c} tier={}", r.tier.unwrap_or("none"))?;
            }
            if let Some(m) = r.matched {
                write!(out, " matched={m:?}")?;
            }
            if r.escalate == Some(true) {
                write!(out, "  LEGAL ESCALATION")?;
            }
            writeln!(out, "\npolicy {}", r.policy)
        }
        (None, None) => writeln!(out, "error: no verdict"),
    }
}

fn emit(out: &mut impl Write, r: &Report, json: bool) -> anyhow::Result<()> {
    if json {
        serde_json::to_writer(&mut *out, r)?;
        writeln!(out)?;
    } else {
        print_human(out, r)?;
    }
    Ok(())
}

pub fn run(args: &Args) -> anyhow::Result<u8> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if let Some(p) = &args.prompt {
        let result = sigil_gate::check(p);
        emit(&mut out, &report(&result), args.json)?;
        if let Err(e) = &result {
            eprintln!("sigil check: {e}");
        }
        return Ok(match result {
            Err(_) => exit::BAD_INPUT,
            Ok(o) => match o.decision.verdict {
                Verdict::Allow => exit::OK,
                Verdict::Review => exit::REVIEW,
                Verdict::Block => exit::BLOCK,
            },
        });
    }
    // --stdin: one prompt per line (LF or CRLF), raw bytes so bad UTF-8 is reported per line.
    let stdin = std::io::stdin();
    let mut input = stdin.lock();
    let mut line = Vec::new();
    let mut bad = 0usize;
    let mut n = 0usize;
    loop {
        line.clear();
        let read = input
            .read_until(b'\n', &mut line)
            .context("cannot read standard input")?;
        if read == 0 {
            break;
        }
        n += 1;
        if line.last() == Some(&b'\n') {
            line.pop();
            if line.last() == Some(&b'\r') {
                line.pop();
            }
        }
        let result = sigil_gate::check_bytes(&line);
        if let Err(e) = &result {
            bad += 1;
            eprintln!("sigil check: line {n}: {e}");
        }
        emit(&mut out, &report(&result), args.json)?;
    }
    out.flush()?;
    Ok(if bad > 0 { exit::BAD_INPUT } else { exit::OK })
}
