//! The C ABI called from Rust: statuses, NULLs, invalid UTF-8, buffer sizing, messages.

mod common;
use common::*;
use pii::ffi::*;
use std::ffi::{CStr, CString};
use std::ptr::{null, null_mut};

fn tag(m: *const pii_model, text: &[u8], cap: usize) -> (pii_status, Vec<pii_span>, usize, String) {
    let mut spans = vec![pii_span { start: 7, end: 7, label: 99, score: -1.0, is_pii: false }; cap];
    let mut n = 12345usize;
    let mut e = ffi_error();
    let st = unsafe { pii_tag(m, text.as_ptr() as *const _, text.len(), spans.as_mut_ptr(), cap, &mut n, &mut e) };
    (st, spans, n, ffi_message(&e))
}

#[test]
fn tag_writes_spans_and_reports_needed_count() {
    let m = ffi_load_fixture();
    let text = b"call nine one one or priya at home in delhi";
    let (st, spans, n, _) = tag(m, text, 8);
    assert_eq!(st, pii_status::PII_OK);
    assert_eq!(n, 3);
    let names: Vec<String> = spans[..n]
        .iter()
        .map(|s| unsafe { CStr::from_ptr(pii_label_name(m, s.label)) }.to_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["PHONE", "PERSON_NAME", "CITY"]);
    assert_eq!(&text[spans[0].start..spans[0].end], b"nine one one");
    assert!(spans[0].is_pii && !spans[2].is_pii);

    // Too small: distinct status, needed count, no span written.
    let (st, spans, n, message) = tag(m, text, 2);
    assert_eq!(st, pii_status::PII_ERR_BUFFER_TOO_SMALL);
    assert_eq!(n, 3);
    assert!(spans.iter().all(|s| s.label == 99), "no partial output");
    assert!(message.contains('3'), "{message}");
    // cap 0 with NULL spans is a valid way to ask for the count.
    let mut n0 = 0usize;
    let st = unsafe { pii_tag(m, text.as_ptr() as *const _, text.len(), null_mut(), 0, &mut n0, null_mut()) };
    assert_eq!((st, n0), (pii_status::PII_ERR_BUFFER_TOO_SMALL, 3));
    unsafe { pii_free(m) };
}

#[test]
fn null_arguments_get_a_status_not_a_crash() {
    let m = ffi_load_fixture();
    let text = b"nine one";
    let mut n = 0usize;
    let mut spans = [pii_span { start: 0, end: 0, label: 0, score: 0.0, is_pii: false }; 4];
    let mut e = ffi_error();
    unsafe {
        assert_eq!(pii_tag(null(), text.as_ptr() as _, 8, spans.as_mut_ptr(), 4, &mut n, &mut e), pii_status::PII_ERR_NULL_ARGUMENT);
        assert!(ffi_message(&e).contains("model"), "{}", ffi_message(&e));
        assert_eq!(e.status, pii_status::PII_ERR_NULL_ARGUMENT);
        assert_eq!(pii_tag(m, null(), 8, spans.as_mut_ptr(), 4, &mut n, &mut e), pii_status::PII_ERR_NULL_ARGUMENT);
        assert_eq!(pii_tag(m, text.as_ptr() as _, 8, null_mut(), 4, &mut n, &mut e), pii_status::PII_ERR_NULL_ARGUMENT);
        assert_eq!(pii_tag(m, text.as_ptr() as _, 8, spans.as_mut_ptr(), 4, null_mut(), &mut e), pii_status::PII_ERR_NULL_ARGUMENT);
        // NULL text with zero length is the empty text.
        assert_eq!(pii_tag(m, null(), 0, spans.as_mut_ptr(), 4, &mut n, null_mut()), pii_status::PII_OK);
        assert_eq!(n, 0);
        let mut out = null_mut();
        assert_eq!(pii_load(null(), null(), &mut out, &mut e), pii_status::PII_ERR_NULL_ARGUMENT);
        let dir = CString::new("x").unwrap();
        assert_eq!(pii_load(dir.as_ptr(), null(), null_mut(), &mut e), pii_status::PII_ERR_NULL_ARGUMENT);
        let mut len = 0usize;
        let mut buf = [0 as std::ffi::c_char; 64];
        assert_eq!(pii_redact(null(), text.as_ptr() as _, 8, 0, buf.as_mut_ptr(), 64, &mut len, &mut e), pii_status::PII_ERR_NULL_ARGUMENT);
        assert_eq!(pii_redact(m, text.as_ptr() as _, 8, 0, buf.as_mut_ptr(), 64, null_mut(), &mut e), pii_status::PII_ERR_NULL_ARGUMENT);
        assert_eq!(pii_redact(m, text.as_ptr() as _, 8, 0, null_mut(), 64, &mut len, &mut e), pii_status::PII_ERR_NULL_ARGUMENT);
        // Every free/accessor accepts NULL.
        pii_free(null_mut());
        assert_eq!(pii_label_count(null()), 0);
        assert!(pii_label_name(null(), 0).is_null());
        assert!(!pii_label_is_pii(null(), 0));
        assert!(pii_label_name(m, 1000).is_null());
        assert_eq!(pii_label_count(m), 7);
        pii_free(m);
    }
}

#[test]
fn invalid_utf8_is_rejected_with_its_position() {
    let m = ffi_load_fixture();
    let cases: [&[u8]; 4] = [
        b"nine one \xe2\x82",       // truncated multi-byte
        b"nine \xc0\xaf one",       // overlong '/'
        b"nine \xed\xa0\x80 one",   // lone surrogate
        b"\xff nine",               // invalid byte
    ];
    for c in cases {
        let (st, _, n, message) = tag(m, c, 8);
        assert_eq!(st, pii_status::PII_ERR_INVALID_UTF8, "{c:?}");
        assert_eq!(n, 12345, "count untouched");
        assert!(message.contains("offset"), "{message}");
        assert!(!message.contains("nine"), "message must not echo text: {message}");
    }
    // Embedded NUL bytes are ordinary text when the length covers them.
    let (st, spans, n, _) = tag(m, b"call nine\0 one now", 8);
    assert_eq!(st, pii_status::PII_OK);
    assert!(n >= 1 && spans[0].start == 5);
    unsafe { pii_free(m) };
}

#[test]
fn redact_sizes_its_buffer() {
    let m = ffi_load_fixture();
    let text = b"i am john call two two";
    let want = "i am [PERSON_NAME] call [PHONE]";
    let mut len = 0usize;
    let mut small = [0x55 as std::ffi::c_char; 8];
    let mut e = ffi_error();
    let st = unsafe { pii_redact(m, text.as_ptr() as _, text.len(), 0, small.as_mut_ptr(), small.len(), &mut len, &mut e) };
    assert_eq!(st, pii_status::PII_ERR_BUFFER_TOO_SMALL);
    assert_eq!(len, want.len() + 1);
    assert!(small.iter().all(|&c| c == 0x55));
    let mut buf = vec![0 as std::ffi::c_char; len];
    let st = unsafe { pii_redact(m, text.as_ptr() as _, text.len(), 0, buf.as_mut_ptr(), buf.len(), &mut len, &mut e) };
    assert_eq!(st, pii_status::PII_OK, "{}", ffi_message(&e));
    assert_eq!(len, want.len());
    assert_eq!(unsafe { CStr::from_ptr(buf.as_ptr()) }.to_str().unwrap(), want);
    let st = unsafe { pii_redact(m, text.as_ptr() as _, text.len(), 0x80, buf.as_mut_ptr(), buf.len(), &mut len, &mut e) };
    assert_eq!(st, pii_status::PII_ERR_INVALID_ARGUMENT);
    unsafe { pii_free(m) };
}

#[test]
fn load_errors_name_the_problem() {
    let ort = CString::new(ort_library().to_str().unwrap()).unwrap();
    let mut o = pii_default_options();
    o.ort_library = ort.as_ptr();
    let mut m = null_mut();
    let mut e = ffi_error();
    let dir = CString::new("/nonexistent/models/pii").unwrap();
    let st = unsafe { pii_load(dir.as_ptr(), &o, &mut m, &mut e) };
    assert_eq!(st, pii_status::PII_ERR_IO);
    assert!(m.is_null());
    assert!(ffi_message(&e).contains("/nonexistent/models/pii"), "{}", ffi_message(&e));
    o.min_score = 2.0;
    let dir = CString::new(fixture_dir().to_str().unwrap()).unwrap();
    let st = unsafe { pii_load(dir.as_ptr(), &o, &mut m, &mut e) };
    assert_eq!(st, pii_status::PII_ERR_INVALID_ARGUMENT);
}

#[test]
fn status_strings_cover_every_code() {
    for code in 0..=10 {
        let s = unsafe { CStr::from_ptr(pii_status_str(code)) }.to_str().unwrap();
        assert!(!s.is_empty() && s != "unknown status", "{code}");
    }
    assert_eq!(unsafe { CStr::from_ptr(pii_status_str(-3)) }.to_str().unwrap(), "unknown status");
    assert_eq!(unsafe { CStr::from_ptr(pii_status_str(11)) }.to_str().unwrap(), "unknown status");
}

#[test]
fn len_above_ptrdiff_max_is_rejected_before_the_text_is_read() {
    let m = ffi_load_fixture();
    // A 4-byte buffer with a length no object can have: reading it would fault.
    let text = *b"nine";
    for len in [isize::MAX as usize + 1, usize::MAX, usize::MAX - 3] {
        let mut spans = [pii_span { start: 7, end: 7, label: 99, score: -1.0, is_pii: false }; 4];
        let mut n = 4242usize;
        let mut e = ffi_error();
        let st = unsafe { pii_tag(m, text.as_ptr() as _, len, spans.as_mut_ptr(), 4, &mut n, &mut e) };
        assert_eq!(st, pii_status::PII_ERR_INVALID_ARGUMENT, "len {len}: {}", ffi_message(&e));
        assert!(ffi_message(&e).contains("PTRDIFF_MAX"), "{}", ffi_message(&e));
        assert_eq!(n, 4242, "no output on failure");
        assert_eq!(spans[0].label, 99);
        let mut out = [0 as std::ffi::c_char; 16];
        let mut out_len = 4242usize;
        let st = unsafe { pii_redact(m, text.as_ptr() as _, len, 0, out.as_mut_ptr(), 16, &mut out_len, &mut e) };
        assert_eq!(st, pii_status::PII_ERR_INVALID_ARGUMENT, "redact len {len}");
        assert_eq!(out_len, 4242);
        // Also with a NULL text: the length is the first thing checked.
        let st = unsafe { pii_tag(m, null(), len, spans.as_mut_ptr(), 4, &mut n, &mut e) };
        assert_eq!(st, pii_status::PII_ERR_INVALID_ARGUMENT);
    }
    unsafe { pii_free(m) };
}

/// Missing files of a model directory are `PII_ERR_IO`, whichever file, and the header's
/// status descriptions say so (before, PII_ERR_MANIFEST / PII_ERR_TOKENIZER claimed "missing").
#[test]
fn missing_model_files_are_io_errors_as_the_header_says() {
    let ort = CString::new(ort_library().to_str().unwrap()).unwrap();
    let mut o = pii_default_options();
    o.ort_library = ort.as_ptr();
    for missing in ["pii_model.json", "tokenizer.json", "model.onnx"] {
        let d = tempfile::tempdir().unwrap();
        for f in ["pii_model.json", "tokenizer.json", "model.onnx"] {
            if f != missing {
                std::fs::copy(fixture_dir().join(f), d.path().join(f)).unwrap();
            }
        }
        let dir = CString::new(d.path().to_str().unwrap()).unwrap();
        let mut m = null_mut();
        let mut e = ffi_error();
        let st = unsafe { pii_load(dir.as_ptr(), &o, &mut m, &mut e) };
        assert_eq!(st, pii_status::PII_ERR_IO, "{missing} missing: {}", ffi_message(&e));
        assert!(ffi_message(&e).contains(missing), "{}", ffi_message(&e));
        assert!(m.is_null());
    }
    let h = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/include/pii.h"));
    let doc = |code: &str| -> String {
        let at = h.find(&format!("  {code} = ")).unwrap_or_else(|| panic!("{code} in pii.h"));
        let before: Vec<&str> = h[..at].lines().rev().take_while(|l| l.trim_start().starts_with("//")).collect();
        before.into_iter().rev().collect::<Vec<_>>().join(" ").to_lowercase()
    };
    assert!(doc("PII_ERR_IO").contains("missing"), "{}", doc("PII_ERR_IO"));
    for code in ["PII_ERR_MANIFEST", "PII_ERR_TOKENIZER"] {
        assert!(!doc(code).contains("missing"), "{code}: {}", doc(code));
    }
}
