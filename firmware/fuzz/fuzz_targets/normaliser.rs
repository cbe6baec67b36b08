//! The normaliser and matcher on arbitrary bytes: never panic; when a prompt is accepted, its
//! normalised text is a fixed point and checks to the same verdict.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(outcome) = sigil_gate::check_bytes(data) else { return };
    let Ok(prompt) = std::str::from_utf8(data) else { return };
    let Ok(text) = sigil_gate::normalise::normalised_text(prompt) else { return };
    let again = sigil_gate::normalise::normalised_text(&text).expect("normalised text re-normalises");
    assert_eq!(again, text, "normaliser not idempotent");
    // The normalised text may read differently only where leet or separators were resolved,
    // so the verdict is not compared; the prompt hash must be stable.
    assert_eq!(sigil_gate::prompt_hash(prompt).ok(), Some(outcome.decision.prompt_hash));
});
