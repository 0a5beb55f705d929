//! Helpers shared by the Rust examples.

/// A `/proc/self/status` field in KiB (`"VmRSS:"`, `"VmHWM:"`); 0 where it cannot be read.
#[allow(dead_code)]
pub fn status_kib(field: &str) -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// The ONNX Runtime library for the examples: `None` (the library's own search) when
/// `PII_ORT_LIBRARY` is set, else the checkout's `.deps/onnxruntime/libonnxruntime.so.1`
/// (`scripts/setup.sh`) when present; the example binaries have none beside them.
#[allow(dead_code)]
pub fn ort_library() -> Option<std::path::PathBuf> {
    let bundled = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(".deps/onnxruntime/libonnxruntime.so.1");
    (std::env::var_os("PII_ORT_LIBRARY").is_none() && bundled.exists()).then_some(bundled)
}
