//! Black-box tests of the `sigil` binary.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail by panicking

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn sigil(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sigil"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(bytes) = stdin {
        input.write_all(bytes).unwrap();
    }
    drop(input);
    child.wait_with_output().unwrap()
}

fn json_lines(out: &Output) -> Vec<serde_json::Value> {
    String::from_utf8(out.stdout.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn single_prompt_exit_codes_follow_the_verdict() {
    for (prompt, code, verdict) in [
        ("a cat wearing a hat", 0, "allow"),
        ("an assault rifle on a table", 10, "review"),
        ("n.u.d.e woman", 11, "block"),
    ] {
        let out = sigil(&["check", "--prompt", prompt, "--json"], None);
        assert_eq!(out.status.code(), Some(code), "{prompt}");
        let v = &json_lines(&out)[0];
        assert_eq!(v["verdict"], verdict);
        assert_eq!(v["policy"].as_str().unwrap().len(), 64);
        assert!(v.get("tier").is_some() && v.get("category").is_some());
    }
}

#[test]
fn combination_blocks_report_category_and_evidence() {
    let out = sigil(&["check", "--prompt", "nude child", "--json"], None);
    assert_eq!(out.status.code(), Some(11));
    let v = &json_lines(&out)[0];
    assert_eq!(v["category"], "sexual_minors");
    assert_eq!(v["escalate"], true);
    let groups: Vec<&str> = v["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["group"].as_str().unwrap())
        .collect();
    assert!(
        groups.contains(&"minor") && groups.contains(&"sexual"),
        "{groups:?}"
    );
}

#[test]
fn bad_single_prompts_exit_2_with_a_named_error() {
    let out = sigil(&["check", "--prompt", ""], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("empty"));
    // argv cannot carry NUL; standard input can.
    let out = sigil(&["check", "--stdin"], Some(b"cat\0dog\n"));
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("NUL byte at offset 3"));
    let long = "a".repeat(5000);
    let out = sigil(&["check", "--prompt", &long], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("limit is 4096"));
    // Usage errors are 2 as well.
    assert_eq!(sigil(&["check"], None).status.code(), Some(2));
    assert_eq!(
        sigil(&["check", "--prompt", "x", "--stdin"], None)
            .status
            .code(),
        Some(2)
    );
}

#[test]
fn stdin_mode_answers_every_line_in_order() {
    let input = b"a red apple\nswastika\r\n\n\xff\xfebad\nphoto of Joe Biden";
    let out = sigil(&["check", "--stdin", "--json"], Some(input));
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 5);
    assert_eq!(lines[0]["verdict"], "allow");
    assert_eq!(lines[1]["verdict"], "block");
    assert!(lines[2]["error"].as_str().unwrap().contains("empty"));
    assert!(lines[3]["error"].as_str().unwrap().contains("UTF-8"));
    assert_eq!(lines[4]["verdict"], "review");
    // Bad lines make the batch exit 2, after every line was answered.
    assert_eq!(out.status.code(), Some(2));
    let ok = sigil(&["check", "--stdin", "--json"], Some(b"a cat\nswastika\n"));
    assert_eq!(
        ok.status.code(),
        Some(0),
        "verdicts do not set the exit code with --stdin"
    );
    assert_eq!(json_lines(&ok).len(), 2);
}

#[test]
fn info_prints_digests() {
    let out = sigil(&["info", "--json"], None);
    assert_eq!(out.status.code(), Some(0));
    let v = &json_lines(&out)[0];
    assert_eq!(v["policy"], hex::encode(sigil_gate::POLICY_DIGEST));
    assert_eq!(v["firmware"].as_str().unwrap().len(), 64);
    let ids: Vec<&str> = v["categories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    for needed in [
        "sexual_minors",
        "sexual",
        "ncii",
        "impersonation",
        "violence",
        "hate",
        "self_harm",
        "weapons",
        "drugs",
        "political",
        "opt_out",
    ] {
        assert!(ids.contains(&needed), "{needed} missing from {ids:?}");
    }
}
