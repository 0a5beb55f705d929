//! ONNX Runtime loading in one process, in order (its own test binary: the runtime loads once
//! per process, so these steps must come before and after the first successful load):
//! - a truncated copy of the library (its first 64 KiB) is refused with `PII_ERR_RUNTIME`
//!   before `dlopen` (which would die of SIGBUS mapping segments past the end of the file);
//! - `ORT_DISABLE_TELEMETRY`, unset by the host, stays unset after failed loads and is `1`
//!   after the first successful one;
//! - once loaded, an `ort_library` naming another file (missing, or a copy) is an error, and
//!   the same file through a symlink is not.

mod common;
use common::*;
use pii::ffi::*;
use std::ffi::CString;
use std::ptr::null_mut;

fn load_with(ort: &std::path::Path) -> (pii_status, String) {
    let dir = CString::new(fixture_dir().to_str().unwrap()).unwrap();
    let ort = CString::new(ort.to_str().unwrap()).unwrap();
    let mut o = pii_default_options();
    o.ort_library = ort.as_ptr();
    let mut m = null_mut();
    let mut e = ffi_error();
    let st = unsafe { pii_load(dir.as_ptr(), &o, &mut m, &mut e) };
    assert_eq!(st == pii_status::PII_OK, !m.is_null());
    unsafe { pii_free(m) };
    (st, ffi_message(&e))
}

#[test]
fn damaged_runtime_telemetry_and_a_second_runtime_path() {
    // This binary has one test, so changing the environment races with nothing.
    std::env::remove_var("ORT_DISABLE_TELEMETRY");
    let real = ort_library().canonicalize().unwrap();
    let tmp = tempfile::tempdir().unwrap();

    // A 64 KiB prefix of the real library.
    let bytes = std::fs::read(&real).unwrap();
    let truncated = tmp.path().join("libonnxruntime.so.1");
    std::fs::write(&truncated, &bytes[..64 * 1024]).unwrap();
    for _ in 0..2 {
        let (st, msg) = load_with(&truncated);
        eprintln!("truncated runtime: {st:?}: {msg}");
        assert_eq!(st, pii_status::PII_ERR_RUNTIME, "{msg}");
        assert!(msg.contains("truncated") && msg.contains(truncated.to_str().unwrap()), "{msg}");
        assert!(pii_onnxruntime_version().is_null());
        assert_eq!(std::env::var_os("ORT_DISABLE_TELEMETRY"), None, "a failed load leaves the environment alone");
    }
    // Not ELF at all, and a missing file.
    let text = tmp.path().join("not-elf.so");
    std::fs::write(&text, b"/* GNU ld script */\nINPUT(-lfoo)\n".repeat(4)).unwrap();
    let (st, msg) = load_with(&text);
    assert_eq!(st, pii_status::PII_ERR_RUNTIME);
    assert!(msg.contains("not an ELF file"), "{msg}");
    let (st, _) = load_with(&tmp.path().join("missing.so"));
    assert_eq!(st, pii_status::PII_ERR_RUNTIME);
    assert_eq!(std::env::var_os("ORT_DISABLE_TELEMETRY"), None);

    // The real library loads and switches telemetry off.
    let (st, msg) = load_with(&real);
    assert_eq!(st, pii_status::PII_OK, "{msg}");
    assert_eq!(std::env::var("ORT_DISABLE_TELEMETRY").as_deref(), Ok("1"));

    // Once loaded: the same file through a symlink is fine ...
    let link = tmp.path().join("link.so");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let (st, msg) = load_with(&link);
    assert_eq!(st, pii_status::PII_OK, "{msg}");
    // ... a missing path or another file is not silently replaced by the loaded runtime.
    let (st, msg) = load_with(std::path::Path::new("/nonexistent/libonnxruntime.so.1"));
    assert_eq!(st, pii_status::PII_ERR_RUNTIME, "{msg}");
    assert!(msg.contains("does not exist") && msg.contains(real.to_str().unwrap()), "{msg}");
    let copy = tmp.path().join("copy.so");
    std::fs::copy(&real, &copy).unwrap();
    let (st, msg) = load_with(&copy);
    assert_eq!(st, pii_status::PII_ERR_RUNTIME, "{msg}");
    assert!(msg.contains("different file") && msg.contains("already loaded"), "{msg}");
    let (st, _) = load_with(&truncated);
    assert_eq!(st, pii_status::PII_ERR_RUNTIME);
    // NULL keeps using the loaded runtime.
    let dir = CString::new(fixture_dir().to_str().unwrap()).unwrap();
    let mut m = null_mut();
    let st = unsafe { pii_load(dir.as_ptr(), std::ptr::null(), &mut m, std::ptr::null_mut()) };
    assert_eq!(st, pii_status::PII_OK);
    unsafe { pii_free(m) };
}
