//! The safe Rust API on the fixture model: exact spans, windows, threads, redaction.

mod common;
use common::*;

fn find(text: &str, needle: &str) -> (usize, usize) {
    let s = text.find(needle).expect("needle in text");
    (s, s + needle.len())
}

#[test]
fn known_inputs_give_exact_word_spans() {
    let m = fixture();
    let text = "my number is nine eight seven and my name is priya sharma from delhi";
    let spans = m.tag(text).unwrap();
    let got: Vec<((usize, usize), &str, bool)> =
        spans.iter().map(|s| ((s.start, s.end), m.labels()[s.label].as_str(), s.pii)).collect();
    assert_eq!(
        got,
        vec![
            (find(text, "nine eight seven"), "PHONE", true),
            (find(text, "priya sharma"), "PERSON_NAME", true),
            (find(text, "delhi"), "CITY", false),
        ]
    );
    assert!(spans.iter().all(|s| s.score > 0.5 && s.score <= 1.0));
}

#[test]
fn offsets_are_bytes_on_word_boundaries_with_non_ascii() {
    let m = fixture();
    // Multi-byte characters before the spans shift byte offsets away from char offsets.
    let text = "  namasté   josé   call  9876 543 210\tthen rahul ";
    let spans = m.tag(text).unwrap();
    let got = spans_text(&m, text, &spans);
    assert_eq!(got, vec![("9876 543 210", "PHONE".to_string()), ("rahul", "PERSON_NAME".to_string())]);
    for s in &spans {
        assert!(s.start == 0 || text[..s.start].ends_with(char::is_whitespace));
        assert!(s.end == text.len() || text[s.end..].starts_with(char::is_whitespace));
    }
}

#[test]
fn empty_and_blank_text_have_no_spans() {
    let m = fixture();
    assert!(m.tag("").unwrap().is_empty());
    assert!(m.tag(" \t\n  ").unwrap().is_empty());
    assert!(m.tag("hello there how are you").unwrap().is_empty());
}

#[test]
fn long_input_is_windowed_not_truncated() {
    let m = fixture();
    assert!(m.manifest().max_length <= 32, "fixture must be short to exercise windows");
    let unit = "ok so my number is nine eight seven six and i live in mumbai thanks ";
    let text = unit.repeat(40);
    let spans = m.tag(&text).unwrap();
    let per = spans_text(&m, unit, &m.tag(unit).unwrap());
    assert_eq!(per.len(), 2);
    assert_eq!(spans.len(), 2 * 40, "every repetition is tagged, including past the first window");
    for (i, s) in spans.iter().enumerate() {
        let base = (i / 2) * unit.len();
        let want = if i % 2 == 0 { find(unit, "nine eight seven six") } else { find(unit, "mumbai") };
        assert_eq!((s.start - base, s.end - base), want, "span {i}");
    }
}

#[test]
fn redaction_replaces_pii_and_keeps_non_pii() {
    let m = fixture();
    let text = "this is john smith from delhi my number is two double three";
    assert_eq!(m.redact(text, false).unwrap(), "this is [PERSON_NAME] from delhi my number is [PHONE]");
    assert_eq!(m.redact(text, true).unwrap(), "this is [PERSON_NAME] from [CITY] my number is [PHONE]");
}

#[test]
fn threads_agree_with_single_thread() {
    let m = fixture();
    let texts: Vec<String> = (0..24)
        .map(|i| format!("uh call me on {} {} nine and ask for priya in delhi round {i}", ["one", "two", "oh"][i % 3], i))
        .collect();
    let want: Vec<_> = texts.iter().map(|t| m.tag(t).unwrap()).collect();
    std::thread::scope(|s| {
        let hs: Vec<_> = (0..4)
            .map(|k| {
                let (m, texts, want) = (&m, &texts, &want);
                s.spawn(move || {
                    for round in 0..5 {
                        for (i, t) in texts.iter().enumerate() {
                            if (i + k + round) % 2 == 0 {
                                assert_eq!(m.tag(t).unwrap(), want[i]);
                            }
                        }
                    }
                })
            })
            .collect();
        for h in hs {
            h.join().unwrap();
        }
    });
    assert!(m.sessions() >= 1);
}

#[test]
fn missing_model_dir_is_a_clear_error() {
    let err = pii::Model::load(std::path::Path::new("/nonexistent/pii-model"), &options()).unwrap_err();
    assert!(matches!(err, pii::Error::Io { .. }), "{err:?}");
    assert!(err.to_string().contains("/nonexistent/pii-model"), "{err}");
}

#[test]
fn broken_model_directories_are_rejected() {
    let src = fixture_dir();
    // Empty directory: no manifest.
    let empty = tempfile::tempdir().unwrap();
    let e = pii::Model::load(empty.path(), &options()).unwrap_err();
    assert!(matches!(e, pii::Error::Io { .. }), "{e:?}");

    let copy = |skip: &str| {
        let d = tempfile::tempdir().unwrap();
        for f in ["pii_model.json", "tokenizer.json", "model.onnx"] {
            if f != skip {
                std::fs::copy(src.join(f), d.path().join(f)).unwrap();
            }
        }
        d
    };
    // Truncated ONNX file.
    let d = copy("model.onnx");
    let bytes = std::fs::read(src.join("model.onnx")).unwrap();
    std::fs::write(d.path().join("model.onnx"), &bytes[..bytes.len() / 3]).unwrap();
    let e = pii::Model::load(d.path(), &options()).unwrap_err();
    assert!(matches!(e, pii::Error::Model(_)), "{e:?}");

    // Manifest with a different label count than the model's output.
    let d = copy("");
    let mut man = pii::manifest::Manifest::read(d.path()).unwrap();
    man.labels.pop();
    man.write(d.path()).unwrap();
    let e = pii::Model::load(d.path(), &options()).unwrap_err();
    assert!(matches!(e, pii::Error::Model(_)), "{e:?}");
    assert!(e.to_string().contains("tags"), "{e}");

    // Missing tokenizer.
    let d = copy("tokenizer.json");
    let e = pii::Model::load(d.path(), &options()).unwrap_err();
    assert!(matches!(e, pii::Error::Io { .. }), "{e:?}");
    assert!(e.to_string().contains("tokenizer.json"), "{e}");

    // Garbage manifest.
    let d = copy("");
    std::fs::write(d.path().join("pii_model.json"), "{\"format\": 1, \"labels\": 3}").unwrap();
    let e = pii::Model::load(d.path(), &options()).unwrap_err();
    assert!(matches!(e, pii::Error::Manifest(_)), "{e:?}");
}

/// A copy of a model directory (the files `pii_load` reads).
fn model_copy(src: &std::path::Path) -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    for f in ["pii_model.json", "tokenizer.json", "model.onnx"] {
        std::fs::copy(src.join(f), d.path().join(f)).unwrap();
    }
    d
}

fn edit_manifest(dir: &std::path::Path, f: impl FnOnce(&mut pii::manifest::Manifest)) {
    let mut m = pii::manifest::Manifest::read(dir).unwrap();
    f(&mut m);
    m.write(dir).unwrap();
}

#[test]
fn max_length_beyond_the_position_table_is_refused_at_load() {
    // The fixture's position table has 128 rows (max_length 16).
    let d = model_copy(&fixture_dir());
    edit_manifest(d.path(), |m| m.max_length = 129);
    let e = pii::Model::load(d.path(), &options()).unwrap_err();
    assert!(matches!(e, pii::Error::Model(_)), "{e:?}");
    assert!(e.to_string().contains("max_length of 129"), "{e}");

    // At exactly the table's size it loads, and a text longer than one window tags.
    edit_manifest(d.path(), |m| m.max_length = 128);
    let m = pii::Model::load(d.path(), &options()).unwrap();
    let text = "call priya sharma on nine eight seven ".repeat(40);
    m.tag(&text).expect("long text tags at max_length 128");
}

#[test]
fn shipped_manifests_record_the_sha256_of_their_files() {
    let shipped = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data/model");
    for dir in [fixture_dir(), shipped] {
        let m = pii::manifest::Manifest::read(&dir).unwrap();
        for f in [pii::manifest::TOKENIZER_FILE, m.model_file.as_str()] {
            let want = m.sha256.get(f).unwrap_or_else(|| panic!("{} lists {f}", dir.display()));
            assert_eq!(want, &pii::manifest::sha256_hex(&std::fs::read(dir.join(f)).unwrap()), "{}", dir.display());
        }
    }
}

#[test]
fn integrity_check_refuses_changed_files_and_spares_old_manifests() {
    // One byte flipped every 4 KiB of model.onnx: refused with a clear message.
    let d = model_copy(&fixture_dir());
    let p = d.path().join("model.onnx");
    let mut b = std::fs::read(&p).unwrap();
    for i in (0..b.len()).step_by(4096) {
        b[i] ^= 0x20;
    }
    std::fs::write(&p, &b).unwrap();
    let e = pii::Model::load(d.path(), &options()).unwrap_err();
    assert!(matches!(e, pii::Error::Model(_)), "{e:?}");
    assert!(e.to_string().contains("model.onnx does not match the SHA-256"), "{e}");

    // A changed tokenizer too.
    let d = model_copy(&fixture_dir());
    let p = d.path().join("tokenizer.json");
    let mut b = std::fs::read(&p).unwrap();
    b.push(b'\n');
    std::fs::write(&p, &b).unwrap();
    let e = pii::Model::load(d.path(), &options()).unwrap_err();
    assert!(matches!(e, pii::Error::Model(_)) && e.to_string().contains("tokenizer.json"), "{e}");

    // A manifest exported before hashes existed loads unchecked.
    edit_manifest(d.path(), |m| m.sha256.clear());
    pii::Model::load(d.path(), &options()).unwrap();
}

#[test]
fn integrity_check_cost_on_the_shipped_model() {
    let shipped = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data/model");
    let bytes = std::fs::read(shipped.join("model.onnx")).unwrap();
    let tok = std::fs::read(shipped.join("tokenizer.json")).unwrap();
    let t = std::time::Instant::now();
    let reps = 5;
    for _ in 0..reps {
        std::hint::black_box(pii::manifest::sha256_hex(&bytes));
        std::hint::black_box(pii::manifest::sha256_hex(&tok));
    }
    let hash_ms = t.elapsed().as_secs_f64() * 1e3 / reps as f64;
    let mb = (bytes.len() + tok.len()) as f64 / 1e6;
    let time_load = |dir: &std::path::Path| {
        let mut best = f64::INFINITY;
        for _ in 0..3 {
            let t = std::time::Instant::now();
            let m = pii::Model::load(dir, &pii::Options { max_sessions: 1, ..options() }).unwrap();
            best = best.min(t.elapsed().as_secs_f64() * 1e3);
            drop(m);
        }
        best
    };
    let with = time_load(&shipped);
    let d = model_copy(&shipped);
    edit_manifest(d.path(), |m| m.sha256.clear());
    let without = time_load(d.path());
    eprintln!(
        "integrity: SHA-256 of {mb:.1} MB in {hash_ms:.1} ms ({:.0} MB/s); shipped model load {with:.0} ms \
         with hashes, {without:.0} ms without",
        mb / hash_ms * 1e3
    );
}

#[test]
fn thresholds_come_from_the_manifest_and_options_override_them() {
    let text = "my number is nine eight seven and my name is priya sharma from delhi";
    let labels = |m: &pii::Model| -> Vec<String> { spans_text(m, text, &m.tag(text).unwrap()).into_iter().map(|x| x.1).collect() };
    assert!(labels(&fixture()).contains(&"PHONE".to_string()));
    // A manifest threshold above every PHONE score drops PHONE spans only.
    let d = model_copy(&fixture_dir());
    let path = d.path().join(pii::manifest::MANIFEST_FILE);
    let mut m: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    m["thresholds"] = serde_json::json!({"PHONE": 1.0});
    std::fs::write(&path, m.to_string()).unwrap();
    let high = pii::Model::load(d.path(), &options()).unwrap();
    assert_eq!(labels(&high), vec!["PERSON_NAME", "CITY"]);
    // The options override the manifest's value for the label they name.
    let o = pii::Options { thresholds: vec![("PHONE".into(), 0.0)], ..options() };
    let back = pii::Model::load(d.path(), &o).unwrap();
    assert_eq!(labels(&back), labels(&fixture()));
    // An unknown label in the options is an argument error.
    let o = pii::Options { thresholds: vec![("NOPE".into(), 0.5)], ..options() };
    assert!(matches!(pii::Model::load(d.path(), &o).unwrap_err(), pii::Error::InvalidArgument(_)));
}

#[test]
fn long_input_in_segments_tags_like_one_piece() {
    let m = fixture();
    let unit = "ok so my number is nine eight seven six and i live in mumbai thanks ";
    let text = unit.repeat(60);
    // Window placement moves scores in the last digits; spans and labels must be the same.
    let key = |v: Vec<pii::Span>| v.iter().map(|s| (s.start, s.end, s.label, s.pii)).collect::<Vec<_>>();
    let whole = key(m.tag_in_segments(&text, usize::MAX / 2, 0).unwrap());
    assert_eq!(whole.len(), 2 * 60);
    // Segment boundaries fall at every offset inside the unit, mid-number included.
    for (words, context) in [(5, 4), (14, 6), (23, 8), (40, 16), (100, 4)] {
        let got = key(m.tag_in_segments(&text, words, context).unwrap());
        assert_eq!(got, whole, "segments of {words} words, context {context}");
    }
    assert_eq!(key(m.tag(&text).unwrap()), whole, "the default segments cover this text in one");
}
