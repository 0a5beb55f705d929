//! `pii-trainer report`: the quality table of a model directory on every evaluation set
//! (generator dev and held-out, the corpus dev split, the hand-written challenge set), as
//! Markdown, scored by [`crate::eval::score`].

use anyhow::Result;
use std::collections::HashMap;
use std::path::PathBuf;

use crate::data::{read_jsonl, Entity, Example};

/// Command-line arguments.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Model directory.
    #[arg(long, default_value = "data/model")]
    pub model: PathBuf,
    /// Corpus directory (the challenge set and the corpus dev split come from it).
    #[arg(long, default_value = "data/corpus")]
    pub corpus: PathBuf,
    /// Challenge writers.
    #[arg(long, value_delimiter = ',', default_value = "cx1,cx2")]
    pub challenge: Vec<String>,
    /// Generator sets to score as well (name=path, comma separated).
    #[arg(long, value_delimiter = ',', default_value = "dev=data/dev.jsonl,held-out=data/heldout.jsonl")]
    pub sets: Vec<String>,
    /// Validators (as for `predict`).
    #[arg(long, default_value = "all")]
    pub validators: String,
    /// ONNX Runtime library (default as for `predict`).
    #[arg(long)]
    pub ort_library: Option<PathBuf>,
    /// Also write the reports as JSON here.
    #[arg(long)]
    pub json: Option<PathBuf>,
}

/// Predictions of `model` for `examples` as entities.
pub fn predict_set(model: &pii::Model, examples: &[Example]) -> Result<HashMap<String, Vec<Entity>>> {
    let mut out = HashMap::new();
    for ex in examples {
        let spans = crate::predict::predict_text(model, &ex.text)?;
        out.insert(ex.id.clone(), spans.into_iter().map(|s| Entity { start: s.start, end: s.end, label: s.label }).collect());
    }
    Ok(out)
}

/// The quality tables of the model in `args.model` (Markdown: strict PII P/R/F1, micro F1 and
/// F1 per label per set, then precision / recall per label) and the scores as JSON.
pub fn tables(args: &Args) -> Result<(String, serde_json::Value)> {
    let tweak = crate::predict::tweak_from(0.0, &args.validators, false, false, &args.model)?;
    let model = crate::predict::load_model(&args.model, None, args.ort_library.clone(), tweak)?;
    let lines = crate::corpus::read_dir(&args.corpus)?;
    let (_, corpus_dev, challenge) = crate::corpus::split(&lines, &args.challenge, 8);
    let mut sets: Vec<(String, Vec<Example>)> = vec![("challenge (hand-written, unseen writers)".into(), challenge), ("corpus dev split".into(), corpus_dev)];
    for s in &args.sets {
        let (name, path) = s.split_once('=').unwrap_or((s.as_str(), s.as_str()));
        sets.push((name.to_string(), read_jsonl(std::path::Path::new(path))?));
    }
    let labels = ["CREDIT_CARD", "PHONE", "EMAIL", "PERSON_NAME", "DATE", "CITY", "LOCATION"];
    let mut md = format!("| set | lines | strict PII P / R / F1 | micro F1 | {} |\n", labels.join(" F1 | ") + " F1");
    md += &format!("|---|---|---|---|{}\n", "---|".repeat(labels.len()));
    let mut pr = format!("| set | {} |\n|---|{}\n", labels.join(" P / R | ") + " P / R", "---|".repeat(labels.len()));
    let mut all = serde_json::Map::new();
    for (name, ex) in &sets {
        let r = crate::eval::score(ex, &predict_set(&model, ex)?);
        let per: Vec<String> =
            labels.iter().map(|l| r.per_label.get(*l).map_or("-".into(), |p| format!("{:.3}", p.f1))).collect();
        md += &format!(
            "| {name} | {} | {:.3} / {:.3} / {:.3} | {:.3} | {} |\n",
            ex.len(),
            r.pii_strict.precision,
            r.pii_strict.recall,
            r.pii_strict.f1,
            r.micro.f1,
            per.join(" | ")
        );
        let per: Vec<String> = labels
            .iter()
            .map(|l| r.per_label.get(*l).map_or("-".into(), |p| format!("{:.3} / {:.3}", p.precision, p.recall)))
            .collect();
        pr += &format!("| {name} | {} |\n", per.join(" | "));
        all.insert(name.clone(), serde_json::to_value(&r)?);
    }
    Ok((format!("{md}\n{pr}"), serde_json::Value::Object(all)))
}

/// Run the command.
pub fn run(args: Args) -> Result<()> {
    let (md, json) = tables(&args)?;
    print!("{md}");
    if let Some(p) = &args.json {
        std::fs::write(p, serde_json::to_string_pretty(&json)?)?;
    }
    Ok(())
}
