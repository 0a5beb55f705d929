//! Throughput and thread scaling of one shared `pii::Model` (max_sessions 2), load time and
//! RSS with one and with two sessions, for each model directory given.
//!
//! usage: cargo run --release --example throughput -- MODEL_DIR... TEXT_FILE [SECONDS]
//!
//! Each model is measured in a process of its own (RSS and its peak are per model): load,
//! 50 warm-up calls, then SECONDS (default 5) of calls from 1 thread, from 2 threads on the
//! same model, and from 1 thread again (the scaling is against the mean of the two 1-thread
//! phases, so a drift in machine load shows as a difference between them). RSS is VmRSS and
//! the peak VmHWM of /proc/self/status: "1 session" after the first 1-thread phase (only one
//! session exists then), "2 sessions" after the 2-thread phase.
//! Allocations per call: examples/allocs.rs (a counting allocator here would slow threads).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

mod common;

fn mb(field: &str) -> f64 {
    common::status_kib(field) as f64 / 1024.0
}

/// Calls per second of `threads` threads tagging `texts` on `model` for `secs` seconds.
fn rate(model: &pii::Model, texts: &[String], threads: usize, secs: f64) -> f64 {
    let stop = AtomicBool::new(false);
    let calls = AtomicUsize::new(0);
    let start = Instant::now();
    std::thread::scope(|s| {
        for k in 0..threads {
            let (stop, calls) = (&stop, &calls);
            s.spawn(move || {
                let mut i = k * 7919;
                while !stop.load(Ordering::Relaxed) {
                    model.tag(&texts[i % texts.len()]).unwrap();
                    calls.fetch_add(1, Ordering::Relaxed);
                    i += 1;
                }
            });
        }
        std::thread::sleep(Duration::from_secs_f64(secs));
        stop.store(true, Ordering::Relaxed);
    });
    calls.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64()
}

fn measure(dir: &str, text_file: &str, secs: f64) {
    let texts = common::read_texts("throughput", text_file);
    let rss0 = mb("VmRSS:");
    let t0 = Instant::now();
    let opts = pii::Options { max_sessions: 2, ort_library: common::ort_library(), ..Default::default() };
    let model = pii::Model::load(std::path::Path::new(dir), &opts).unwrap_or_else(|e| {
        eprintln!("throughput: {dir}: {e}");
        std::process::exit(1)
    });
    let load_ms = t0.elapsed().as_secs_f64() * 1e3;
    let rss_loaded = mb("VmRSS:");
    for t in texts.iter().take(50) {
        model.tag(t).unwrap();
    }
    let one_a = rate(&model, &texts, 1, secs);
    let (rss1, peak1, sessions1) = (mb("VmRSS:"), mb("VmHWM:"), model.sessions());
    let two = rate(&model, &texts, 2, secs);
    let (rss2, peak2, sessions2) = (mb("VmRSS:"), mb("VmHWM:"), model.sessions());
    let one_b = rate(&model, &texts, 1, secs);
    let one = (one_a + one_b) / 2.0;
    println!(
        "model {dir}: pii {} onnxruntime {}, {} texts from {text_file}, {secs} s per phase; load {load_ms:.0} ms",
        env!("CARGO_PKG_VERSION"),
        pii::runtime::version().unwrap_or("?"),
        texts.len()
    );
    println!("  RSS before load {rss0:.0} MB, after load {rss_loaded:.0} MB");
    println!("  threads=1 calls_per_s={one:.1} (phases {one_a:.1}, {one_b:.1}) sessions={sessions1} rss_mb={rss1:.0} peak_rss_mb={peak1:.0}");
    println!("  threads=2 calls_per_s={two:.1} scaling={:.2}x sessions={sessions2} rss_mb={rss2:.0} peak_rss_mb={peak2:.0}", two / one);
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (mut dirs, mut text_file, mut secs) = (Vec::new(), None, 5.0f64);
    for a in &args {
        let p = std::path::Path::new(a);
        if p.join("pii_model.json").is_file() {
            dirs.push(a.clone());
        } else if p.is_file() {
            text_file = Some(a.clone());
        } else if let Ok(s) = a.parse::<f64>() {
            secs = s;
        } else {
            eprintln!("throughput: {a} is neither a model directory, a text file nor a number of seconds");
            std::process::exit(2);
        }
    }
    let Some(text_file) = text_file.filter(|_| !dirs.is_empty()) else {
        eprintln!("usage: throughput MODEL_DIR... TEXT_FILE [SECONDS]");
        std::process::exit(2)
    };
    if let [dir] = &dirs[..] {
        return measure(dir, &text_file, secs);
    }
    // One process per model, so that RSS and its peak belong to that model alone.
    let me = std::env::current_exe().expect("own executable");
    for dir in &dirs {
        let st = std::process::Command::new(&me).args([dir, &text_file, &secs.to_string()]).status().expect("run self");
        if !st.success() {
            std::process::exit(st.code().unwrap_or(1));
        }
    }
}
