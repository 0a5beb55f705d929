//! Criterion benches of the tag path: `Model::tag` end to end on short, medium and long
//! utterances, and tokenization alone.
//!
//! Model: `PII_BENCH_MODEL`, else `data/model` when it holds a manifest, else the tiny test
//! fixture. ONNX Runtime: `PII_ORT_LIBRARY`, else `.deps/onnxruntime/libonnxruntime.so.1`
//! (the bench binary lives in target/*/deps, where no runtime sits beside it).
//!
//!     cargo bench --bench tag
//!     PII_BENCH_MODEL=data/model cargo bench --bench tag -- tag/medium

use std::hint::black_box;
use std::path::{Path, PathBuf};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

const SHORT: &str = "my number is nine eight seven six five";

const MEDIUM: &str = "hi this is priya sharma calling from delhi about my credit card bill \
uh my card number is four two four two double four and my phone is nine eight seven six \
five four three two one zero";

const LONG: &str = "hello thank you for calling how can i help you today um yes hi my name is \
rahul mehta and i am calling from mumbai because there is a charge on my card that i do not \
recognise the card number is four two four two four two four two four two four two four two \
four two and the charge was on the fifteenth of may for two thousand five hundred rupees uh \
you can reach me on nine eight double seven oh one two three four five or my email rahul dot \
mehta at gmail dot com and my address is flat twelve mg road near the metro station okay \
thank you so much";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn model_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("PII_BENCH_MODEL") {
        return PathBuf::from(dir);
    }
    let real = root().join("data/model");
    if real.join("pii_model.json").exists() {
        real
    } else {
        root().join("tests/fixtures/tiny")
    }
}

fn options() -> pii::Options {
    let mut opts = pii::Options { max_sessions: 1, ..Default::default() };
    let bundled = root().join(".deps/onnxruntime/libonnxruntime.so.1");
    if std::env::var_os("PII_ORT_LIBRARY").is_none() && bundled.exists() {
        opts.ort_library = Some(bundled);
    }
    opts
}

fn load(dir: &Path) -> pii::Model {
    pii::Model::load(dir, &options()).unwrap_or_else(|e| panic!("cannot load {}: {e}", dir.display()))
}

fn benches(c: &mut Criterion) {
    let dir = model_dir();
    let model = load(&dir);
    let texts = [("short", SHORT), ("medium", MEDIUM), ("long", LONG)];
    eprintln!("model: {}", dir.display());
    for (name, text) in texts {
        let pieces = model.encoder().encode(text).expect("encode").ids.len();
        eprintln!("  {name}: {} words, {pieces} word pieces", text.split_whitespace().count());
    }

    let mut g = c.benchmark_group("tag");
    for (name, text) in texts {
        g.throughput(Throughput::Bytes(text.len() as u64));
        g.bench_function(name, |b| b.iter(|| model.tag(black_box(text)).expect("tag")));
    }
    g.finish();

    let mut g = c.benchmark_group("encode");
    for (name, text) in texts {
        g.throughput(Throughput::Bytes(text.len() as u64));
        g.bench_function(name, |b| b.iter(|| model.encoder().encode(black_box(text)).expect("encode")));
    }
    g.finish();
}

criterion_group!(tag, benches);
criterion_main!(tag);
