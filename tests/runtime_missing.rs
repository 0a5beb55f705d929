//! A missing or wrong ONNX Runtime library is a clear error, not an abort. This file is its
//! own test process so the runtime is not yet loaded.

mod common;
use common::*;

#[test]
fn missing_then_wrong_then_right_runtime() {
    let dir = fixture_dir();
    let opts = |p: &str| pii::Options { ort_library: Some(p.into()), ..Default::default() };
    let e = pii::Model::load(&dir, &opts("/nonexistent/libonnxruntime.so.1")).unwrap_err();
    assert!(matches!(e, pii::Error::Runtime(_)), "{e:?}");
    assert!(e.to_string().contains("/nonexistent/libonnxruntime.so.1"), "{e}");

    // A shared library that is not ONNX Runtime.
    let libc = ["/lib/x86_64-linux-gnu/libm.so.6", "/usr/lib/x86_64-linux-gnu/libm.so.6"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .expect("libm present");
    let e = pii::Model::load(&dir, &opts(libc)).unwrap_err();
    assert!(matches!(e, pii::Error::Runtime(_)), "{e:?}");
    assert!(e.to_string().contains("OrtGetApiBase"), "{e}");

    // The process recovers once the right library is named.
    let m = pii::Model::load(&dir, &options()).expect("loads with the real runtime");
    assert!(!m.tag("nine one").unwrap().is_empty());
    assert!(pii::runtime::version().unwrap().starts_with("1."));
}
