//! Throughput, thread scaling, load time, RSS and allocations per call of `pii::Model::tag`.
//!
//! usage: cargo run --release --example throughput -- MODEL_DIR TEXT_FILE [SECONDS]
//! Prints one line per thread count (1 and 2): calls/s and the scaling against one thread.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Counts heap allocations (bytes and calls) made by this process.
struct Counting;
static ALLOCS: AtomicUsize = AtomicUsize::new(0);
static BYTES: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        BYTES.fetch_add(l.size(), Ordering::Relaxed);
        System.alloc(l)
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        System.dealloc(p, l)
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        BYTES.fetch_add(n, Ordering::Relaxed);
        System.realloc(p, l, n)
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

mod common;

fn rss_kb() -> u64 {
    common::status_kib("VmRSS:")
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        eprintln!("usage: throughput MODEL_DIR TEXT_FILE [SECONDS]");
        std::process::exit(2);
    }
    let secs: f64 = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(5.0);
    let texts: Vec<String> = std::fs::read_to_string(&args[2])
        .expect("read texts")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect();
    let rss0 = rss_kb();
    let t0 = Instant::now();
    let opts = pii::Options { max_sessions: 2, ..Default::default() };
    let model = pii::Model::load(std::path::Path::new(&args[1]), &opts).unwrap_or_else(|e| {
        eprintln!("throughput: {e}");
        std::process::exit(1)
    });
    let load_ms = t0.elapsed().as_secs_f64() * 1e3;
    let rss1 = rss_kb();
    for t in texts.iter().take(50) {
        model.tag(t).unwrap();
    }
    // Allocations per call, one thread, after warm-up.
    let (a0, b0) = (ALLOCS.load(Ordering::Relaxed), BYTES.load(Ordering::Relaxed));
    let n = texts.len().min(500);
    for t in &texts[..n] {
        model.tag(t).unwrap();
    }
    let allocs = (ALLOCS.load(Ordering::Relaxed) - a0) as f64 / n as f64;
    let bytes = (BYTES.load(Ordering::Relaxed) - b0) as f64 / n as f64;
    println!(
        "pii {} onnxruntime {} model {}: load {:.0} ms, RSS {} MB before load, {} MB with model + 1 session; {:.1} allocations ({:.1} KB) per call",
        env!("CARGO_PKG_VERSION"),
        pii::runtime::version().unwrap_or("?"),
        args[1],
        load_ms,
        rss0 / 1024,
        rss1 / 1024,
        allocs,
        bytes / 1024.0
    );
    let mut base = 0.0;
    for threads in [1usize, 2] {
        let stop = AtomicBool::new(false);
        let calls = AtomicUsize::new(0);
        let start = Instant::now();
        std::thread::scope(|s| {
            for k in 0..threads {
                let (model, texts, stop, calls) = (&model, &texts, &stop, &calls);
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
        let rate = calls.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64();
        if threads == 1 {
            base = rate;
        }
        println!(
            "threads={threads} calls_per_s={rate:.1} scaling={:.2}x sessions={} rss_mb={}",
            rate / base,
            model.sessions(),
            rss_kb() / 1024
        );
    }
}
