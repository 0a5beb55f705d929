//! `pii-trainer tune`: choose per-label span-score thresholds on dev data for precision and
//! write them into a model directory's manifest.
//!
//! The model tags the dev sets once with every threshold at zero; each label's threshold is
//! then the grid value that maximises that label's F-beta (beta < 1 weighs precision more).
//! Labels are independent: a threshold drops spans of its own label only. The challenge set
//! must never be passed here.

use anyhow::{bail, Result};
use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::data::{byte_to_char, read_jsonl, Example};

/// Command-line arguments.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Model directory; its `pii_model.json` gets the thresholds (with --write).
    #[arg(long, default_value = "data/model")]
    pub model: PathBuf,
    /// Dev jsonl files (comma separated).
    #[arg(long, value_delimiter = ',', default_value = "data/corpus_dev.jsonl,data/dev.jsonl")]
    pub dev: Vec<PathBuf>,
    /// F-beta to maximise per label (0.5: precision counts twice as much as recall).
    #[arg(long, default_value_t = 0.5)]
    pub beta: f64,
    /// Highest threshold considered.
    #[arg(long, default_value_t = 0.9)]
    pub max: f32,
    /// Write the thresholds into the manifest (otherwise print them only).
    #[arg(long)]
    pub write: bool,
    /// ONNX Runtime library (default as for `predict`).
    #[arg(long)]
    pub ort_library: Option<PathBuf>,
}

/// One predicted span: its label, whether it matches a gold span exactly, its score.
type Scored = (String, bool, f32);

/// Tag `examples` with all thresholds at zero; returns every span and the gold count per label.
pub fn scored_spans(model: &pii::Model, examples: &[Example]) -> Result<(Vec<Scored>, BTreeMap<String, usize>)> {
    let mut out = Vec::new();
    let mut gold: BTreeMap<String, usize> = BTreeMap::new();
    for ex in examples {
        for e in &ex.entities {
            *gold.entry(e.label.clone()).or_default() += 1;
        }
        for s in model.tag(&ex.text)? {
            let (a, b) = (byte_to_char(&ex.text, s.start), byte_to_char(&ex.text, s.end));
            let label = &model.labels()[s.label];
            let hit = ex.entities.iter().any(|e| e.start == a && e.end == b && &e.label == label);
            out.push((label.clone(), hit, s.score));
        }
    }
    Ok((out, gold))
}

/// The threshold on a 0.05 grid up to `max` that maximises F-beta of `label`; ties keep the lower.
pub fn best_threshold(spans: &[Scored], gold: usize, label: &str, beta: f64, max: f32) -> (f32, f64) {
    let mut best = (0.0f32, -1.0f64);
    let b2 = beta * beta;
    let mut t = 0.0f32;
    while t <= max + 1e-6 {
        let kept = spans.iter().filter(|s| s.0 == label && s.2 >= t);
        let (tp, n) = kept.fold((0usize, 0usize), |(tp, n), s| (tp + s.1 as usize, n + 1));
        let p = if n == 0 { 0.0 } else { tp as f64 / n as f64 };
        let r = if gold == 0 { 0.0 } else { tp as f64 / gold as f64 };
        let f = if p + r == 0.0 { 0.0 } else { (1.0 + b2) * p * r / (b2 * p + r) };
        if f > best.1 + 1e-9 {
            best = (t, f);
        }
        t += 0.05;
    }
    best
}

/// Run the command.
pub fn run(args: Args) -> Result<()> {
    if args.dev.iter().any(|p| p.to_string_lossy().contains("challenge")) {
        bail!("thresholds are never tuned on the challenge set");
    }
    let mut dev = Vec::new();
    for p in &args.dev {
        dev.extend(read_jsonl(p)?);
    }
    let dir = args.model.clone();
    let tweak = crate::predict::tweak_from(0.0, "all", false, true, &dir)?;
    let model = crate::predict::load_model(&dir, None, args.ort_library.clone(), tweak)?;
    let (spans, gold) = scored_spans(&model, &dev)?;
    let mut manifest = pii::manifest::Manifest::read(&dir)?;
    let mut chosen = BTreeMap::new();
    for l in &manifest.labels {
        let (t, f) = best_threshold(&spans, gold.get(&l.name).copied().unwrap_or(0), &l.name, args.beta, args.max);
        eprintln!("{:12} threshold {t:.2}  F{} {f:.4}", l.name, args.beta);
        if t > 0.0 {
            chosen.insert(l.name.clone(), (t * 100.0).round() / 100.0);
        }
    }
    if args.write {
        manifest.thresholds = chosen;
        manifest.write(&dir)?;
        eprintln!("wrote thresholds to {}", dir.join(pii::manifest::MANIFEST_FILE).display());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threshold_trades_recall_for_precision() {
        // Three right spans at high scores, two wrong ones at low scores: a threshold between
        // them wins; with beta large (recall-heavy) and all right, zero stays.
        let s = |hit, sc| ("PHONE".to_string(), hit, sc);
        let spans = vec![s(true, 0.95), s(true, 0.9), s(true, 0.5), s(false, 0.3), s(false, 0.35)];
        let (t, _) = best_threshold(&spans, 3, "PHONE", 0.5, 0.9);
        assert!(t > 0.35 && t <= 0.5, "{t}");
        let all_right = vec![s(true, 0.2), s(true, 0.9)];
        assert_eq!(best_threshold(&all_right, 2, "PHONE", 0.5, 0.9).0, 0.0);
        // Spans of other labels are ignored.
        let other = vec![("DATE".to_string(), false, 0.1), s(true, 0.8)];
        assert_eq!(best_threshold(&other, 1, "PHONE", 0.5, 0.9).0, 0.0);
    }
}
