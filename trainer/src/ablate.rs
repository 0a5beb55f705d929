//! `pii-trainer ablate`: the decoding ablation table. For each model directory, decoding is
//! switched on step by step (argmax, constrained decoding, thresholds, then each validator)
//! and every step is scored on a gold set and timed on medium-length utterances, all models
//! and steps interleaved per utterance so machine noise hits them alike.

use anyhow::Result;
use std::path::PathBuf;
use std::time::Instant;

use crate::data::read_jsonl;

/// Command-line arguments.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Model directories (comma separated), e.g. the previous and the new model.
    #[arg(long, value_delimiter = ',')]
    pub model: Vec<PathBuf>,
    /// Gold jsonl to score (the challenge set).
    #[arg(long, default_value = "data/challenge.jsonl")]
    pub gold: PathBuf,
    /// Texts to time: their utterances of 20-44 words (the benches' medium bucket).
    #[arg(long, value_delimiter = ',', default_value = "data/dev.jsonl,data/heldout.jsonl")]
    pub timing: Vec<PathBuf>,
    /// Timed utterances per step.
    #[arg(long, default_value_t = 300)]
    pub runs: usize,
    /// ONNX Runtime library (default as for `predict`).
    #[arg(long)]
    pub ort_library: Option<PathBuf>,
}

/// The cumulative decoding steps: (name, validators, argmax, thresholds off).
const STEPS: [(&str, &str, bool, bool); 7] = [
    ("argmax", "none", true, true),
    ("+ constrained decoding", "none", false, true),
    ("+ thresholds", "none", false, false),
    ("+ number validator", "numbers", false, false),
    ("+ email validator", "numbers,email", false, false),
    ("+ date validator", "numbers,email,date", false, false),
    ("+ name validator", "all", false, false),
];

fn percentile(v: &mut [f64], q: f64) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[((v.len() - 1) as f64 * q).round() as usize]
}

/// Run the command.
pub fn run(args: Args) -> Result<()> {
    let gold = read_jsonl(&args.gold)?;
    let mut medium = Vec::new();
    for p in &args.timing {
        medium.extend(read_jsonl(p)?.into_iter().map(|e| e.text).filter(|t| (20..45).contains(&t.split_whitespace().count())));
    }
    medium.truncate(args.runs);
    println!("| model | decoding | strict PII P | R | F1 | micro F1 | p50 µs | p95 µs |");
    println!("|---|---|---|---|---|---|---|---|");
    // Every (model, step) is loaded first, then timed interleaved: each utterance runs
    // through all of them in turn, so the models compare within one run.
    let mut models = Vec::new();
    for dir in &args.model {
        for (name, v, argmax, no_thr) in STEPS {
            let tweak = crate::predict::tweak_from(0.0, v, argmax, no_thr, dir)?;
            models.push((dir, name, crate::predict::load_model(dir, None, args.ort_library.clone(), tweak)?));
        }
    }
    let mut times = vec![Vec::with_capacity(medium.len()); models.len()];
    for t in &medium {
        for ((_, _, m), ts) in models.iter().zip(&mut times) {
            let t0 = Instant::now();
            std::hint::black_box(m.tag(t)?);
            ts.push(t0.elapsed().as_secs_f64() * 1e6);
        }
    }
    for ((dir, name, m), ts) in models.iter().zip(&mut times) {
        let r = crate::eval::score(&gold, &crate::report::predict_set(m, &gold)?);
        let (p50, p95) = if ts.is_empty() { (0.0, 0.0) } else { (percentile(ts, 0.5), percentile(ts, 0.95)) };
        println!(
            "| {} | {name} | {:.3} | {:.3} | {:.3} | {:.3} | {p50:.0} | {p95:.0} |",
            dir.display(),
            r.pii_strict.precision,
            r.pii_strict.recall,
            r.pii_strict.f1,
            r.micro.f1
        );
    }
    Ok(())
}
