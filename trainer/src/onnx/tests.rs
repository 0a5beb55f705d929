//! Tests of the ONNX writer: protobuf roundtrip, graph semantics against a plain-Rust
//! reference forward pass, int8 against fp32, and (in `parity`) against candle.


use prost::Message;

use super::bert::{build_model, export_bytes, Precision};
use super::checkpoint::{random_checkpoint, BertConfig, Checkpoint};
use super::graph::{attr_int, attr_ints, encode, Dim, GraphBuilder};
use super::proto::{data_type, ModelProto};
use super::runtime::{argmax, OrtModel};
use pii::manifest::{default_labels, LabelInfo};

/// A minimal WordPiece tokenizer.json over `words` (ids after the 5 specials).
pub fn tiny_tokenizer_json(words: &[&str]) -> Vec<u8> {
    let mut vocab = serde_json::Map::new();
    for (i, w) in ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"].iter().chain(words).enumerate() {
        vocab.insert(w.to_string(), serde_json::json!(i));
    }
    let special = |id: usize, c: &str| {
        serde_json::json!({"id": id, "content": c, "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true})
    };
    serde_json::to_vec(&serde_json::json!({
        "version": "1.0",
        "truncation": null,
        "padding": null,
        "added_tokens": [special(0, "[PAD]"), special(1, "[UNK]"), special(2, "[CLS]"), special(3, "[SEP]"), special(4, "[MASK]")],
        "normalizer": {"type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": true, "strip_accents": null, "lowercase": true},
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "[SEP]", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}, {"SpecialToken": {"id": "[SEP]", "type_id": 1}}],
            "special_tokens": {
                "[CLS]": {"id": "[CLS]", "ids": [2], "tokens": ["[CLS]"]},
                "[SEP]": {"id": "[SEP]", "ids": [3], "tokens": ["[SEP]"]}
            }
        },
        "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": true},
        "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##", "max_input_chars_per_word": 100, "vocab": vocab}
    }))
    .unwrap()
}

pub fn tiny_config(vocab: usize) -> BertConfig {
    BertConfig {
        vocab_size: vocab,
        hidden_size: 24,
        num_hidden_layers: 2,
        num_attention_heads: 3,
        intermediate_size: 48,
        max_position_embeddings: 40,
        type_vocab_size: 2,
        layer_norm_eps: 1e-12,
        hidden_act: "gelu".into(),
    }
}

pub const TINY_WORDS: &[&str] = &["my", "name", "is", "priya", "nine", "eight", "delhi", "##ya", "from", "and"];

pub fn tiny_checkpoint(seed: u64) -> Checkpoint {
    let labels: Vec<LabelInfo> = default_labels();
    random_checkpoint(&tiny_config(5 + TINY_WORDS.len()), &labels, 32, tiny_tokenizer_json(TINY_WORDS), seed)
}

// ---- plain-Rust reference forward (f64 accumulation) ----

fn layer_norm(x: &mut [f32], g: &[f32], b: &[f32], eps: f64) {
    let n = x.len() as f64;
    let mean = x.iter().map(|&v| v as f64).sum::<f64>() / n;
    let var = x.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n;
    let inv = 1.0 / (var + eps).sqrt();
    for (i, v) in x.iter_mut().enumerate() {
        *v = (((*v as f64 - mean) * inv) as f32) * g[i] + b[i];
    }
}

/// y = x W^T + b with W [out, in].
fn linear(x: &[f32], w: &[f32], b: &[f32]) -> Vec<f32> {
    let n_in = x.len();
    b.iter()
        .enumerate()
        .map(|(o, &bo)| bo + (0..n_in).map(|i| x[i] as f64 * w[o * n_in + i] as f64).sum::<f64>() as f32)
        .collect()
}

fn erf(x: f64) -> f64 {
    // Abramowitz-Stegun 7.1.26 is too coarse; use a series / continued fraction via libm-free approach.
    // erf via the complementary error function with high-precision rational approximation (W. J. Cody).
    let t = 1.0 / (1.0 + 0.5 * x.abs());
    let y = 1.0
        - t * (-x * x - 1.26551223
            + t * (1.00002368
                + t * (0.37409196
                    + t * (0.09678418
                        + t * (-0.18628806
                            + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))))
            .exp();
    if x >= 0.0 {
        y
    } else {
        -y
    }
}

pub fn reference_logits(ck: &Checkpoint, ids: &[u32], mask: &[i64]) -> Vec<Vec<f32>> {
    let c = &ck.config;
    let (h, nh) = (c.hidden_size, c.num_attention_heads);
    let hd = h / nh;
    let t = |n: &str| &ck.tensors[n].data;
    let s = ids.len();
    let mut x: Vec<Vec<f32>> = (0..s)
        .map(|p| {
            let mut v: Vec<f32> = (0..h)
                .map(|k| {
                    t("embeddings.word_embeddings.weight")[ids[p] as usize * h + k]
                        + t("embeddings.position_embeddings.weight")[p * h + k]
                        + t("embeddings.token_type_embeddings.weight")[k]
                })
                .collect();
            layer_norm(&mut v, t("embeddings.LayerNorm.weight"), t("embeddings.LayerNorm.bias"), c.layer_norm_eps);
            v
        })
        .collect();
    for l in 0..c.num_hidden_layers {
        let p = |n: &str| format!("encoder.layer.{l}.{n}");
        let lin = |x: &[f32], n: &str| linear(x, &ck.tensors[&p(&format!("{n}.weight"))].data, &ck.tensors[&p(&format!("{n}.bias"))].data);
        let q: Vec<Vec<f32>> = x.iter().map(|v| lin(v, "attention.self.query")).collect();
        let k: Vec<Vec<f32>> = x.iter().map(|v| lin(v, "attention.self.key")).collect();
        let vv: Vec<Vec<f32>> = x.iter().map(|v| lin(v, "attention.self.value")).collect();
        let mut ctx = vec![vec![0f32; h]; s];
        for head in 0..nh {
            let r = head * hd..(head + 1) * hd;
            for i in 0..s {
                let scores: Vec<f64> = (0..s)
                    .map(|j| {
                        let d: f64 = r.clone().map(|d| q[i][d] as f64 * k[j][d] as f64).sum();
                        d / (hd as f64).sqrt() + (1.0 - mask[j] as f64) * -1e9
                    })
                    .collect();
                let m = scores.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                let e: Vec<f64> = scores.iter().map(|v| (v - m).exp()).collect();
                let z: f64 = e.iter().sum();
                for d in r.clone() {
                    ctx[i][d] = (0..s).map(|j| e[j] / z * vv[j][d] as f64).sum::<f64>() as f32;
                }
            }
        }
        for i in 0..s {
            let a = lin(&ctx[i], "attention.output.dense");
            let mut y: Vec<f32> = a.iter().zip(&x[i]).map(|(a, b)| a + b).collect();
            layer_norm(&mut y, &ck.tensors[&p("attention.output.LayerNorm.weight")].data, &ck.tensors[&p("attention.output.LayerNorm.bias")].data, c.layer_norm_eps);
            let mid: Vec<f32> = lin(&y, "intermediate.dense")
                .iter()
                .map(|&v| (v as f64 * 0.5 * (1.0 + erf(v as f64 / std::f64::consts::SQRT_2))) as f32)
                .collect();
            let o = lin(&mid, "output.dense");
            let mut z: Vec<f32> = o.iter().zip(&y).map(|(a, b)| a + b).collect();
            layer_norm(&mut z, &ck.tensors[&p("output.LayerNorm.weight")].data, &ck.tensors[&p("output.LayerNorm.bias")].data, c.layer_norm_eps);
            x[i] = z;
        }
    }
    x.iter().map(|v| linear(v, t("classifier.weight"), t("classifier.bias"))).collect()
}

/// Top-1 minus top-2 logit.
fn margin(v: &[f32]) -> f32 {
    let b = argmax(v);
    v[b] - v.iter().enumerate().filter(|(i, _)| *i != b).fold(f32::NEG_INFINITY, |m, (_, &x)| m.max(x))
}

fn max_abs_diff(a: &[Vec<f32>], b: &[Vec<f32>]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter().flatten().zip(b.iter().flatten()).fold(0f32, |m, (x, y)| m.max((x - y).abs()))
}

fn write_model(dir: &std::path::Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

// ---- tests ----

#[test]
fn protobuf_roundtrip_of_a_small_graph() {
    let mut g = GraphBuilder::new();
    let x = g.input("x", data_type::FLOAT, &[Dim::Named("batch"), Dim::Fixed(3)]);
    let w = g.init_f32("w", &[3, 2], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    let q = g.init_i8("q", &[2], &[-127, 5]);
    let axes = g.const_i64("axes", &[0]);
    let y = g.op("MatMul", &[&x, &w], vec![]);
    let y = g.op("Transpose", &[&y], vec![attr_ints("perm", &[1, 0]), attr_int("zero_valued", 0)]);
    let _ = (q, axes);
    g.identity_as(&y, "y");
    g.output("y", data_type::FLOAT, &[Dim::Fixed(2), Dim::Named("batch")]);
    let m = g.into_model("t", "doc");
    let bytes = encode(&m);
    let back = ModelProto::decode(bytes.as_slice()).unwrap();
    assert_eq!(back, m);
    let graph = back.graph.unwrap();
    assert_eq!(graph.node.len(), 3);
    // A zero-valued attribute is still present (proto2 optional semantics).
    assert_eq!(graph.node[1].attribute[1].i, Some(0));
    assert_eq!(graph.initializer[1].raw_data.as_deref(), Some(&[0x81u8, 5][..]));
    assert_eq!(back.opset_import.len(), 1);
}

#[test]
fn fp32_graph_matches_reference_and_int8_agrees() {
    let ck = tiny_checkpoint(7);
    let dir = tempfile::tempdir().unwrap();
    let fp32 = write_model(dir.path(), "fp32.onnx", &export_bytes(&ck, Precision::Fp32).unwrap());
    let int8 = write_model(dir.path(), "int8.onnx", &export_bytes(&ck, Precision::Int8).unwrap());
    let m = build_model(&ck, Precision::Int8).unwrap();
    assert!(m.opset_import.iter().any(|o| o.domain.as_deref() == Some("com.microsoft")));
    let mut f = OrtModel::load(&fp32, 1).expect("ONNX Runtime is required for this test");
    let mut q = OrtModel::load(&int8, 1).unwrap();
    let v = ck.config.vocab_size as u32;
    let (mut agree, mut total, mut worst) = (0, 0, 0f32);
    for (n, seed) in [(1usize, 1u32), (5, 2), (17, 3), (32, 4)] {
        let ids: Vec<u32> = (0..n as u32).map(|i| (i * 7 + seed * 13) % v).collect();
        let reference = reference_logits(&ck, &ids, &vec![1; n]);
        let a = f.logits(&ids).unwrap();
        worst = worst.max(max_abs_diff(&a, &reference));
        let b = q.logits(&ids).unwrap();
        agree += a.iter().zip(&b).filter(|(x, y)| argmax(x) == argmax(y)).count();
        total += n;
    }
    assert!(worst <= 1e-4, "fp32 ONNX vs reference: max abs diff {worst}");
    assert!(agree * 10 >= total * 8, "int8 argmax agrees on only {agree}/{total}");
    eprintln!("fp32 vs reference max abs diff {worst:e}; int8 argmax agreement {agree}/{total}");
}

#[test]
fn padding_mask_is_honoured_in_batches() {
    let ck = tiny_checkpoint(11);
    let dir = tempfile::tempdir().unwrap();
    let fp32 = write_model(dir.path(), "fp32.onnx", &export_bytes(&ck, Precision::Fp32).unwrap());
    let mut f = OrtModel::load(&fp32, 1).expect("ONNX Runtime is required for this test");
    let short: Vec<i64> = vec![2, 7, 8, 9, 3];
    let mut padded = short.clone();
    padded.extend([0, 0, 0]);
    let long: Vec<i64> = vec![2, 5, 6, 7, 8, 9, 10, 3];
    let out = f
        .logits_batch(&[padded, long.clone()], &[vec![1, 1, 1, 1, 1, 0, 0, 0], vec![1; 8]])
        .unwrap();
    let alone = f.logits(&short.iter().map(|&v| v as u32).collect::<Vec<_>>()).unwrap();
    let d = max_abs_diff(&out[0][..5], &alone);
    assert!(d <= 1e-4, "padded vs unpadded: {d}");
    let reference = reference_logits(&ck, &long.iter().map(|&v| v as u32).collect::<Vec<_>>(), &[1; 8]);
    assert!(max_abs_diff(&out[1], &reference) <= 1e-4);
}

#[test]
fn checkpoint_dir_roundtrip() {
    let ck = tiny_checkpoint(3);
    let dir = tempfile::tempdir().unwrap();
    ck.save(dir.path()).unwrap();
    let back = Checkpoint::load(dir.path()).unwrap();
    assert_eq!(back.config, ck.config);
    assert_eq!(back.tensors, ck.tensors);
    assert_eq!(back.labels().unwrap(), default_labels());
    let mut broken = ck.clone();
    broken.tensors.remove("encoder.layer.1.output.dense.bias");
    assert!(broken.validate().is_err());
}

/// The exported graphs against the candle model the trainer trains (`crate::bert`): the
/// checkpoint goes through the real directory format on both sides.
#[test]
fn parity_with_candle() {
    use crate::export::{export_checkpoint, ExportOptions, Verify};
    use pii::manifest::{MODEL_FILE, MODEL_FP32_FILE};
    let ck = tiny_checkpoint(21);
    let ckdir = tempfile::tempdir().unwrap();
    ck.save(ckdir.path()).unwrap();
    let candle = crate::bert::BertTagger::load_checkpoint(ckdir.path()).unwrap();
    let out = tempfile::tempdir().unwrap();
    let opts = ExportOptions { verify: Verify::Required, ..Default::default() };
    export_checkpoint(&Checkpoint::load(ckdir.path()).unwrap(), out.path(), &opts).unwrap();
    let mut f = OrtModel::load(&out.path().join(MODEL_FP32_FILE), 1).unwrap();
    let mut q = OrtModel::load(&out.path().join(MODEL_FILE), 1).unwrap();
    let v = ck.config.vocab_size as u32;
    let (mut worst, mut worst_int8, mut agree, mut total) = (0f32, 0f32, 0usize, 0usize);
    let (mut confident, mut confident_agree) = (0usize, 0usize);
    for (n, seed) in [(1usize, 5u32), (3, 1), (9, 2), (20, 3), (32, 4)] {
        let ids: Vec<u32> = (0..n as u32).map(|i| (i * 11 + seed * 7 + i * i) % v).collect();
        let c = candle.logits(&ids).unwrap();
        let a = f.logits(&ids).unwrap();
        let b = q.logits(&ids).unwrap();
        worst = worst.max(max_abs_diff(&a, &c));
        worst_int8 = worst_int8.max(max_abs_diff(&b, &c));
        agree += b.iter().zip(&c).filter(|(x, y)| argmax(x) == argmax(y)).count();
        total += n;
        for (x, y) in b.iter().zip(&c) {
            if margin(y) >= 0.5 {
                confident += 1;
                confident_agree += usize::from(argmax(x) == argmax(y));
            }
        }
    }
    eprintln!(
        "candle parity: fp32 max abs diff {worst:e}; int8 max abs diff {worst_int8:.4}, argmax agreement {agree}/{total} \
         (positions with a top-2 margin >= 0.5: {confident_agree}/{confident})"
    );
    assert!(worst <= 1e-4, "fp32 ONNX vs candle: max abs diff {worst}");
    // A random network has many near-ties; int8 noise (mostly the per-tensor activation
    // quantization) flips some of those, never a clear decision.
    assert!(agree * 4 >= total * 3, "int8 argmax agrees with candle on only {agree}/{total}");
    assert!(confident >= 5 && confident_agree == confident, "int8 flips a confident argmax: {confident_agree}/{confident}");
    assert!(worst_int8 < 1.0, "int8 vs candle max abs diff {worst_int8}");
}

/// Size and speed of a real-shape export: `PII_BENCH_CHECKPOINT=DIR cargo test --release -p
/// pii-trainer -- --ignored bench_export --nocapture` (DIR: a checkpoint directory, e.g.
/// all-MiniLM-L6 with a classifier head). Prints file sizes, int8-vs-fp32 agreement on
/// random sentences and per-call latency at one thread.
#[test]
#[ignore]
fn bench_export() {
    use crate::export::{export_checkpoint, ExportOptions, Verify};
    use pii::manifest::{MODEL_FILE, MODEL_FP32_FILE};
    let dir = std::env::var("PII_BENCH_CHECKPOINT").expect("set PII_BENCH_CHECKPOINT to a checkpoint directory");
    let ck = Checkpoint::load(std::path::Path::new(&dir)).unwrap();
    let out = tempfile::tempdir().unwrap();
    let r = export_checkpoint(&ck, out.path(), &ExportOptions { verify: Verify::Required, ..Default::default() }).unwrap();
    for (f, n) in &r.files {
        eprintln!("{f}: {:.2} MB", *n as f64 / 1e6);
    }
    let mut f = OrtModel::load(&out.path().join(MODEL_FP32_FILE), 1).unwrap();
    let mut q = OrtModel::load(&out.path().join(MODEL_FILE), 1).unwrap();
    let mut g = super::checkpoint::Gaussian::new(9);
    let v = ck.config.vocab_size as f32;
    let (mut agree, mut total, mut worst, mut spread) = (0, 0, 0f32, 0f32);
    for _ in 0..20 {
        let ids: Vec<u32> = (0..40).map(|_| ((g.sample(1.0).abs() * 0.3 * v) as u32).min(v as u32 - 1)).collect();
        let a = f.logits(&ids).unwrap();
        let b = q.logits(&ids).unwrap();
        agree += a.iter().zip(&b).filter(|(x, y)| argmax(x) == argmax(y)).count();
        total += a.len();
        worst = worst.max(max_abs_diff(&a, &b));
        spread = spread.max(a.iter().flatten().fold(0f32, |m, x| m.max(x.abs())));
    }
    eprintln!("int8 vs fp32 on 20 random 40-token inputs: argmax {agree}/{total}, max abs diff {worst:.4} (max |logit| {spread:.2})");
    for len in [16usize, 40, 128] {
        let ids: Vec<u32> = (0..len as u32).map(|i| (i * 97 + 1000) % v as u32).collect();
        for (name, m) in [("fp32", &mut f), ("int8", &mut q)] {
            for _ in 0..5 {
                m.logits(&ids).unwrap();
            }
            let n = 50;
            let t = std::time::Instant::now();
            for _ in 0..n {
                m.logits(&ids).unwrap();
            }
            eprintln!("{name} {len} tokens, 1 thread: {:.2} ms", t.elapsed().as_secs_f64() * 1e3 / n as f64);
        }
    }
}

/// Splits int8 error into weight rounding and activation quantization (diagnostic).
#[test]
#[ignore]
fn int8_error_breakdown() {
    use super::quant;
    let ck = tiny_checkpoint(21);
    let mut deq = ck.clone();
    for (name, t) in deq.tensors.iter_mut() {
        if name.starts_with("encoder.layer.") && name.ends_with("dense.weight") || name.contains("attention.self.") && name.ends_with(".weight") {
            // [out, in]: per-output scale == per row of the stored matrix.
            let (q, s) = quant::per_row(&t.data, t.shape[0], t.shape[1]);
            t.data = q.iter().enumerate().map(|(i, &v)| v as f32 * s[i / t.shape[1]]).collect();
        }
        if name == "embeddings.word_embeddings.weight" {
            let (q, s) = quant::per_row(&t.data, t.shape[0], t.shape[1]);
            t.data = q.iter().enumerate().map(|(i, &v)| v as f32 * s[i / t.shape[1]]).collect();
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let f = write_model(dir.path(), "f.onnx", &export_bytes(&ck, Precision::Fp32).unwrap());
    let d = write_model(dir.path(), "d.onnx", &export_bytes(&deq, Precision::Fp32).unwrap());
    let q = write_model(dir.path(), "q.onnx", &export_bytes(&ck, Precision::Int8).unwrap());
    let (mut f, mut d, mut q) = (OrtModel::load(&f, 1).unwrap(), OrtModel::load(&d, 1).unwrap(), OrtModel::load(&q, 1).unwrap());
    let v = ck.config.vocab_size as u32;
    for (n, seed) in [(9usize, 2u32), (32, 4)] {
        let ids: Vec<u32> = (0..n as u32).map(|i| (i * 11 + seed * 7 + i * i) % v).collect();
        let (a, b, c) = (f.logits(&ids).unwrap(), d.logits(&ids).unwrap(), q.logits(&ids).unwrap());
        eprintln!("n={n}: weight rounding {:.4}, activation quantization {:.4}, total {:.4}", max_abs_diff(&a, &b), max_abs_diff(&b, &c), max_abs_diff(&a, &c));
    }
}
