//! Helpers shared by the Rust examples.

/// A `/proc/self/status` field in KiB (`"VmRSS:"`, `"VmHWM:"`); 0 where it cannot be read.
pub fn status_kib(field: &str) -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}
