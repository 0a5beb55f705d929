//! A trainable BERT encoder with a token-classification head, written from candle tensor
//! ops so that every parameter gets a gradient (see DESIGN.md, "Trainer stack").
//!
//! - LayerNorm is mean/variance arithmetic (candle_nn's fused kernel has no backward).
//! - GELU is the erf form (`gelu_erf`), the checkpoint's `"gelu"`.
//! - The attention mask becomes a finite bias `(1 - mask) * -1e9` added to the scores after
//!   they are scaled by `1/sqrt(head_dim)`; the ONNX export uses the same formula.
//! - Token type ids are always 0: row 0 of `token_type_embeddings` is added everywhere.
//! - Linear weights are `[out, in]`: `y = x @ W^T + b`.
//! - Tensor names are the Hugging Face ones without a prefix, plus `classifier.{weight,bias}`.
//! - Dropout masks come from a seeded ChaCha generator, so training is reproducible.

use anyhow::{bail, Context, Result};
use candle_core::{DType, Device, Tensor, Var, D};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::HashMap;
use std::path::Path;

/// Hugging Face BERT `config.json` (extra fields are ignored); shared by training and export.
#[derive(serde::Deserialize, serde::Serialize, Clone, Debug, PartialEq)]
pub struct BertConfig {
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub intermediate_size: usize,
    pub max_position_embeddings: usize,
    #[serde(default = "default_type_vocab")]
    pub type_vocab_size: usize,
    #[serde(default = "default_eps")]
    pub layer_norm_eps: f64,
    #[serde(default = "default_act")]
    pub hidden_act: String,
}

fn default_type_vocab() -> usize {
    2
}
fn default_eps() -> f64 {
    1e-12
}
fn default_act() -> String {
    "gelu".into()
}

impl BertConfig {
    /// Read `config.json`.
    pub fn from_file(path: &Path) -> Result<Self> {
        let s = std::fs::read_to_string(path).with_context(|| format!("read {}", path.display()))?;
        let c: BertConfig = serde_json::from_str(&s).with_context(|| format!("parse {}", path.display()))?;
        c.validate()?;
        Ok(c)
    }

    fn validate(&self) -> Result<()> {
        if self.num_attention_heads == 0 || self.hidden_size % self.num_attention_heads != 0 {
            bail!("hidden_size {} is not a multiple of num_attention_heads {}", self.hidden_size, self.num_attention_heads);
        }
        if !(self.hidden_act.is_empty() || self.hidden_act == "gelu") {
            bail!("hidden_act {:?} is not supported (only the erf \"gelu\")", self.hidden_act);
        }
        Ok(())
    }
}

/// Names and shapes of every parameter, in a fixed order.
pub fn param_shapes(c: &BertConfig, num_tags: usize) -> Vec<(String, Vec<usize>)> {
    let h = c.hidden_size;
    let i = c.intermediate_size;
    let mut v: Vec<(String, Vec<usize>)> = vec![
        ("embeddings.word_embeddings.weight".into(), vec![c.vocab_size, h]),
        ("embeddings.position_embeddings.weight".into(), vec![c.max_position_embeddings, h]),
        ("embeddings.token_type_embeddings.weight".into(), vec![c.type_vocab_size.max(1), h]),
        ("embeddings.LayerNorm.weight".into(), vec![h]),
        ("embeddings.LayerNorm.bias".into(), vec![h]),
    ];
    for l in 0..c.num_hidden_layers {
        let p = format!("encoder.layer.{l}.");
        for n in ["query", "key", "value"] {
            v.push((format!("{p}attention.self.{n}.weight"), vec![h, h]));
            v.push((format!("{p}attention.self.{n}.bias"), vec![h]));
        }
        v.push((format!("{p}attention.output.dense.weight"), vec![h, h]));
        v.push((format!("{p}attention.output.dense.bias"), vec![h]));
        v.push((format!("{p}attention.output.LayerNorm.weight"), vec![h]));
        v.push((format!("{p}attention.output.LayerNorm.bias"), vec![h]));
        v.push((format!("{p}intermediate.dense.weight"), vec![i, h]));
        v.push((format!("{p}intermediate.dense.bias"), vec![i]));
        v.push((format!("{p}output.dense.weight"), vec![h, i]));
        v.push((format!("{p}output.dense.bias"), vec![h]));
        v.push((format!("{p}output.LayerNorm.weight"), vec![h]));
        v.push((format!("{p}output.LayerNorm.bias"), vec![h]));
    }
    v.push(("classifier.weight".into(), vec![num_tags, h]));
    v.push(("classifier.bias".into(), vec![num_tags]));
    v
}

/// True for parameters that AdamW must not decay: biases and LayerNorm weights.
pub fn no_decay(name: &str) -> bool {
    name.ends_with(".bias") || name.contains("LayerNorm")
}

/// Dropout with masks drawn from a seeded generator.
pub struct Dropout {
    rng: ChaCha8Rng,
    p: f32,
}

impl Dropout {
    pub fn new(seed: u64, p: f32) -> Self {
        Dropout { rng: ChaCha8Rng::seed_from_u64(seed), p }
    }

    fn apply(&mut self, x: &Tensor) -> Result<Tensor> {
        if self.p <= 0.0 {
            return Ok(x.clone());
        }
        let n = x.elem_count();
        let keep = 1.0 / (1.0 - self.p);
        let thr = (self.p as f64 * 4294967296.0) as u64;
        let mut m = Vec::with_capacity(n);
        for _ in 0..n {
            let r = self.rng.gen::<u32>() as u64;
            m.push(if r < thr { 0.0f32 } else { keep });
        }
        let m = Tensor::from_vec(m, x.shape(), x.device())?;
        Ok(x.mul(&m)?)
    }
}

fn maybe_dropout(x: &Tensor, d: &mut Option<&mut Dropout>) -> Result<Tensor> {
    match d {
        Some(d) => d.apply(x),
        None => Ok(x.clone()),
    }
}

/// LayerNorm over the last dimension, from differentiable ops.
fn layer_norm(x: &Tensor, w: &Tensor, b: &Tensor, eps: f64) -> Result<Tensor> {
    let mean = x.mean_keepdim(D::Minus1)?;
    let xc = x.broadcast_sub(&mean)?;
    let var = xc.sqr()?.mean_keepdim(D::Minus1)?;
    let xn = xc.broadcast_div(&(var + eps)?.sqrt()?)?;
    Ok(xn.broadcast_mul(w)?.broadcast_add(b)?)
}

/// `x @ W^T + b` for 2-D `x`.
fn linear(x: &Tensor, w: &Tensor, b: &Tensor) -> Result<Tensor> {
    Ok(x.matmul(&w.t()?)?.broadcast_add(b)?)
}

/// Softmax over the last dimension; the max is detached (softmax is shift invariant).
fn softmax_last(x: &Tensor) -> Result<Tensor> {
    let max = x.max_keepdim(D::Minus1)?.detach();
    let e = x.broadcast_sub(&max)?.exp()?;
    let s = e.sum_keepdim(D::Minus1)?;
    Ok(e.broadcast_div(&s)?)
}

/// Log-softmax over the last dimension; the max is detached.
pub fn log_softmax_last(x: &Tensor) -> Result<Tensor> {
    let max = x.max_keepdim(D::Minus1)?.detach();
    let diff = x.broadcast_sub(&max)?;
    let lse = diff.exp()?.sum_keepdim(D::Minus1)?.log()?;
    Ok(diff.broadcast_sub(&lse)?)
}

struct Layer {
    q_w: Tensor,
    q_b: Tensor,
    k_w: Tensor,
    k_b: Tensor,
    v_w: Tensor,
    v_b: Tensor,
    ao_w: Tensor,
    ao_b: Tensor,
    aln_w: Tensor,
    aln_b: Tensor,
    i_w: Tensor,
    i_b: Tensor,
    o_w: Tensor,
    o_b: Tensor,
    oln_w: Tensor,
    oln_b: Tensor,
}

/// BERT encoder + token-classification head with trainable parameters.
pub struct BertTagger {
    pub config: BertConfig,
    pub num_tags: usize,
    /// Every parameter, in [`param_shapes`] order.
    pub params: Vec<(String, Var)>,
    word: Tensor,
    pos: Tensor,
    typ0: Tensor,
    eln_w: Tensor,
    eln_b: Tensor,
    layers: Vec<Layer>,
    cls_w: Tensor,
    cls_b: Tensor,
}

/// Normalize a tensor name from a Hugging Face checkpoint: strip a `bert.` prefix and map
/// the old `gamma`/`beta` LayerNorm names.
pub(crate) fn normalize_name(n: &str) -> String {
    let n = n.strip_prefix("bert.").unwrap_or(n);
    if n.contains("LayerNorm.") {
        n.replace("LayerNorm.gamma", "LayerNorm.weight").replace("LayerNorm.beta", "LayerNorm.bias")
    } else {
        n.to_string()
    }
}

fn randn(rng: &mut ChaCha8Rng, n: usize, std: f32) -> Vec<f32> {
    // Box-Muller.
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let u1: f64 = rng.gen::<f64>().max(1e-300);
        let u2: f64 = rng.gen::<f64>();
        let r = (-2.0 * u1.ln()).sqrt();
        let t = 2.0 * std::f64::consts::PI * u2;
        out.push((r * t.cos()) as f32 * std);
        if out.len() < n {
            out.push((r * t.sin()) as f32 * std);
        }
    }
    out
}

impl BertTagger {
    /// Build from named tensors. Missing tensors are an error unless `init_missing` is
    /// given, in which case they are initialised from that generator (normal(0, 0.02) for
    /// weights, zeros for biases, ones for LayerNorm weights).
    pub fn from_tensors(
        config: BertConfig,
        num_tags: usize,
        tensors: &HashMap<String, Tensor>,
        mut init_missing: Option<&mut ChaCha8Rng>,
    ) -> Result<Self> {
        config.validate()?;
        let dev = Device::Cpu;
        let mut params = Vec::new();
        for (name, shape) in param_shapes(&config, num_tags) {
            let t = match tensors.get(&name) {
                Some(t) => {
                    if t.dims() != shape.as_slice() {
                        bail!("tensor {name}: shape {:?}, expected {:?}", t.dims(), shape);
                    }
                    t.to_dtype(DType::F32)?.to_device(&dev)?.contiguous()?
                }
                None => match init_missing.as_deref_mut() {
                    Some(rng) => {
                        let n: usize = shape.iter().product();
                        let data = if name.ends_with(".bias") {
                            vec![0f32; n]
                        } else if name.contains("LayerNorm") {
                            vec![1f32; n]
                        } else {
                            randn(rng, n, 0.02)
                        };
                        Tensor::from_vec(data, shape.as_slice(), &dev)?
                    }
                    None => bail!("tensor {name} is missing"),
                },
            };
            // A fresh copy so that the Var owns its storage.
            let var = Var::from_tensor(&t.copy()?)?;
            params.push((name, var));
        }
        Self::assemble(config, num_tags, params)
    }

    fn assemble(config: BertConfig, num_tags: usize, params: Vec<(String, Var)>) -> Result<Self> {
        let map: HashMap<&str, &Var> = params.iter().map(|(n, v)| (n.as_str(), v)).collect();
        let g = |n: &str| -> Result<Tensor> {
            Ok(map.get(n).with_context(|| format!("missing {n}"))?.as_tensor().clone())
        };
        let mut layers = Vec::new();
        for l in 0..config.num_hidden_layers {
            let p = format!("encoder.layer.{l}.");
            layers.push(Layer {
                q_w: g(&format!("{p}attention.self.query.weight"))?,
                q_b: g(&format!("{p}attention.self.query.bias"))?,
                k_w: g(&format!("{p}attention.self.key.weight"))?,
                k_b: g(&format!("{p}attention.self.key.bias"))?,
                v_w: g(&format!("{p}attention.self.value.weight"))?,
                v_b: g(&format!("{p}attention.self.value.bias"))?,
                ao_w: g(&format!("{p}attention.output.dense.weight"))?,
                ao_b: g(&format!("{p}attention.output.dense.bias"))?,
                aln_w: g(&format!("{p}attention.output.LayerNorm.weight"))?,
                aln_b: g(&format!("{p}attention.output.LayerNorm.bias"))?,
                i_w: g(&format!("{p}intermediate.dense.weight"))?,
                i_b: g(&format!("{p}intermediate.dense.bias"))?,
                o_w: g(&format!("{p}output.dense.weight"))?,
                o_b: g(&format!("{p}output.dense.bias"))?,
                oln_w: g(&format!("{p}output.LayerNorm.weight"))?,
                oln_b: g(&format!("{p}output.LayerNorm.bias"))?,
            });
        }
        let word = g("embeddings.word_embeddings.weight")?;
        let pos = g("embeddings.position_embeddings.weight")?;
        let typ0 = g("embeddings.token_type_embeddings.weight")?.narrow(0, 0, 1)?;
        Ok(BertTagger {
            eln_w: g("embeddings.LayerNorm.weight")?,
            eln_b: g("embeddings.LayerNorm.bias")?,
            cls_w: g("classifier.weight")?,
            cls_b: g("classifier.bias")?,
            word,
            pos,
            typ0,
            layers,
            config,
            num_tags,
            params,
        })
    }

    /// A randomly initialised model (tests).
    #[allow(dead_code)]
    pub fn random(config: BertConfig, num_tags: usize, seed: u64) -> Result<Self> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        Self::from_tensors(config, num_tags, &HashMap::new(), Some(&mut rng))
    }

    /// Load a pretrained Hugging Face BERT directory (`config.json`, `model.safetensors`),
    /// keep the teacher layers `keep_layers` (renumbered 0..), and initialise a new head of
    /// `num_tags` outputs from `seed`. Returns the model and the config as JSON (the init's
    /// config with `num_hidden_layers` updated, extra fields kept).
    pub fn from_pretrained(
        dir: &Path,
        num_tags: usize,
        keep_layers: Option<&[usize]>,
        seed: u64,
    ) -> Result<(Self, serde_json::Value)> {
        let cfg_path = dir.join("config.json");
        let mut config = BertConfig::from_file(&cfg_path)?;
        let mut cfg_json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&cfg_path)?)?;
        let raw = candle_core::safetensors::load(dir.join("model.safetensors"), &Device::Cpu)
            .with_context(|| format!("load {}", dir.join("model.safetensors").display()))?;
        let mut tensors: HashMap<String, Tensor> =
            raw.into_iter().map(|(k, v)| (normalize_name(&k), v)).collect();
        let keep: Vec<usize> = match keep_layers {
            Some(k) => k.to_vec(),
            None => (0..config.num_hidden_layers).collect(),
        };
        for &l in &keep {
            if l >= config.num_hidden_layers {
                bail!("layer {l} does not exist (the checkpoint has {})", config.num_hidden_layers);
            }
        }
        // Renumber the kept layers.
        let mut renamed = HashMap::new();
        for (k, v) in tensors.drain() {
            if let Some(rest) = k.strip_prefix("encoder.layer.") {
                let (num, tail) = rest.split_once('.').context("bad layer name")?;
                let l: usize = num.parse()?;
                if let Some(newl) = keep.iter().position(|&x| x == l) {
                    renamed.insert(format!("encoder.layer.{newl}.{tail}"), v);
                }
            } else {
                renamed.insert(k, v);
            }
        }
        // Never take a classifier from the init checkpoint: the head is new.
        renamed.remove("classifier.weight");
        renamed.remove("classifier.bias");
        config.num_hidden_layers = keep.len();
        cfg_json["num_hidden_layers"] = serde_json::json!(keep.len());
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        // Only the head may be missing.
        for (name, _) in param_shapes(&config, num_tags) {
            if !name.starts_with("classifier.") && !renamed.contains_key(&name) {
                bail!("{}: tensor {name} is missing", dir.display());
            }
        }
        let m = Self::from_tensors(config, num_tags, &renamed, Some(&mut rng))?;
        Ok((m, cfg_json))
    }

    /// Load a checkpoint directory written by `train` (config.json + model.safetensors
    /// including classifier.*), on CPU, for evaluation.
    #[allow(dead_code)]
    pub fn load_checkpoint(dir: &Path) -> Result<BertTagger> {
        let config = BertConfig::from_file(&dir.join("config.json"))?;
        let path = dir.join("model.safetensors");
        let tensors = candle_core::safetensors::load(&path, &Device::Cpu)
            .with_context(|| format!("load {}", path.display()))?;
        let num_tags = tensors
            .get("classifier.bias")
            .with_context(|| format!("{}: no classifier.bias", path.display()))?
            .dims1()?;
        Self::from_tensors(config, num_tags, &tensors, None)
    }

    /// Write every parameter as F32 safetensors under its Hugging Face name.
    pub fn save_safetensors(&self, path: &Path) -> Result<()> {
        let map: HashMap<String, Tensor> =
            self.params.iter().map(|(n, v)| (n.clone(), v.as_tensor().detach())).collect();
        candle_core::safetensors::save(&map, path)?;
        Ok(())
    }

    /// Logits `[batch, seq, num_tags]` for `ids` (`[batch, seq]`, u32) and `mask`
    /// (`[batch, seq]`, f32 1/0). With `dropout`, runs in training mode.
    pub fn forward(&self, ids: &Tensor, mask: &Tensor, dropout: Option<&mut Dropout>) -> Result<Tensor> {
        let rows = self.word.embedding(&ids.flatten_all()?)?;
        self.forward_rows(&rows, ids.dims2()?, mask, dropout)
    }

    /// Like [`forward`](Self::forward), but the looked-up word-embedding rows are a leaf
    /// variable `[batch*seq, hidden]` (returned), so that backward does not build a dense
    /// `vocab x hidden` gradient; the caller scatters the rows' gradient itself.
    pub fn forward_sparse(&self, ids: &Tensor, mask: &Tensor, dropout: Option<&mut Dropout>) -> Result<(Tensor, Var)> {
        let rows = Var::from_tensor(&self.word.embedding(&ids.flatten_all()?)?.detach())?;
        let logits = self.forward_rows(rows.as_tensor(), ids.dims2()?, mask, dropout)?;
        Ok((logits, rows))
    }

    fn forward_rows(
        &self,
        rows: &Tensor,
        (b, s): (usize, usize),
        mask: &Tensor,
        mut dropout: Option<&mut Dropout>,
    ) -> Result<Tensor> {
        let c = &self.config;
        if s > c.max_position_embeddings {
            bail!("sequence of {s} tokens exceeds max_position_embeddings {}", c.max_position_embeddings);
        }
        let h = c.hidden_size;
        let nh = c.num_attention_heads;
        let hd = c.head_dim();
        let eps = c.layer_norm_eps;

        let x = rows.reshape((b, s, h))?;
        let pos = self.pos.narrow(0, 0, s)?;
        let x = x.broadcast_add(&pos)?.broadcast_add(&self.typ0)?.reshape((b * s, h))?;
        let x = layer_norm(&x, &self.eln_w, &self.eln_b, eps)?;
        let mut x = maybe_dropout(&x, &mut dropout)?;

        // (1 - mask) * -1e9, shaped [b, 1, 1, s].
        let bias = ((mask.ones_like()? - mask)? * -1e9)?.reshape((b, 1, 1, s))?;
        let scale = 1.0 / (hd as f64).sqrt();

        for l in &self.layers {
            let heads = |t: Tensor| -> Result<Tensor> {
                Ok(t.reshape((b, s, nh, hd))?.transpose(1, 2)?.contiguous()?)
            };
            let q = heads(linear(&x, &l.q_w, &l.q_b)?)?;
            let k = heads(linear(&x, &l.k_w, &l.k_b)?)?;
            let v = heads(linear(&x, &l.v_w, &l.v_b)?)?;
            let scores = (q.matmul(&k.t()?)? * scale)?.broadcast_add(&bias)?;
            let probs = softmax_last(&scores)?;
            let probs = maybe_dropout(&probs, &mut dropout)?;
            let ctx = probs.matmul(&v)?.transpose(1, 2)?.reshape((b * s, h))?;
            let a = linear(&ctx, &l.ao_w, &l.ao_b)?;
            let a = maybe_dropout(&a, &mut dropout)?;
            let x1 = layer_norm(&(a + &x)?, &l.aln_w, &l.aln_b, eps)?;
            let f = linear(&x1, &l.i_w, &l.i_b)?.gelu_erf()?;
            let f = linear(&f, &l.o_w, &l.o_b)?;
            let f = maybe_dropout(&f, &mut dropout)?;
            x = layer_norm(&(f + &x1)?, &l.oln_w, &l.oln_b, eps)?;
        }
        let x = maybe_dropout(&x, &mut dropout)?;
        let logits = linear(&x, &self.cls_w, &self.cls_b)?;
        Ok(logits.reshape((b, s, self.num_tags))?)
    }

    /// Eval-mode logits for one unpadded sequence of ids (already including [CLS]/[SEP]):
    /// `seq` rows of `num_tags` values.
    #[allow(dead_code)]
    pub fn logits(&self, ids: &[u32]) -> Result<Vec<Vec<f32>>> {
        let n = ids.len();
        let t = Tensor::from_slice(ids, (1, n), &Device::Cpu)?;
        let m = Tensor::ones((1, n), DType::F32, &Device::Cpu)?;
        let out = self.forward(&t, &m, None)?;
        Ok(out.squeeze(0)?.to_vec2::<f32>()?)
    }
}

/// Masked token cross-entropy: `sum_i weight_i * -log p(label_i)` over `logits [n, tags]`,
/// `labels [n]` (u32; any valid index where the weight is 0) and `weights [n]` (f32).
pub fn masked_cross_entropy(logits: &Tensor, labels: &Tensor, weights: &Tensor) -> Result<Tensor> {
    let logp = log_softmax_last(logits)?;
    let picked = logp.gather(&labels.unsqueeze(1)?, 1)?.squeeze(1)?;
    Ok((picked * weights)?.sum_all()?.neg()?)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn tiny_config(vocab: usize) -> BertConfig {
        BertConfig {
            vocab_size: vocab,
            hidden_size: 16,
            num_hidden_layers: 2,
            num_attention_heads: 4,
            intermediate_size: 32,
            max_position_embeddings: 64,
            type_vocab_size: 2,
            layer_norm_eps: 1e-12,
            hidden_act: "gelu".into(),
        }
    }

    fn batch() -> (Tensor, Tensor, Tensor, Tensor) {
        let ids: Vec<u32> = vec![1, 5, 7, 9, 2, 0, 1, 3, 4, 6, 8, 2];
        let mask: Vec<f32> = vec![1., 1., 1., 1., 1., 0., 1., 1., 1., 1., 1., 1.];
        let labels: Vec<u32> = vec![0, 1, 2, 0, 0, 0, 0, 3, 4, 4, 0, 0];
        let w: Vec<f32> = vec![0., 1., 1., 1., 0., 0., 0., 1., 1., 1., 1., 0.];
        let d = Device::Cpu;
        (
            Tensor::from_vec(ids, (2, 6), &d).unwrap(),
            Tensor::from_vec(mask, (2, 6), &d).unwrap(),
            Tensor::from_vec(labels, 12, &d).unwrap(),
            Tensor::from_vec(w, 12, &d).unwrap(),
        )
    }

    #[test]
    fn every_parameter_gets_a_gradient() {
        let m = BertTagger::random(tiny_config(12), 5, 3).unwrap();
        let (ids, mask, labels, w) = batch();
        let mut d = Dropout::new(1, 0.1);
        let logits = m.forward(&ids, &mask, Some(&mut d)).unwrap();
        let loss = masked_cross_entropy(&logits.reshape((12, 5)).unwrap(), &labels, &w).unwrap();
        let grads = loss.backward().unwrap();
        for (name, v) in &m.params {
            let g = grads.get(v.as_tensor()).unwrap_or_else(|| panic!("no gradient for {name}"));
            let n = g.sqr().unwrap().sum_all().unwrap().to_scalar::<f32>().unwrap();
            // The position/word rows that are used get gradients; check the norm only.
            assert!(n > 0.0 && n.is_finite(), "zero gradient for {name}");
        }
    }

    #[test]
    fn padding_does_not_change_logits() {
        let m = BertTagger::random(tiny_config(12), 5, 4).unwrap();
        let a = m.logits(&[1, 5, 7, 2]).unwrap();
        let ids = Tensor::from_vec(vec![1u32, 5, 7, 2, 0, 0], (1, 6), &Device::Cpu).unwrap();
        let mask = Tensor::from_vec(vec![1f32, 1., 1., 1., 0., 0.], (1, 6), &Device::Cpu).unwrap();
        let b = m.forward(&ids, &mask, None).unwrap().squeeze(0).unwrap().to_vec2::<f32>().unwrap();
        for i in 0..4 {
            for j in 0..5 {
                assert!((a[i][j] - b[i][j]).abs() < 1e-5);
            }
        }
    }

    #[test]
    fn layer_norm_matches_reference() {
        let x = Tensor::from_vec(vec![1f32, 2., 3., 4., -1., 0., 1., 5.], (2, 4), &Device::Cpu).unwrap();
        let w = Tensor::from_vec(vec![1f32, 2., 1., 0.5], 4, &Device::Cpu).unwrap();
        let b = Tensor::from_vec(vec![0f32, 0.1, 0., -0.1], 4, &Device::Cpu).unwrap();
        let y = layer_norm(&x, &w, &b, 1e-12).unwrap().to_vec2::<f32>().unwrap();
        let row = [1f32, 2., 3., 4.];
        let mean = 2.5f32;
        let var = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / 4.0;
        let wv = [1f32, 2., 1., 0.5];
        let bv = [0f32, 0.1, 0., -0.1];
        for j in 0..4 {
            let r = (row[j] - mean) / var.sqrt() * wv[j] + bv[j];
            assert!((y[0][j] - r).abs() < 1e-5);
        }
    }

    #[test]
    fn checkpoint_roundtrip() {
        let m = BertTagger::random(tiny_config(12), 5, 5).unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("config.json"), serde_json::to_string(&m.config).unwrap()).unwrap();
        m.save_safetensors(&dir.path().join("model.safetensors")).unwrap();
        let back = BertTagger::load_checkpoint(dir.path()).unwrap();
        assert_eq!(back.num_tags, 5);
        let ids = [1u32, 4, 9, 3, 2];
        assert_eq!(m.logits(&ids).unwrap(), back.logits(&ids).unwrap());
    }
}
