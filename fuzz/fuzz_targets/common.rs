//! Paths shared by the fuzz targets: the fixture model and the ONNX Runtime library.

use std::path::PathBuf;

/// The repository root (the fuzz crate lives in `fuzz/`).
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The tiny fixture model directory.
pub fn fixture_dir() -> PathBuf {
    repo().join("tests/fixtures/tiny")
}

/// `PII_ORT_LIBRARY`, else the library `scripts/setup.sh` fetched into `.deps`.
pub fn ort_library() -> PathBuf {
    match std::env::var_os("PII_ORT_LIBRARY") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => repo().join(".deps/onnxruntime/libonnxruntime.so.1"),
    }
}
