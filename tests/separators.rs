//! Words and word pieces agree for every separator: the spans and the redaction of a text
//! whose words are separated by any Unicode whitespace or control character equal those of
//! the same text with plain spaces (a separator the tokenizer deleted used to glue words
//! together and leave PII in clear text).

mod common;
use common::*;
use std::path::PathBuf;

/// Every character `pii::encode::is_separator` accepts, except the plain space.
fn separators() -> Vec<char> {
    let out: Vec<char> = (0u32..0x3100)
        .chain([0xFEFF])
        .filter_map(char::from_u32)
        .filter(|&c| c != ' ' && pii::encode::is_separator(c))
        .collect();
    // All of C0, DEL and C1, and the Unicode whitespace the issue reported.
    for c in ['\u{b}', '\u{c}', '\u{1c}', '\u{1d}', '\u{1e}', '\u{1f}', '\u{85}', '\u{a0}', '\u{2028}', '\u{3000}', '\u{200b}'] {
        assert!(out.contains(&c), "{:?} must be a separator", c);
    }
    out
}

const TEXTS: &[&str] = &[
    "my phone number is nine eight seven six five four three two one zero",
    "card four five three two one one two two three three four four five five six six thanks",
    "this is priya sharma and my email is priya dot sharma at gmail dot com",
];

/// (first word, last word, label) of each span, so texts with different byte lengths compare.
fn word_spans(m: &pii::Model, text: &str) -> Vec<(usize, usize, String)> {
    let words = pii::encode::words(text);
    let idx = |b: usize| words.iter().position(|w| w.0 == b || w.1 == b).expect("span on a word boundary");
    m.tag(text)
        .unwrap()
        .iter()
        .map(|s| (idx(s.start), idx(s.end), m.labels()[s.label].clone()))
        .collect()
}

fn check(m: &pii::Model, what: &str) {
    let mut failures = Vec::new();
    for text in TEXTS {
        let want = word_spans(m, text);
        let want_red = m.redact(text, false).unwrap();
        for sep in separators() {
            let t: String = text.replace(' ', &sep.to_string());
            let red = m.redact(&t, false).unwrap().replace(sep, " ");
            if word_spans(m, &t) != want || red != want_red {
                failures.push(format!("U+{:04X}", sep as u32));
            }
        }
        assert!(!want.is_empty() || what == "fixture", "the {what} model tags something in the plain text");
    }
    failures.dedup();
    assert!(failures.is_empty(), "{what}: separators change the result: {failures:?}");
}

#[test]
fn every_separator_tags_like_a_space_fixture() {
    check(&fixture(), "fixture");
}

#[test]
fn every_separator_tags_like_a_space_shipped_model() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data/model");
    let opts = pii::Options { ort_library: Some(ort_library()), ..Default::default() };
    let m = pii::Model::load(&dir, &opts).expect("shipped model loads");
    check(&m, "shipped");
}
