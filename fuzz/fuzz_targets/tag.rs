//! Arbitrary bytes through `pii_tag`, `pii_tag_words` and `pii_redact` on the fixture model:
//! never a crash; on success the spans are sorted, non-overlapping, in bounds and on char
//! boundaries, and the word ranges of the text's words map to the same spans.

#![no_main]

use libfuzzer_sys::fuzz_target;
use pii::ffi::*;
use std::ffi::{c_char, CString};
use std::sync::OnceLock;

mod common;

struct Shared(*mut pii_model);
unsafe impl Send for Shared {}
unsafe impl Sync for Shared {}

fn model() -> *const pii_model {
    static M: OnceLock<Shared> = OnceLock::new();
    M.get_or_init(|| {
        let dir = CString::new(common::fixture_dir().to_str().unwrap()).unwrap();
        let ort = CString::new(common::ort_library().to_str().unwrap()).unwrap();
        let mut o = pii_default_options();
        o.ort_library = ort.as_ptr();
        o.max_sessions = 1;
        let mut m = std::ptr::null_mut();
        let st = unsafe { pii_load(dir.as_ptr(), &o, &mut m, std::ptr::null_mut()) };
        assert_eq!(st, pii_status::PII_OK, "fixture model loads (set PII_ORT_LIBRARY?)");
        Shared(m)
    })
    .0
}

fn new_err() -> pii_error {
    pii_error { status: pii_status::PII_OK, message: [0; PII_ERROR_MESSAGE_SIZE] }
}

/// Word separators of every kind the library splits on (one and several bytes long).
const SEPARATORS: &[&str] = &["\t", "\n", "\u{b}", "\u{c}", "\r", "\u{1c}", "\u{1f}", "\u{85}", "\u{a0}", "\u{2028}", "\u{3000}", "\u{200b}", "\u{feff}"];

/// Each span of `text` as (label, its words).
fn words_of(m: *const pii_model, text: &str) -> Vec<(u32, Vec<String>)> {
    let cap = text.len() / 2 + 1;
    let mut spans = vec![pii_span { start: 0, end: 0, label: 0, score: 0.0, is_pii: false }; cap];
    let mut n = 0;
    let st = unsafe { pii_tag(m, text.as_ptr() as *const c_char, text.len(), spans.as_mut_ptr(), cap, &mut n, std::ptr::null_mut()) };
    assert_eq!(st, pii_status::PII_OK);
    let words = |t: &str| t.split(|c: char| pii::encode::is_separator(c)).filter(|w| !w.is_empty()).map(String::from).collect();
    spans[..n].iter().map(|sp| (sp.label, words(&text[sp.start..sp.end]))).collect()
}

fn check_message(e: &pii_error) {
    let msg: Vec<u8> = e.message.iter().take_while(|&&c| c != 0).map(|&c| c as u8).collect();
    assert!(!msg.is_empty(), "failure without a message");
    assert!(std::str::from_utf8(&msg).is_ok(), "message is not UTF-8");
}

fuzz_target!(|data: &[u8]| {
    let m = model();
    let text = std::str::from_utf8(data);
    let ptr = data.as_ptr() as *const c_char;

    // Tag with room for every span (at most one per word).
    let cap = data.len() / 2 + 1;
    let mut spans = vec![pii_span { start: 0, end: 0, label: 0, score: 0.0, is_pii: false }; cap];
    let mut n = usize::MAX;
    let mut e = new_err();
    let st = unsafe { pii_tag(m, ptr, data.len(), spans.as_mut_ptr(), cap, &mut n, &mut e) };
    match text {
        Ok(s) => {
            assert_eq!(st, pii_status::PII_OK, "valid UTF-8 must tag");
            assert!(n <= cap);
            let mut prev = 0;
            for sp in &spans[..n] {
                assert!(sp.start < sp.end && sp.end <= data.len(), "span in bounds");
                assert!(sp.start >= prev, "sorted, non-overlapping");
                prev = sp.end;
                assert!(s.is_char_boundary(sp.start) && s.is_char_boundary(sp.end), "char boundaries");
                assert!((sp.label as usize) < unsafe { pii_label_count(m) });
                assert!((0.0..=1.0).contains(&sp.score));
                assert_eq!(sp.is_pii, unsafe { pii_label_is_pii(m, sp.label) });
            }
            // Too small by one: the needed count, no span written.
            if n > 0 {
                let mut small = vec![pii_span { start: 9, end: 9, label: 9, score: 9.0, is_pii: false }; n - 1];
                let mut n2 = 0;
                let st2 = unsafe { pii_tag(m, ptr, data.len(), small.as_mut_ptr(), n - 1, &mut n2, std::ptr::null_mut()) };
                assert_eq!((st2, n2), (pii_status::PII_ERR_BUFFER_TOO_SMALL, n));
                assert!(small.iter().all(|x| x.start == 9));
            }
            // The same text with its spaces replaced by another separator tags the same words.
            if s.contains(' ') {
                let sep = SEPARATORS[data.len() % SEPARATORS.len()];
                let other = s.replace(' ', sep);
                assert_eq!(words_of(m, &other), words_of(m, s), "separator U+{:04X}", sep.chars().next().unwrap() as u32);
            }
            // The same words through pii_tag_words: word ranges cover exactly the spans' words.
            let ranges = pii::encode::words(s);
            let ptrs: Vec<*const c_char> = ranges.iter().map(|&(a, _)| s[a..].as_ptr() as *const c_char).collect();
            let lens: Vec<usize> = ranges.iter().map(|&(a, b)| b - a).collect();
            let mut ws = vec![pii_word_span { first: 0, last: 0, label: 0, score: 0.0, is_pii: false }; cap];
            let mut nw = 0;
            let st = unsafe { pii_tag_words(m, ptrs.as_ptr(), lens.as_ptr(), ranges.len(), ws.as_mut_ptr(), cap, &mut nw, &mut e) };
            assert_eq!(st, pii_status::PII_OK, "the words of valid UTF-8 must tag");
            let by_words: Vec<(usize, usize, u32)> = ws[..nw].iter().map(|w| (ranges[w.first].0, ranges[w.last - 1].1, w.label)).collect();
            let by_text: Vec<(usize, usize, u32)> = spans[..n].iter().map(|sp| (sp.start, sp.end, sp.label)).collect();
            assert_eq!(by_words, by_text, "word ranges map to the text's spans");
        }
        Err(_) => {
            assert_eq!(st, pii_status::PII_ERR_INVALID_UTF8);
            assert_eq!(n, usize::MAX, "count untouched on failure");
            check_message(&e);
        }
    }

    // Redact: size query, then into an exact buffer.
    let flags = data.first().map_or(0, |b| (b & 1) as u32);
    let mut need = 0;
    let st = unsafe { pii_redact(m, ptr, data.len(), flags, std::ptr::null_mut(), 0, &mut need, &mut e) };
    if text.is_err() {
        assert_eq!(st, pii_status::PII_ERR_INVALID_UTF8);
        return;
    }
    assert_eq!(st, pii_status::PII_ERR_BUFFER_TOO_SMALL, "cap 0 is always too small");
    let mut out = vec![0x55 as c_char; need];
    let mut len = 0;
    let st = unsafe { pii_redact(m, ptr, data.len(), flags, out.as_mut_ptr(), need, &mut len, &mut e) };
    assert_eq!(st, pii_status::PII_OK);
    assert_eq!(len + 1, need);
    assert_eq!(out[len], 0);
    let red: Vec<u8> = out[..len].iter().map(|&c| c as u8).collect();
    assert!(std::str::from_utf8(&red).is_ok(), "redacted text is UTF-8");
});
