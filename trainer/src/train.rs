//! `pii-trainer train`: fine-tune a BERT-family encoder as a word-level BIO tagger on CPU.
//!
//! Features come from the library's own tokenization (`pii::encode::Encoder`), so training
//! and inference agree: input = `[CLS] pieces [SEP]`, and only the first piece of each
//! whitespace word carries the word's tag; every other position is masked out of the loss.
//!
//! Speed: the batch is split into `--threads` parts that run forward/backward on their own
//! threads (gemm single-threaded in each), and their gradients are summed by an in-place
//! AdamW. Each part is padded only to its longest sequence; batches are built from
//! length-sorted chunks so padding stays small.
//!
//! Layer selection (`--layers N`): keeps teacher layers `floor(i * L / N)` for `i in 0..N`
//! (6 -> 3 keeps 0, 2, 4; DistilBERT's every-other-layer choice). Layer 0 is always kept, so
//! the embeddings still feed the layer that was trained on them. `--keep-layers 1,3,5`
//! chooses explicitly.

use anyhow::{bail, Context, Result};
use candle_core::backprop::GradStore;
use candle_core::{CpuStorage, Device, InplaceOp1, Layout, Storage, Tensor, Var};
use indicatif::{ProgressBar, ProgressStyle};
use pii::encode::{Encoded, Encoder};
use pii::manifest::{default_labels, LabelInfo};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde_json::json;
use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::bert::{masked_cross_entropy, no_decay, BertTagger, Dropout};
use crate::data::{self, Entity, Example};

/// Command-line arguments.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Pretrained BERT directory (config.json, model.safetensors, tokenizer.json).
    #[arg(long, default_value = ".deps/minilm")]
    pub init: PathBuf,
    /// Training jsonl.
    #[arg(long, default_value = "data/train.jsonl")]
    pub train: PathBuf,
    /// Dev jsonl, scored each epoch; the best epoch by span F1 is kept.
    #[arg(long)]
    pub dev: Option<PathBuf>,
    /// Output checkpoint directory.
    #[arg(long)]
    pub out: PathBuf,
    #[arg(long, default_value_t = 4)]
    pub epochs: usize,
    #[arg(long, default_value_t = 16)]
    pub batch_size: usize,
    /// Peak learning rate of the encoder.
    #[arg(long, default_value_t = 5e-5)]
    pub lr: f64,
    /// Peak learning rate of the new classifier head (default: 10 x --lr).
    #[arg(long)]
    pub head_lr: Option<f64>,
    #[arg(long, default_value_t = 0.01)]
    pub weight_decay: f64,
    /// Fraction of the steps spent in linear warmup.
    #[arg(long, default_value_t = 0.1)]
    pub warmup: f64,
    /// Clip the global gradient norm to this (0 = off).
    #[arg(long, default_value_t = 1.0)]
    pub clip: f64,
    #[arg(long, default_value_t = 0.1)]
    pub dropout: f32,
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Keep N evenly spaced teacher layers (floor(i*L/N)); default all.
    #[arg(long)]
    pub layers: Option<usize>,
    /// Keep exactly these teacher layers (comma separated), overrides --layers.
    #[arg(long, value_delimiter = ',')]
    pub keep_layers: Option<Vec<usize>>,
    /// Maximum tokens per sequence including [CLS] and [SEP].
    #[arg(long, default_value_t = 128)]
    pub max_length: usize,
    /// Worker threads (each runs part of every batch with single-threaded kernels).
    #[arg(long, default_value_t = 2)]
    pub threads: usize,
    /// Use only the first N training examples.
    #[arg(long)]
    pub limit: Option<usize>,
    /// Use only the first N dev examples.
    #[arg(long)]
    pub dev_limit: Option<usize>,
    /// Stop after N optimizer steps (the schedule still spans all epochs).
    #[arg(long)]
    pub max_steps: Option<usize>,
}

/// Tag index of `B-label_i` is `1 + 2i`, of `I-label_i` is `2 + 2i`; `O` is 0.
pub fn b_tag(label: usize) -> u32 {
    (1 + 2 * label) as u32
}

/// One training/eval sequence.
#[derive(Clone, Debug)]
pub struct Feature {
    /// `[CLS] pieces [SEP]`.
    pub ids: Vec<u32>,
    /// Tag per position (0 where not scored).
    pub labels: Vec<u32>,
    /// 1 where the position is the first piece of a word, else 0.
    pub scored: Vec<f32>,
    /// For each word, its position in `ids` when it has a piece inside the window.
    pub word_pos: Vec<Option<usize>>,
}

/// Word-level BIO tags from character-offset entities.
pub fn word_tags(ex: &Example, enc: &Encoded, labels: &[LabelInfo]) -> Result<Vec<u32>> {
    let mut tags = vec![0u32; enc.words.len()];
    let mut ents: Vec<&Entity> = ex.entities.iter().collect();
    ents.sort_by_key(|e| (e.start, e.end));
    for e in ents {
        let li = labels
            .iter()
            .position(|l| l.name == e.label)
            .with_context(|| format!("example {}: unknown label {}", ex.id, e.label))?;
        let bs = data::char_to_byte(&ex.text, e.start);
        let be = data::char_to_byte(&ex.text, e.end);
        let mut first = true;
        for (w, &(ws, we)) in enc.words.iter().enumerate() {
            if ws < be && bs < we {
                if tags[w] != 0 {
                    continue; // overlapping entities: the earlier one wins
                }
                tags[w] = if first { b_tag(li) } else { b_tag(li) + 1 };
                first = false;
            }
        }
    }
    Ok(tags)
}

/// Build the model input and loss targets of one example.
pub fn featurize(encoder: &Encoder, ex: &Example, labels: &[LabelInfo], max_length: usize) -> Result<(Feature, Encoded)> {
    let enc = encoder.encode(&ex.text).map_err(|e| anyhow::anyhow!("example {}: {e}", ex.id))?;
    let tags = word_tags(ex, &enc, labels)?;
    let n = enc.ids.len().min(max_length - 2);
    let mut ids = Vec::with_capacity(n + 2);
    ids.push(encoder.cls_id());
    ids.extend_from_slice(&enc.ids[..n]);
    ids.push(encoder.sep_id());
    let mut lab = vec![0u32; n + 2];
    let mut scored = vec![0f32; n + 2];
    let mut word_pos = vec![None; enc.words.len()];
    for (w, fp) in enc.first_piece.iter().enumerate() {
        if let Some(p) = *fp {
            let p = p as usize;
            if p < n {
                lab[p + 1] = tags[w];
                scored[p + 1] = 1.0;
                word_pos[w] = Some(p + 1);
            }
        }
    }
    Ok((Feature { ids, labels: lab, scored, word_pos }, enc))
}

/// Spans (char offsets) from predicted word tags: `B-X` starts a span; `I-X` continues a
/// span of X, or starts one when the previous word is not in an X span.
pub fn decode_spans(text: &str, words: &[(usize, usize)], tags: &[u32], labels: &[LabelInfo]) -> Vec<Entity> {
    let mut out = Vec::new();
    let mut cur: Option<(usize, usize, usize)> = None; // (label, first word, last word)
    let flush = |c: Option<(usize, usize, usize)>, out: &mut Vec<Entity>| {
        if let Some((l, a, b)) = c {
            out.push(Entity {
                start: data::byte_to_char(text, words[a].0),
                end: data::byte_to_char(text, words[b].1),
                label: labels[l].name.clone(),
            });
        }
    };
    for (w, &t) in tags.iter().enumerate() {
        if t == 0 || (t as usize) > 2 * labels.len() {
            flush(cur.take(), &mut out);
            continue;
        }
        let l = (t as usize - 1) / 2;
        let is_b = (t as usize - 1) % 2 == 0;
        match cur {
            Some((cl, a, _)) if !is_b && cl == l => cur = Some((cl, a, w)),
            _ => {
                flush(cur.take(), &mut out);
                cur = Some((l, w, w));
            }
        }
    }
    flush(cur, &mut out);
    out
}

/// Exact-match span scores.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SpanScore {
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    pub gold: usize,
    pub pred: usize,
    pub correct: usize,
}

fn prf(correct: usize, gold: usize, pred: usize) -> SpanScore {
    let p = if pred == 0 { 0.0 } else { correct as f64 / pred as f64 };
    let r = if gold == 0 { 0.0 } else { correct as f64 / gold as f64 };
    let f = if p + r == 0.0 { 0.0 } else { 2.0 * p * r / (p + r) };
    SpanScore { precision: p, recall: r, f1: f, gold, pred, correct }
}

/// Micro span F1 over all labels, over PII labels, and per label.
pub fn span_metrics(gold: &[Example], pred: &HashMap<String, Vec<Entity>>, labels: &[LabelInfo]) -> serde_json::Value {
    let mut counts: HashMap<&str, (usize, usize, usize)> = HashMap::new(); // correct, gold, pred
    for ex in gold {
        let p = pred.get(&ex.id).map(|v| v.as_slice()).unwrap_or(&[]);
        for g in &ex.entities {
            counts.entry(g.label.as_str()).or_default().1 += 1;
            if p.contains(g) {
                counts.entry(g.label.as_str()).or_default().0 += 1;
            }
        }
        for e in p {
            counts.entry(e.label.as_str()).or_default().2 += 1;
        }
    }
    let sum = |f: &dyn Fn(&str) -> bool| {
        let mut t = (0, 0, 0);
        for (l, c) in &counts {
            if f(l) {
                t.0 += c.0;
                t.1 += c.1;
                t.2 += c.2;
            }
        }
        prf(t.0, t.1, t.2)
    };
    let is_pii = |l: &str| labels.iter().any(|x| x.name == l && x.pii);
    let mut per = serde_json::Map::new();
    for l in labels {
        let c = counts.get(l.name.as_str()).copied().unwrap_or_default();
        per.insert(l.name.clone(), serde_json::to_value(prf(c.0, c.1, c.2)).unwrap());
    }
    json!({
        "micro": sum(&|_| true),
        "pii": sum(&is_pii),
        "per_label": per,
    })
}

/// Tensors of one (sub)batch, padded to its longest sequence. `norm` divides the loss.
fn batch_tensors(feats: &[&Feature], norm: f32) -> Result<(Tensor, Tensor, Tensor, Tensor)> {
    let b = feats.len();
    let s = feats.iter().map(|f| f.ids.len()).max().unwrap_or(0);
    let mut ids = vec![0u32; b * s];
    let mut mask = vec![0f32; b * s];
    let mut lab = vec![0u32; b * s];
    let mut w = vec![0f32; b * s];
    for (i, f) in feats.iter().enumerate() {
        for j in 0..f.ids.len() {
            ids[i * s + j] = f.ids[j];
            mask[i * s + j] = 1.0;
            lab[i * s + j] = f.labels[j];
            w[i * s + j] = f.scored[j] / norm;
        }
    }
    let d = Device::Cpu;
    Ok((
        Tensor::from_vec(ids, (b, s), &d)?,
        Tensor::from_vec(mask, (b, s), &d)?,
        Tensor::from_vec(lab, b * s, &d)?,
        Tensor::from_vec(w, b * s, &d)?,
    ))
}

/// Gradients of one part of a batch: the dense ones and, for the word embedding, the
/// gradient of the looked-up rows with their ids.
pub struct PartGrads {
    pub loss: f32,
    pub grads: GradStore,
    pub word_ids: Vec<u32>,
    pub word_rows: Tensor,
}

/// Loss and gradients of one part of a batch (loss normalised by `norm`).
fn part_grads(model: &BertTagger, feats: &[&Feature], norm: f32, dropout: &mut Dropout) -> Result<PartGrads> {
    let (ids, mask, lab, w) = batch_tensors(feats, norm)?;
    let (b, s) = ids.dims2()?;
    let (logits, rows) = model.forward_sparse(&ids, &mask, Some(dropout))?;
    let logits = logits.reshape((b * s, model.num_tags))?;
    let loss = masked_cross_entropy(&logits, &lab, &w)?;
    let grads = loss.backward()?;
    let word_rows = grads.get(rows.as_tensor()).context("no gradient for the word rows")?.contiguous()?;
    Ok(PartGrads { loss: loss.to_scalar::<f32>()?, grads, word_ids: ids.flatten_all()?.to_vec1::<u32>()?, word_rows })
}

/// Split `items` into `k` contiguous parts of near-equal size (no empty parts).
fn split_parts<T>(items: &[T], k: usize) -> Vec<&[T]> {
    let k = k.max(1).min(items.len().max(1));
    let n = items.len();
    let mut out = Vec::with_capacity(k);
    let mut start = 0;
    for i in 0..k {
        let end = (n * (i + 1)) / k;
        if end > start {
            out.push(&items[start..end]);
        }
        start = end;
    }
    out
}

fn dropout_seed(seed: u64, step: usize, part: usize) -> u64 {
    let mut z = seed ^ ((step as u64) << 8 | part as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Forward/backward of a whole batch on `threads` workers; the loss is the batch mean.
fn batch_grads(
    model: &BertTagger,
    feats: &[&Feature],
    threads: usize,
    dropout_p: f32,
    seed: u64,
    step: usize,
) -> Result<(f32, Vec<PartGrads>)> {
    let norm: f32 = feats.iter().map(|f| f.scored.iter().sum::<f32>()).sum::<f32>().max(1.0);
    let parts = split_parts(feats, threads);
    if parts.len() == 1 {
        let mut d = Dropout::new(dropout_seed(seed, step, 0), dropout_p);
        let g = part_grads(model, parts[0], norm, &mut d)?;
        return Ok((g.loss, vec![g]));
    }
    let results: Vec<Result<PartGrads>> = std::thread::scope(|sc| {
        let hs: Vec<_> = parts
            .iter()
            .enumerate()
            .map(|(i, p)| {
                sc.spawn(move || {
                    let mut d = Dropout::new(dropout_seed(seed, step, i), dropout_p);
                    part_grads(model, p, norm, &mut d)
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().expect("worker panicked")).collect()
    });
    let mut loss = 0.0;
    let mut gs = Vec::new();
    for r in results {
        let g = r?;
        loss += g.loss;
        gs.push(g);
    }
    Ok((loss, gs))
}

/// Per-step AdamW constants.
#[derive(Clone, Copy)]
struct Hyper {
    b1: f32,
    b2: f32,
    eps: f32,
    /// lr / (1 - beta1^t)
    step: f32,
    /// 1 / (1 - beta2^t)
    inv_bc2: f32,
    /// 1 - lr * weight_decay
    decay: f32,
    /// gradient clipping factor
    gscale: f32,
}

#[inline]
fn adam_one(p: &mut f32, m: &mut f32, v: &mut f32, g: f32, h: &Hyper) {
    let g = g * h.gscale;
    *m = h.b1 * *m + (1.0 - h.b1) * g;
    *v = h.b2 * *v + (1.0 - h.b2) * g * g;
    *p = *p * h.decay - h.step * *m / ((*v * h.inv_bc2).sqrt() + h.eps);
}

/// Adam update of a contiguous block from the sum of the gradient slices `gs`.
fn adam_block(p: &mut [f32], m: &mut [f32], v: &mut [f32], gs: &[&[f32]], h: &Hyper) {
    match gs {
        [] => {
            for ((p, m), v) in p.iter_mut().zip(m.iter_mut()).zip(v.iter_mut()) {
                adam_one(p, m, v, 0.0, h);
            }
        }
        [a] => {
            for (((p, m), v), a) in p.iter_mut().zip(m.iter_mut()).zip(v.iter_mut()).zip(a.iter()) {
                adam_one(p, m, v, *a, h);
            }
        }
        [a, b] => {
            for ((((p, m), v), a), b) in p.iter_mut().zip(m.iter_mut()).zip(v.iter_mut()).zip(a.iter()).zip(b.iter()) {
                adam_one(p, m, v, *a + *b, h);
            }
        }
        _ => {
            for i in 0..p.len() {
                let g: f32 = gs.iter().map(|g| g[i]).sum();
                adam_one(&mut p[i], &mut m[i], &mut v[i], g, h);
            }
        }
    }
}

/// The in-place update of one parameter: dense (`rows` = None) or only the given rows of
/// width `width` (lazy, like PyTorch's SparseAdam, for the word embedding).
struct AdamUpdate<'a> {
    grads: &'a [&'a [f32]],
    rows: Option<(&'a [u32], usize)>,
    state: RefCell<(&'a mut [f32], &'a mut [f32])>,
    hyper: Hyper,
}

impl InplaceOp1 for AdamUpdate<'_> {
    fn name(&self) -> &'static str {
        "adamw-inplace"
    }

    fn cpu_fwd(&self, storage: &mut CpuStorage, layout: &Layout) -> candle_core::Result<()> {
        let CpuStorage::F32(p) = storage else {
            return Err(candle_core::Error::Msg("adamw: parameters must be f32".into()));
        };
        let (a, b) = layout
            .contiguous_offsets()
            .ok_or_else(|| candle_core::Error::Msg("adamw: parameter not contiguous".into()))?;
        let p = &mut p[a..b];
        let mut st = self.state.borrow_mut();
        let (m, v) = &mut *st;
        match self.rows {
            None => adam_block(p, m, v, self.grads, &self.hyper),
            Some((rows, w)) => {
                let g = self.grads[0];
                for &r in rows {
                    let r = r as usize * w..(r as usize + 1) * w;
                    adam_block(&mut p[r.clone()], &mut m[r.clone()], &mut v[r.clone()], &[&g[r]], &self.hyper);
                }
            }
        }
        Ok(())
    }
}

fn f32_slice<'a>(st: &'a Storage, layout: &Layout) -> Result<&'a [f32]> {
    let (a, b) = layout.contiguous_offsets().context("gradient not contiguous")?;
    match st {
        Storage::Cpu(CpuStorage::F32(v)) => Ok(&v[a..b]),
        _ => bail!("gradient is not a CPU f32 tensor"),
    }
}

fn sq_norm(gs: &[&[f32]]) -> f64 {
    match gs {
        [] => 0.0,
        [a] => a.iter().map(|&x| (x * x) as f64).sum(),
        _ => (0..gs[0].len())
            .map(|i| {
                let s: f32 = gs.iter().map(|g| g[i]).sum();
                (s * s) as f64
            })
            .sum(),
    }
}

/// AdamW applied in place to each parameter's storage, summing the gradients of the parts.
/// The word embedding (when `sparse_word` is set) is updated lazily: only the rows looked up
/// in the step (its gradient is zero elsewhere), which avoids a dense vocab x hidden
/// gradient and update every step.
pub struct AdamW {
    m: Vec<Vec<f32>>,
    v: Vec<Vec<f32>>,
    t: i32,
    pub beta1: f32,
    pub beta2: f32,
    pub eps: f32,
    pub weight_decay: f32,
    threads: usize,
    /// Index of the word embedding in the parameter list.
    word: Option<usize>,
    word_width: usize,
    word_buf: Vec<f32>,
    word_seen: Vec<bool>,
}

impl AdamW {
    pub fn new(params: &[(String, Var)], weight_decay: f32, threads: usize) -> Self {
        let word = params.iter().position(|(n, _)| n == "embeddings.word_embeddings.weight");
        let (word_width, word_buf, word_seen) = match word {
            Some(i) => {
                let (r, c) = params[i].1.dims2().expect("word embedding is 2-D");
                (c, vec![0f32; r * c], vec![false; r])
            }
            None => (0, Vec::new(), Vec::new()),
        };
        AdamW {
            m: params.iter().map(|(_, v)| vec![0f32; v.elem_count()]).collect(),
            v: params.iter().map(|(_, v)| vec![0f32; v.elem_count()]).collect(),
            t: 0,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay,
            threads: threads.max(1),
            word,
            word_width,
            word_buf,
            word_seen,
        }
    }

    /// One step from the parts' gradients. `lr(name)` gives each parameter's learning
    /// rate. Returns the gradient norm before clipping.
    pub fn step(
        &mut self,
        params: &[(String, Var)],
        parts: &[PartGrads],
        lr: &(dyn Fn(&str) -> f32 + Sync),
        clip: f32,
    ) -> Result<f32> {
        self.t += 1;
        let bc1 = 1.0 - self.beta1.powi(self.t);
        let bc2 = 1.0 - self.beta2.powi(self.t);
        // Scatter the word rows' gradients into the persistent buffer.
        let mut rows: Vec<u32> = Vec::new();
        if let Some(_wi) = self.word {
            let w = self.word_width;
            for p in parts {
                let (st, l) = p.word_rows.storage_and_layout();
                let g = f32_slice(&st, l)?;
                for (i, &id) in p.word_ids.iter().enumerate() {
                    let r = id as usize;
                    if !self.word_seen[r] {
                        self.word_seen[r] = true;
                        rows.push(id);
                    }
                    for (d, s) in self.word_buf[r * w..(r + 1) * w].iter_mut().zip(&g[i * w..(i + 1) * w]) {
                        *d += *s;
                    }
                }
            }
            rows.sort_unstable();
        }
        // Contiguous dense gradients per parameter (the word embedding has none).
        let gts: Vec<Vec<Tensor>> = params
            .iter()
            .enumerate()
            .map(|(i, (_, v))| {
                if Some(i) == self.word {
                    return Ok(Vec::new());
                }
                parts
                    .iter()
                    .filter_map(|p| p.grads.get(v.as_tensor()))
                    .map(|t| t.contiguous())
                    .collect::<candle_core::Result<Vec<_>>>()
            })
            .collect::<candle_core::Result<_>>()?;
        let guards: Vec<Vec<_>> = gts.iter().map(|ts| ts.iter().map(|t| t.storage_and_layout()).collect()).collect();
        let mut slices: Vec<Vec<&[f32]>> = guards
            .iter()
            .map(|gs| gs.iter().map(|(s, l)| f32_slice(s, l)).collect::<Result<Vec<_>>>())
            .collect::<Result<_>>()?;
        if let Some(wi) = self.word {
            slices[wi] = vec![&self.word_buf];
        }
        // Global norm of the summed gradient.
        let mut sq = 0f64;
        for (i, gs) in slices.iter().enumerate() {
            if Some(i) == self.word {
                let w = self.word_width;
                for &r in &rows {
                    sq += sq_norm(&[&self.word_buf[r as usize * w..(r as usize + 1) * w]]);
                }
            } else {
                sq += sq_norm(gs);
            }
        }
        let norm = sq.sqrt() as f32;
        let gscale = if clip > 0.0 && norm > clip { clip / norm } else { 1.0 };
        // Updates, the parameters shared out over the threads by size.
        let mut order: Vec<usize> = (0..params.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(params[i].1.elem_count()));
        let mut groups: Vec<Vec<usize>> = vec![Vec::new(); self.threads];
        let mut load = vec![0usize; self.threads];
        for i in order {
            let cost = if Some(i) == self.word { rows.len() * self.word_width } else { params[i].1.elem_count() };
            let g = (0..self.threads).min_by_key(|&g| load[g]).unwrap();
            load[g] += cost;
            groups[g].push(i);
        }
        let mut states: Vec<Option<(&mut Vec<f32>, &mut Vec<f32>)>> =
            self.m.iter_mut().zip(self.v.iter_mut()).map(Some).collect();
        let mut jobs: Vec<Vec<(usize, (&mut Vec<f32>, &mut Vec<f32>))>> = Vec::new();
        for g in &groups {
            jobs.push(g.iter().map(|&i| (i, states[i].take().unwrap())).collect());
        }
        let (b1, b2, eps, wd, word, width) = (self.beta1, self.beta2, self.eps, self.weight_decay, self.word, self.word_width);
        let slices = &slices;
        let rows_ref = &rows;
        let run_job = move |job: Vec<(usize, (&mut Vec<f32>, &mut Vec<f32>))>| -> Result<()> {
            for (i, (m, v)) in job {
                let (name, var) = &params[i];
                let lr = lr(name);
                let hyper = Hyper {
                    b1,
                    b2,
                    eps,
                    step: lr / bc1,
                    inv_bc2: 1.0 / bc2,
                    decay: 1.0 - lr * if no_decay(name) { 0.0 } else { wd },
                    gscale,
                };
                let op = AdamUpdate {
                    grads: &slices[i],
                    rows: if Some(i) == word { Some((rows_ref.as_slice(), width)) } else { None },
                    state: RefCell::new((m.as_mut_slice(), v.as_mut_slice())),
                    hyper,
                };
                var.as_tensor().inplace_op1(&op)?;
            }
            Ok(())
        };
        if jobs.len() == 1 {
            run_job(jobs.pop().unwrap())?;
        } else {
            let rs: Vec<Result<()>> = std::thread::scope(|sc| {
                let hs: Vec<_> = jobs.into_iter().map(|j| sc.spawn(move || run_job(j))).collect();
                hs.into_iter().map(|h| h.join().expect("optimizer worker panicked")).collect()
            });
            for r in rs {
                r?;
            }
        }
        drop(guards);
        // Clear the word buffer's touched rows.
        let w = self.word_width;
        for &r in &rows {
            self.word_buf[r as usize * w..(r as usize + 1) * w].fill(0.0);
            self.word_seen[r as usize] = false;
        }
        Ok(norm)
    }
}
/// Predicted word tags for each feature (eval mode), on `threads` workers.
fn predict_tags(model: &BertTagger, feats: &[Feature], threads: usize) -> Result<Vec<Vec<u32>>> {
    let mut order: Vec<usize> = (0..feats.len()).collect();
    order.sort_by_key(|&i| feats[i].ids.len());
    let batches: Vec<Vec<usize>> = order.chunks(32).map(|c| c.to_vec()).collect();
    let run_batch = |idx: &[usize]| -> Result<Vec<(usize, Vec<u32>)>> {
        let fs: Vec<&Feature> = idx.iter().map(|&i| &feats[i]).collect();
        let (ids, mask, _, _) = batch_tensors(&fs, 1.0)?;
        let logits = model.forward(&ids, &mask, None)?;
        let am = logits.argmax(candle_core::D::Minus1)?.to_vec2::<u32>()?;
        Ok(idx
            .iter()
            .zip(am)
            .map(|(&i, row)| (i, feats[i].word_pos.iter().map(|p| p.map(|p| row[p]).unwrap_or(0)).collect()))
            .collect())
    };
    let threads = threads.max(1);
    let results: Vec<Result<Vec<(usize, Vec<u32>)>>> = std::thread::scope(|sc| {
        let hs: Vec<_> = (0..threads)
            .map(|t| {
                let batches = &batches;
                let run_batch = &run_batch;
                sc.spawn(move || {
                    let mut out = Vec::new();
                    for b in batches.iter().skip(t).step_by(threads) {
                        out.extend(run_batch(b)?);
                    }
                    Ok(out)
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().expect("eval worker panicked")).collect()
    });
    let mut tags = vec![Vec::new(); feats.len()];
    for r in results {
        for (i, t) in r? {
            tags[i] = t;
        }
    }
    Ok(tags)
}

struct DevSet {
    examples: Vec<Example>,
    feats: Vec<Feature>,
    words: Vec<Vec<(usize, usize)>>,
}

fn evaluate(model: &BertTagger, dev: &DevSet, labels: &[LabelInfo], threads: usize) -> Result<serde_json::Value> {
    let tags = predict_tags(model, &dev.feats, threads)?;
    let mut pred = HashMap::new();
    for (i, ex) in dev.examples.iter().enumerate() {
        pred.insert(ex.id.clone(), decode_spans(&ex.text, &dev.words[i], &tags[i], labels));
    }
    Ok(span_metrics(&dev.examples, &pred, labels))
}

/// Keep freed memory in the process: candle allocates fresh buffers for every op, and
/// glibc's default trimming returns them to the kernel, so each step page-faults them back.
fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        extern "C" {
            fn mallopt(param: i32, value: i32) -> i32;
        }
        const M_TRIM_THRESHOLD: i32 = -1;
        const M_MMAP_THRESHOLD: i32 = -3;
        // SAFETY: mallopt only changes allocator tunables; called before worker threads start.
        unsafe {
            mallopt(M_TRIM_THRESHOLD, i32::MAX);
            mallopt(M_MMAP_THRESHOLD, 32 << 20);
        }
    }
}

/// Teacher layers kept for `--layers n` out of `total`: `floor(i * total / n)`.
pub fn select_layers(total: usize, n: usize) -> Result<Vec<usize>> {
    if n == 0 || n > total {
        bail!("--layers must be between 1 and {total}");
    }
    Ok((0..n).map(|i| i * total / n).collect())
}

fn lr_factor(step: usize, total: usize, warmup: usize) -> f64 {
    if step < warmup {
        (step + 1) as f64 / warmup as f64
    } else {
        let rest = (total - warmup).max(1);
        ((total - step) as f64 / rest as f64).max(0.0)
    }
}

/// Run the command.
pub fn run(args: Args) -> Result<()> {
    let t0 = Instant::now();
    if args.batch_size == 0 || args.epochs == 0 {
        bail!("--batch-size and --epochs must be positive");
    }
    let threads = args.threads.max(1);
    // Each worker runs its part with single-threaded kernels.
    std::env::set_var("RAYON_NUM_THREADS", "1");
    keep_freed_memory();

    let labels = default_labels();
    let num_tags = 1 + 2 * labels.len();
    let tok_path = args.init.join("tokenizer.json");
    let encoder = Encoder::from_file(&tok_path, args.max_length)
        .map_err(|e| anyhow::anyhow!("{}: {e}", tok_path.display()))?;

    let init_cfg = crate::bert::BertConfig::from_file(&args.init.join("config.json"))?;
    let keep: Vec<usize> = match (&args.keep_layers, args.layers) {
        (Some(k), _) => k.clone(),
        (None, Some(n)) => select_layers(init_cfg.num_hidden_layers, n)?,
        (None, None) => (0..init_cfg.num_hidden_layers).collect(),
    };
    if args.max_length > init_cfg.max_position_embeddings {
        bail!("--max-length {} exceeds max_position_embeddings {}", args.max_length, init_cfg.max_position_embeddings);
    }
    let (model, mut cfg_json) = BertTagger::from_pretrained(&args.init, num_tags, Some(&keep), args.seed)?;

    let mut train_ex = data::read_jsonl(&args.train)?;
    if let Some(n) = args.limit {
        train_ex.truncate(n);
    }
    if train_ex.is_empty() {
        bail!("{}: no training examples", args.train.display());
    }
    let mut feats = Vec::with_capacity(train_ex.len());
    let mut truncated = 0;
    for ex in &train_ex {
        let (f, enc) = featurize(&encoder, ex, &labels, args.max_length)?;
        if enc.ids.len() + 2 > args.max_length {
            truncated += 1;
        }
        feats.push(f);
    }
    let dev = match &args.dev {
        Some(p) => {
            let mut examples = data::read_jsonl(p)?;
            if let Some(n) = args.dev_limit {
                examples.truncate(n);
            }
            let mut fs = Vec::new();
            let mut words = Vec::new();
            for ex in &examples {
                let (f, enc) = featurize(&encoder, ex, &labels, args.max_length)?;
                fs.push(f);
                words.push(enc.words);
            }
            Some(DevSet { examples, feats: fs, words })
        }
        None => None,
    };

    let steps_per_epoch = feats.len().div_ceil(args.batch_size);
    let sched_total = steps_per_epoch * args.epochs;
    let total_steps = args.max_steps.map(|m| m.min(sched_total)).unwrap_or(sched_total);
    let warmup = ((sched_total as f64 * args.warmup).ceil() as usize).max(1);
    let head_lr = args.head_lr.unwrap_or(args.lr * 10.0);
    let n_params: usize = model.params.iter().map(|(_, v)| v.elem_count()).sum();
    eprintln!(
        "train: {} examples ({} truncated), dev: {}, {} layers kept {:?}, {:.1}M params, {} steps/epoch x {} epochs, batch {}, lr {} (head {}), {} threads",
        feats.len(),
        truncated,
        dev.as_ref().map(|d| d.examples.len()).unwrap_or(0),
        keep.len(),
        keep,
        n_params as f64 / 1e6,
        steps_per_epoch,
        args.epochs,
        args.batch_size,
        args.lr,
        head_lr,
        threads
    );

    std::fs::create_dir_all(&args.out).with_context(|| format!("create {}", args.out.display()))?;
    cfg_json["architectures"] = json!(["BertForTokenClassification"]);
    let tag_names = {
        let mut t = vec!["O".to_string()];
        for l in &labels {
            t.push(format!("B-{}", l.name));
            t.push(format!("I-{}", l.name));
        }
        t
    };
    cfg_json["id2label"] = json!(tag_names.iter().enumerate().map(|(i, n)| (i.to_string(), json!(n))).collect::<serde_json::Map<String, serde_json::Value>>());
    cfg_json["label2id"] = json!(tag_names.iter().enumerate().map(|(i, n)| (n.clone(), json!(i))).collect::<serde_json::Map<String, serde_json::Value>>());
    std::fs::write(args.out.join("config.json"), serde_json::to_string_pretty(&cfg_json)?)?;
    std::fs::copy(&tok_path, args.out.join("tokenizer.json"))?;

    let mut opt = AdamW::new(&model.params, args.weight_decay as f32, threads);
    let mut rng = ChaCha8Rng::seed_from_u64(args.seed);
    let mut step = 0usize;
    let mut history = Vec::new();
    let mut best: Option<(usize, f64, serde_json::Value)> = None;
    let mut train_seconds = 0.0;
    let mut trained_steps = 0usize;

    'epochs: for epoch in 1..=args.epochs {
        // Shuffle, sort chunks of 50 batches by length, shuffle the batches.
        let mut idx: Vec<usize> = (0..feats.len()).collect();
        idx.shuffle(&mut rng);
        for chunk in idx.chunks_mut(args.batch_size * 50) {
            chunk.sort_by_key(|&i| feats[i].ids.len());
        }
        let mut batches: Vec<Vec<usize>> = idx.chunks(args.batch_size).map(|c| c.to_vec()).collect();
        batches.shuffle(&mut rng);
        let n_batches = batches.len().min(total_steps - step);
        let pb = ProgressBar::new(n_batches as u64).with_style(
            ProgressStyle::with_template("epoch {prefix} {bar:30} {pos}/{len} {msg} [{elapsed_precise}<{eta_precise}]")
                .unwrap(),
        );
        pb.set_prefix(format!("{epoch}/{}", args.epochs));
        let te = Instant::now();
        let mut loss_sum = 0.0f64;
        let mut n = 0usize;
        for b in batches.iter().take(n_batches) {
            let fs: Vec<&Feature> = b.iter().map(|&i| &feats[i]).collect();
            let tg = Instant::now();
            let (loss, grads) = batch_grads(&model, &fs, threads, args.dropout, args.seed, step)?;
            let tg = tg.elapsed().as_secs_f64();
            let to = Instant::now();
            if !loss.is_finite() {
                bail!("loss is {loss} at step {step}");
            }
            let f = lr_factor(step, sched_total, warmup);
            let (lr_body, lr_head) = ((args.lr * f) as f32, (head_lr * f) as f32);
            opt.step(
                &model.params,
                &grads,
                &|name: &str| if name.starts_with("classifier.") { lr_head } else { lr_body },
                args.clip as f32,
            )?;
            let to = to.elapsed().as_secs_f64();
            let td = Instant::now();
            drop(grads);
            if std::env::var_os("PII_TRAIN_PROFILE").is_some() {
                eprintln!("step {step}: grads {tg:.3} s, optimizer {to:.3} s, drop {:.3} s, max len {}", td.elapsed().as_secs_f64(), fs.iter().map(|f| f.ids.len()).max().unwrap_or(0));
            }
            step += 1;
            n += 1;
            loss_sum += loss as f64;
            let sps = te.elapsed().as_secs_f64() / n as f64;
            pb.set_message(format!("loss {:.4} ({:.3} s/step)", loss_sum / n as f64, sps));
            pb.inc(1);
            if pb.is_hidden() && (n % 50 == 0 || n == n_batches) {
                eprintln!("epoch {epoch} step {n}/{n_batches} loss {:.4} ({sps:.3} s/step)", loss_sum / n as f64);
            }
        }
        pb.finish_and_clear();
        let secs = te.elapsed().as_secs_f64();
        train_seconds += secs;
        trained_steps += n;
        let ev = Instant::now();
        let metrics = match &dev {
            Some(d) => Some(evaluate(&model, d, &labels, threads)?),
            None => None,
        };
        let f1 = metrics.as_ref().map(|m| m["micro"]["f1"].as_f64().unwrap_or(0.0));
        let pii_f1 = metrics.as_ref().map(|m| m["pii"]["f1"].as_f64().unwrap_or(0.0));
        let loss = loss_sum / n.max(1) as f64;
        eprintln!(
            "epoch {epoch}: loss {loss:.4}, dev span F1 {}, PII F1 {}, {n} steps in {secs:.1} s ({:.3} s/step), eval {:.1} s",
            f1.map(|f| format!("{f:.4}")).unwrap_or("-".into()),
            pii_f1.map(|f| format!("{f:.4}")).unwrap_or("-".into()),
            secs / n.max(1) as f64,
            ev.elapsed().as_secs_f64()
        );
        history.push(json!({
            "epoch": epoch, "steps": n, "loss": loss, "dev_f1": f1, "dev_pii_f1": pii_f1,
            "seconds": secs, "seconds_per_step": secs / n.max(1) as f64,
        }));
        let score = f1.unwrap_or(epoch as f64); // no dev set: keep the last epoch
        if best.as_ref().map(|b| score > b.1).unwrap_or(true) {
            let tmp = args.out.join("model.safetensors.tmp");
            model.save_safetensors(&tmp)?;
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o644))?;
            }
            std::fs::rename(&tmp, args.out.join("model.safetensors"))?;
            best = Some((epoch, score, metrics.unwrap_or(serde_json::Value::Null)));
        }
        if step >= total_steps {
            break 'epochs;
        }
    }

    let (best_epoch, _, dev_metrics) = best.context("no epoch ran")?;
    let meta = json!({
        "labels": labels,
        "max_length": args.max_length,
        "seed": args.seed,
        "init": args.init.display().to_string(),
        "init_layers": keep,
        "epochs": args.epochs,
        "best_epoch": best_epoch,
        "batch_size": args.batch_size,
        "lr": args.lr,
        "head_lr": head_lr,
        "weight_decay": args.weight_decay,
        "warmup": args.warmup,
        "dropout": args.dropout,
        "threads": threads,
        "steps": step,
        "max_steps": args.max_steps,
        "seconds_per_step": train_seconds / trained_steps.max(1) as f64,
        "train_file": args.train.display().to_string(),
        "train_examples": feats.len(),
        "dev_file": args.dev.as_ref().map(|p| p.display().to_string()),
        "dev_examples": dev.as_ref().map(|d| d.examples.len()),
        "dev_metrics": dev_metrics,
        "history": history,
        "wall_seconds": t0.elapsed().as_secs_f64(),
    });
    std::fs::write(args.out.join("train_meta.json"), serde_json::to_string_pretty(&meta)?)?;
    eprintln!(
        "wrote {} (best epoch {best_epoch}) in {:.1} s",
        args.out.display(),
        t0.elapsed().as_secs_f64()
    );
    Ok(())
}

/// A checkpoint's directory check used by tests and other commands.
#[allow(dead_code)]
pub fn checkpoint_files(dir: &Path) -> [PathBuf; 4] {
    ["config.json", "model.safetensors", "tokenizer.json", "train_meta.json"].map(|f| dir.join(f))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bert::tests::tiny_config;
    use candle_core::DType;

    const VOCAB: &[&str] = &[
        "[PAD]", "[UNK]", "[CLS]", "[SEP]", "my", "naam", "is", "jo", "##se", "ku", "##mar", "and", "ro", "##han", "@",
        "x", ".", "com", "card", "four", "two",
    ];

    /// A tiny WordPiece tokenizer.json (BERT normalizer and pre-tokenizer).
    pub(crate) fn tiny_tokenizer_json() -> String {
        let vocab: serde_json::Map<String, serde_json::Value> =
            VOCAB.iter().enumerate().map(|(i, s)| (s.to_string(), json!(i))).collect();
        json!({
            "version": "1.0", "truncation": null, "padding": null, "added_tokens": [],
            "normalizer": {"type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": true,
                           "strip_accents": null, "lowercase": true},
            "pre_tokenizer": {"type": "BertPreTokenizer"},
            "post_processor": null, "decoder": null,
            "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                      "max_input_chars_per_word": 100, "vocab": vocab},
        })
        .to_string()
    }

    fn ent(start: usize, end: usize, label: &str) -> Entity {
        Entity { start, end, label: label.into() }
    }

    #[test]
    fn labels_align_to_first_pieces() {
        let enc = Encoder::from_bytes(tiny_tokenizer_json().as_bytes(), 128).unwrap();
        let text = "my naam is josé kumar and email is rohan@x.com";
        // Char offsets: "josé kumar" = 11..21, "rohan@x.com" = 35..46 (bytes are one more).
        let ex = Example {
            id: "a".into(),
            text: text.into(),
            entities: vec![ent(11, 21, "PERSON_NAME"), ent(35, 46, "EMAIL")],
        };
        assert_eq!(text.chars().skip(11).take(10).collect::<String>(), "josé kumar");
        let labels = default_labels();
        let (f, e) = featurize(&enc, &ex, &labels, 128).unwrap();
        // [CLS] my naam is jo ##se ku ##mar and [UNK] is ro ##han @ x . com [SEP]
        assert_eq!(f.ids, vec![2, 4, 5, 6, 7, 8, 9, 10, 11, 1, 6, 12, 13, 14, 15, 16, 17, 3]);
        let person = labels.iter().position(|l| l.name == "PERSON_NAME").unwrap() as u32;
        let email = labels.iter().position(|l| l.name == "EMAIL").unwrap() as u32;
        let mut want_lab = vec![0u32; 18];
        want_lab[4] = 1 + 2 * person;
        want_lab[6] = 2 + 2 * person;
        want_lab[11] = 1 + 2 * email;
        assert_eq!(f.labels, want_lab);
        let scored: Vec<usize> = f.scored.iter().enumerate().filter(|(_, &s)| s > 0.0).map(|(i, _)| i).collect();
        assert_eq!(scored, vec![1, 2, 3, 4, 6, 8, 9, 10, 11]);
        // Decoding the gold word tags gives back the gold spans.
        let tags = word_tags(&ex, &e, &labels).unwrap();
        assert_eq!(decode_spans(text, &e.words, &tags, &labels), ex.entities);
    }

    #[test]
    fn truncation_drops_words_past_the_window() {
        let enc = Encoder::from_bytes(tiny_tokenizer_json().as_bytes(), 6).unwrap();
        let ex = Example { id: "t".into(), text: "my card four two four".into(), entities: vec![ent(8, 21, "CREDIT_CARD")] };
        let (f, _) = featurize(&enc, &ex, &default_labels(), 6).unwrap();
        assert_eq!(f.ids.len(), 6);
        assert_eq!(f.labels, vec![0, 0, 0, 1, 2, 0]);
        assert_eq!(f.word_pos, vec![Some(1), Some(2), Some(3), Some(4), None]);
    }

    #[test]
    fn decode_bio_rules() {
        let labels = default_labels();
        let text = "a b c d e f";
        let words = pii::encode::words(text);
        // I-PHONE without B starts a span; B-PHONE after PHONE starts a new one; I of another label breaks.
        let tags = vec![4, 4, 3, 4, 6, 0];
        let got = decode_spans(text, &words, &tags, &labels);
        assert_eq!(got, vec![ent(0, 3, "PHONE"), ent(4, 7, "PHONE"), ent(8, 9, "EMAIL")]);
    }

    #[test]
    fn layer_selection() {
        assert_eq!(select_layers(6, 3).unwrap(), vec![0, 2, 4]);
        assert_eq!(select_layers(6, 6).unwrap(), vec![0, 1, 2, 3, 4, 5]);
        assert_eq!(select_layers(12, 4).unwrap(), vec![0, 3, 6, 9]);
        assert!(select_layers(6, 7).is_err());
    }

    fn tiny_feats() -> Vec<Feature> {
        let enc = Encoder::from_bytes(tiny_tokenizer_json().as_bytes(), 32).unwrap();
        let labels = default_labels();
        let exs = [
            Example { id: "1".into(), text: "my card four two four two".into(), entities: vec![ent(8, 25, "CREDIT_CARD")] },
            Example { id: "2".into(), text: "my naam is josé kumar".into(), entities: vec![ent(11, 21, "PERSON_NAME")] },
            Example { id: "3".into(), text: "rohan@x.com is my naam".into(), entities: vec![ent(0, 11, "EMAIL")] },
        ];
        exs.iter().map(|e| featurize(&enc, e, &labels, 32).unwrap().0).collect()
    }

    fn batch_loss(model: &BertTagger, feats: &[&Feature]) -> f32 {
        let norm: f32 = feats.iter().map(|f| f.scored.iter().sum::<f32>()).sum();
        let (ids, mask, lab, w) = batch_tensors(feats, norm).unwrap();
        let (b, s) = ids.dims2().unwrap();
        let logits = model.forward(&ids, &mask, None).unwrap().reshape((b * s, model.num_tags)).unwrap();
        masked_cross_entropy(&logits, &lab, &w).unwrap().to_scalar::<f32>().unwrap()
    }

    #[test]
    fn training_steps_reduce_the_loss() {
        let model = BertTagger::random(tiny_config(VOCAB.len()), 15, 11).unwrap();
        let feats = tiny_feats();
        let fs: Vec<&Feature> = feats.iter().collect();
        let before = batch_loss(&model, &fs);
        let mut opt = AdamW::new(&model.params, 0.01, 2);
        for step in 0..30 {
            // Two parts on two threads, as in training.
            let (_, grads) = batch_grads(&model, &fs, 2, 0.1, 1, step).unwrap();
            assert_eq!(grads.len(), 2);
            opt.step(&model.params, &grads, &|_| 3e-3, 1.0).unwrap();
        }
        let after = batch_loss(&model, &fs);
        assert!(after < before * 0.5, "loss {before} -> {after}");
    }

    #[test]
    fn split_gradients_equal_full_batch_gradients() {
        let model = BertTagger::random(tiny_config(VOCAB.len()), 15, 12).unwrap();
        let feats = tiny_feats();
        let fs: Vec<&Feature> = feats.iter().collect();
        // Reference: the dense path (word embedding gradient from candle) on the full batch.
        let norm: f32 = fs.iter().map(|f| f.scored.iter().sum::<f32>()).sum();
        let (ids, mask, lab, w) = batch_tensors(&fs, norm).unwrap();
        let (b, s) = ids.dims2().unwrap();
        let logits = model.forward(&ids, &mask, None).unwrap().reshape((b * s, 15)).unwrap();
        let loss = masked_cross_entropy(&logits, &lab, &w).unwrap();
        let full = loss.backward().unwrap();
        let (l2, parts) = batch_grads(&model, &fs, 2, 0.0, 1, 0).unwrap();
        assert_eq!(parts.len(), 2);
        assert!((loss.to_scalar::<f32>().unwrap() - l2).abs() < 1e-5);
        for (name, v) in &model.params {
            let a = full.get(v.as_tensor()).unwrap();
            let b = if name == "embeddings.word_embeddings.weight" {
                // Scatter the rows' gradients.
                let (r, c) = v.dims2().unwrap();
                let mut d = vec![0f32; r * c];
                for p in &parts {
                    let g = p.word_rows.to_vec2::<f32>().unwrap();
                    for (i, &id) in p.word_ids.iter().enumerate() {
                        for j in 0..c {
                            d[id as usize * c + j] += g[i][j];
                        }
                    }
                }
                Tensor::from_vec(d, (r, c), &Device::Cpu).unwrap()
            } else {
                parts.iter().map(|p| p.grads.get(v.as_tensor()).unwrap().clone()).reduce(|x, y| (x + y).unwrap()).unwrap()
            };
            let d = (a - b).unwrap().abs().unwrap().max_all().unwrap().to_scalar::<f32>().unwrap();
            assert!(d < 1e-5, "{name}: {d}");
        }
    }

    #[test]
    fn in_place_adamw_matches_reference() {
        let v = Var::from_vec(vec![1.0f32, -2.0, 0.5], 3, &Device::Cpu).unwrap();
        let params = vec![("w.weight".to_string(), v.clone())];
        let mut opt = AdamW::new(&params, 0.1, 2);
        let loss = (v.as_tensor() * v.as_tensor()).unwrap().sum_all().unwrap();
        let g = loss.backward().unwrap();
        let part = PartGrads { loss: 0.0, grads: g, word_ids: vec![], word_rows: Tensor::zeros(0, DType::F32, &Device::Cpu).unwrap() };
        opt.step(&params, &[part], &|_| 0.01, 0.0).unwrap();
        // First step: m_hat = g, v_hat = g^2, update = lr * sign(g) (+ decay).
        let got = v.as_tensor().to_vec1::<f32>().unwrap();
        for (x, p) in got.iter().zip([1.0f32, -2.0, 0.5]) {
            let want = p * (1.0 - 0.01 * 0.1) - 0.01 * (2.0 * p) / ((2.0 * p).abs() + 1e-8);
            assert!((x - want).abs() < 1e-6, "{x} vs {want}");
        }
    }

    #[test]
    fn from_pretrained_keeps_layers_and_roundtrips() {
        let cfg = tiny_config(VOCAB.len());
        let src = BertTagger::random(cfg.clone(), 15, 21).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let mut cfg6 = cfg.clone();
        cfg6.num_hidden_layers = 2;
        std::fs::write(dir.path().join("config.json"), serde_json::to_string(&cfg6).unwrap()).unwrap();
        // Save without the head, as a pretrained encoder would be, with a "bert." prefix.
        let map: HashMap<String, Tensor> = src
            .params
            .iter()
            .filter(|(n, _)| !n.starts_with("classifier."))
            .map(|(n, v)| (format!("bert.{n}"), v.as_tensor().clone()))
            .collect();
        candle_core::safetensors::save(&map, dir.path().join("model.safetensors")).unwrap();
        let (m, cfg_json) = BertTagger::from_pretrained(dir.path(), 15, Some(&[1]), 5).unwrap();
        assert_eq!(cfg_json["num_hidden_layers"], 1);
        assert_eq!(m.config.num_hidden_layers, 1);
        let name = "encoder.layer.0.attention.self.query.weight";
        let a = m.params.iter().find(|(n, _)| n == name).unwrap().1.as_tensor().to_vec2::<f32>().unwrap();
        let b = src
            .params
            .iter()
            .find(|(n, _)| n == "encoder.layer.1.attention.self.query.weight")
            .unwrap()
            .1
            .as_tensor()
            .to_vec2::<f32>()
            .unwrap();
        assert_eq!(a, b);
        // The head is seeded: the same seed gives the same head.
        let (m2, _) = BertTagger::from_pretrained(dir.path(), 15, Some(&[1]), 5).unwrap();
        assert_eq!(m.logits(&[2, 4, 5, 3]).unwrap(), m2.logits(&[2, 4, 5, 3]).unwrap());
        // Checkpoint roundtrip.
        let out = tempfile::tempdir().unwrap();
        std::fs::write(out.path().join("config.json"), cfg_json.to_string()).unwrap();
        m.save_safetensors(&out.path().join("model.safetensors")).unwrap();
        let back = BertTagger::load_checkpoint(out.path()).unwrap();
        assert_eq!(m.logits(&[2, 4, 5, 3]).unwrap(), back.logits(&[2, 4, 5, 3]).unwrap());
    }

    #[test]
    fn span_metrics_counts() {
        let labels = default_labels();
        let gold = vec![Example { id: "1".into(), text: "x".into(), entities: vec![ent(0, 3, "PHONE"), ent(5, 9, "CITY")] }];
        let mut pred = HashMap::new();
        pred.insert("1".to_string(), vec![ent(0, 3, "PHONE"), ent(5, 8, "CITY")]);
        let m = span_metrics(&gold, &pred, &labels);
        assert!((m["micro"]["f1"].as_f64().unwrap() - 0.5).abs() < 1e-9);
        assert!((m["pii"]["f1"].as_f64().unwrap() - 1.0).abs() < 1e-9);
    }
}
