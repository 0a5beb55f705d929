//! The checkpoint directory that `train` writes and `export` reads: `config.json` (Hugging
//! Face BERT config), `model.safetensors` (HF tensor names without a `bert.` prefix, Linear
//! weights `[out, in]`), `tokenizer.json` and `train_meta.json` (`labels`, `max_length`, ...).

use anyhow::{bail, Context, Result};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;
use std::path::Path;

use pii::manifest::LabelInfo;

pub use crate::bert::BertConfig;

impl BertConfig {
    /// The HF `config.json` content for this config.
    #[cfg_attr(not(test), allow(dead_code))] // used by tests and by callers that build checkpoints
    pub fn to_hf_json(&self) -> serde_json::Value {
        serde_json::json!({
            "architectures": ["BertForTokenClassification"],
            "model_type": "bert",
            "vocab_size": self.vocab_size,
            "hidden_size": self.hidden_size,
            "num_hidden_layers": self.num_hidden_layers,
            "num_attention_heads": self.num_attention_heads,
            "intermediate_size": self.intermediate_size,
            "max_position_embeddings": self.max_position_embeddings,
            "type_vocab_size": self.type_vocab_size,
            "layer_norm_eps": self.layer_norm_eps,
            "hidden_act": self.hidden_act,
            "hidden_dropout_prob": 0.1,
            "attention_probs_dropout_prob": 0.1,
            "initializer_range": 0.02,
            "pad_token_id": 0,
            "position_embedding_type": "absolute",
        })
    }

    /// Width of one attention head.
    pub fn head_dim(&self) -> usize {
        self.hidden_size / self.num_attention_heads
    }
}

/// A float tensor.
#[derive(Clone, Debug, PartialEq)]
pub struct Tensor {
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

impl Tensor {
    pub fn new(shape: Vec<usize>, data: Vec<f32>) -> Self {
        assert_eq!(shape.iter().product::<usize>(), data.len());
        Tensor { shape, data }
    }
}

/// A checkpoint held in memory.
#[derive(Clone, Debug)]
pub struct Checkpoint {
    pub config: BertConfig,
    /// Tensors by HF name (no `bert.` prefix).
    pub tensors: BTreeMap<String, Tensor>,
    /// `train_meta.json` content.
    pub meta: serde_json::Value,
    /// `tokenizer.json` bytes.
    pub tokenizer_json: Vec<u8>,
}

/// Reads a safetensors file into f32 tensors (F32, F16 and BF16 converted; integer tensors
/// such as `position_ids` skipped; a `bert.` prefix stripped).
pub fn read_safetensors(path: &Path) -> Result<BTreeMap<String, Tensor>> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let st = safetensors::SafeTensors::deserialize(&bytes)
        .map_err(|e| anyhow::anyhow!("{}: not a safetensors file: {e}", path.display()))?;
    let mut out = BTreeMap::new();
    for (name, view) in st.iter() {
        use safetensors::Dtype;
        let raw = view.data();
        let data: Vec<f32> = match view.dtype() {
            Dtype::F32 => raw.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect(),
            Dtype::F16 => raw.chunks_exact(2).map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f32()).collect(),
            Dtype::BF16 => raw.chunks_exact(2).map(|c| half::bf16::from_le_bytes([c[0], c[1]]).to_f32()).collect(),
            _ => continue,
        };
        let name = name.strip_prefix("bert.").unwrap_or(name).to_string();
        out.insert(name, Tensor::new(view.shape().to_vec(), data));
    }
    Ok(out)
}

/// Writes f32 tensors as safetensors.
#[cfg_attr(not(test), allow(dead_code))] // used by tests and by callers that build checkpoints
pub fn write_safetensors(path: &Path, tensors: &BTreeMap<String, Tensor>) -> Result<()> {
    let bytes: Vec<(String, Vec<u8>, Vec<usize>)> = tensors
        .iter()
        .map(|(k, t)| (k.clone(), t.data.iter().flat_map(|v| v.to_le_bytes()).collect(), t.shape.clone()))
        .collect();
    let views = bytes
        .iter()
        .map(|(k, b, s)| {
            safetensors::tensor::TensorView::new(safetensors::Dtype::F32, s.clone(), b)
                .map(|v| (k.clone(), v))
                .map_err(|e| anyhow::anyhow!("tensor {k}: {e}"))
        })
        .collect::<Result<Vec<_>>>()?;
    safetensors::serialize_to_file(views, None, path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

impl Checkpoint {
    /// Loads a checkpoint directory.
    pub fn load(dir: &Path) -> Result<Self> {
        let cfg_path = dir.join("config.json");
        let config: BertConfig = serde_json::from_str(
            &std::fs::read_to_string(&cfg_path).with_context(|| format!("cannot read {}", cfg_path.display()))?,
        )
        .with_context(|| format!("{}: not a BERT config", cfg_path.display()))?;
        let tensors = read_safetensors(&dir.join("model.safetensors"))?;
        let meta_path = dir.join("train_meta.json");
        let meta: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(&meta_path).with_context(|| format!("cannot read {}", meta_path.display()))?,
        )
        .with_context(|| format!("{}: invalid JSON", meta_path.display()))?;
        let tok_path = dir.join("tokenizer.json");
        let tokenizer_json =
            std::fs::read(&tok_path).with_context(|| format!("cannot read {}", tok_path.display()))?;
        let ck = Checkpoint { config, tensors, meta, tokenizer_json };
        ck.validate()?;
        Ok(ck)
    }

    /// Writes the checkpoint directory (config.json, model.safetensors, train_meta.json, tokenizer.json).
    #[cfg_attr(not(test), allow(dead_code))] // used by tests and by callers that build checkpoints
    pub fn save(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        std::fs::write(dir.join("config.json"), serde_json::to_string_pretty(&self.config.to_hf_json())? + "\n")?;
        write_safetensors(&dir.join("model.safetensors"), &self.tensors)?;
        std::fs::write(dir.join("train_meta.json"), serde_json::to_string_pretty(&self.meta)? + "\n")?;
        std::fs::write(dir.join("tokenizer.json"), &self.tokenizer_json)?;
        Ok(())
    }

    /// Labels from `train_meta.json`.
    pub fn labels(&self) -> Result<Vec<LabelInfo>> {
        let v = self.meta.get("labels").context("train_meta.json has no \"labels\"")?;
        serde_json::from_value(v.clone()).context("train_meta.json \"labels\" must be [{\"name\",\"pii\"}...]")
    }

    /// `max_length` from `train_meta.json` (128 when absent).
    pub fn max_length(&self) -> Result<usize> {
        match self.meta.get("max_length") {
            None => Ok(128),
            Some(v) => v.as_u64().map(|v| v as usize).context("train_meta.json \"max_length\" must be a number"),
        }
    }

    /// Number of BIO tags the classifier produces.
    pub fn num_tags(&self) -> Result<usize> {
        Ok(self.get("classifier.weight")?.shape[0])
    }

    /// A tensor by name.
    pub fn get(&self, name: &str) -> Result<&Tensor> {
        self.tensors.get(name).with_context(|| format!("checkpoint has no tensor {name}"))
    }

    /// A tensor by name with an expected shape.
    pub fn get_shaped(&self, name: &str, shape: &[usize]) -> Result<&[f32]> {
        let t = self.get(name)?;
        if t.shape != shape {
            bail!("tensor {name} has shape {:?}, expected {:?}", t.shape, shape);
        }
        Ok(&t.data)
    }

    /// Checks every tensor the exporter reads, the config and the labels.
    pub fn validate(&self) -> Result<()> {
        let c = &self.config;
        if c.hidden_act != "gelu" {
            bail!("hidden_act {:?} is not supported (only \"gelu\", the erf form)", c.hidden_act);
        }
        if c.num_attention_heads == 0 || c.hidden_size % c.num_attention_heads != 0 {
            bail!("hidden_size {} is not divisible by num_attention_heads {}", c.hidden_size, c.num_attention_heads);
        }
        let (h, i) = (c.hidden_size, c.intermediate_size);
        self.get_shaped("embeddings.word_embeddings.weight", &[c.vocab_size, h])?;
        self.get_shaped("embeddings.position_embeddings.weight", &[c.max_position_embeddings, h])?;
        self.get_shaped("embeddings.token_type_embeddings.weight", &[c.type_vocab_size, h])?;
        self.get_shaped("embeddings.LayerNorm.weight", &[h])?;
        self.get_shaped("embeddings.LayerNorm.bias", &[h])?;
        for l in 0..c.num_hidden_layers {
            let p = format!("encoder.layer.{l}");
            for (n, shape) in [
                ("attention.self.query.weight", vec![h, h]),
                ("attention.self.query.bias", vec![h]),
                ("attention.self.key.weight", vec![h, h]),
                ("attention.self.key.bias", vec![h]),
                ("attention.self.value.weight", vec![h, h]),
                ("attention.self.value.bias", vec![h]),
                ("attention.output.dense.weight", vec![h, h]),
                ("attention.output.dense.bias", vec![h]),
                ("attention.output.LayerNorm.weight", vec![h]),
                ("attention.output.LayerNorm.bias", vec![h]),
                ("intermediate.dense.weight", vec![i, h]),
                ("intermediate.dense.bias", vec![i]),
                ("output.dense.weight", vec![h, i]),
                ("output.dense.bias", vec![h]),
                ("output.LayerNorm.weight", vec![h]),
                ("output.LayerNorm.bias", vec![h]),
            ] {
                self.get_shaped(&format!("{p}.{n}"), &shape)?;
            }
        }
        let t = self.num_tags()?;
        self.get_shaped("classifier.weight", &[t, h])?;
        self.get_shaped("classifier.bias", &[t])?;
        let labels = self.labels()?;
        if 1 + 2 * labels.len() != t {
            bail!("train_meta.json has {} labels (so {} BIO tags) but the classifier has {t} rows", labels.len(), 1 + 2 * labels.len());
        }
        Ok(())
    }
}

/// A seeded normal sampler (Box-Muller over ChaCha8).
pub struct Gaussian {
    rng: ChaCha8Rng,
}

impl Gaussian {
    pub fn new(seed: u64) -> Self {
        Gaussian { rng: ChaCha8Rng::seed_from_u64(seed) }
    }

    /// One sample of N(0, std²).
    pub fn sample(&mut self, std: f32) -> f32 {
        let u1: f64 = self.rng.gen_range(f64::MIN_POSITIVE..1.0);
        let u2: f64 = self.rng.gen();
        ((-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()) as f32 * std
    }

    /// `n` samples of N(mean, std²).
    pub fn vec(&mut self, n: usize, mean: f32, std: f32) -> Vec<f32> {
        (0..n).map(|_| mean + self.sample(std)).collect()
    }
}

/// A checkpoint with random weights of a sensible scale (activations stay O(1)), for tests.
#[cfg_attr(not(test), allow(dead_code))] // used by tests and by callers that build checkpoints
pub fn random_checkpoint(
    config: &BertConfig,
    labels: &[LabelInfo],
    max_length: usize,
    tokenizer_json: Vec<u8>,
    seed: u64,
) -> Checkpoint {
    let mut g = Gaussian::new(seed);
    let (h, i, v) = (config.hidden_size, config.intermediate_size, config.vocab_size);
    let t = 1 + 2 * labels.len();
    let mut m = BTreeMap::new();
    let mut put = |name: String, shape: Vec<usize>, data: Vec<f32>| {
        m.insert(name, Tensor::new(shape, data));
    };
    put("embeddings.word_embeddings.weight".into(), vec![v, h], g.vec(v * h, 0.0, 0.5));
    put("embeddings.position_embeddings.weight".into(), vec![config.max_position_embeddings, h], g.vec(config.max_position_embeddings * h, 0.0, 0.2));
    put("embeddings.token_type_embeddings.weight".into(), vec![config.type_vocab_size, h], g.vec(config.type_vocab_size * h, 0.0, 0.2));
    put("embeddings.LayerNorm.weight".into(), vec![h], g.vec(h, 1.0, 0.1));
    put("embeddings.LayerNorm.bias".into(), vec![h], g.vec(h, 0.0, 0.1));
    let lin_std = |fan_in: usize| 1.0 / (fan_in as f32).sqrt();
    for l in 0..config.num_hidden_layers {
        let p = format!("encoder.layer.{l}");
        for n in ["query", "key", "value"] {
            put(format!("{p}.attention.self.{n}.weight"), vec![h, h], g.vec(h * h, 0.0, lin_std(h)));
            put(format!("{p}.attention.self.{n}.bias"), vec![h], g.vec(h, 0.0, 0.1));
        }
        put(format!("{p}.attention.output.dense.weight"), vec![h, h], g.vec(h * h, 0.0, lin_std(h)));
        put(format!("{p}.attention.output.dense.bias"), vec![h], g.vec(h, 0.0, 0.1));
        put(format!("{p}.attention.output.LayerNorm.weight"), vec![h], g.vec(h, 1.0, 0.1));
        put(format!("{p}.attention.output.LayerNorm.bias"), vec![h], g.vec(h, 0.0, 0.1));
        put(format!("{p}.intermediate.dense.weight"), vec![i, h], g.vec(i * h, 0.0, lin_std(h)));
        put(format!("{p}.intermediate.dense.bias"), vec![i], g.vec(i, 0.0, 0.1));
        put(format!("{p}.output.dense.weight"), vec![h, i], g.vec(h * i, 0.0, lin_std(i)));
        put(format!("{p}.output.dense.bias"), vec![h], g.vec(h, 0.0, 0.1));
        put(format!("{p}.output.LayerNorm.weight"), vec![h], g.vec(h, 1.0, 0.1));
        put(format!("{p}.output.LayerNorm.bias"), vec![h], g.vec(h, 0.0, 0.1));
    }
    put("classifier.weight".into(), vec![t, h], g.vec(t * h, 0.0, lin_std(h)));
    put("classifier.bias".into(), vec![t], g.vec(t, 0.0, 0.1));
    Checkpoint {
        config: config.clone(),
        tensors: m,
        meta: serde_json::json!({ "labels": labels, "max_length": max_length, "random_init_seed": seed }),
        tokenizer_json,
    }
}
