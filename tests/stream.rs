//! Streams (`pii::Stream`, `pii_stream_*`): a replay harness reveals every dev and held-out
//! utterance word by word, with revised and retracted partials and finals cut mid-entity, and
//! checks each release against the one-shot redaction of the whole final text.

mod common;

use common::*;
use pii::{Redaction, Redactor, Stream, StreamOptions, Style};

/// A small deterministic generator (no dependency, same events on every run).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// One engine event: a hypothesis of the segment after the last final.
#[derive(Debug, Clone)]
pub struct Event {
    pub text: String,
    pub is_final: bool,
}

/// The events an engine might emit for `words`: finals cut at 1-3 points (one inside a
/// multi-word span of `spans` when there is one: mid-number, mid-email, mid-name), and before
/// each final the partials growing word by word, some with their last word misheard and then
/// corrected, some retracted by a word and regrown.
pub fn events(words: &[&str], spans: &[(usize, usize)], seed: u64) -> Vec<Event> {
    let mut rng = Lcg(seed.wrapping_mul(2654435761).wrapping_add(17));
    let n = words.len();
    let mut cuts: Vec<usize> = Vec::new();
    if let Some(&(a, b)) = spans.iter().find(|(a, b)| b - a >= 2) {
        cuts.push(a + 1 + rng.below(b - a - 1));
    }
    for _ in 0..rng.below(3) {
        if n > 1 {
            cuts.push(1 + rng.below(n - 1));
        }
    }
    cuts.push(n);
    cuts.sort_unstable();
    cuts.dedup();
    let mut out = Vec::new();
    let mut from = 0;
    for &to in &cuts {
        let seg = &words[from..to];
        let mut k = 1;
        while k <= seg.len() {
            let mut partial: Vec<&str> = seg[..k].to_vec();
            match rng.below(10) {
                0 | 1 => {
                    // Misheard last word, corrected by the next partial.
                    let wrong = words[rng.below(n)];
                    *partial.last_mut().unwrap() = if wrong == seg[k - 1] { "uh" } else { wrong };
                    out.push(Event { text: partial.join(" "), is_final: false });
                    continue_with(&mut out, &seg[..k]);
                }
                2 if k > 1 => {
                    // Retracted: the hypothesis shrinks by a word, then grows again.
                    out.push(Event { text: seg[..k - 1].join(" "), is_final: false });
                    continue_with(&mut out, &seg[..k]);
                }
                _ => out.push(Event { text: partial.join(" "), is_final: false }),
            }
            k += 2 + rng.below(2);
        }
        out.push(Event { text: seg.join(" "), is_final: true });
        from = to;
    }
    out
}

fn continue_with(out: &mut Vec<Event>, words: &[&str]) {
    out.push(Event { text: words.join(" "), is_final: false });
}

fn jsonl_texts(file: &str) -> Vec<String> {
    let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data").join(file);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["text"].as_str().unwrap().split_whitespace().collect::<Vec<_>>().join(" ")
        })
        .collect()
}

fn shipped() -> pii::Model {
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data/model");
    pii::Model::load(&dir, &options()).expect("shipped model loads")
}

/// How one replay compares with the one-shot redaction of its final text.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct Replay {
    /// Words the one-shot redaction replaces.
    pub redacted: usize,
    /// Of those, words the stream released as spoken.
    pub leaked: usize,
    /// Words the stream redacted that the one-shot leaves as spoken.
    pub over: usize,
    /// The whole released text equals the one-shot redaction.
    pub equal: bool,
}

/// Replay `text` through a stream; check the releases are append-only and number every final
/// word once, and compare them word by word with the one-shot redaction of the same text.
pub fn replay(m: &pii::Model, text: &str, opts: StreamOptions, seed: u64) -> Replay {
    let words: Vec<&str> = text.split(' ').filter(|w| !w.is_empty()).collect();
    let (joined, starts) = pii::words::join(&words).unwrap();
    let spans = m.tag(&joined).unwrap();
    let want = Redactor::new(opts.redaction).redact(&joined, &spans, m.labels());
    let ranges = pii::words::ranges(&spans, &starts);
    let mut covered = vec![false; words.len()];
    for r in ranges.iter().filter(|r| opts.redaction.covers(r.label, r.pii)) {
        covered[r.first..r.last].iter_mut().for_each(|x| *x = true);
    }
    let entities: Vec<(usize, usize)> = ranges.iter().map(|r| (r.first, r.last)).collect();
    let mut s = Stream::new(m, opts).unwrap();
    let mut got = String::new();
    let mut out = Replay { redacted: covered.iter().filter(|&&c| c).count(), ..Replay::default() };
    let mut next = 0;
    let mut take = |rel: pii::Release, out: &mut Replay, got: &mut String| {
        for w in &rel.words {
            assert_eq!(w.index, next, "released words are numbered in order, each once");
            assert!(w.start <= w.end && w.end <= rel.text.len());
            next += 1;
            match (w.label.is_some(), covered[w.index]) {
                (false, true) => out.leaked += 1,
                (true, false) => out.over += 1,
                _ => {}
            }
        }
        if !rel.text.is_empty() {
            if !got.is_empty() {
                got.push(' ');
            }
            got.push_str(&rel.text);
        }
    };
    for e in events(&words, &entities, seed) {
        let before = got.clone();
        let rel = s.push(&e.text, e.is_final).unwrap();
        take(rel, &mut out, &mut got);
        assert!(got.starts_with(&before), "append-only");
    }
    let rel = s.finish().unwrap();
    assert_eq!(rel.held, 0);
    take(rel, &mut out, &mut got);
    assert_eq!(next, words.len(), "every final word is released");
    out.equal = got == want;
    out
}

/// Replay every text on two threads and sum the comparisons: (replays equal, totals).
fn replay_all(m: &pii::Model, texts: &[String], opts: StreamOptions) -> (usize, Replay) {
    let sum = std::sync::Mutex::new((0usize, Replay::default()));
    std::thread::scope(|sc| {
        for t in 0..2 {
            let sum = &sum;
            sc.spawn(move || {
                for (i, text) in texts.iter().enumerate().skip(t).step_by(2) {
                    let r = replay(m, text, opts, i as u64);
                    let mut g = sum.lock().unwrap();
                    g.0 += r.equal as usize;
                    g.1.redacted += r.redacted;
                    g.1.leaked += r.leaked;
                    g.1.over += r.over;
                }
            });
        }
    });
    sum.into_inner().unwrap()
}

#[test]
fn replays_of_every_dev_and_held_out_utterance_against_the_one_shot_redaction() {
    let m = shipped();
    for (file, style) in [("dev.jsonl", Style::Label), ("heldout.jsonl", Style::Pseudonym)] {
        let texts = jsonl_texts(file);
        assert!(texts.len() >= 1000, "{file}: {}", texts.len());
        let opts = StreamOptions { redaction: Redaction { style, labels: 0 }, ..StreamOptions::default() };
        let (equal, r) = replay_all(&m, &texts, opts);
        eprintln!(
            "{file}: {equal} of {} replays equal the one-shot redaction; of {} words it redacts, {} released as spoken; {} words redacted beyond it",
            texts.len(), r.redacted, r.leaked, r.over
        );
        // A bidirectional model may still change a settled word's tag when far words arrive;
        // the stream's rules (settle, doubt, sticky) must keep that from leaking, and err on
        // the side of redaction.
        assert!(r.redacted > 3000, "{file}: the set has PII to redact");
        // Measured with the shipped model (AMD EPYC, AVX2): dev 0 of 7,824 redacted words
        // released as spoken, 930 of 1,000 replays equal; held-out 2 of 7,795 (0.026%), 898.
        // The two held-out words ("eighth day" before "of july two thousand twenty three") get
        // p(PII) 0.01 in every view of up to ~30 words; only with 40 or more words does the
        // model widen the DATE over them. Before the doubt rule: dev 34 (0.43%) and 920,
        // held-out 51 (0.65%) and 887.
        let (most_leaked, least_equal) = if file == "dev.jsonl" { (0, 920) } else { (4, 885) };
        assert!(r.leaked <= most_leaked, "{file}: leaked {} of {} words", r.leaked, r.redacted);
        assert!(equal >= least_equal, "{file}: only {equal} of {} replays equal", texts.len());
    }
}

#[test]
fn label_probabilities_come_with_the_spans_one_row_per_word() {
    let m = fixture();
    let text = "call priya on nine eight four five one two three four five six  thanks";
    let (spans, probs) = m.tag_with_probs(text).unwrap();
    assert_eq!(spans, m.tag(text).unwrap());
    let n = text.split_whitespace().count();
    let l = m.labels().len();
    assert_eq!(probs.len(), n * l);
    for row in probs.chunks(l) {
        let sum: f32 = row.iter().sum();
        assert!(row.iter().all(|p| (0.0..=1.0).contains(p)) && sum <= 1.0 + 1e-4, "{row:?}");
    }
    assert!(m.tag_with_probs("").unwrap().1.is_empty());
}

#[test]
fn an_entity_split_across_finals_is_found_whole() {
    let m = shipped();
    let mut s = Stream::new(&m, StreamOptions::default()).unwrap();
    let mut got = Vec::new();
    for (t, f) in [
        ("my card is four", false),
        ("my card is four two four two", true),
        ("four two", false),
        ("four two four two four two four two one one two three", true),
        ("thanks a lot", true),
    ] {
        got.push(s.push(t, f).unwrap().text);
    }
    got.push(s.finish().unwrap().text);
    let all = got.into_iter().filter(|t| !t.is_empty()).collect::<Vec<_>>().join(" ");
    assert_eq!(all, "my card is [CREDIT_CARD] thanks a lot");
}

#[test]
fn the_hold_back_bound_releases_an_open_number_redacted() {
    let m = shipped();
    let opts = StreamOptions { hold_back: 6, ..StreamOptions::default() };
    let mut s = Stream::new(&m, opts).unwrap();
    let rel = s.push("my number is nine eight four five two two one oh three three four four", true).unwrap();
    // The digits are still being spoken (no word after them): at most 6 words wait, and the
    // number words released early are redacted, not released as spoken.
    assert!(rel.held <= 6, "{rel:?}");
    assert!(!rel.words.is_empty());
    let spoken: Vec<usize> = rel.words.iter().filter(|w| w.label.is_none()).map(|w| w.index).collect();
    assert!(spoken.iter().all(|&i| i < 3), "only the words before the number go out as spoken: {rel:?}");
    assert!(!rel.text.contains("nine") && !rel.text.contains("eight"), "{}", rel.text);
}

#[test]
fn pushes_after_finish_and_bad_options_are_errors_that_change_nothing() {
    let m = fixture();
    let mut s = Stream::new(&m, StreamOptions::default()).unwrap();
    s.push("hello there", true).unwrap();
    s.finish().unwrap();
    assert!(s.push("more", true).is_err());
    assert!(s.finish().is_err());
    let too_big = StreamOptions { context: 100_000, ..StreamOptions::default() };
    assert!(Stream::new(&m, too_big).is_err());
}

mod c_abi {
    use super::*;
    use pii::ffi::*;
    use std::ffi::c_char;
    use std::ptr::{null, null_mut};

    /// Push through the C ABI; the release's text and (index, label) per word.
    unsafe fn push(s: *mut pii_stream, text: &[u8], fin: bool) -> Result<(String, Vec<(usize, i32)>, usize), pii_status> {
        let mut out: *const pii_release = null();
        let mut e = ffi_error();
        let st = pii_stream_push(s, text.as_ptr() as *const c_char, text.len(), fin, &mut out, &mut e);
        if st != pii_status::PII_OK {
            return Err(st);
        }
        Ok(read(out))
    }

    unsafe fn read(out: *const pii_release) -> (String, Vec<(usize, i32)>, usize) {
        let r = &*out;
        let text = std::str::from_utf8(std::slice::from_raw_parts(r.text as *const u8, r.len)).unwrap().to_string();
        assert_eq!(*r.text.add(r.len), 0, "NUL-terminated");
        let words = if r.n_words == 0 { &[][..] } else { std::slice::from_raw_parts(r.words, r.n_words) };
        (text, words.iter().map(|w| (w.index, w.label)).collect(), r.held)
    }

    unsafe fn new_stream(m: *const pii_model, o: Option<pii_stream_options>) -> Result<*mut pii_stream, pii_status> {
        let mut s = null_mut();
        let mut e = ffi_error();
        let op = o.as_ref().map_or(null(), |o| o as *const _);
        match pii_stream_new(m, op, &mut s, &mut e) {
            pii_status::PII_OK => Ok(s),
            st => {
                assert!(!ffi_message(&e).is_empty());
                Err(st)
            }
        }
    }

    #[test]
    fn c_streams_release_what_the_rust_stream_releases_and_refuse_bad_input() {
        let m = ffi_load_fixture();
        let rust = fixture();
        unsafe {
            let s = new_stream(m, None).unwrap();
            let mut r = Stream::new(&rust, StreamOptions::default()).unwrap();
            let events: [(&str, bool); 4] = [
                ("call priya on nine eight", false),
                ("call priya on nine eight four five", true),
                ("one two three four five six thanks", true),
                ("bye now", false),
            ];
            for (i, (t, f)) in events.iter().enumerate() {
                if i == 2 {
                    // Invalid UTF-8 changes nothing: the next push releases what it would have.
                    assert_eq!(push(s, b"bad \xff word", true).unwrap_err(), pii_status::PII_ERR_INVALID_UTF8);
                }
                let (text, words, held) = push(s, t.as_bytes(), *f).unwrap();
                let want = r.push(t, *f).unwrap();
                assert_eq!(text, want.text);
                assert_eq!(held, want.held);
                let ws: Vec<(usize, i32)> = want.words.iter().map(|w| (w.index, w.label.map_or(-1, |l| l as i32))).collect();
                assert_eq!(words, ws);
            }
            let mut out: *const pii_release = null();
            assert_eq!(pii_stream_finish(s, &mut out, null_mut()), pii_status::PII_OK);
            assert_eq!(read(out).0, r.finish().unwrap().text);
            assert_eq!(read(out).2, 0);
            let mut e = ffi_error();
            assert_eq!(pii_stream_push(s, b"x".as_ptr() as _, 1, true, null_mut(), &mut e), pii_status::PII_ERR_INVALID_ARGUMENT);
            assert!(ffi_message(&e).contains("after finish"));
            assert_eq!(pii_stream_finish(s, null_mut(), null_mut()), pii_status::PII_ERR_INVALID_ARGUMENT);
            pii_stream_free(s);

            // NULLs and bad options are statuses.
            assert_eq!(pii_stream_push(null_mut(), b"x".as_ptr() as _, 1, true, null_mut(), null_mut()), pii_status::PII_ERR_NULL_ARGUMENT);
            assert_eq!(pii_stream_finish(null_mut(), null_mut(), null_mut()), pii_status::PII_ERR_NULL_ARGUMENT);
            assert_eq!(new_stream(null(), None).unwrap_err(), pii_status::PII_ERR_NULL_ARGUMENT);
            let s = new_stream(m, None).unwrap();
            assert_eq!(pii_stream_push(s, null(), 3, true, null_mut(), null_mut()), pii_status::PII_ERR_NULL_ARGUMENT);
            assert_eq!(push(s, b"", true).unwrap().0, "", "an empty push is fine");
            pii_stream_free(s);
            pii_stream_free(null_mut());
            let mut o = pii_stream_default_options();
            o.hold_back = 100_000;
            assert_eq!(new_stream(m, Some(o)).unwrap_err(), pii_status::PII_ERR_INVALID_ARGUMENT);
            let mut o = pii_stream_default_options();
            o.redaction.style = 9;
            assert_eq!(new_stream(m, Some(o)).unwrap_err(), pii_status::PII_ERR_INVALID_ARGUMENT);
            let mut o = pii_stream_default_options();
            o.redaction.labels = 1 << 40;
            assert_eq!(new_stream(m, Some(o)).unwrap_err(), pii_status::PII_ERR_INVALID_ARGUMENT);
            pii_free(m);
        }
    }

    #[test]
    fn many_streams_on_one_model_from_many_threads_match_single_threaded_replays() {
        let m = ffi_load_fixture();
        let texts: Vec<String> = jsonl_texts("dev.jsonl").into_iter().take(64).collect();
        let replay_c = |m: *const pii_model, text: &str, seed: u64| -> Vec<String> {
            let words: Vec<&str> = text.split(' ').collect();
            let mut o = pii_stream_default_options();
            o.redaction.style = PII_STYLE_PSEUDONYM;
            unsafe {
                let s = new_stream(m, Some(o)).unwrap();
                let mut got = Vec::new();
                for e in events(&words, &[(1, words.len().min(4))], seed) {
                    got.push(push(s, e.text.as_bytes(), e.is_final).unwrap().0);
                }
                let mut out: *const pii_release = null();
                assert_eq!(pii_stream_finish(s, &mut out, null_mut()), pii_status::PII_OK);
                got.push(read(out).0);
                pii_stream_free(s);
                got
            }
        };
        let want: Vec<Vec<String>> = texts.iter().enumerate().map(|(i, t)| replay_c(m, t, i as u64)).collect();
        struct Shared(*const pii_model);
        unsafe impl Sync for Shared {}
        let sh = Shared(m);
        let mismatches = std::sync::atomic::AtomicUsize::new(0);
        std::thread::scope(|sc| {
            for t in 0..8 {
                let (sh, texts, want, mismatches) = (&sh, &texts, &want, &mismatches);
                sc.spawn(move || {
                    for (i, text) in texts.iter().enumerate().skip(t % 3).step_by(2) {
                        if replay_c(sh.0, text, i as u64) != want[i] {
                            mismatches.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        }
                    }
                });
            }
        });
        assert_eq!(mismatches.into_inner(), 0);
        unsafe { pii_free(m) };
    }

    #[test]
    fn redact_with_applies_labels_and_styles() {
        let m = ffi_load_fixture();
        let rust = fixture();
        let text = "my card is four two four two four two four two four two four two one one two three and i am priya";
        for style in [PII_STYLE_LABEL, PII_STYLE_MASK, PII_STYLE_KEEP_LAST_FOUR, PII_STYLE_PSEUDONYM] {
            let r = pii_redaction { style, labels: 0 };
            let mut out = vec![0 as c_char; 512];
            let mut len = 0usize;
            let st = unsafe { pii_redact_with(m, text.as_ptr() as _, text.len(), &r, out.as_mut_ptr(), out.len(), &mut len, null_mut()) };
            assert_eq!(st, pii_status::PII_OK);
            let got = unsafe { std::str::from_utf8(std::slice::from_raw_parts(out.as_ptr() as *const u8, len)).unwrap() };
            let s = [Style::Label, Style::Mask, Style::KeepLastFour, Style::Pseudonym][style as usize];
            let want = rust.redact_with(text, &mut Redactor::new(Redaction { style: s, labels: 0 })).unwrap();
            assert_eq!(got, want);
        }
        let mut len = 0usize;
        let bad = pii_redaction { style: 7, labels: 0 };
        let st = unsafe { pii_redact_with(m, text.as_ptr() as _, text.len(), &bad, null_mut(), 0, &mut len, null_mut()) };
        assert_eq!(st, pii_status::PII_ERR_INVALID_ARGUMENT);
        // NULL redaction: the default, like pii_redact without flags.
        let st = unsafe { pii_redact_with(m, text.as_ptr() as _, text.len(), null(), null_mut(), 0, &mut len, null_mut()) };
        assert_eq!(st, pii_status::PII_ERR_BUFFER_TOO_SMALL);
        assert_eq!(len, rust.redact(text, false).unwrap().len() + 1);
        unsafe { pii_free(m) };
    }
}

