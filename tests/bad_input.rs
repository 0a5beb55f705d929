//! Bad and extreme input through the C ABI, as one table: every case states the status it
//! expects, and every message must be non-empty on failure, empty on success, and free of the
//! input text. Run with `--nocapture` to print the `case | status | message` table.

mod common;
use common::*;
use pii::ffi::*;
use pii_status::*;
use std::ffi::{c_char, CStr, CString};
use std::path::Path;
use std::ptr::{null, null_mut};

/// Marker word put into every text input; no message may contain it.
const MARK: &str = "zqxsecret";

/// An error pre-filled with a status none of these calls returns and a non-empty message, so
/// a case sees whether `err` was written.
fn new_err() -> pii_error {
    pii_error { status: PII_ERR_INTERNAL, message: [0x41; PII_ERROR_MESSAGE_SIZE] }
}

fn msg(e: &pii_error) -> String {
    let bytes: Vec<u8> = e.message.iter().take_while(|&&c| c != 0).map(|&c| c as u8).collect();
    String::from_utf8(bytes).unwrap_or_else(|_| "<message is not UTF-8>".into())
}

const NO_SPAN: pii_span = pii_span { start: 7, end: 7, label: 99, score: -1.0, is_pii: false };

/// What one case observed.
struct Outcome {
    status: pii_status,
    message: String,
    /// Status recorded in `err` (None when the case passed no `err`).
    err_status: Option<pii_status>,
    /// Extra facts for the table (span counts, memory).
    detail: String,
    /// Words the message must not contain (the input's words).
    secrets: Vec<String>,
    /// Failed case-specific checks.
    problems: Vec<String>,
}

impl Outcome {
    fn new(status: pii_status, e: &pii_error) -> Self {
        Outcome {
            status,
            message: msg(e),
            err_status: Some(e.status),
            detail: String::new(),
            secrets: vec![MARK.to_string()],
            problems: Vec::new(),
        }
    }
    fn check(&mut self, ok: bool, what: impl Into<String>) {
        if !ok {
            self.problems.push(what.into());
        }
    }
    fn secrets_from(mut self, text: &[u8]) -> Self {
        let t = String::from_utf8_lossy(text);
        self.secrets.extend(
            t.split(|c: char| !c.is_alphanumeric())
                .filter(|w| w.chars().count() >= 5)
                .map(str::to_string),
        );
        self
    }
}

/// A case: name, expected status (None for functions without a status), and the code.
struct Case<'a> {
    name: &'a str,
    want: Option<pii_status>,
    run: Box<dyn FnOnce() -> Outcome + 'a>,
}

fn case<'a>(name: &'a str, want: pii_status, run: impl FnOnce() -> Outcome + 'a) -> Case<'a> {
    Case { name, want: Some(want), run: Box::new(run) }
}

fn plain<'a>(name: &'a str, run: impl FnOnce() -> Outcome + 'a) -> Case<'a> {
    Case { name, want: None, run: Box::new(run) }
}

/// Outcome of a function without a status: `problems` only, the detail is its result.
fn no_status(detail: String, ok: bool) -> Outcome {
    let mut o = Outcome {
        status: PII_OK,
        message: String::new(),
        err_status: None,
        detail,
        secrets: vec![],
        problems: vec![],
    };
    o.check(ok, "unexpected result");
    o
}

fn cstr(p: &Path) -> CString {
    CString::new(p.to_str().unwrap()).unwrap()
}

fn ort_cstr() -> CString {
    cstr(&ort_library())
}

fn load_dir(dir: &Path, tweak: impl FnOnce(&mut pii_options)) -> (pii_status, *mut pii_model, pii_error) {
    let d = cstr(dir);
    let ort = ort_cstr();
    let mut o = pii_default_options();
    o.ort_library = ort.as_ptr();
    tweak(&mut o);
    let mut m = null_mut();
    let mut e = new_err();
    let st = unsafe { pii_load(d.as_ptr(), &o, &mut m, &mut e) };
    (st, m, e)
}

/// Load outcome; frees the model if one was (unexpectedly or not) loaded.
fn load_case(dir: &Path, tweak: impl FnOnce(&mut pii_options)) -> Outcome {
    let (st, m, e) = load_dir(dir, tweak);
    let mut o = Outcome::new(st, &e);
    o.check((st == PII_OK) != m.is_null(), "model pointer written iff OK");
    unsafe { pii_free(m) };
    o
}

/// Tag through the C ABI with a generous buffer, checking span invariants on success.
fn tag_case(m: *const pii_model, text: &[u8]) -> (Outcome, Vec<pii_span>) {
    let cap = text.len() / 2 + 8;
    let mut spans = vec![NO_SPAN; cap];
    let mut n = 12345usize;
    let mut e = new_err();
    let st = unsafe { pii_tag(m, text.as_ptr() as *const c_char, text.len(), spans.as_mut_ptr(), cap, &mut n, &mut e) };
    let mut o = Outcome::new(st, &e).secrets_from(text);
    if st == PII_OK {
        spans.truncate(n);
        o.problems.extend(span_problems(text, &spans));
        o.detail = format!("{n} spans");
    } else {
        o.check(n == 12345, "count untouched on failure");
        o.check(spans.iter().all(|s| *s == NO_SPAN), "spans untouched on failure");
        spans.clear();
    }
    (o, spans)
}

/// Spans must be sorted, non-overlapping, non-empty, in bounds, on char and word boundaries,
/// and name a label of the fixture.
fn span_problems(text: &[u8], spans: &[pii_span]) -> Vec<String> {
    let mut p = Vec::new();
    let s = match std::str::from_utf8(text) {
        Ok(s) => s,
        Err(_) => return vec!["OK on invalid UTF-8".into()],
    };
    let mut prev_end = 0;
    for (i, sp) in spans.iter().enumerate() {
        if !(sp.start < sp.end && sp.end <= text.len()) {
            p.push(format!("span {i} {}..{} out of bounds", sp.start, sp.end));
            continue;
        }
        if sp.start < prev_end {
            p.push(format!("span {i} overlaps or is out of order"));
        }
        prev_end = sp.end;
        if !s.is_char_boundary(sp.start) || !s.is_char_boundary(sp.end) {
            p.push(format!("span {i} not on char boundaries"));
            continue;
        }
        if !(sp.start == 0 || s[..sp.start].ends_with(pii::encode::is_separator))
            || !(sp.end == s.len() || s[sp.end..].starts_with(pii::encode::is_separator))
            || s[sp.start..sp.end].starts_with(pii::encode::is_separator)
            || s[sp.start..sp.end].ends_with(pii::encode::is_separator)
        {
            p.push(format!("span {i} not on word boundaries"));
        }
        if sp.label >= 7 || !(0.0..=1.0).contains(&sp.score) {
            p.push(format!("span {i} label {} score {}", sp.label, sp.score));
        }
    }
    p
}

fn span_texts<'a>(text: &'a str, spans: &[pii_span]) -> Vec<&'a str> {
    spans.iter().map(|s| &text[s.start..s.end]).collect()
}

/// Peak resident set (VmHWM) in kB, after resetting it to the current RSS when the kernel
/// allows (`clear_refs` 5), so a later reading is this section's peak.
fn reset_peak_rss() -> u64 {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    peak_rss_kb()
}

fn peak_rss_kb() -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = s.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// A copy of the fixture directory to break.
/// A copy of the fixture whose manifest has no SHA-256 list (as exported before hashes
/// existed), so a case that damages a file reaches the check it is about, not the integrity
/// check; [`fixture_copy_hashed`] keeps the list.
fn fixture_copy() -> tempfile::TempDir {
    let d = fixture_copy_hashed();
    edit_manifest(d.path(), |v| {
        v.as_object_mut().unwrap().remove("sha256");
    });
    d
}

fn fixture_copy_hashed() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    for f in ["pii_model.json", "tokenizer.json", "model.onnx"] {
        std::fs::copy(fixture_dir().join(f), d.path().join(f)).unwrap();
    }
    d
}

fn edit_manifest(dir: &Path, f: impl FnOnce(&mut serde_json::Value)) {
    let p = dir.join("pii_model.json");
    let mut v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
    f(&mut v);
    std::fs::write(&p, serde_json::to_string_pretty(&v).unwrap()).unwrap();
}

/// Add `words` to the tokenizer's vocabulary (new ids past the model's embedding rows).
fn extend_tokenizer_vocab(dir: &Path, words: &[&str]) {
    let p = dir.join("tokenizer.json");
    let mut v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
    let vocab = v["model"]["vocab"].as_object_mut().expect("WordPiece vocab");
    let first = vocab.values().filter_map(|x| x.as_u64()).max().unwrap() + 1;
    for (id, w) in (first..).zip(words) {
        vocab.insert(w.to_string(), id.into());
    }
    std::fs::write(&p, serde_json::to_string(&v).unwrap()).unwrap();
}

#[test]
fn bad_input_table() {
    // Before any load in this process.
    let ort_before = pii_onnxruntime_version();

    let (st, model, e) = load_dir(&fixture_dir(), |_| {});
    assert_eq!(st, PII_OK, "{}", msg(&e));
    let m = model as *const pii_model;

    let text_ok = format!("{MARK} call nine eight seven ask for priya");
    let tb = text_ok.as_bytes();

    let mut cases: Vec<Case> = Vec::new();

    // ---- NULL arguments
    cases.push(plain("pii_onnxruntime_version before first load", move || {
        no_status(format!("{ort_before:?}"), ort_before.is_null())
    }));
    cases.push(case("tag: NULL model", PII_ERR_NULL_ARGUMENT, || {
        tag_case(null(), tb).0
    }));
    cases.push(case("redact: NULL model", PII_ERR_NULL_ARGUMENT, || {
        let mut out = [0 as c_char; 64];
        let mut len = 0;
        let mut e = new_err();
        let st = unsafe { pii_redact(null(), tb.as_ptr() as _, tb.len(), 0, out.as_mut_ptr(), 64, &mut len, &mut e) };
        Outcome::new(st, &e).secrets_from(tb)
    }));
    cases.push(case("tag: NULL text, len 5", PII_ERR_NULL_ARGUMENT, || {
        let mut spans = [NO_SPAN; 4];
        let mut n = 12345;
        let mut e = new_err();
        let st = unsafe { pii_tag(m, null(), 5, spans.as_mut_ptr(), 4, &mut n, &mut e) };
        let mut o = Outcome::new(st, &e);
        o.check(n == 12345, "count untouched");
        o
    }));
    cases.push(case("redact: NULL text, len 5", PII_ERR_NULL_ARGUMENT, || {
        let mut out = [0 as c_char; 64];
        let mut len = 777;
        let mut e = new_err();
        let st = unsafe { pii_redact(m, null(), 5, 0, out.as_mut_ptr(), 64, &mut len, &mut e) };
        let mut o = Outcome::new(st, &e);
        o.check(len == 777, "out_len untouched");
        o
    }));
    cases.push(case("tag: NULL text, len 0 (empty text)", PII_OK, || {
        let mut n = 12345;
        let mut e = new_err();
        let st = unsafe { pii_tag(m, null(), 0, null_mut(), 0, &mut n, &mut e) };
        let mut o = Outcome::new(st, &e);
        o.check(n == 0, "n = 0");
        o
    }));
    cases.push(case("redact: NULL text, len 0 (empty text)", PII_OK, || {
        let mut out = [0x55 as c_char; 4];
        let mut len = 777;
        let mut e = new_err();
        let st = unsafe { pii_redact(m, null(), 0, 0, out.as_mut_ptr(), 4, &mut len, &mut e) };
        let mut o = Outcome::new(st, &e);
        o.check(len == 0 && out[0] == 0, "empty NUL-terminated output");
        o
    }));
    cases.push(case("tag: NULL spans, cap 4", PII_ERR_NULL_ARGUMENT, || {
        let mut n = 12345;
        let mut e = new_err();
        let st = unsafe { pii_tag(m, tb.as_ptr() as _, tb.len(), null_mut(), 4, &mut n, &mut e) };
        Outcome::new(st, &e).secrets_from(tb)
    }));
    cases.push(case("tag: NULL spans, cap 0, text with spans", PII_ERR_BUFFER_TOO_SMALL, || {
        let mut n = 12345;
        let mut e = new_err();
        let st = unsafe { pii_tag(m, tb.as_ptr() as _, tb.len(), null_mut(), 0, &mut n, &mut e) };
        let mut o = Outcome::new(st, &e).secrets_from(tb);
        o.check(n == 2, format!("needed count 2, got {n}"));
        o
    }));
    cases.push(case("tag: NULL spans, cap 0, text without spans", PII_OK, || {
        let t = b"hello there how are you";
        let mut n = 12345;
        let mut e = new_err();
        let st = unsafe { pii_tag(m, t.as_ptr() as _, t.len(), null_mut(), 0, &mut n, &mut e) };
        let mut o = Outcome::new(st, &e);
        o.check(n == 0, "n = 0");
        o
    }));
    cases.push(case("tag: NULL n", PII_ERR_NULL_ARGUMENT, || {
        let mut spans = [NO_SPAN; 4];
        let mut e = new_err();
        let st = unsafe { pii_tag(m, tb.as_ptr() as _, tb.len(), spans.as_mut_ptr(), 4, null_mut(), &mut e) };
        let mut o = Outcome::new(st, &e).secrets_from(tb);
        o.check(spans.iter().all(|s| *s == NO_SPAN), "spans untouched");
        o
    }));
    cases.push(case("tag: NULL err (status still returned)", PII_ERR_NULL_ARGUMENT, || {
        let mut spans = [NO_SPAN; 4];
        let st = unsafe { pii_tag(m, tb.as_ptr() as _, tb.len(), spans.as_mut_ptr(), 4, null_mut(), null_mut()) };
        let mut o = Outcome::new(st, &new_err());
        o.message = "(no err)".into();
        o.err_status = None;
        o
    }));
    cases.push(case("redact: NULL out, cap 64", PII_ERR_NULL_ARGUMENT, || {
        let mut len = 0;
        let mut e = new_err();
        let st = unsafe { pii_redact(m, tb.as_ptr() as _, tb.len(), 0, null_mut(), 64, &mut len, &mut e) };
        Outcome::new(st, &e).secrets_from(tb)
    }));
    cases.push(case("redact: NULL out, cap 0 (size query)", PII_ERR_BUFFER_TOO_SMALL, || {
        let mut len = 0;
        let mut e = new_err();
        let st = unsafe { pii_redact(m, tb.as_ptr() as _, tb.len(), 0, null_mut(), 0, &mut len, &mut e) };
        let mut o = Outcome::new(st, &e).secrets_from(tb);
        let want = format!("{MARK} call [PHONE] ask for [PERSON_NAME]").len() + 1;
        o.check(len == want, format!("needed {want}, got {len}"));
        o
    }));
    cases.push(case("redact: NULL out_len", PII_ERR_NULL_ARGUMENT, || {
        let mut out = [0x55 as c_char; 64];
        let mut e = new_err();
        let st = unsafe { pii_redact(m, tb.as_ptr() as _, tb.len(), 0, out.as_mut_ptr(), 64, null_mut(), &mut e) };
        let mut o = Outcome::new(st, &e).secrets_from(tb);
        o.check(out.iter().all(|&c| c == 0x55), "out untouched");
        o
    }));
    cases.push(case("redact: unknown flag 0x80", PII_ERR_INVALID_ARGUMENT, || {
        let mut out = [0 as c_char; 128];
        let mut len = 0;
        let mut e = new_err();
        let st = unsafe { pii_redact(m, tb.as_ptr() as _, tb.len(), 0x80, out.as_mut_ptr(), 128, &mut len, &mut e) };
        Outcome::new(st, &e).secrets_from(tb)
    }));
    cases.push(case("load: NULL model_dir", PII_ERR_NULL_ARGUMENT, || {
        let mut out = null_mut();
        let mut e = new_err();
        let st = unsafe { pii_load(null(), null(), &mut out, &mut e) };
        let mut o = Outcome::new(st, &e);
        o.check(out.is_null(), "out untouched");
        o
    }));
    cases.push(case("load: NULL out", PII_ERR_NULL_ARGUMENT, || {
        let d = cstr(&fixture_dir());
        let mut e = new_err();
        let st = unsafe { pii_load(d.as_ptr(), null(), null_mut(), &mut e) };
        Outcome::new(st, &e)
    }));

    // ---- free and accessors with NULL / out of range
    cases.push(plain("pii_free(NULL)", || {
        unsafe { pii_free(null_mut()) };
        no_status("no-op".into(), true)
    }));
    cases.push(plain("pii_label_count(NULL)", || {
        let c = unsafe { pii_label_count(null()) };
        no_status(format!("{c}"), c == 0)
    }));
    cases.push(plain("pii_label_name(NULL, 0)", || {
        let p = unsafe { pii_label_name(null(), 0) };
        no_status(format!("{p:?}"), p.is_null())
    }));
    cases.push(plain("pii_label_is_pii(NULL, 0)", || {
        let b = unsafe { pii_label_is_pii(null(), 0) };
        no_status(format!("{b}"), !b)
    }));
    cases.push(plain("pii_label_name(m, 7) / (m, u32::MAX)", || {
        let (a, b) = unsafe { (pii_label_name(m, 7), pii_label_name(m, u32::MAX)) };
        no_status(format!("{a:?} {b:?}"), a.is_null() && b.is_null())
    }));
    cases.push(plain("pii_label_is_pii(m, u32::MAX)", || {
        let b = unsafe { pii_label_is_pii(m, u32::MAX) };
        no_status(format!("{b}"), !b)
    }));
    cases.push(plain("pii_status_str(-1 / 11 / i32::MIN / i32::MAX)", || {
        let all = [-1, 11, i32::MIN, i32::MAX]
            .map(|c| unsafe { CStr::from_ptr(pii_status_str(c)) }.to_str().unwrap().to_string());
        no_status(all[0].clone(), all.iter().all(|s| s == "unknown status"))
    }));

    // ---- text content
    let utf8_cases: [(&str, Vec<u8>); 5] = [
        ("invalid UTF-8: truncated multi-byte at end", [format!("{MARK} nine one ").as_bytes(), b"\xe2\x82"].concat()),
        ("invalid UTF-8: overlong '/'", [format!("{MARK} nine ").as_bytes(), b"\xc0\xaf one"].concat()),
        ("invalid UTF-8: lone surrogate", [format!("{MARK} nine ").as_bytes(), b"\xed\xa0\x80 one"].concat()),
        ("invalid UTF-8: 0xFF first byte", [b"\xff ".as_slice(), format!("{MARK} nine").as_bytes()].concat()),
        ("invalid UTF-8: 4-byte beyond U+10FFFF", [format!("{MARK} ").as_bytes(), b"\xf4\x90\x80\x80"].concat()),
    ];
    for (name, bytes) in utf8_cases {
        cases.push(case(name, PII_ERR_INVALID_UTF8, move || {
            let valid = std::str::from_utf8(&bytes).unwrap_err().valid_up_to();
            let (mut o, _) = tag_case(m, &bytes);
            o.check(o.message.contains(&format!("offset {valid}")), format!("message names offset {valid}"));
            let mut out = vec![0x55 as c_char; 256];
            let mut len = 777;
            let mut e = new_err();
            let st = unsafe { pii_redact(m, bytes.as_ptr() as _, bytes.len(), 0, out.as_mut_ptr(), 256, &mut len, &mut e) };
            o.check(st == PII_ERR_INVALID_UTF8 && len == 777, "redact agrees and leaves out_len");
            o.check(!msg(&e).contains(MARK), "redact message free of text");
            o
        }));
    }
    cases.push(case("empty text (len 0, non-NULL)", PII_OK, || {
        let (mut o, s) = tag_case(m, b"");
        o.check(s.is_empty(), "no spans");
        o
    }));
    cases.push(case("whitespace only", PII_OK, || {
        let (mut o, s) = tag_case(m, " \t\n\r\u{a0}\u{3000}  \u{2028} ".as_bytes());
        o.check(s.is_empty(), "no spans");
        o
    }));
    cases.push(case("embedded NUL bytes", PII_OK, || {
        let t = format!("{MARK} call nine\0 one\0\0 now \0 priya\0");
        let (mut o, s) = tag_case(m, t.as_bytes());
        o.check(!s.is_empty() && s[0].start == t.find("nine").unwrap(), "text after NUL is seen");
        o.check(s.iter().any(|x| x.end > t.find("priya").unwrap()), "tagging continues past NULs");
        o
    }));
    cases.push(case("control chars and lone combining marks", PII_OK, || {
        let t = format!("{MARK} \u{1}\u{7f} \u{301}\u{301} nine one \u{200b}\u{feff} \u{202e}rahul");
        tag_case(m, t.as_bytes()).0
    }));
    cases.push(case("non-Latin: Devanagari + digit words", PII_OK, || {
        let t = format!("{MARK} मेरा नंबर nine eight seven है और नाम priya शर्मा");
        let (mut o, s) = tag_case(m, t.as_bytes());
        let got = span_texts(&t, &s);
        o.check(got.contains(&"nine eight seven"), format!("phone found: {got:?}"));
        o.detail = format!("{got:?}");
        o
    }));
    cases.push(case("non-Latin: CJK + digit words", PII_OK, || {
        let t = format!("{MARK} 我的电话是 nine one two 三 四 谢谢 北京 rahul");
        let (mut o, s) = tag_case(m, t.as_bytes());
        let got = span_texts(&t, &s);
        o.check(got.contains(&"nine one two"), format!("phone found: {got:?}"));
        o.detail = format!("{got:?}");
        o
    }));
    cases.push(case("non-Latin: Arabic (RTL) + digit words", PII_OK, || {
        let t = format!("{MARK} رقمي هو four four two واسمي john smith شكرا");
        let (mut o, s) = tag_case(m, t.as_bytes());
        let got = span_texts(&t, &s);
        o.check(got.contains(&"four four two"), format!("phone found: {got:?}"));
        o.detail = format!("{got:?}");
        o
    }));
    cases.push(case("emoji (ZWJ, flags, skin tones) + digit words", PII_OK, || {
        let t = format!("{MARK} 📞 nine nine 👨‍👩‍👧‍👦 🇮🇳 priya 👍🏽 five😀six 🙂");
        let (mut o, s) = tag_case(m, t.as_bytes());
        let got = span_texts(&t, &s);
        o.check(got.contains(&"nine nine"), format!("phone found: {got:?}"));
        o.detail = format!("{got:?}");
        o
    }));
    cases.push(case("100k-token input (memory bounded)", PII_OK, || {
        // 25k repetitions of 4 words: 100k words, each one or more word pieces.
        let unit = "call nine one priya ";
        let t = format!("{MARK} {}", unit.repeat(25_000));
        let before = reset_peak_rss();
        let t0 = std::time::Instant::now();
        let (mut o, s) = tag_case(m, t.as_bytes());
        let secs = t0.elapsed().as_secs_f64();
        let grew_mb = peak_rss_kb().saturating_sub(before) / 1024;
        o.check(s.len() == 50_000, format!("2 spans per repetition, got {}", s.len()));
        o.check(grew_mb < 200, format!("peak RSS grew {grew_mb} MB"));
        o.detail = format!("{} spans, {secs:.1} s, peak RSS +{grew_mb} MB", s.len());
        o.secrets = vec![MARK.into()];
        o
    }));
    cases.push(case("1 MB of text", PII_OK, || {
        // Mixed words, multi-byte characters and PII, cut to 1 MiB on a char boundary.
        let unit = "so uh my number is four two four two and my name is rahul sharma from mumbai, ça va? नमस्ते 😀 ";
        let mut t = format!("{MARK} ");
        while t.len() < 1 << 20 {
            t.push_str(unit);
        }
        let mut cut = 1 << 20;
        while !t.is_char_boundary(cut) {
            cut -= 1;
        }
        t.truncate(cut);
        let before = reset_peak_rss();
        let t0 = std::time::Instant::now();
        let (mut o, s) = tag_case(m, t.as_bytes());
        let secs = t0.elapsed().as_secs_f64();
        let grew_mb = peak_rss_kb().saturating_sub(before) / 1024;
        let reps = (t.len() - MARK.len() - 1) / unit.len();
        o.check(s.len() >= 3 * reps, format!("at least 3 spans per repetition ({reps}), got {}", s.len()));
        o.check(grew_mb < 400, format!("peak RSS grew {grew_mb} MB"));
        o.detail = format!("{} bytes, {} spans, {secs:.1} s, peak RSS +{grew_mb} MB", t.len(), s.len());
        o.secrets = vec![MARK.into()];
        o
    }));
    cases.push(case("tag: cap 1 for 2 spans", PII_ERR_BUFFER_TOO_SMALL, || {
        let mut spans = [NO_SPAN; 1];
        let mut n = 0;
        let mut e = new_err();
        let st = unsafe { pii_tag(m, tb.as_ptr() as _, tb.len(), spans.as_mut_ptr(), 1, &mut n, &mut e) };
        let mut o = Outcome::new(st, &e).secrets_from(tb);
        o.check(n == 2 && spans[0] == NO_SPAN, "needed 2, no span written");
        o
    }));

    // ---- model directories and options
    cases.push(case("load: model dir missing", PII_ERR_IO, || load_case(Path::new("/nonexistent/pii-model"), |_| {})));
    cases.push(case("load: model dir empty string", PII_ERR_IO, || load_case(Path::new(""), |_| {})));
    cases.push(case("load: model dir is a file", PII_ERR_IO, || {
        load_case(&fixture_dir().join("model.onnx"), |_| {})
    }));
    cases.push(case("load: model dir empty", PII_ERR_IO, || {
        let d = tempfile::tempdir().unwrap();
        load_case(d.path(), |_| {})
    }));
    cases.push(case("load: model_dir not UTF-8", PII_ERR_INVALID_ARGUMENT, || {
        let d = CString::new(b"/tmp/\xff\xfe".to_vec()).unwrap();
        let mut out = null_mut();
        let mut e = new_err();
        let st = unsafe { pii_load(d.as_ptr(), null(), &mut out, &mut e) };
        Outcome::new(st, &e)
    }));
    cases.push(case("load: model.onnx truncated to 1/3", PII_ERR_MODEL, || {
        let d = fixture_copy();
        let b = std::fs::read(d.path().join("model.onnx")).unwrap();
        std::fs::write(d.path().join("model.onnx"), &b[..b.len() / 3]).unwrap();
        load_case(d.path(), |_| {})
    }));
    cases.push(case("load: model.onnx empty", PII_ERR_MODEL, || {
        let d = fixture_copy();
        std::fs::write(d.path().join("model.onnx"), b"").unwrap();
        load_case(d.path(), |_| {})
    }));
    cases.push(case("load: model.onnx missing", PII_ERR_IO, || {
        let d = fixture_copy();
        std::fs::remove_file(d.path().join("model.onnx")).unwrap();
        load_case(d.path(), |_| {})
    }));
    cases.push(case("load: manifest has one label fewer than the model", PII_ERR_MODEL, || {
        let d = fixture_copy();
        edit_manifest(d.path(), |v| {
            v["labels"].as_array_mut().unwrap().pop();
        });
        load_case(d.path(), |_| {})
    }));
    cases.push(case("load: manifest has one label more than the model", PII_ERR_MODEL, || {
        let d = fixture_copy();
        edit_manifest(d.path(), |v| {
            v["labels"].as_array_mut().unwrap().push(serde_json::json!({"name": "EXTRA", "pii": true}));
        });
        load_case(d.path(), |_| {})
    }));
    cases.push(case("load: manifest label name invalid", PII_ERR_MANIFEST, || {
        let d = fixture_copy();
        edit_manifest(d.path(), |v| v["labels"][0]["name"] = "credit card\n".into());
        load_case(d.path(), |_| {})
    }));
    cases.push(case("load: manifest labels empty", PII_ERR_MANIFEST, || {
        let d = fixture_copy();
        edit_manifest(d.path(), |v| v["labels"] = serde_json::json!([]));
        load_case(d.path(), |_| {})
    }));
    cases.push(case("load: manifest bad JSON", PII_ERR_MANIFEST, || {
        let d = fixture_copy();
        std::fs::write(d.path().join("pii_model.json"), "{\"format\": 1, \"labels\": [").unwrap();
        load_case(d.path(), |_| {})
    }));
    cases.push(case("load: manifest wrong types", PII_ERR_MANIFEST, || {
        let d = fixture_copy();
        std::fs::write(d.path().join("pii_model.json"), "{\"format\": 1, \"labels\": 3}").unwrap();
        load_case(d.path(), |_| {})
    }));
    cases.push(case("load: manifest not UTF-8", PII_ERR_MANIFEST, || {
        let d = fixture_copy();
        std::fs::write(d.path().join("pii_model.json"), b"{\"format\": 1, \xff}").unwrap();
        load_case(d.path(), |_| {})
    }));
    cases.push(case("load: manifest format 2", PII_ERR_MANIFEST, || {
        let d = fixture_copy();
        edit_manifest(d.path(), |v| v["format"] = 2.into());
        load_case(d.path(), |_| {})
    }));
    cases.push(case("load: manifest model_file '../model.onnx'", PII_ERR_MANIFEST, || {
        let d = fixture_copy();
        edit_manifest(d.path(), |v| v["model_file"] = "../model.onnx".into());
        load_case(d.path(), |_| {})
    }));
    cases.push(case("load: manifest max_length 4", PII_ERR_MANIFEST, || {
        let d = fixture_copy();
        edit_manifest(d.path(), |v| v["max_length"] = 4.into());
        load_case(d.path(), |_| {})
    }));
    cases.push(case("load: manifest vocab_size 30000 (tokenizer has 30522)", PII_ERR_TOKENIZER, || {
        let d = fixture_copy();
        edit_manifest(d.path(), |v| v["vocab_size"] = 30000.into());
        load_case(d.path(), |_| {})
    }));
    cases.push(case("load: tokenizer.json with 2 extra tokens", PII_ERR_TOKENIZER, || {
        let d = fixture_copy();
        extend_tokenizer_vocab(d.path(), &["zzextraone", "zzextratwo"]);
        load_case(d.path(), |_| {})
    }));
    cases.push(case("tag: extra-token tokenizer, vocab_size 0 (unchecked)", PII_ERR_MODEL, || {
        // With the check off, ids past the embedding must fail inference, not crash.
        let d = fixture_copy();
        extend_tokenizer_vocab(d.path(), &["zzextraone", "zzextratwo"]);
        edit_manifest(d.path(), |v| v["vocab_size"] = 0.into());
        let (st, lm, e) = load_dir(d.path(), |_| {});
        if st != PII_OK {
            let mut o = Outcome::new(st, &e);
            o.problems.push("load failed".into());
            return o;
        }
        let t = format!("{MARK} nine zzextraone one");
        let (o, _) = tag_case(lm, t.as_bytes());
        unsafe { pii_free(lm) };
        o
    }));
    cases.push(case("load: tokenizer.json not a tokenizer", PII_ERR_TOKENIZER, || {
        let d = fixture_copy();
        std::fs::write(d.path().join("tokenizer.json"), "{\"hello\": 1}").unwrap();
        load_case(d.path(), |_| {})
    }));
    cases.push(case("load: tokenizer.json missing", PII_ERR_IO, || {
        let d = fixture_copy();
        std::fs::remove_file(d.path().join("tokenizer.json")).unwrap();
        load_case(d.path(), |_| {})
    }));
    // ---- integrity (SHA-256 in the manifest)
    cases.push(case("load: model.onnx one byte flipped per 4 KiB (hashed)", PII_ERR_MODEL, || {
        let d = fixture_copy_hashed();
        let p = d.path().join("model.onnx");
        let mut b = std::fs::read(&p).unwrap();
        for i in (0..b.len()).step_by(4096) {
            b[i] ^= 0x01;
        }
        std::fs::write(&p, &b).unwrap();
        let mut o = load_case(d.path(), |_| {});
        o.check(o.message.contains("SHA-256"), "message names the SHA-256 check");
        o
    }));
    cases.push(case("load: tokenizer.json one vocab entry renamed (hashed)", PII_ERR_MODEL, || {
        let d = fixture_copy_hashed();
        let p = d.path().join("tokenizer.json");
        let s = std::fs::read_to_string(&p).unwrap().replacen("\"the\":", "\"thx\":", 1);
        std::fs::write(&p, s).unwrap();
        let mut o = load_case(d.path(), |_| {});
        o.check(o.message.contains("tokenizer.json") && o.message.contains("SHA-256"), "names the file");
        o
    }));
    cases.push(case("load: model_file not listed in the manifest's sha256", PII_ERR_MODEL, || {
        let d = fixture_copy_hashed();
        std::fs::copy(d.path().join("model.onnx"), d.path().join("other.onnx")).unwrap();
        let f = CString::new("other.onnx").unwrap();
        load_case(d.path(), |o| o.model_file = f.as_ptr())
    }));
    cases.push(case("load: manifest sha256 not hex", PII_ERR_MANIFEST, || {
        let d = fixture_copy_hashed();
        edit_manifest(d.path(), |v| v["sha256"]["model.onnx"] = "zz".repeat(32).into());
        load_case(d.path(), |_| {})
    }));
    cases.push(case("load: manifest max_length 200 > position table 128", PII_ERR_MODEL, || {
        let d = fixture_copy_hashed();
        edit_manifest(d.path(), |v| v["max_length"] = 200.into());
        let mut o = load_case(d.path(), |_| {});
        o.check(o.message.contains("max_length"), "message names max_length");
        o
    }));
    cases.push(case("load: min_score 2.0", PII_ERR_INVALID_ARGUMENT, || {
        load_case(&fixture_dir(), |o| o.min_score = 2.0)
    }));
    cases.push(case("load: min_score NaN", PII_ERR_INVALID_ARGUMENT, || {
        load_case(&fixture_dir(), |o| o.min_score = f32::NAN)
    }));
    cases.push(case("load: model_file 'sub/model.onnx'", PII_ERR_INVALID_ARGUMENT, || {
        let f = CString::new("sub/model.onnx").unwrap();
        load_case(&fixture_dir(), |o| o.model_file = f.as_ptr())
    }));
    cases.push(case("load: model_file does not exist", PII_ERR_IO, || {
        let f = CString::new("model.fp32.onnx").unwrap();
        load_case(&fixture_dir(), |o| o.model_file = f.as_ptr())
    }));
    cases.push(case("load: model_file empty", PII_ERR_INVALID_ARGUMENT, || {
        let f = CString::new("").unwrap();
        load_case(&fixture_dir(), |o| o.model_file = f.as_ptr())
    }));

    // ---- run and report
    let mut rows = Vec::new();
    let mut failures = Vec::new();
    for c in cases {
        let name = c.name;
        let want = c.want;
        let mut o = (c.run)();
        if let Some(w) = want {
            o.check(o.status == w, format!("expected {w:?}"));
            if let Some(es) = o.err_status {
                o.check(es == o.status, format!("err.status {es:?} differs from the returned status"));
            }
            if o.status == PII_OK {
                o.check(o.message.is_empty(), "message empty on success");
            } else {
                o.check(!o.message.is_empty(), "message non-empty on failure");
            }
        }
        let lower = o.message.to_lowercase();
        for s in &o.secrets {
            if lower.contains(&s.to_lowercase()) {
                o.problems.push(format!("message contains input text {s:?}"));
            }
        }
        let status = match want {
            Some(_) => format!("{:?}", o.status),
            None => "-".into(),
        };
        let mut message = if want.is_some() { o.message.clone() } else { String::new() };
        if !o.detail.is_empty() {
            message = if message.is_empty() { format!("[{}]", o.detail) } else { format!("{message} [{}]", o.detail) };
        }
        if !o.problems.is_empty() {
            failures.push(format!("{name}: {}", o.problems.join("; ")));
        }
        rows.push((name.to_string(), status, message, o.problems.is_empty()));
    }
    unsafe { pii_free(model) };

    eprintln!("\n| case | status | message |\n|---|---|---|");
    for (name, status, message, ok) in &rows {
        let flag = if *ok { "" } else { " **FAIL**" };
        eprintln!("| {name}{flag} | {status} | {} |", message.replace('|', "\\|").replace('\n', " "));
    }
    eprintln!("{} cases, {} failed", rows.len(), failures.len());
    assert!(failures.is_empty(), "failed cases:\n{}", failures.join("\n"));
}
