//! Streaming figures: cost per push and hold-back latency on simulated calls.
//!
//!   cargo run --release --example stream_bench -- [MODEL_DIR] [CALLS]
//!
//! Each call is held-out utterances in a row until it has about 150 words (a 60-second call);
//! every utterance is a final, sent after partials growing 2 words at a time. Prints p50/p95 µs
//! per push (pushes that ran the model and all pushes), and the hold-back latency in words
//! (words the engine had emitted after a word when it was released) for words the one-shot
//! redaction redacts and for the others, and the final words after it (the stream's own share).

use std::time::Instant;

fn pct(v: &mut [f64], p: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let dir = args.get(1).map(String::as_str).unwrap_or("data/model");
    let calls: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(20);
    let m = pii::Model::load(std::path::Path::new(dir), &pii::Options::default()).expect("model loads");
    let texts: Vec<String> = std::fs::read_to_string("data/heldout.jsonl")
        .expect("data/heldout.jsonl")
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["text"].as_str().unwrap().to_string())
        .collect();
    let (mut all, mut ran, mut lat_pii, mut lat_other) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut fin_pii, mut fin_other) = (Vec::new(), Vec::new());
    let mut delay = Vec::new();
    let mut next = 0;
    let mut call_words = Vec::new();
    for _ in 0..calls {
        // One call: utterances until ~150 words.
        let mut utts: Vec<Vec<String>> = Vec::new();
        let mut n = 0;
        while n < 150 {
            let w: Vec<String> = texts[next % texts.len()].split_whitespace().map(str::to_string).collect();
            next += 1;
            n += w.len();
            utts.push(w);
        }
        call_words.push(n);
        let flat: Vec<&str> = utts.iter().flatten().map(String::as_str).collect();
        let covered: Vec<bool> = {
            let mut c = vec![false; flat.len()];
            for r in m.tag_words(&flat).unwrap().iter().filter(|r| r.pii) {
                c[r.first..r.last].iter_mut().for_each(|x| *x = true);
            }
            c
        };
        let mut s = pii::Stream::new(&m, pii::StreamOptions::default()).unwrap();
        let mut finals = 0; // final words so far
        let mut final_at = vec![0usize; flat.len()]; // the push that made each word final
        let mut push_no = 0usize;
        // Latency of a released word: words emitted after it (final or partial), and final
        // words after it (what the stream adds beyond the engine's own finalization).
        let mut record = |rel: &pii::Release, revealed: usize, finals: usize, push_no: usize, final_at: &[usize]| {
            for w in &rel.words {
                delay.push((push_no - final_at[w.index]) as f64);
                let (lat, fin) = ((revealed - w.index - 1) as f64, (finals - w.index - 1) as f64);
                if covered[w.index] {
                    lat_pii.push(lat);
                    fin_pii.push(fin);
                } else {
                    lat_other.push(lat);
                    fin_other.push(fin);
                }
            }
        };
        for u in &utts {
            let mut k = 2;
            while k < u.len() {
                let t0 = Instant::now();
                let rel = s.push(&u[..k].join(" "), false).unwrap();
                let us = t0.elapsed().as_secs_f64() * 1e6;
                all.push(us);
                if us > 200.0 {
                    ran.push(us);
                }
                push_no += 1;
                record(&rel, finals + k, finals, push_no, &final_at);
                k += 2;
            }
            let t0 = Instant::now();
            let rel = s.push(&u.join(" "), true).unwrap();
            let us = t0.elapsed().as_secs_f64() * 1e6;
            all.push(us);
            if us > 200.0 {
                ran.push(us);
            }
            push_no += 1;
            final_at[finals..finals + u.len()].iter_mut().for_each(|x| *x = push_no);
            finals += u.len();
            record(&rel, finals, finals, push_no, &final_at);
        }
        let rel = s.finish().unwrap();
        record(&rel, finals, finals, push_no + 1, &final_at);
    }
    let words: usize = call_words.iter().sum();
    println!("model {dir}: {calls} calls, {words} words ({} per call), {} pushes", words / calls, all.len());
    println!("push µs, all pushes:        p50 {:.0}  p95 {:.0}", pct(&mut all.clone(), 0.5), pct(&mut all, 0.95));
    println!("push µs, pushes > 200 µs ({}): p50 {:.0}  p95 {:.0}", ran.len(), pct(&mut ran.clone(), 0.5), pct(&mut ran, 0.95));
    println!(
        "hold-back latency, words: PII ({}) p50 {} p95 {}; other ({}) p50 {} p95 {}",
        lat_pii.len(),
        pct(&mut lat_pii.clone(), 0.5),
        pct(&mut lat_pii, 0.95),
        lat_other.len(),
        pct(&mut lat_other.clone(), 0.5),
        pct(&mut lat_other, 0.95)
    );
    println!(
        "final words after a word when released: PII p50 {} p95 {}; other p50 {} p95 {}",
        pct(&mut fin_pii.clone(), 0.5),
        pct(&mut fin_pii, 0.95),
        pct(&mut fin_other.clone(), 0.5),
        pct(&mut fin_other, 0.95)
    );
    println!("pushes from a word's final to its release: p50 {} p95 {}", pct(&mut delay.clone(), 0.5), pct(&mut delay, 0.95));
}
