//! Knowledge distillation: a teacher checkpoint's soft targets for every training word, and
//! the loss a student learns them by.
//!
//! `pii-trainer distill` is `train` with a teacher: each scored position (the first piece of a
//! word) carries the teacher's tag distribution at temperature `T`, and the loss is
//! `(1 - alpha) * CE(gold) + alpha * T^2 * CE(teacher_T, student_T)` (the second term is the
//! KL divergence to the teacher plus the teacher's entropy, a constant). By default the
//! student starts from the teacher itself, narrowed by [`crate::prune`].

use anyhow::{bail, Result};
use candle_core::{Device, Tensor};

use crate::bert::{log_softmax_last, BertTagger};
use crate::features::{batch_tensors, Feature};

/// Eval-mode logits of every feature, `[positions][tags]`, in batches of 32 over `threads`
/// workers (length-sorted, so padding stays small).
pub fn feature_logits(model: &BertTagger, feats: &[&Feature], threads: usize) -> Result<Vec<Vec<Vec<f32>>>> {
    let mut order: Vec<usize> = (0..feats.len()).collect();
    order.sort_by_key(|&i| feats[i].ids.len());
    let batches: Vec<Vec<usize>> = order.chunks(32).map(|c| c.to_vec()).collect();
    let threads = threads.max(1);
    let results: Vec<Result<Vec<(usize, Vec<Vec<f32>>)>>> = std::thread::scope(|sc| {
        let hs: Vec<_> = (0..threads)
            .map(|t| {
                let batches = &batches;
                sc.spawn(move || {
                    let mut out = Vec::new();
                    for b in batches.iter().skip(t).step_by(threads) {
                        let fs: Vec<&Feature> = b.iter().map(|&i| feats[i]).collect();
                        let (ids, mask, _, _) = batch_tensors(&fs, 1.0)?;
                        let rows = model.forward(&ids, &mask, None)?.to_vec3::<f32>()?;
                        for (&i, mut r) in b.iter().zip(rows) {
                            r.truncate(feats[i].ids.len());
                            out.push((i, r));
                        }
                    }
                    Ok(out)
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().expect("logits worker panicked")).collect()
    });
    let mut out = vec![Vec::new(); feats.len()];
    for r in results {
        for (i, l) in r? {
            out[i] = l;
        }
    }
    Ok(out)
}

fn softmax_t(row: &[f32], t: f32) -> Vec<f32> {
    let m = row.iter().fold(f32::NEG_INFINITY, |a, &b| a.max(b));
    let e: Vec<f32> = row.iter().map(|&x| ((x - m) / t).exp()).collect();
    let s: f32 = e.iter().sum();
    e.into_iter().map(|x| x / s).collect()
}

/// Set each feature's `soft` targets from `teacher` at temperature `t`: the teacher's tag
/// distribution at every scored position, zeros elsewhere.
pub fn attach_soft_targets(teacher: &BertTagger, feats: &mut [Feature], t: f32, threads: usize) -> Result<()> {
    let refs: Vec<&Feature> = feats.iter().collect();
    let logits = feature_logits(teacher, &refs, threads)?;
    let tags = teacher.num_tags;
    for (f, rows) in feats.iter_mut().zip(logits) {
        let mut soft = vec![0f32; f.ids.len() * tags];
        for (p, row) in rows.iter().enumerate() {
            if f.scored[p] > 0.0 {
                soft[p * tags..(p + 1) * tags].copy_from_slice(&softmax_t(row, t));
            }
        }
        f.soft = Some(soft);
    }
    Ok(())
}

/// The soft targets of a (sub)batch as `[batch * seq, tags]`, padded like [`batch_tensors`].
pub fn soft_tensor(feats: &[&Feature], tags: usize) -> Result<Tensor> {
    let s = feats.iter().map(|f| f.ids.len()).max().unwrap_or(0);
    let mut out = vec![0f32; feats.len() * s * tags];
    for (i, f) in feats.iter().enumerate() {
        let Some(soft) = &f.soft else { bail!("a training feature has no soft targets") };
        out[i * s * tags..i * s * tags + soft.len()].copy_from_slice(soft);
    }
    Ok(Tensor::from_vec(out, (feats.len() * s, tags), &Device::Cpu)?)
}

/// `T^2 * sum_i w_i * CE(soft_i, softmax(logits_i / T))` over `logits [n, tags]`.
pub fn soft_cross_entropy(logits: &Tensor, soft: &Tensor, weights: &Tensor, t: f64) -> Result<Tensor> {
    let logp = log_softmax_last(&(logits / t)?)?;
    let per_row = (logp * soft)?.sum(1)?;
    Ok(((per_row * weights)?.sum_all()?.neg()? * (t * t))?)
}

/// Mean KL divergence (at temperature `t`) from the teacher's soft targets to `model`, over
/// every scored position of `feats`.
pub fn mean_kl(model: &BertTagger, feats: &[&Feature], t: f32) -> Result<f64> {
    let logits = feature_logits(model, feats, 1)?;
    let tags = model.num_tags;
    let (mut sum, mut n) = (0f64, 0usize);
    for (f, rows) in feats.iter().zip(logits) {
        let Some(soft) = &f.soft else { bail!("a feature has no soft targets") };
        for (p, row) in rows.iter().enumerate() {
            if f.scored[p] > 0.0 {
                let q = softmax_t(row, t);
                let pt = &soft[p * tags..(p + 1) * tags];
                sum += pt.iter().zip(&q).filter(|(a, _)| **a > 0.0).map(|(a, b)| (*a as f64) * ((*a as f64).ln() - (b.max(1e-30) as f64).ln())).sum::<f64>();
                n += 1;
            }
        }
    }
    Ok(sum / n.max(1) as f64)
}
