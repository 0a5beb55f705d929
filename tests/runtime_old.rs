//! An ONNX Runtime that is too old is refused with a message naming its version. A stand-in
//! library exporting only `OrtGetApiBase` (version "1.10.0", `GetApi` returning NULL) is
//! compiled with `cc` at test time. Its own test process: the runtime loads once per process,
//! so this must run before any successful load.

mod common;
use common::*;
use pii::ffi::*;
use std::ffi::{CStr, CString};
use std::path::{Path, PathBuf};
use std::ptr::null_mut;

const FAKE_ORT: &str = r#"
#include <stddef.h>
typedef struct OrtApiBase {
    const void *(*GetApi)(unsigned version);
    const char *(*GetVersionString)(void);
} OrtApiBase;
static const void *get_api(unsigned version) { (void)version; return NULL; }
static const char *get_version(void) { return "1.10.0"; }
static const OrtApiBase base = { get_api, get_version };
const OrtApiBase *OrtGetApiBase(void) { return &base; }
"#;

/// Compile the stand-in runtime into `dir`; None (test skipped) when no C compiler is present.
fn build_fake_ort(dir: &Path) -> Option<PathBuf> {
    let src = dir.join("fake_ort.c");
    let lib = dir.join("libonnxruntime.so.1");
    std::fs::write(&src, FAKE_ORT).unwrap();
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let status = std::process::Command::new(&cc)
        .args(["-shared", "-fPIC", "-o"])
        .arg(&lib)
        .arg(&src)
        .status();
    match status {
        Ok(s) if s.success() => Some(lib),
        Ok(s) => panic!("{cc} failed to build the stand-in runtime: {s}"),
        Err(e) => {
            eprintln!("skipping: no C compiler ({cc}: {e})");
            None
        }
    }
}

#[test]
fn runtime_older_than_required_is_refused_then_real_one_loads() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(fake) = build_fake_ort(tmp.path()) else { return };
    let dir = CString::new(fixture_dir().to_str().unwrap()).unwrap();
    let fake_c = CString::new(fake.to_str().unwrap()).unwrap();
    let mut o = pii_default_options();
    o.ort_library = fake_c.as_ptr();
    let mut m = null_mut();
    let mut e = pii_error { status: pii_status::PII_OK, message: [0; PII_ERROR_MESSAGE_SIZE] };
    // Twice: a failed load leaves nothing behind that changes the next attempt.
    for _ in 0..2 {
        let st = unsafe { pii_load(dir.as_ptr(), &o, &mut m, &mut e) };
        let message = unsafe { CStr::from_ptr(e.message.as_ptr()) }.to_string_lossy().into_owned();
        eprintln!("old runtime: {st:?}: {message}");
        assert_eq!(st, pii_status::PII_ERR_RUNTIME, "{message}");
        assert_eq!(e.status, pii_status::PII_ERR_RUNTIME);
        assert!(m.is_null());
        assert!(message.contains("1.10.0"), "message names the found version: {message}");
        assert!(message.contains(&format!("1.{}", ort::MINOR_VERSION)) || message.contains("needs"), "{message}");
        assert!(pii_onnxruntime_version().is_null(), "no runtime counts as loaded");
    }

    // The process recovers once the real library is named.
    let real = CString::new(ort_library().to_str().unwrap()).unwrap();
    o.ort_library = real.as_ptr();
    let st = unsafe { pii_load(dir.as_ptr(), &o, &mut m, &mut e) };
    assert_eq!(st, pii_status::PII_OK);
    let v = unsafe { CStr::from_ptr(pii_onnxruntime_version()) }.to_str().unwrap();
    assert!(v.starts_with("1.") && v != "1.10.0", "{v}");
    unsafe { pii_free(m) };
}
