//! The thread stack the C ABI needs: `pii_load`, `pii_tag` and `pii_redact` run on threads
//! created the way C callers create them (`pthread_attr_setstacksize`), each in a fresh child
//! process (so the first load also starts ONNX Runtime there, and a crash is a failed check,
//! not a dead test binary).
//!
//! `load_and_tag_on_the_minimum_stack` runs every call at exactly `PII_MIN_STACK_SIZE`, with the
//! fixture and the shipped model. `measure_minimum_stack` (ignored; run with `--ignored
//! --nocapture`) bisects the smallest stack each call survives, to size that constant.

mod common;
use common::*;

use pii::ffi::*;
use std::ffi::{c_void, CString};
use std::path::PathBuf;
use std::ptr::null_mut;

const PROBE_ENV: &str = "PII_STACK_PROBE";

/// Run `f` on `n` pthreads with a stack of exactly `size` bytes, all at once; join them.
fn on_threads(size: usize, n: usize, f: &(dyn Fn() + Sync)) {
    extern "C" fn trampoline(p: *mut c_void) -> *mut c_void {
        let f = unsafe { &*(p as *const &(dyn Fn() + Sync)) };
        f();
        null_mut()
    }
    let mut threads = Vec::new();
    unsafe {
        let mut attr: libc::pthread_attr_t = std::mem::zeroed();
        assert_eq!(libc::pthread_attr_init(&mut attr), 0);
        assert_eq!(libc::pthread_attr_setstacksize(&mut attr, size), 0, "stack size {size}");
        for _ in 0..n {
            let mut t: libc::pthread_t = 0;
            let arg = &f as *const &(dyn Fn() + Sync) as *mut c_void;
            assert_eq!(libc::pthread_create(&mut t, &attr, trampoline, arg), 0);
            threads.push(t);
        }
        for t in threads {
            assert_eq!(libc::pthread_join(t, null_mut()), 0);
        }
        libc::pthread_attr_destroy(&mut attr);
    }
}

fn shipped_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data/model")
}

fn model_dir(which: &str) -> PathBuf {
    match which {
        "fixture" => fixture_dir(),
        "shipped" => shipped_dir(),
        _ => panic!("model {which}"),
    }
}

/// A text of several model windows, with numbers and names.
fn long_text() -> String {
    "my name is priya sharma and my number is nine eight seven six five four three two one zero \
     call rahul smith in delhi on double two triple four 4242 4242 4242 4242 "
        .repeat(8)
}

unsafe fn load(dir: &std::path::Path, max_sessions: u32) -> *mut pii_model {
    let dir = CString::new(dir.to_str().unwrap()).unwrap();
    let ort = CString::new(ort_library().to_str().unwrap()).unwrap();
    let mut o = pii_default_options();
    o.ort_library = ort.as_ptr();
    o.max_sessions = max_sessions;
    let mut m = null_mut();
    let mut e = ffi_error();
    let st = pii_load(dir.as_ptr(), &o, &mut m, &mut e);
    assert_eq!(st, pii_status::PII_OK, "{}", ffi_message(&e));
    m
}

unsafe fn tag_and_redact(m: *const pii_model) {
    let text = long_text();
    let mut spans = vec![pii_span { start: 0, end: 0, label: 0, score: 0.0, is_pii: false }; 256];
    let mut n = 0;
    let mut e = ffi_error();
    let st = pii_tag(m, text.as_ptr() as _, text.len(), spans.as_mut_ptr(), spans.len(), &mut n, &mut e);
    assert_eq!(st, pii_status::PII_OK, "{}", ffi_message(&e));
    let mut out = vec![0 as std::ffi::c_char; text.len() * 2 + 64];
    let mut len = 0;
    let st = pii_redact(m, text.as_ptr() as _, text.len(), 0, out.as_mut_ptr(), out.len(), &mut len, &mut e);
    assert_eq!(st, pii_status::PII_OK, "{}", ffi_message(&e));
}

/// One scenario at one stack size, in this (child) process:
/// - `load`: the process's first `pii_load` (ONNX Runtime starts on that thread), then tag;
/// - `tag`: load on the main thread, then `pii_tag` and `pii_redact` on the small thread;
/// - `tag2`: load on the main thread with two sessions allowed, then two small threads tag at
///   once until the second session has been created inside a `pii_tag` call.
fn run_scenario(scenario: &str, which: &str, size: usize) {
    let dir = model_dir(which);
    match scenario {
        "load" => on_threads(size, 1, &|| unsafe {
            let m = load(&dir, 1);
            tag_and_redact(m);
            pii_free(m);
        }),
        "tag" => unsafe {
            let m = load(&dir, 1);
            let p = m as usize;
            on_threads(size, 1, &|| tag_and_redact(p as *const pii_model));
            pii_free(m);
        },
        "tag2" => {
            // The Rust API shows how many sessions exist; pii_tag runs the same code.
            let model = pii::Model::load(&dir, &pii::Options { max_sessions: 2, ..options() }).unwrap();
            assert_eq!(model.sessions(), 1);
            let text = long_text();
            let mut rounds = 0;
            while model.sessions() < 2 && rounds < 50 {
                on_threads(size, 2, &|| {
                    let _ = model.tag(&text).unwrap();
                });
                rounds += 1;
            }
            assert_eq!(model.sessions(), 2, "a second session was created on a small stack");
        }
        _ => panic!("scenario {scenario}"),
    }
}

/// Entry point of the child processes (a no-op in a normal test run).
#[test]
fn stack_probe_child() {
    let Ok(spec) = std::env::var(PROBE_ENV) else { return };
    let parts: Vec<&str> = spec.split(':').collect();
    run_scenario(parts[0], parts[1], parts[2].parse().unwrap());
}

/// Run one scenario in a child process; true when it exits cleanly.
fn child_ok(scenario: &str, which: &str, size: usize) -> bool {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "stack_probe_child", "--nocapture", "--test-threads=1"])
        .env(PROBE_ENV, format!("{scenario}:{which}:{size}"))
        .env("PII_ORT_LIBRARY", ort_library())
        .output()
        .unwrap();
    if !out.status.success() {
        eprintln!(
            "{scenario} {which} at {size} bytes: {:?}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr).lines().rev().take(5).collect::<Vec<_>>().join("\n")
        );
    }
    out.status.success()
}

const SCENARIOS: [&str; 3] = ["load", "tag", "tag2"];

#[test]
fn load_and_tag_on_the_minimum_stack() {
    let size = PII_MIN_STACK_SIZE;
    assert!(size >= libc::PTHREAD_STACK_MIN && size % 4096 == 0);
    let mut failed = Vec::new();
    for which in ["fixture", "shipped"] {
        if which == "shipped" && !shipped_dir().join("model.onnx").exists() {
            eprintln!("skipping the shipped model: data/model/model.onnx is absent");
            continue;
        }
        for s in SCENARIOS {
            if !child_ok(s, which, size) {
                failed.push(format!("{s} {which}"));
            }
        }
    }
    assert!(failed.is_empty(), "crashed or failed on a {size}-byte stack: {failed:?}");
}

#[test]
#[ignore = "measurement: run with --ignored --nocapture"]
fn measure_minimum_stack() {
    for which in ["fixture", "shipped"] {
        for s in SCENARIOS {
            // Bisect in pages between a size that fails and one that works.
            let (mut lo, mut hi) = (16 * 1024usize, 1024 * 1024usize);
            assert!(child_ok(s, which, hi), "{s} {which} fails even at {hi} bytes");
            while hi - lo > 4096 {
                let mid = (lo + hi) / 2 / 4096 * 4096;
                if child_ok(s, which, mid) {
                    hi = mid;
                } else {
                    lo = mid;
                }
            }
            println!("minimum stack: {s:<5} {which:<8} {} KiB (fails at {} KiB)", hi / 1024, lo / 1024);
        }
    }
}
