//! A narrow student initialised from a trained teacher checkpoint: a subset of the teacher's
//! layers, and of its residual width, attention heads and FFN units, chosen by weight
//! importance (no pretrained checkpoint exists at the student's width).
//!
//! Importance, computed on the kept layers only:
//! - residual unit `d`: the sum of `|gamma_d|` over every LayerNorm that writes the residual
//!   stream (embeddings and both of each kept layer), so units the teacher scales down go first;
//! - head `h`: `||W_v[h]|| * ||W_o[:, h]||` (the size of what the head can add to the stream);
//! - FFN unit `j`: `||W_in[j, :]|| * ||W_out[:, j]||`.
//!
//! Kept units stay in the teacher's order; head width stays the teacher's, so the student's
//! `hidden = heads * head_dim` must hold. The teacher's classifier is kept (sliced), so the
//! student starts out tagging, not from a random head.

use anyhow::{bail, Context, Result};
use candle_core::{Device, Tensor};
use std::collections::HashMap;
use std::path::Path;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::bert::{normalize_name, BertConfig, BertTagger};

/// The student's width; `None` keeps the teacher's.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Shape {
    pub hidden: Option<usize>,
    pub heads: Option<usize>,
    pub ffn: Option<usize>,
}

impl Shape {
    /// True when nothing is narrowed.
    pub fn is_full(&self) -> bool {
        self.hidden.is_none() && self.heads.is_none() && self.ffn.is_none()
    }
}

/// Indices of the `k` largest scores, in ascending index order.
pub fn top_k(scores: &[f32], k: usize) -> Vec<u32> {
    let mut idx: Vec<usize> = (0..scores.len()).collect();
    idx.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
    let mut keep: Vec<u32> = idx[..k.min(idx.len())].iter().map(|&i| i as u32).collect();
    keep.sort_unstable();
    keep
}

fn get<'a>(t: &'a HashMap<String, Tensor>, name: &str) -> Result<&'a Tensor> {
    t.get(name).with_context(|| format!("teacher tensor {name} is missing"))
}

fn pick(t: &Tensor, dim: usize, idx: &[u32]) -> Result<Tensor> {
    let i = Tensor::from_slice(idx, idx.len(), &Device::Cpu)?;
    Ok(t.index_select(&i, dim)?.contiguous()?)
}

/// Row norms (`dim = 1` reduced) or column norms (`dim = 0` reduced) of a matrix.
fn norms(t: &Tensor, reduce: usize) -> Result<Vec<f32>> {
    Ok(t.sqr()?.sum(reduce)?.sqrt()?.to_vec1::<f32>()?)
}

/// Slice teacher tensors (HF names, layers already renumbered to the kept ones) down to
/// `shape`. Returns the sliced tensors and the student config.
pub fn narrow(teacher: &HashMap<String, Tensor>, cfg: &BertConfig, shape: Shape) -> Result<(HashMap<String, Tensor>, BertConfig)> {
    let hd = cfg.head_dim();
    let hidden = shape.hidden.unwrap_or(cfg.hidden_size);
    let heads = shape.heads.unwrap_or(hidden / hd);
    let ffn = shape.ffn.unwrap_or(cfg.intermediate_size);
    if heads == 0 || heads > cfg.num_attention_heads || heads * hd != hidden {
        bail!(
            "student shape hidden {hidden} / heads {heads}: heads must keep the teacher's head width {hd} (hidden = heads x {hd}, at most {} heads)",
            cfg.num_attention_heads
        );
    }
    if hidden > cfg.hidden_size || ffn == 0 || ffn > cfg.intermediate_size {
        bail!("student hidden {hidden} / ffn {ffn} must not exceed the teacher's {} / {}", cfg.hidden_size, cfg.intermediate_size);
    }
    let layers = cfg.num_hidden_layers;
    let lp = |l: usize, n: &str| format!("encoder.layer.{l}.{n}");

    // Residual units.
    let mut res = get(teacher, "embeddings.LayerNorm.weight")?.abs()?;
    for l in 0..layers {
        res = (res + get(teacher, &lp(l, "attention.output.LayerNorm.weight"))?.abs()?)?;
        res = (res + get(teacher, &lp(l, "output.LayerNorm.weight"))?.abs()?)?;
    }
    let keep_h = top_k(&res.to_vec1::<f32>()?, hidden);

    let mut out = HashMap::new();
    for n in ["embeddings.word_embeddings.weight", "embeddings.position_embeddings.weight", "embeddings.token_type_embeddings.weight"] {
        out.insert(n.to_string(), pick(get(teacher, n)?, 1, &keep_h)?);
    }
    for n in ["embeddings.LayerNorm.weight", "embeddings.LayerNorm.bias"] {
        out.insert(n.to_string(), pick(get(teacher, n)?, 0, &keep_h)?);
    }
    for l in 0..layers {
        // Heads: size of the value-output path.
        let v = get(teacher, &lp(l, "attention.self.value.weight"))?;
        let o = get(teacher, &lp(l, "attention.output.dense.weight"))?;
        let vn = norms(v, 1)?; // per inner row
        let on = norms(o, 0)?; // per inner column
        let score: Vec<f32> = (0..cfg.num_attention_heads)
            .map(|h| {
                let r = h * hd..(h + 1) * hd;
                let a: f32 = vn[r.clone()].iter().map(|x| x * x).sum::<f32>().sqrt();
                let b: f32 = on[r].iter().map(|x| x * x).sum::<f32>().sqrt();
                a * b
            })
            .collect();
        let keep_heads = top_k(&score, heads);
        let inner: Vec<u32> = keep_heads.iter().flat_map(|&h| (h * hd as u32)..((h + 1) * hd as u32)).collect();
        for n in ["query", "key", "value"] {
            let w = get(teacher, &lp(l, &format!("attention.self.{n}.weight")))?;
            out.insert(lp(l, &format!("attention.self.{n}.weight")), pick(&pick(w, 0, &inner)?, 1, &keep_h)?);
            let b = get(teacher, &lp(l, &format!("attention.self.{n}.bias")))?;
            out.insert(lp(l, &format!("attention.self.{n}.bias")), pick(b, 0, &inner)?);
        }
        out.insert(lp(l, "attention.output.dense.weight"), pick(&pick(o, 0, &keep_h)?, 1, &inner)?);
        // FFN units.
        let wi = get(teacher, &lp(l, "intermediate.dense.weight"))?;
        let wo = get(teacher, &lp(l, "output.dense.weight"))?;
        let s: Vec<f32> = norms(wi, 1)?.iter().zip(norms(wo, 0)?).map(|(a, b)| a * b).collect();
        let keep_f = top_k(&s, ffn);
        out.insert(lp(l, "intermediate.dense.weight"), pick(&pick(wi, 0, &keep_f)?, 1, &keep_h)?);
        out.insert(lp(l, "intermediate.dense.bias"), pick(get(teacher, &lp(l, "intermediate.dense.bias"))?, 0, &keep_f)?);
        out.insert(lp(l, "output.dense.weight"), pick(&pick(wo, 0, &keep_h)?, 1, &keep_f)?);
        for n in [
            "attention.output.dense.bias",
            "attention.output.LayerNorm.weight",
            "attention.output.LayerNorm.bias",
            "output.dense.bias",
            "output.LayerNorm.weight",
            "output.LayerNorm.bias",
        ] {
            out.insert(lp(l, n), pick(get(teacher, &lp(l, n))?, 0, &keep_h)?);
        }
    }
    if let Some(w) = teacher.get("classifier.weight") {
        out.insert("classifier.weight".into(), pick(w, 1, &keep_h)?);
        out.insert("classifier.bias".into(), get(teacher, "classifier.bias")?.clone());
    }
    let mut student = cfg.clone();
    student.hidden_size = hidden;
    student.num_attention_heads = heads;
    student.intermediate_size = ffn;
    Ok((out, student))
}

/// The student of a checkpoint `dir` (config.json + model.safetensors): layers `keep`
/// renumbered from 0, narrowed to `shape`. A trained checkpoint's classifier is kept (it must
/// have `num_tags` outputs); a pretrained encoder gets a new head drawn from `seed`. Returns
/// the model and its `config.json` content (the checkpoint's, with the student's sizes).
pub fn student_from_checkpoint(dir: &Path, keep: &[usize], shape: Shape, num_tags: usize, seed: u64) -> Result<(BertTagger, serde_json::Value)> {
    let cfg_path = dir.join("config.json");
    let cfg = BertConfig::from_file(&cfg_path)?;
    let mut cfg_json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&cfg_path)?)?;
    let path = dir.join("model.safetensors");
    let raw = candle_core::safetensors::load(&path, &Device::Cpu).with_context(|| format!("load {}", path.display()))?;
    if let Some(b) = raw.get("classifier.bias") {
        if b.dims1()? != num_tags {
            bail!("{}: the classifier has {} tags, this label set needs {num_tags}", path.display(), b.dims1()?);
        }
    }
    let mut tensors = HashMap::new();
    for (k, v) in raw {
        let k = normalize_name(&k);
        match k.strip_prefix("encoder.layer.") {
            Some(rest) => {
                let (num, tail) = rest.split_once('.').context("bad layer name")?;
                let l: usize = num.parse()?;
                if l >= cfg.num_hidden_layers {
                    bail!("{}: layer {l} beyond num_hidden_layers", path.display());
                }
                if let Some(newl) = keep.iter().position(|&x| x == l) {
                    tensors.insert(format!("encoder.layer.{newl}.{tail}"), v);
                }
            }
            None => {
                tensors.insert(k, v);
            }
        }
    }
    if let Some(&l) = keep.iter().find(|&&l| l >= cfg.num_hidden_layers) {
        bail!("layer {l} does not exist (the teacher has {})", cfg.num_hidden_layers);
    }
    let mut kept = cfg.clone();
    kept.num_hidden_layers = keep.len();
    let (t, student) = narrow(&tensors, &kept, shape)?;
    cfg_json["num_hidden_layers"] = serde_json::json!(student.num_hidden_layers);
    cfg_json["hidden_size"] = serde_json::json!(student.hidden_size);
    cfg_json["num_attention_heads"] = serde_json::json!(student.num_attention_heads);
    cfg_json["intermediate_size"] = serde_json::json!(student.intermediate_size);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let m = BertTagger::from_tensors(student, num_tags, &t, Some(&mut rng))?;
    Ok((m, cfg_json))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bert::tests::tiny_config;

    #[test]
    fn top_k_keeps_the_largest_in_index_order() {
        assert_eq!(top_k(&[0.1, 3.0, 0.5, 2.0, -9.0], 2), vec![1, 3]);
        assert_eq!(top_k(&[1.0, 1.0, 1.0], 2), vec![0, 1]);
    }

    fn tiny_teacher() -> (BertTagger, BertConfig) {
        let cfg = tiny_config(21);
        (BertTagger::random(cfg.clone(), 5, 3).unwrap(), cfg)
    }

    fn tensors(m: &BertTagger) -> HashMap<String, Tensor> {
        m.params.iter().map(|(n, v)| (n.clone(), v.as_tensor().clone())).collect()
    }

    #[test]
    fn full_shape_is_the_teacher_itself() {
        let (m, cfg) = tiny_teacher();
        let (t, c) = narrow(&tensors(&m), &cfg, Shape::default()).unwrap();
        let s = BertTagger::from_tensors(c, 5, &t, None).unwrap();
        let ids = [2u32, 4, 5, 6, 3];
        assert_eq!(m.logits(&ids).unwrap(), s.logits(&ids).unwrap());
    }

    #[test]
    fn narrowing_drops_the_least_important_units() {
        // Zero the gamma of residual units 0 and 5 everywhere: they must be the ones dropped,
        // and with them the matching columns of every input matrix.
        let (m, cfg) = tiny_teacher();
        let mut t = tensors(&m);
        for (n, v) in t.iter_mut() {
            if n.ends_with("LayerNorm.weight") {
                let mut g = v.to_vec1::<f32>().unwrap();
                g[0] = 0.0;
                g[5] = 0.0;
                *v = Tensor::from_vec(g, cfg.hidden_size, &Device::Cpu).unwrap();
            }
        }
        let hd = cfg.head_dim();
        let shape = Shape { hidden: Some(cfg.hidden_size - hd), heads: Some(cfg.num_attention_heads - 1), ffn: Some(cfg.intermediate_size / 2) };
        let (s, c) = narrow(&t, &cfg, shape).unwrap();
        assert_eq!(c.hidden_size, cfg.hidden_size - hd);
        let word = s["embeddings.word_embeddings.weight"].to_vec2::<f32>().unwrap();
        let full = t["embeddings.word_embeddings.weight"].to_vec2::<f32>().unwrap();
        let kept = top_k(&t["embeddings.LayerNorm.weight"].abs().unwrap().to_vec1::<f32>().unwrap(), c.hidden_size);
        assert!(!kept.contains(&0) && !kept.contains(&5));
        for (r, row) in word.iter().enumerate() {
            let want: Vec<f32> = kept.iter().map(|&k| full[r][k as usize]).collect();
            assert_eq!(row, &want);
        }
        // Every student tensor has the student's shape and the model runs.
        let st = BertTagger::from_tensors(c, 5, &s, None).unwrap();
        assert_eq!(st.logits(&[2, 4, 3]).unwrap()[0].len(), 5);
    }

    #[test]
    fn a_head_width_change_is_refused() {
        let (m, cfg) = tiny_teacher();
        let err = narrow(&tensors(&m), &cfg, Shape { hidden: Some(12), heads: Some(2), ffn: None }).unwrap_err();
        assert!(err.to_string().contains("head width"), "{err}");
    }
}
