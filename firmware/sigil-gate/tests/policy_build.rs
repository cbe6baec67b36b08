//! The policy compiler refuses bad policy sources with a message naming the file, the entry and
//! the fix. It is the build script's own code (`build/policy.rs`), compiled here as a module.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, dead_code)]

#[path = "../src/units.rs"]
mod units;

#[path = "../build/fold.rs"]
mod fold;

#[path = "../build/policy.rs"]
mod policy;

use std::path::Path;

fn sources() -> (String, String) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../policy");
    (
        std::fs::read_to_string(dir.join("default.toml")).unwrap(),
        std::fs::read_to_string(dir.join("opt-out.toml")).unwrap(),
    )
}

/// Compile the real policy with `edit` applied to default.toml and the given language files;
/// the build's error message, or `None` when it compiles.
fn compile(edit: impl Fn(String) -> String, langs: &[(&str, &str)]) -> Option<String> {
    let (default_src, opt_out_src) = sources();
    let default_src = edit(default_src);
    let result = std::panic::catch_unwind(|| {
        let p: policy::PolicyFile = toml::from_str(&default_src).unwrap();
        let o: policy::OptOutFile = toml::from_str(&opt_out_src).unwrap();
        let files: Vec<policy::LangFile> = langs
            .iter()
            .map(|(tag, src)| policy::LangFile {
                name: format!("lang/{tag}.toml"),
                tag: (*tag).to_string(),
                groups: toml::from_str(src).unwrap(),
            })
            .collect();
        policy::compile(&p, &o, &files);
    });
    result.err().map(|e| {
        e.downcast_ref::<String>()
            .cloned()
            .unwrap_or_else(|| "(no message)".into())
    })
}

fn assert_refused(err: Option<String>, want: &[&str]) {
    let err = err.expect("the policy compiled but should have been refused");
    for w in want {
        assert!(err.contains(w), "message {err:?} lacks {w:?}");
    }
}

#[test]
fn the_shipped_policy_compiles_with_language_files() {
    assert_eq!(
        compile(|s| s, &[("it", "[sexual]\nterms = [\"nuda\"]\n")]),
        None
    );
}

#[test]
fn a_term_that_folds_to_an_exception_is_refused() {
    // "Nude Color" folds to the exception "nude color" of the same category.
    assert_refused(
        compile(|s| s, &[("en", "[sexual]\nterms = [\"Nude Cölor\"]\n")]),
        &[
            "lang/en.toml",
            "nude color",
            "drop the term or the exception",
        ],
    );
    // Glyph terms too.
    assert_refused(
        compile(
            |s| s,
            &[(
                "zh",
                "[sexual]\nterms = [\"裸体操\"]\nexceptions = [\"裸体操\"]\n",
            )],
        ),
        &["[sexual]", "裸体操", "drop the term or the exception"],
    );
}

#[test]
fn a_term_in_a_script_the_normaliser_cannot_fold_is_refused() {
    // Ogham is neither Latin-foldable nor a glyph script.
    assert_refused(
        compile(|s| s, &[("en", "[sexual]\nterms = [\"ᚅᚒᚇ\"]\n")]),
        &[
            "lang/en.toml [sexual] terms",
            "U+1685",
            "cannot fold",
            "units::glyph_fold",
        ],
    );
    // Mixing scripts in one word.
    assert_refused(
        compile(|s| s, &[("ja", "[sexual]\nterms = [\"エロpic\"]\n")]),
        &["lang/ja.toml [sexual] terms", "separate terms"],
    );
}

#[test]
fn an_unknown_language_tag_is_refused() {
    assert_refused(
        compile(|s| s, &[("xx", "[sexual]\nterms = [\"nude\"]\n")]),
        &["lang/xx.toml", "\"xx\"", "LANGS"],
    );
    assert_refused(
        compile(|s| s.replacen("en = [\"gun\"", "xx = [\"gun\"", 1), &[]),
        &["default.toml", "\"xx\""],
    );
}

#[test]
fn an_unknown_group_in_a_language_file_is_refused() {
    assert_refused(
        compile(|s| s, &[("it", "[nudity]\nterms = [\"nuda\"]\n")]),
        &["lang/it.toml", "\"nudity\""],
    );
}

#[test]
fn an_output_emoji_whose_words_no_term_covers_is_refused() {
    // The dagger's name gone from the weapons terms.
    assert_refused(
        compile(|s| s.replace("\"dagger\", \"daggers\", ", ""), &[]),
        &[
            "[weapons] output \"1F5E1-FE0F dagger\"",
            "\"dagger\"",
            "add the name",
        ],
    );
    // The emoji itself gone.
    assert_refused(
        compile(|s| s.replace("\"🔫\", ", ""), &[]),
        &[
            "output \"1F52B water pistol\"",
            "emoji itself is not a term",
        ],
    );
    // A code without its name.
    assert_refused(
        compile(|s| s.replace("\"1F4A3 bomb\"", "\"1F4A3\""), &[]),
        &["output \"1F4A3\"", "CLDR name"],
    );
}

#[test]
fn run_script_terms_need_two_characters_and_no_wildcards() {
    assert_refused(
        compile(|s| s, &[("zh", "[sexual]\nterms = [\"裸\"]\n")]),
        &["lang/zh.toml", "2..=16 characters"],
    );
    assert_refused(
        compile(|s| s, &[("zh", "[sexual]\nterms = [\"裸体*\"]\n")]),
        &["lang/zh.toml", "drop the `*`"],
    );
    assert_eq!(
        compile(|s| s, &[("emoji", "[sexual]\nterms = [\"🍆\"]\n")]),
        None
    );
}
