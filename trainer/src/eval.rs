//! `pii-trainer eval`: exact-span scoring of predictions against gold.
//!
//! A predicted span is correct only with exact start, end and label (character offsets).
//! Besides per-label and overall metrics, the report relabels spans PII/NON to score the
//! redaction decision alone, and summarises the errors (wrong label, boundary, missed,
//! spurious).

use crate::data::{read_jsonl, Entity, Example};
use anyhow::{Context, Result};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;

/// Labels that are personal data.
pub const PII_LABELS: [&str; 5] = ["CREDIT_CARD", "PHONE", "EMAIL", "PERSON_NAME", "DATE"];

pub fn is_pii(label: &str) -> bool {
    PII_LABELS.contains(&label)
}

/// Command-line arguments.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Gold jsonl (`{"id","text","entities":[...]}`, char offsets).
    #[arg(long)]
    pub gold: PathBuf,
    /// Predictions: one JSON object `{"<id>": [{"start","end","label","pii"}...]}`.
    #[arg(long)]
    pub pred: PathBuf,
    /// Also write the full report as JSON here.
    #[arg(long)]
    pub json: Option<PathBuf>,
}

/// Counts and the derived precision, recall and F1.
#[derive(Serialize, Clone, Debug, Default, PartialEq)]
pub struct Prf {
    pub tp: usize,
    pub fp: usize,
    #[serde(rename = "fn")]
    pub fn_: usize,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
}

impl Prf {
    fn from_counts(tp: usize, fp: usize, fn_: usize) -> Self {
        let p = if tp + fp == 0 {
            0.0
        } else {
            tp as f64 / (tp + fp) as f64
        };
        let r = if tp + fn_ == 0 {
            0.0
        } else {
            tp as f64 / (tp + fn_) as f64
        };
        let f = if p + r == 0.0 {
            0.0
        } else {
            2.0 * p * r / (p + r)
        };
        Prf {
            tp,
            fp,
            fn_,
            precision: p,
            recall: r,
            f1: f,
        }
    }
    fn add(&mut self, tp: usize, fp: usize, fn_: usize) {
        *self = Prf::from_counts(self.tp + tp, self.fp + fp, self.fn_ + fn_);
    }
}

/// Error summary.
#[derive(Serialize, Clone, Debug, Default, PartialEq)]
pub struct Confusion {
    /// Same boundaries, wrong label: "GOLD->PRED" counts.
    pub wrong_label: BTreeMap<String, usize>,
    /// Overlapping span of the same label with different boundaries, per label.
    pub boundary: BTreeMap<String, usize>,
    /// Overlapping span with different boundaries and a different label: "GOLD->PRED".
    pub boundary_and_label: BTreeMap<String, usize>,
    /// Gold spans with no overlapping prediction, per label.
    pub missed: BTreeMap<String, usize>,
    /// Predictions overlapping no gold span, per predicted label.
    pub spurious: BTreeMap<String, usize>,
}

/// The full scoring report.
#[derive(Serialize, Clone, Debug, Default, PartialEq)]
pub struct Report {
    pub documents: usize,
    /// Gold ids with no entry in the predictions (scored as no predictions).
    pub missing_predictions: usize,
    pub per_label: BTreeMap<String, Prf>,
    /// Mean F1 over the labels present in gold or predictions.
    pub macro_f1: f64,
    /// All labels pooled, exact label.
    pub micro: Prf,
    /// Spans relabelled PII/NON; the PII class (a PHONE read as CREDIT_CARD counts).
    pub pii: Prf,
    /// Spans relabelled PII/NON; the NON class.
    pub non_pii: Prf,
    /// Exact label, PII labels only.
    pub pii_strict: Prf,
    pub confusion: Confusion,
}

type Key = (usize, usize, String);

fn multiset(es: &[Entity], f: impl Fn(&Entity) -> Option<String>) -> BTreeMap<Key, usize> {
    let mut m = BTreeMap::new();
    for e in es {
        if let Some(l) = f(e) {
            *m.entry((e.start, e.end, l)).or_insert(0) += 1;
        }
    }
    m
}

/// Per-label (tp, fp, fn) of exact matching under a relabelling `f` (None drops a span).
fn counts(
    gold: &[Entity],
    pred: &[Entity],
    f: impl Fn(&Entity) -> Option<String> + Copy,
) -> BTreeMap<String, (usize, usize, usize)> {
    let g = multiset(gold, f);
    let p = multiset(pred, f);
    let mut out: BTreeMap<String, (usize, usize, usize)> = BTreeMap::new();
    for (k, &gc) in &g {
        let pc = p.get(k).copied().unwrap_or(0);
        let e = out.entry(k.2.clone()).or_default();
        e.0 += gc.min(pc);
        e.2 += gc.saturating_sub(pc);
    }
    for (k, &pc) in &p {
        let gc = g.get(k).copied().unwrap_or(0);
        out.entry(k.2.clone()).or_default().1 += pc.saturating_sub(gc);
    }
    out
}

fn overlaps(a: &Entity, b: &Entity) -> bool {
    a.start < b.end && b.start < a.end
}

fn confusion(c: &mut Confusion, gold: &[Entity], pred: &[Entity]) {
    let mut g_used = vec![false; gold.len()];
    let mut p_used = vec![false; pred.len()];
    // exact matches
    for (pi, p) in pred.iter().enumerate() {
        if let Some(gi) = (0..gold.len()).find(|&gi| !g_used[gi] && gold[gi] == *p) {
            g_used[gi] = true;
            p_used[pi] = true;
        }
    }
    // same boundaries, other label
    for (pi, p) in pred.iter().enumerate() {
        if p_used[pi] {
            continue;
        }
        if let Some(gi) = (0..gold.len())
            .find(|&gi| !g_used[gi] && gold[gi].start == p.start && gold[gi].end == p.end)
        {
            g_used[gi] = true;
            p_used[pi] = true;
            *c.wrong_label
                .entry(format!("{}->{}", gold[gi].label, p.label))
                .or_default() += 1;
        }
    }
    // overlaps: same label first, then any label
    for same in [true, false] {
        for (pi, p) in pred.iter().enumerate() {
            if p_used[pi] {
                continue;
            }
            let found = (0..gold.len()).find(|&gi| {
                !g_used[gi] && overlaps(&gold[gi], p) && (!same || gold[gi].label == p.label)
            });
            if let Some(gi) = found {
                g_used[gi] = true;
                p_used[pi] = true;
                if same {
                    *c.boundary.entry(p.label.clone()).or_default() += 1;
                } else {
                    *c.boundary_and_label
                        .entry(format!("{}->{}", gold[gi].label, p.label))
                        .or_default() += 1;
                }
            }
        }
    }
    for (pi, p) in pred.iter().enumerate() {
        if !p_used[pi] {
            *c.spurious.entry(p.label.clone()).or_default() += 1;
        }
    }
    for (gi, g) in gold.iter().enumerate() {
        if !g_used[gi] {
            *c.missed.entry(g.label.clone()).or_default() += 1;
        }
    }
}

/// Score predictions (char offsets) against gold examples.
pub fn score(gold: &[Example], pred: &HashMap<String, Vec<Entity>>) -> Report {
    let mut r = Report {
        documents: gold.len(),
        ..Default::default()
    };
    let mut per: BTreeMap<String, (usize, usize, usize)> = BTreeMap::new();
    let mut pii = (0, 0, 0);
    let mut non = (0, 0, 0);
    let empty = Vec::new();
    for ex in gold {
        let p = match pred.get(&ex.id) {
            Some(p) => p,
            None => {
                r.missing_predictions += 1;
                &empty
            }
        };
        for (l, (tp, fp, fn_)) in counts(&ex.entities, p, |e| Some(e.label.clone())) {
            let e = per.entry(l).or_default();
            e.0 += tp;
            e.1 += fp;
            e.2 += fn_;
        }
        let relabel = |e: &Entity| {
            Some(if is_pii(&e.label) {
                "PII".to_string()
            } else {
                "NON".to_string()
            })
        };
        for (l, (tp, fp, fn_)) in counts(&ex.entities, p, relabel) {
            let t = if l == "PII" { &mut pii } else { &mut non };
            t.0 += tp;
            t.1 += fp;
            t.2 += fn_;
        }
        confusion(&mut r.confusion, &ex.entities, p);
    }
    let mut f1s = Vec::new();
    let labels: BTreeSet<String> = per.keys().cloned().collect();
    for l in labels {
        let (tp, fp, fn_) = per[&l];
        let prf = Prf::from_counts(tp, fp, fn_);
        f1s.push(prf.f1);
        r.micro.add(tp, fp, fn_);
        if is_pii(&l) {
            r.pii_strict.add(tp, fp, fn_);
        }
        r.per_label.insert(l, prf);
    }
    r.macro_f1 = if f1s.is_empty() {
        0.0
    } else {
        f1s.iter().sum::<f64>() / f1s.len() as f64
    };
    r.pii = Prf::from_counts(pii.0, pii.1, pii.2);
    r.non_pii = Prf::from_counts(non.0, non.1, non.2);
    r
}

/// Human-readable report.
pub fn format_report(r: &Report) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let row = |s: &mut String, name: &str, p: &Prf| {
        let _ = writeln!(
            s,
            "{name:<22} {:>7.4} {:>7.4} {:>7.4} {:>6} {:>6} {:>6}",
            p.precision, p.recall, p.f1, p.tp, p.fp, p.fn_
        );
    };
    let _ = writeln!(
        s,
        "documents: {} (missing predictions: {})",
        r.documents, r.missing_predictions
    );
    let _ = writeln!(
        s,
        "{:<22} {:>7} {:>7} {:>7} {:>6} {:>6} {:>6}",
        "label", "P", "R", "F1", "tp", "fp", "fn"
    );
    for (l, p) in &r.per_label {
        row(&mut s, l, p);
    }
    let _ = writeln!(s, "{}", "-".repeat(64));
    row(&mut s, "micro", &r.micro);
    let _ = writeln!(s, "{:<22} {:>23.4}", "macro F1", r.macro_f1);
    row(&mut s, "PII (relabelled)", &r.pii);
    row(&mut s, "non-PII (relabelled)", &r.non_pii);
    row(&mut s, "PII (exact label)", &r.pii_strict);
    let c = &r.confusion;
    for (title, m) in [
        ("wrong label (gold->pred)", &c.wrong_label),
        ("boundary errors", &c.boundary),
        ("boundary + label (gold->pred)", &c.boundary_and_label),
        ("missed", &c.missed),
        ("spurious", &c.spurious),
    ] {
        let items: Vec<String> = m.iter().map(|(k, v)| format!("{k}: {v}")).collect();
        let _ = writeln!(
            s,
            "{title}: {}",
            if items.is_empty() {
                "none".into()
            } else {
                items.join(", ")
            }
        );
    }
    s
}

/// Run the command.
pub fn run(args: Args) -> Result<()> {
    let gold = read_jsonl(&args.gold)?;
    let text = std::fs::read_to_string(&args.pred)
        .with_context(|| format!("read {}", args.pred.display()))?;
    let pred: HashMap<String, Vec<Entity>> =
        serde_json::from_str(&text).with_context(|| format!("parse {}", args.pred.display()))?;
    let report = score(&gold, &pred);
    print!("{}", format_report(&report));
    if let Some(p) = &args.json {
        std::fs::write(p, serde_json::to_string_pretty(&report)?)
            .with_context(|| format!("write {}", p.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ent(start: usize, end: usize, label: &str) -> Entity {
        Entity {
            start,
            end,
            label: label.into(),
        }
    }
    fn ex(id: &str, ents: Vec<Entity>) -> Example {
        Example {
            id: id.into(),
            text: "x".repeat(100),
            entities: ents,
        }
    }
    fn preds(v: Vec<(&str, Vec<Entity>)>) -> HashMap<String, Vec<Entity>> {
        v.into_iter().map(|(k, e)| (k.to_string(), e)).collect()
    }

    #[test]
    fn eval_perfect() {
        let g = vec![ex("a", vec![ent(0, 5, "PHONE"), ent(10, 15, "CITY")])];
        let r = score(&g, &preds(vec![("a", g[0].entities.clone())]));
        assert_eq!(r.micro.f1, 1.0);
        assert_eq!(r.macro_f1, 1.0);
        assert_eq!(r.pii, Prf::from_counts(1, 0, 0));
        assert_eq!(r.non_pii, Prf::from_counts(1, 0, 0));
        assert!(r.confusion.missed.is_empty() && r.confusion.spurious.is_empty());
    }

    #[test]
    fn eval_boundary_error_is_one_fp_and_one_fn() {
        let g = vec![ex("a", vec![ent(0, 10, "PHONE")])];
        let r = score(&g, &preds(vec![("a", vec![ent(0, 8, "PHONE")])]));
        assert_eq!(r.per_label["PHONE"], Prf::from_counts(0, 1, 1));
        assert_eq!(r.pii, Prf::from_counts(0, 1, 1));
        assert_eq!(r.confusion.boundary["PHONE"], 1);
        assert!(r.confusion.missed.is_empty() && r.confusion.spurious.is_empty());
    }

    #[test]
    fn eval_pii_relabel_forgives_pii_confusions() {
        let g = vec![ex("a", vec![ent(0, 10, "PHONE"), ent(20, 25, "CITY")])];
        let r = score(
            &g,
            &preds(vec![(
                "a",
                vec![ent(0, 10, "CREDIT_CARD"), ent(20, 25, "PERSON_NAME")],
            )]),
        );
        // exact: nothing right
        assert_eq!(r.micro, Prf::from_counts(0, 2, 2));
        assert_eq!(r.per_label["PHONE"], Prf::from_counts(0, 0, 1));
        assert_eq!(r.per_label["CREDIT_CARD"], Prf::from_counts(0, 1, 0));
        assert_eq!(r.pii_strict, Prf::from_counts(0, 2, 1));
        // relabelled: the phone read as a card is a correct PII span; the city read as a
        // name is a false PII and a missed NON.
        assert_eq!(r.pii, Prf::from_counts(1, 1, 0));
        assert_eq!(r.non_pii, Prf::from_counts(0, 0, 1));
        assert_eq!(r.confusion.wrong_label["PHONE->CREDIT_CARD"], 1);
        assert_eq!(r.confusion.wrong_label["CITY->PERSON_NAME"], 1);
        // macro over the 4 labels seen, all F1 = 0
        assert_eq!(r.macro_f1, 0.0);
    }

    #[test]
    fn eval_arithmetic_and_missing_ids() {
        let g = vec![
            ex(
                "a",
                vec![
                    ent(0, 4, "DATE"),
                    ent(5, 9, "EMAIL"),
                    ent(10, 14, "LOCATION"),
                ],
            ),
            ex("b", vec![ent(0, 4, "DATE")]),
        ];
        // "b" is missing from predictions; one spurious EMAIL in "a"
        let r = score(
            &g,
            &preds(vec![(
                "a",
                vec![ent(0, 4, "DATE"), ent(5, 9, "EMAIL"), ent(20, 24, "EMAIL")],
            )]),
        );
        assert_eq!(r.missing_predictions, 1);
        assert_eq!(r.per_label["DATE"], Prf::from_counts(1, 0, 1));
        assert_eq!(r.per_label["EMAIL"], Prf::from_counts(1, 1, 0));
        assert_eq!(r.per_label["LOCATION"], Prf::from_counts(0, 0, 1));
        assert_eq!(r.micro, Prf::from_counts(2, 1, 2));
        assert!((r.micro.precision - 2.0 / 3.0).abs() < 1e-12);
        assert!((r.micro.recall - 0.5).abs() < 1e-12);
        let f_date = 2.0 * 1.0 * 0.5 / 1.5;
        let f_email = 2.0 * 0.5 * 1.0 / 1.5;
        assert!((r.macro_f1 - (f_date + f_email + 0.0) / 3.0).abs() < 1e-12);
        assert_eq!(r.pii, Prf::from_counts(2, 1, 1));
        assert_eq!(r.non_pii, Prf::from_counts(0, 0, 1));
        assert_eq!(r.confusion.spurious["EMAIL"], 1);
        assert_eq!(r.confusion.missed["DATE"], 1);
        assert_eq!(r.confusion.missed["LOCATION"], 1);
        let js = serde_json::to_value(&r).unwrap();
        assert_eq!(js["micro"]["fn"], 2);
    }

    #[test]
    fn eval_reads_pred_with_pii_field() {
        let p: HashMap<String, Vec<Entity>> =
            serde_json::from_str(r#"{"a":[{"start":0,"end":4,"label":"DATE","pii":true}]}"#)
                .unwrap();
        let r = score(&[ex("a", vec![ent(0, 4, "DATE")])], &p);
        assert_eq!(r.pii_strict.f1, 1.0);
        assert!(format_report(&r).contains("DATE"));
    }
}
