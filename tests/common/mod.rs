//! Helpers shared by the integration tests: the fixture model and the ONNX Runtime library.
#![allow(dead_code)]

use std::path::PathBuf;

/// The tiny fixture model directory (written by `pii-trainer fixture`).
pub fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tiny")
}

/// The ONNX Runtime library: `PII_ORT_LIBRARY`, else the one `scripts/setup.sh` fetched.
pub fn ort_library() -> PathBuf {
    if let Some(p) = std::env::var_os("PII_ORT_LIBRARY") {
        return PathBuf::from(p);
    }
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".deps/onnxruntime/libonnxruntime.so.1");
    assert!(p.exists(), "ONNX Runtime not found at {}: run scripts/setup.sh", p.display());
    p
}

/// Options pointing at the test ONNX Runtime.
pub fn options() -> pii::Options {
    pii::Options { ort_library: Some(ort_library()), ..Default::default() }
}

/// Load the fixture model.
pub fn fixture() -> pii::Model {
    pii::Model::load(&fixture_dir(), &options()).expect("fixture model loads")
}

/// (text, label name) of each span.
pub fn spans_text<'a>(m: &pii::Model, text: &'a str, spans: &[pii::Span]) -> Vec<(&'a str, String)> {
    spans.iter().map(|s| (&text[s.start..s.end], m.labels()[s.label].clone())).collect()
}
