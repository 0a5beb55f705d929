//! Heap allocations per `pii::Model::tag` call (Rust side), and per stage of it.
//!
//! usage: cargo run --release --example allocs -- MODEL_DIR TEXT_FILE [CALLS]
//!
//! A counting global allocator counts the allocations (and reallocations) made by the calling
//! thread, and their bytes. After one warm-up pass over the texts (grow-only buffers reach
//! their size), each stage runs once per text (cycling, CALLS calls, default 500):
//!   encode  `Model::encoder().encode` alone: the tokenizer and the `Encoded` it returns
//!   tokenizer  `Encoder::encode_into` with reused buffers: tokenization's own share (the WordPiece
//!           path for printable ASCII, the tokenizers library for other text)
//!   logits  `Model::piece_logits` on the text's `Encoded` (made beforehand): inference inputs,
//!           the run, the logits returned
//!   tag     `Model::tag` end to end: tokenization, inference, decoding, the returned spans
//! ONNX Runtime's own C++ allocations do not go through Rust's allocator and are not counted.
//! Prints one line per stage: allocations and KB per call, the largest single allocation.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

thread_local! {
    static COUNT: Cell<(u64, u64, u64)> = const { Cell::new((0, 0, 0)) };
}

fn note(size: usize) {
    // try_with: allocations during thread teardown are not counted.
    let _ = COUNT.try_with(|c| {
        let (n, b, m) = c.get();
        c.set((n + 1, b + size as u64, m.max(size as u64)));
    });
}

/// Counts the current thread's allocations: (number, bytes, largest).
struct Counting;

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        note(l.size());
        System.alloc(l)
    }
    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        note(l.size());
        System.alloc_zeroed(l)
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        System.dealloc(p, l)
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        note(n);
        System.realloc(p, l, n)
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

mod common;

fn counted<R>(f: impl FnOnce() -> R) -> (R, (u64, u64, u64)) {
    COUNT.with(|c| c.set((0, 0, 0)));
    let r = f();
    (r, COUNT.with(|c| c.get()))
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        eprintln!("usage: allocs MODEL_DIR TEXT_FILE [CALLS]");
        std::process::exit(2);
    }
    let calls: usize = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(500);
    let texts = common::read_texts("allocs", &args[2]);
    let opts = pii::Options { max_sessions: 1, ort_library: common::ort_library(), ..Default::default() };
    let model = pii::Model::load(std::path::Path::new(&args[1]), &opts).unwrap_or_else(|e| {
        eprintln!("allocs: {e}");
        std::process::exit(1)
    });
    for t in &texts {
        model.tag(t).unwrap();
    }
    let mut pieces = 0usize;
    for t in texts.iter().cycle().take(calls) {
        pieces += model.encoder().encode(t).unwrap().ids.len();
    }
    println!(
        "pii {} model {}: {} texts, {calls} calls per stage, {:.1} pieces per call; Rust heap allocations on the calling thread",
        env!("CARGO_PKG_VERSION"),
        args[1],
        texts.len(),
        pieces as f64 / calls as f64
    );
    let encoded: Vec<pii::encode::Encoded> = texts.iter().map(|t| model.encoder().encode(t).unwrap()).collect();
    let reused = std::cell::RefCell::new((pii::encode::Encoded::default(), String::new()));
    type Stage<'a> = (&'a str, Box<dyn Fn(usize) + 'a>);
    let stages: [Stage; 4] = [
        ("encode", Box::new(|i| drop(model.encoder().encode(&texts[i]).unwrap()))),
        (
            "tokenizer",
            Box::new(|i| {
                let (enc, spaced) = &mut *reused.borrow_mut();
                model.encoder().encode_into(&texts[i], enc, spaced).unwrap()
            }),
        ),
        ("logits", Box::new(|i| drop(model.piece_logits(&encoded[i]).unwrap()))),
        ("tag", Box::new(|i| drop(model.tag(&texts[i]).unwrap()))),
    ];
    for t in &texts {
        let (enc, spaced) = &mut *reused.borrow_mut();
        model.encoder().encode_into(t, enc, spaced).unwrap();
    }
    for (name, f) in &stages {
        let (mut n, mut b, mut m) = (0u64, 0u64, 0u64);
        for i in (0..texts.len()).cycle().take(calls) {
            let ((), (cn, cb, cm)) = counted(|| f(i));
            n += cn;
            b += cb;
            m = m.max(cm);
        }
        println!(
            "stage={name} allocs_per_call={:.1} kb_per_call={:.2} largest_bytes={m}",
            n as f64 / calls as f64,
            b as f64 / calls as f64 / 1024.0
        );
    }
}
