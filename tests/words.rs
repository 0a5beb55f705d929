//! Word-level tagging (`Model::tag_words`, `pii_tag_words`): word ranges map back exactly to the
//! string spans of the same words, on every dev utterance, with the shipped model.

mod common;

use common::*;
use std::ffi::c_char;

/// Dev texts with their words separated by a mix of separators, so a text's bytes are not its
/// words joined by spaces and the mapping is really exercised.
fn dev_texts() -> Vec<String> {
    let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data/dev.jsonl");
    let seps = [" ", "  ", "\t", " \u{00A0}", "\n", "\u{3000}"];
    std::fs::read_to_string(path)
        .expect("data/dev.jsonl")
        .lines()
        .enumerate()
        .map(|(i, line)| {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            let words: Vec<&str> = v["text"].as_str().unwrap().split_whitespace().collect();
            let mut t = String::new();
            for (k, w) in words.iter().enumerate() {
                if k > 0 {
                    t.push_str(seps[(i + k) % seps.len()]);
                }
                t.push_str(w);
            }
            t
        })
        .collect()
}

#[test]
fn word_ranges_map_back_to_the_string_spans_on_the_dev_set() {
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data/model");
    let m = pii::Model::load(&dir, &options()).expect("shipped model loads");
    let texts = dev_texts();
    assert!(texts.len() >= 1000, "{}", texts.len());
    let mut spans_seen = 0;
    for (i, text) in texts.iter().enumerate() {
        let words = pii::encode::words(text);
        let list: Vec<&str> = words.iter().map(|&(a, b)| &text[a..b]).collect();
        let ranges = m.tag_words(&list).unwrap();
        let spans = m.tag(text).unwrap();
        let mapped: Vec<(usize, usize, usize, bool)> =
            ranges.iter().map(|r| (words[r.first].0, words[r.last - 1].1, r.label, r.pii)).collect();
        let direct: Vec<(usize, usize, usize, bool)> = spans.iter().map(|s| (s.start, s.end, s.label, s.pii)).collect();
        assert_eq!(mapped, direct, "dev line {i}");
        assert!(ranges.iter().all(|r| r.first < r.last && r.last <= list.len()));
        spans_seen += spans.len();
    }
    assert!(spans_seen > 1000, "the dev set has spans to map: {spans_seen}");
}

#[test]
fn c_entry_point_takes_words_with_or_without_lengths_and_refuses_bad_words() {
    let m = ffi_load_fixture();
    let words = ["my", "number", "is", "nine", "eight", "seven", "priya", "lives", "in", "delhi"];
    let ptrs: Vec<*const c_char> = words.iter().map(|w| w.as_ptr() as *const c_char).collect();
    let lens: Vec<usize> = words.iter().map(|w| w.len()).collect();
    let mut out = [pii::ffi::pii_word_span { first: 0, last: 0, label: 0, score: 0.0, is_pii: false }; 8];
    let mut n = 0usize;
    let mut err = ffi_error();
    let st = unsafe {
        pii::ffi::pii_tag_words(m, ptrs.as_ptr(), lens.as_ptr(), words.len(), out.as_mut_ptr(), out.len(), &mut n, &mut err)
    };
    assert_eq!(st, pii::ffi::pii_status::PII_OK, "{}", ffi_message(&err));
    let got: Vec<(usize, usize)> = out[..n].iter().map(|s| (s.first, s.last)).collect();
    assert_eq!(got, vec![(3, 6), (6, 7), (9, 10)]);
    assert!(out[0].is_pii && out[1].is_pii && !out[2].is_pii);

    // NUL-terminated words (lens NULL) give the same spans.
    let owned: Vec<std::ffi::CString> = words.iter().map(|w| std::ffi::CString::new(*w).unwrap()).collect();
    let cptrs: Vec<*const c_char> = owned.iter().map(|c| c.as_ptr()).collect();
    let mut out2 = out;
    let mut n2 = 0usize;
    let st = unsafe {
        pii::ffi::pii_tag_words(m, cptrs.as_ptr(), std::ptr::null(), words.len(), out2.as_mut_ptr(), out2.len(), &mut n2, &mut err)
    };
    assert_eq!(st, pii::ffi::pii_status::PII_OK);
    assert_eq!(&out2[..n2], &out[..n]);

    // Too small a buffer: the count needed.
    let st = unsafe { pii::ffi::pii_tag_words(m, ptrs.as_ptr(), lens.as_ptr(), words.len(), out.as_mut_ptr(), 1, &mut n, &mut err) };
    assert_eq!(st, pii::ffi::pii_status::PII_ERR_BUFFER_TOO_SMALL);
    assert_eq!(n, 3);

    // A word with a space, an empty word, invalid UTF-8, NULL words: statuses, no text echoed.
    for (bad, len, want) in [
        ("nine eight".as_ptr(), 10, pii::ffi::pii_status::PII_ERR_INVALID_ARGUMENT),
        ("x".as_ptr(), 0, pii::ffi::pii_status::PII_ERR_INVALID_ARGUMENT),
        (b"\xff\xfe".as_ptr(), 2, pii::ffi::pii_status::PII_ERR_INVALID_UTF8),
    ] {
        let p = [ptrs[0], bad as *const c_char];
        let l = [2usize, len];
        let st = unsafe { pii::ffi::pii_tag_words(m, p.as_ptr(), l.as_ptr(), 2, out.as_mut_ptr(), out.len(), &mut n, &mut err) };
        assert_eq!(st, want);
        let msg = ffi_message(&err);
        assert!(!msg.contains("nine") && !msg.contains("eight"), "{msg}");
    }
    let p = [ptrs[0], std::ptr::null()];
    let st = unsafe { pii::ffi::pii_tag_words(m, p.as_ptr(), lens.as_ptr(), 2, out.as_mut_ptr(), out.len(), &mut n, &mut err) };
    assert_eq!(st, pii::ffi::pii_status::PII_ERR_NULL_ARGUMENT);
    let st = unsafe { pii::ffi::pii_tag_words(m, std::ptr::null(), lens.as_ptr(), 2, out.as_mut_ptr(), out.len(), &mut n, &mut err) };
    assert_eq!(st, pii::ffi::pii_status::PII_ERR_NULL_ARGUMENT);
    // No words: no spans.
    let st = unsafe { pii::ffi::pii_tag_words(m, std::ptr::null(), std::ptr::null(), 0, out.as_mut_ptr(), out.len(), &mut n, &mut err) };
    assert_eq!(st, pii::ffi::pii_status::PII_OK);
    assert_eq!(n, 0);
    unsafe { pii::ffi::pii_free(m) };
}
