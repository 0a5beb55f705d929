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

/// The non-blank lines of a text file; exits with status 2 when there are none.
#[allow(dead_code)]
pub fn read_texts(prog: &str, path: &str) -> Vec<String> {
    let texts: Vec<String> = std::fs::read_to_string(path)
        .unwrap_or_else(|e| {
            eprintln!("{prog}: {path}: {e}");
            std::process::exit(2)
        })
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect();
    if texts.is_empty() {
        eprintln!("{prog}: {path} has no texts");
        std::process::exit(2);
    }
    texts
}
