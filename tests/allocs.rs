//! Per-call buffers: a tag call reuses its session's buffers (results unchanged whatever the
//! previous call left in them), and outside the tokenizer library (not used for ASCII text
//! when the fast path applies) and ONNX Runtime's run it allocates nothing that grows with
//! the text.

mod common;
use common::*;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

thread_local! {
    static ALLOCS: Cell<u64> = const { Cell::new(0) };
}

/// Counts the allocations of the current thread (tests run on threads of their own).
struct Counting;

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
        System.alloc(l)
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        System.dealloc(p, l)
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
        System.realloc(p, l, n)
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn count(f: impl FnOnce()) -> u64 {
    let before = ALLOCS.with(Cell::get);
    f();
    ALLOCS.with(Cell::get) - before
}

fn one_session() -> pii::Model {
    pii::Model::load(&fixture_dir(), &pii::Options { max_sessions: 1, ..options() }).unwrap()
}

#[test]
fn reused_buffers_do_not_change_results() {
    let fresh = || one_session();
    let long = "ok so my number is nine eight seven six and i live in mumbai thanks priya sharma ".repeat(12);
    let texts = [
        "my number is nine eight seven and my name is priya sharma from delhi",
        "call\u{2028}me\tat  four two four two four two four two four two four two four two four two",
        "hi",
        "",
        "ΣΟΦΙΑ lives in delhi, email sofia dot k at gmail dot com",
        long.as_str(),
    ];
    // One model tags every text after every other (buffers left by a longer or a shorter text);
    // each result equals that of a model that has tagged nothing before.
    let m = fresh();
    for a in &texts {
        for b in &texts {
            m.tag(a).unwrap();
            let want = fresh().tag(b).unwrap();
            assert_eq!(m.tag(b).unwrap(), want);
            let (spans, probs) = m.tag_with_probs(b).unwrap();
            assert_eq!((spans, probs), fresh().tag_with_probs(b).unwrap());
        }
    }
    assert_eq!(m.sessions(), 1);
}

#[test]
fn allocations_outside_the_tokenizer_do_not_grow_with_the_text() {
    let m = one_session();
    // No spans on this text with the fixture model (so no validator runs on a span).
    let unit = "hello there how are you doing today ";
    assert!(m.tag(unit).unwrap().is_empty());
    // Rust-side allocations of one ONNX Runtime run (the `ort` crate's inputs and outputs),
    // without the vector `logits` returns.
    let ids: Vec<i64> = vec![m.encoder().cls_id() as i64, 2000, 2001, m.encoder().sep_id() as i64];
    m.logits(&ids).unwrap();
    let per_run = count(|| drop(m.logits(&ids).unwrap())) - 1;
    let (mut enc, mut spaced) = (pii::encode::Encoded::default(), String::new());
    let mut excess = Vec::new();
    for k in [1usize, 4, 16, 64] {
        let text = unit.repeat(k);
        // Warm-up: the session's buffers and these grow to this text's size.
        m.encoder().encode_into(&text, &mut enc, &mut spaced).unwrap();
        assert!(m.tag(&text).unwrap().is_empty());
        let tokenizer = count(|| m.encoder().encode_into(&text, &mut enc, &mut spaced).unwrap());
        assert!(m.encoder().has_fast_path(), "the fixture's tokenizer is BERT uncased WordPiece");
        assert_eq!(tokenizer, 0, "ASCII text on the WordPiece fast path allocates nothing once its buffers have grown");
        let windows = m.encoder().windows(enc.ids.len()).len() as u64;
        let tag = count(|| drop(m.tag(&text).unwrap()));
        excess.push(tag as i64 - (tokenizer + windows * per_run) as i64);
        if k == 64 {
            assert!(windows > 10, "the long text spans many model windows");
        }
    }
    assert!(excess.iter().all(|&e| e <= 1), "allocations beyond tokenizer and runs, for 1..64 units: {excess:?}");
}
