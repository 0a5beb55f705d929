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

/// An empty `pii_error` for C ABI calls.
pub fn ffi_error() -> pii::ffi::pii_error {
    pii::ffi::pii_error { status: pii::ffi::pii_status::PII_OK, message: [0; pii::ffi::PII_ERROR_MESSAGE_SIZE] }
}

/// The message of a `pii_error`.
pub fn ffi_message(e: &pii::ffi::pii_error) -> String {
    unsafe { std::ffi::CStr::from_ptr(e.message.as_ptr()) }.to_string_lossy().into_owned()
}

/// Load the fixture through `pii_load` with the test ONNX Runtime; panics on failure.
pub fn ffi_load_fixture() -> *mut pii::ffi::pii_model {
    use std::ffi::CString;
    let dir = CString::new(fixture_dir().to_str().unwrap()).unwrap();
    let ort = CString::new(ort_library().to_str().unwrap()).unwrap();
    let mut o = pii::ffi::pii_default_options();
    o.ort_library = ort.as_ptr();
    let mut m = std::ptr::null_mut();
    let mut e = ffi_error();
    let st = unsafe { pii::ffi::pii_load(dir.as_ptr(), &o, &mut m, &mut e) };
    assert_eq!(st, pii::ffi::pii_status::PII_OK, "{}", ffi_message(&e));
    assert!(!m.is_null());
    m
}
