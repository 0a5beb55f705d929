//! The library leaves no traces: a child process (this test binary re-run with
//! `PII_PRIVACY_CHILD` set) with a fresh empty `HOME`, `TMPDIR` and working directory loads the
//! fixture, tags and redacts text holding a unique marker and triggers errors; afterwards the
//! three directories must still be empty and the child's stdout and stderr must not contain the
//! marker. A control run that starts ONNX Runtime without the library's protection shows that
//! the runtime does write under `HOME`, so the check can fail.

mod common;
use common::*;
use pii::ffi::*;
use std::ffi::{c_char, CString};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::ptr::null_mut;

const CHILD_ENV: &str = "PII_PRIVACY_CHILD";
const BROKEN_ENV: &str = "PII_PRIVACY_BROKEN_MODEL";
/// Unique text that must never leave the process. Built at run time so the binary's own
/// strings (which a panic message could quote) do not hold it whole.
fn marker() -> String {
    format!("zqx{}marker{}", "privacy", 4711)
}

/// Everything under `dir`, recursively (relative paths).
fn contents(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            out.push(p.strip_prefix(dir).unwrap().to_path_buf());
            if p.is_dir() {
                stack.push(p);
            }
        }
    }
    out.sort();
    out
}

/// The child's work in "protected" mode: the library's public C ABI only.
fn child_protected() {
    let mk = marker();
    let dir = CString::new(fixture_dir().to_str().unwrap()).unwrap();
    let ort = CString::new(ort_library().to_str().unwrap()).unwrap();
    let mut o = pii_default_options();
    o.ort_library = ort.as_ptr();
    let mut m = null_mut();
    let mut e = ffi_error();
    assert_eq!(unsafe { pii_load(dir.as_ptr(), &o, &mut m, &mut e) }, pii_status::PII_OK);

    let text = format!("hi this is priya {mk} call me on nine eight seven {mk} in delhi");
    let mut spans = [pii_span { start: 0, end: 0, label: 0, score: 0.0, is_pii: false }; 16];
    let mut n = 0;
    let t = |s: &[u8], cap: usize, spans: &mut [pii_span], n: &mut usize, e: &mut pii_error| unsafe {
        pii_tag(m, s.as_ptr() as *const c_char, s.len(), spans.as_mut_ptr(), cap, n, e)
    };
    assert_eq!(t(text.as_bytes(), 16, &mut spans, &mut n, &mut e), pii_status::PII_OK);
    assert!(n >= 2);
    // Too-small buffer.
    assert_eq!(t(text.as_bytes(), 1, &mut spans, &mut n, &mut e), pii_status::PII_ERR_BUFFER_TOO_SMALL);
    // Invalid UTF-8 right after the marker.
    let bad = [text.as_bytes(), b"\xff\xfe", mk.as_bytes()].concat();
    assert_eq!(t(&bad, 16, &mut spans, &mut n, &mut e), pii_status::PII_ERR_INVALID_UTF8);
    // Redact, then redact into a too-small buffer.
    let mut out = vec![0 as c_char; 512];
    let mut len = 0;
    let st = unsafe { pii_redact(m, text.as_ptr() as _, text.len(), 0, out.as_mut_ptr(), 512, &mut len, &mut e) };
    assert_eq!(st, pii_status::PII_OK);
    let st = unsafe { pii_redact(m, text.as_ptr() as _, text.len(), 0, out.as_mut_ptr(), 4, &mut len, &mut e) };
    assert_eq!(st, pii_status::PII_ERR_BUFFER_TOO_SMALL);
    // Missing model directory.
    let missing = CString::new("/nonexistent/pii-privacy-model").unwrap();
    let mut m2 = null_mut();
    assert_eq!(unsafe { pii_load(missing.as_ptr(), &o, &mut m2, &mut e) }, pii_status::PII_ERR_IO);
    // Inference failure inside ONNX Runtime (its own logger reports it): a tokenizer with ids
    // past the model's embedding, the marker word among them.
    if let Some(broken) = std::env::var_os(BROKEN_ENV) {
        let bd = CString::new(broken.to_str().unwrap()).unwrap();
        let mut bm = null_mut();
        assert_eq!(unsafe { pii_load(bd.as_ptr(), &o, &mut bm, &mut e) }, pii_status::PII_OK);
        let bt = format!("nine {mk} one");
        let st = unsafe { pii_tag(bm, bt.as_ptr() as _, bt.len(), spans.as_mut_ptr(), 16, &mut n, &mut e) };
        assert_eq!(st, pii_status::PII_ERR_MODEL);
        unsafe { pii_free(bm) };
    }
    unsafe { pii_free(m) };
    println!("privacy child done");
}

/// The control: ONNX Runtime started directly, without the library's `ORT_DISABLE_TELEMETRY`.
fn child_unprotected() {
    assert!(std::env::var_os("ORT_DISABLE_TELEMETRY").is_none());
    let env = ort::init_from(ort_library()).unwrap().with_name("control").build().unwrap();
    let bytes = std::fs::read(fixture_dir().join("model.onnx")).unwrap();
    let _s = ort::session::Session::builder(&env).unwrap().commit_from_memory(&bytes).unwrap();
    println!("privacy child done");
}

#[test]
fn privacy_child() {
    match std::env::var(CHILD_ENV).as_deref() {
        Ok("protected") => child_protected(),
        Ok("unprotected") => child_unprotected(),
        _ => {} // Only does work when re-run by the tests below.
    }
}

struct Run {
    output: String,
    home: Vec<PathBuf>,
    tmp: Vec<PathBuf>,
    cwd: Vec<PathBuf>,
}

fn run_child(mode: &str, broken: Option<&Path>) -> Run {
    let home = tempfile::tempdir().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["--exact", "privacy_child", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, mode)
        .env("HOME", home.path())
        .env("TMPDIR", tmp.path())
        .env_remove("XDG_CACHE_HOME")
        .env_remove("XDG_CONFIG_HOME")
        .env_remove("XDG_DATA_HOME")
        .env_remove("ORT_DISABLE_TELEMETRY");
    // ONNX Runtime keeps quiet on its own when it sees a CI system's variables; remove them so
    // both runs behave as on a customer's machine (otherwise the control cannot write and the
    // protected check would pass for the wrong reason).
    for v in [
        "CI", "TF_BUILD", "GITHUB_ACTIONS", "GITLAB_CI", "CIRCLECI", "TRAVIS", "JENKINS_URL",
        "CODEBUILD_BUILD_ID", "BUILDKITE", "TEAMCITY_VERSION", "APPVEYOR", "BITBUCKET_BUILD_NUMBER",
    ] {
        cmd.env_remove(v);
    }
    cmd
        .env("PII_ORT_LIBRARY", ort_library())
        .current_dir(cwd.path());
    if let Some(b) = broken {
        cmd.env(BROKEN_ENV, b);
    }
    let out = cmd.output().unwrap();
    let output = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "child ({mode}) failed:\n{output}");
    assert!(output.contains("privacy child done"), "child ({mode}) did not run:\n{output}");
    Run { output, home: contents(home.path()), tmp: contents(tmp.path()), cwd: contents(cwd.path()) }
}

#[test]
fn library_leaves_no_files_and_prints_no_text() {
    // The broken model copy is made here, outside the child's watched directories.
    let broken = tempfile::tempdir().unwrap();
    for f in ["pii_model.json", "tokenizer.json", "model.onnx"] {
        std::fs::copy(fixture_dir().join(f), broken.path().join(f)).unwrap();
    }
    let tp = broken.path().join("tokenizer.json");
    let mut v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&tp).unwrap()).unwrap();
    v["model"]["vocab"].as_object_mut().unwrap().insert(marker(), 30522.into());
    std::fs::write(&tp, serde_json::to_string(&v).unwrap()).unwrap();
    let mp = broken.path().join("pii_model.json");
    let mut man: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&mp).unwrap()).unwrap();
    man["vocab_size"] = 0.into();
    // An export without hashes: the changed tokenizer must reach ONNX Runtime, not the
    // integrity check.
    man.as_object_mut().unwrap().remove("sha256");
    std::fs::write(&mp, serde_json::to_string(&man).unwrap()).unwrap();

    let r = run_child("protected", Some(broken.path()));
    eprintln!("child output ({} bytes):\n{}", r.output.len(), r.output);
    eprintln!("HOME: {:?}\nTMPDIR: {:?}\ncwd: {:?}", r.home, r.tmp, r.cwd);
    assert!(!r.output.to_lowercase().contains(&marker()), "child output holds the marker:\n{}", r.output);
    assert!(r.home.is_empty(), "files under HOME: {:?}", r.home);
    assert!(r.tmp.is_empty(), "files under TMPDIR: {:?}", r.tmp);
    assert!(r.cwd.is_empty(), "files in the working directory: {:?}", r.cwd);
}

#[test]
fn control_runtime_without_protection_writes_under_home() {
    let r = run_child("unprotected", None);
    eprintln!("control: HOME after an unprotected ONNX Runtime start: {:?}", r.home);
    assert!(
        !r.home.is_empty(),
        "expected ONNX Runtime to write (e.g. ~/.cache/onnxruntime) without ORT_DISABLE_TELEMETRY; \
         if this runtime no longer does, the privacy test above cannot fail on HOME"
    );
}
