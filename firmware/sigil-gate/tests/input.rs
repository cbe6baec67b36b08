//! Bad input, hashing, and properties of the normaliser.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)] // tests fail by panicking

use proptest::prelude::*;
use sigil_gate::normalise::normalised_text;
use sigil_gate::{InputError, MAX_PROMPT_BYTES, check, check_bytes, prompt_hash};

#[test]
fn bad_input_gets_named_errors() {
    assert_eq!(check("").unwrap_err(), InputError::Empty);
    assert_eq!(check(" \t\n").unwrap_err(), InputError::Empty);
    assert_eq!(
        check("\u{200B}\u{FEFF}\u{E0041}").unwrap_err(),
        InputError::Empty
    );
    let long = "a".repeat(MAX_PROMPT_BYTES + 1);
    assert_eq!(
        check(&long).unwrap_err(),
        InputError::TooLong {
            len: MAX_PROMPT_BYTES + 1
        }
    );
    assert!(check(&"a".repeat(MAX_PROMPT_BYTES)).is_ok());
    assert_eq!(
        check("cat\0dog").unwrap_err(),
        InputError::ContainsNul { offset: 3 }
    );
    assert_eq!(
        check_bytes(b"ca\xfft").unwrap_err(),
        InputError::InvalidUtf8 { valid_up_to: 2 }
    );
    // U+33C6 (3 bytes) folds to 4 units ("c/kg"): enough of them overflow the normaliser, which says so.
    let wide = "\u{33C6}".repeat(1300);
    assert!(wide.len() <= MAX_PROMPT_BYTES);
    assert_eq!(check(&wide).unwrap_err(), InputError::TooLongNormalised);
    for e in [
        InputError::Empty,
        InputError::TooLong { len: 5000 },
        InputError::ContainsNul { offset: 1 },
    ] {
        let msg = e.to_string();
        assert!(msg.contains(':'), "{msg} must name problem and fix");
    }
}

#[test]
fn prompt_hash_is_over_the_normalised_text() {
    // Evasion tricks do not change the hash: the record says which prompt passed.
    let plain = prompt_hash("A Cat   wearing a hat").unwrap();
    assert_eq!(prompt_hash("a cat wearing a hat").unwrap(), plain);
    assert_eq!(
        prompt_hash("ａ ｃａｔ wearing a h\u{200B}at").unwrap(),
        plain
    );
    assert_ne!(prompt_hash("a dog wearing a hat").unwrap(), plain);
    assert_eq!(
        check("a cat wearing a hat").unwrap().decision.prompt_hash,
        plain
    );
    assert_eq!(
        normalised_text("  Crème Brûlée\t\tﬁne  ").unwrap(),
        "creme brulee fine"
    );
}

#[test]
fn many_words_and_adversarial_shapes_do_not_panic() {
    let p = "a ".repeat(2000);
    let _ = check(&p);
    let p = "$!|+*".repeat(800);
    let _ = check(&p);
    let p = "n.".repeat(2000);
    let _ = check(&p);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn normaliser_is_idempotent(s in "\\PC{0,60}") {
        if let Ok(once) = normalised_text(&s) {
            let twice = normalised_text(&once).expect("normalised text is a valid prompt");
            prop_assert_eq!(&twice, &once);
        }
    }

    #[test]
    fn check_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = check_bytes(&bytes);
    }

    #[test]
    fn inserting_invisibles_never_relaxes(s in "[a-z ]{1,30}", at in 0usize..30) {
        let base = check(&s);
        let mut t = s.clone();
        let i = at.min(t.len());
        t.insert(i, '\u{200B}');
        if let (Ok(a), Ok(b)) = (base, check(&t)) {
            // Inside a word the invisible joins nothing new; at a boundary it separates nothing.
            prop_assert_eq!(a.decision.verdict, b.decision.verdict);
        }
    }
}

#[test]
fn star_runs_are_punctuation_not_wildcards() {
    assert_eq!(
        check("f*ck").unwrap().decision.verdict,
        sigil_gate::Verdict::Block
    );
    assert_eq!(
        check("a**b ***").unwrap().decision.verdict,
        sigil_gate::Verdict::Allow
    );
    // More than two stars in one word: punctuation, so gibberish is not "every term".
    assert_eq!(
        check("L/**4***L/**4****5**6").unwrap().decision.verdict,
        sigil_gate::Verdict::Allow
    );
}

#[test]
fn wildcard_and_repetition_floods_finish() {
    // Once quadratic (5 s for 4 KiB); now linear. No timing assert: a regression shows as a
    // hung test, and `cargo bench -p sigil-gate` measures the worst case.
    for p in [
        format!("a{}0", "*".repeat(4094)),
        format!("n{}x", "*1".repeat(2000)),
        "nu".repeat(2048),
        "e".repeat(4096),
        // Found by the normaliser fuzzer: wildcard soup once took 16 s (unoptimised) for 228 bytes.
        r#"L/**4***L/**4***********5**"**6***5*"**6***5**4*******"**6***5*"**6***5**4(**********5**"**6***5*"#.repeat(20),
        "n*d*.".repeat(800),
    ] {
        let _ = check(&p);
    }
}
