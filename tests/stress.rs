//! Concurrency stress through the C ABI: 8 threads tag and redact random utterances on one
//! model for a bounded time (`PII_STRESS_SECS`, default 20) and every result must equal the
//! single-threaded one; meanwhile another thread loads and frees models over and over.

mod common;
use common::*;
use pii::ffi::*;
use std::ffi::{c_char, CStr, CString};
use std::ptr::null_mut;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

const THREADS: usize = 8;
const LOAD_CYCLES: usize = 20;

/// A model pointer shared between threads (the C ABI documents it as thread-safe).
#[derive(Clone, Copy)]
struct Shared(*const pii_model);
unsafe impl Send for Shared {}
unsafe impl Sync for Shared {}

fn load(max_sessions: u32) -> *mut pii_model {
    let dir = CString::new(fixture_dir().to_str().unwrap()).unwrap();
    let ort = CString::new(ort_library().to_str().unwrap()).unwrap();
    let mut o = pii_default_options();
    o.ort_library = ort.as_ptr();
    o.max_sessions = max_sessions;
    let mut m = null_mut();
    let st = unsafe { pii_load(dir.as_ptr(), &o, &mut m, null_mut()) };
    assert_eq!(st, pii_status::PII_OK);
    m
}

/// (start, end, label, score bits, is_pii) of each span, or the status on failure.
type Tagged = Result<Vec<(usize, usize, u32, u32, bool)>, pii_status>;

fn tag(m: *const pii_model, text: &str) -> Tagged {
    let mut spans = vec![pii_span { start: 0, end: 0, label: 0, score: 0.0, is_pii: false }; text.len() / 2 + 4];
    let mut n = 0;
    let st = unsafe {
        pii_tag(m, text.as_ptr() as *const c_char, text.len(), spans.as_mut_ptr(), spans.len(), &mut n, null_mut())
    };
    if st != pii_status::PII_OK {
        return Err(st);
    }
    Ok(spans[..n].iter().map(|s| (s.start, s.end, s.label, s.score.to_bits(), s.is_pii)).collect())
}

fn redact(m: *const pii_model, text: &str) -> Result<String, pii_status> {
    let mut out = vec![0 as c_char; text.len() * 4 + 64];
    let mut len = 0;
    let st = unsafe {
        pii_redact(m, text.as_ptr() as *const c_char, text.len(), PII_REDACT_NON_PII, out.as_mut_ptr(), out.len(), &mut len, null_mut())
    };
    if st != pii_status::PII_OK {
        return Err(st);
    }
    Ok(unsafe { CStr::from_ptr(out.as_ptr()) }.to_str().unwrap().to_string())
}

/// Utterances: short, medium, non-ASCII, and long ones that need many windows.
fn pool() -> Vec<String> {
    let mut p: Vec<String> = [
        "my number is nine eight seven six five four three two one zero",
        "this is priya sharma calling from delhi",
        "hello there how are you",
        "",
        "   ",
        "call rahul on oh two two double three triple four",
        "i live in mumbai and my name is john smith",
        "नमस्ते मेरा नाम priya है और नंबर nine one two",
        "我的电话 four four four 谢谢 rahul",
        "😀 five six 📞 seven john",
        "ok",
        "delhi",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let unit = "so uh my number is nine eight seven and my name is rahul sharma from delhi ";
    for reps in [3, 10, 40] {
        p.push(unit.repeat(reps));
    }
    p.push((0..200).map(|i| ["one", "two", "priya", "okay", "mumbai", "the"][i % 6]).collect::<Vec<_>>().join(" "));
    p
}

/// A small deterministic generator (xorshift64*), seeded per thread.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

#[test]
fn threads_match_single_thread_while_models_load_and_free() {
    let secs: f64 = std::env::var("PII_STRESS_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(20.0);
    let m = load(0);
    let texts = pool();
    let want_tag: Vec<Tagged> = texts.iter().map(|t| tag(m, t)).collect();
    let want_red: Vec<Result<String, pii_status>> = texts.iter().map(|t| redact(m, t)).collect();
    assert!(want_tag.iter().all(|r| r.is_ok()) && want_red.iter().all(|r| r.is_ok()));
    assert!(want_tag.last().unwrap().as_ref().unwrap().len() > 50, "long input is tagged throughout");

    let shared = Shared(m);
    let calls = AtomicU64::new(0);
    let mismatches = AtomicU64::new(0);
    let stop = AtomicBool::new(false);
    let deadline = Instant::now() + Duration::from_secs_f64(secs);
    let start = Instant::now();
    let mut cycles = 0usize;
    let mut cycle_calls = 0u64;

    std::thread::scope(|s| {
        let workers: Vec<_> = (0..THREADS)
            .map(|k| {
                let (texts, want_tag, want_red) = (&texts, &want_tag, &want_red);
                let (calls, mismatches, stop) = (&calls, &mismatches, &stop);
                s.spawn(move || {
                    let sh = shared;
                    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ (k as u64 + 1));
                    while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
                        let r = rng.next();
                        let i = (r % texts.len() as u64) as usize;
                        let ok = if r & (1 << 40) == 0 {
                            tag(sh.0, &texts[i]) == want_tag[i]
                        } else {
                            redact(sh.0, &texts[i]) == want_red[i]
                        };
                        calls.fetch_add(1, Ordering::Relaxed);
                        if !ok {
                            mismatches.fetch_add(1, Ordering::Relaxed);
                            eprintln!("thread {k}: mismatch on utterance {i}");
                        }
                    }
                })
            })
            .collect();

        // Load and free models on this thread meanwhile; each one tags once and must agree.
        let ld = s.spawn(|| {
            let mut n = 0u64;
            for c in 0..LOAD_CYCLES {
                let lm = load(if c % 2 == 0 { 1 } else { 3 });
                let i = c % texts.len();
                assert_eq!(tag(lm, &texts[i]), want_tag[i], "cycle {c}");
                assert_eq!(redact(lm, &texts[i]), want_red[i], "cycle {c}");
                n += 2;
                unsafe { pii_free(lm) };
            }
            (LOAD_CYCLES, n)
        });
        match ld.join() {
            Ok((c, n)) => {
                cycles = c;
                cycle_calls = n;
            }
            Err(e) => {
                stop.store(true, Ordering::Relaxed);
                std::panic::resume_unwind(e);
            }
        }
        for w in workers {
            w.join().unwrap();
        }
    });
    let elapsed = start.elapsed().as_secs_f64();
    unsafe { pii_free(m as *mut _) };

    let calls = calls.into_inner();
    let mismatches = mismatches.into_inner();
    eprintln!(
        "stress: {THREADS} threads, {elapsed:.1} s, {calls} calls ({:.0} calls/s), {mismatches} mismatches; \
         {cycles} load/free cycles ({cycle_calls} calls on them) alongside",
        calls as f64 / elapsed
    );
    assert_eq!(mismatches, 0);
    assert_eq!(cycles, LOAD_CYCLES);
    // Thousands of calls at the default duration on a loaded 2-core machine.
    let floor = (secs * 50.0) as u64;
    assert!(calls >= floor, "only {calls} calls in {secs} s (floor {floor})");
}
