//! The BERT token classifier as an ONNX graph (opset 17).
//!
//! Inputs `input_ids`, `attention_mask` (int64 `[batch, seq]`); output `logits` (float
//! `[batch, seq, tags]`). The graph computes what `crate::bert` computes in candle:
//! embeddings (word + position + token type 0) -> LayerNorm -> N x (self-attention with
//! mask bias `(1 - mask) * -1e9`, dense + residual + LayerNorm, FFN with erf GELU, dense +
//! residual + LayerNorm) -> classifier.
//!
//! Graph-level simplifications that do not change the function: Q, K and V are one fused
//! `[H, 3H]` matmul split afterwards (one activation quantization instead of three in int8);
//! `1/sqrt(head_dim)` is folded into the query weights and bias; the token-type row 0 is
//! folded into the position table.
//!
//! In the int8 model every encoder Linear is a com.microsoft `DynamicQuantizeMatMul` (int8
//! weights `[in, out]` with one symmetric scale per output column, activations quantized
//! per call), and the word embedding is int8 rows with one float scale per row. The
//! classifier head (tiny) and the position table stay fp32.

use anyhow::Result;

use super::checkpoint::Checkpoint;
use super::graph::{attr_float, attr_int, attr_ints, Dim, GraphBuilder};
use super::proto::{data_type, ModelProto};
use super::quant;

/// Weight precision of an exported model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Precision {
    Fp32,
    Int8,
}

/// A short description of the int8 scheme, recorded in the manifest.
pub const INT8_SCHEME: &str = "encoder Linear layers: com.microsoft DynamicQuantizeMatMul, int8 weights with per-output-column symmetric scales, activations quantized dynamically (uint8, per tensor); word embedding: int8 rows with per-row symmetric scales; classifier, position/type embeddings and LayerNorm: fp32";

/// Transposes a row-major `[rows, cols]` matrix.
fn transpose(w: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut t = vec![0f32; w.len()];
    for r in 0..rows {
        for c in 0..cols {
            t[c * rows + r] = w[r * cols + c];
        }
    }
    t
}

struct Emitter {
    g: GraphBuilder,
    precision: Precision,
}

impl Emitter {
    /// `x @ w_t + b` with `w_t` row-major `[in, out]`.
    fn linear(&mut self, name: &str, x: &str, w_t: &[f32], n_in: usize, n_out: usize, b: &[f32], quantize: bool) -> String {
        let bias = self.g.init_f32(&format!("{name}.bias"), &[n_out], b);
        if quantize && self.precision == Precision::Int8 {
            let (q, s) = quant::per_column(w_t, n_in, n_out);
            let wq = self.g.init_i8(&format!("{name}.weight_int8"), &[n_in, n_out], &q);
            let ws = self.g.init_f32(&format!("{name}.weight_scale"), &[n_out], &s);
            // Symmetric weights: the optional zero-point input (all zeros) is left out.
            self.g.ms_op("DynamicQuantizeMatMul", &[x, &wq, &ws, "", &bias], vec![])
        } else {
            let w = self.g.init_f32(&format!("{name}.weight_t"), &[n_in, n_out], w_t);
            let mm = self.g.op("MatMul", &[x, &w], vec![]);
            self.g.op("Add", &[&mm, &bias], vec![])
        }
    }

    fn layer_norm(&mut self, name: &str, x: &str, gamma: &[f32], beta: &[f32], eps: f32) -> String {
        let n = gamma.len();
        let gm = self.g.init_f32(&format!("{name}.weight"), &[n], gamma);
        let bt = self.g.init_f32(&format!("{name}.bias"), &[n], beta);
        self.g.op("LayerNormalization", &[x, &gm, &bt], vec![attr_int("axis", -1), attr_float("epsilon", eps)])
    }

    /// GELU, erf form, in the node pattern ONNX Runtime fuses into one Gelu kernel.
    fn gelu(&mut self, x: &str) -> String {
        let sqrt2 = self.g.scalar_f32("sqrt2", std::f32::consts::SQRT_2);
        let one = self.g.scalar_f32("one", 1.0);
        let half = self.g.scalar_f32("half", 0.5);
        let d = self.g.op("Div", &[x, &sqrt2], vec![]);
        let e = self.g.op("Erf", &[&d], vec![]);
        let a = self.g.op("Add", &[&e, &one], vec![]);
        let m = self.g.op("Mul", &[x, &a], vec![]);
        self.g.op("Mul", &[&m, &half], vec![])
    }
}

/// Builds the ONNX model of a checkpoint.
pub fn build_model(ck: &Checkpoint, precision: Precision) -> Result<ModelProto> {
    ck.validate()?;
    let c = &ck.config;
    let (h, inter, nh) = (c.hidden_size, c.intermediate_size, c.num_attention_heads);
    let hd = c.head_dim();
    let eps = c.layer_norm_eps as f32;
    let tags = ck.num_tags()?;
    let mut e = Emitter { g: GraphBuilder::new(), precision };

    let ids = e.g.input("input_ids", data_type::INT64, &[Dim::Named("batch"), Dim::Named("seq")]);
    let mask = e.g.input("attention_mask", data_type::INT64, &[Dim::Named("batch"), Dim::Named("seq")]);

    // Word embeddings.
    let word = ck.get_shaped("embeddings.word_embeddings.weight", &[c.vocab_size, h])?;
    let word_emb = match precision {
        Precision::Fp32 => {
            let w = e.g.init_f32("embeddings.word_embeddings.weight", &[c.vocab_size, h], word);
            e.g.op("Gather", &[&w, &ids], vec![attr_int("axis", 0)])
        }
        Precision::Int8 => {
            let (q, s) = quant::per_row(word, c.vocab_size, h);
            let wq = e.g.init_i8("embeddings.word_embeddings.weight_int8", &[c.vocab_size, h], &q);
            let ws = e.g.init_f32("embeddings.word_embeddings.row_scale", &[c.vocab_size, 1], &s);
            let rows = e.g.op("Gather", &[&wq, &ids], vec![attr_int("axis", 0)]);
            let rows_f = e.g.op("Cast", &[&rows], vec![attr_int("to", data_type::FLOAT as i64)]);
            let scales = e.g.op("Gather", &[&ws, &ids], vec![attr_int("axis", 0)]);
            e.g.op("Mul", &[&rows_f, &scales], vec![])
        }
    };

    // Position embeddings 0..seq plus token type 0, one table.
    let pos = ck.get_shaped("embeddings.position_embeddings.weight", &[c.max_position_embeddings, h])?;
    let typ = ck.get_shaped("embeddings.token_type_embeddings.weight", &[c.type_vocab_size, h])?;
    let pos_type: Vec<f32> = pos.iter().enumerate().map(|(k, p)| p + typ[k % h]).collect();
    let pt = e.g.init_f32("embeddings.position_plus_type0", &[c.max_position_embeddings, h], &pos_type);
    let seq_len = e.g.op("Shape", &[&ids], vec![attr_int("start", 1), attr_int("end", 2)]);
    let zero = e.g.const_i64("zero", &[0]);
    let pos_rows = e.g.op("Slice", &[&pt, &zero, &seq_len, &zero], vec![]);
    let emb = e.g.op("Add", &[&word_emb, &pos_rows], vec![]);
    let mut x = e.layer_norm(
        "embeddings.LayerNorm",
        &emb,
        ck.get_shaped("embeddings.LayerNorm.weight", &[h])?,
        ck.get_shaped("embeddings.LayerNorm.bias", &[h])?,
        eps,
    );

    // Attention mask bias [batch, 1, 1, seq].
    let mask_f = e.g.op("Cast", &[&mask], vec![attr_int("to", data_type::FLOAT as i64)]);
    let one = e.g.scalar_f32("one", 1.0);
    let inv = e.g.op("Sub", &[&one, &mask_f], vec![]);
    let neg = e.g.scalar_f32("neg_inf", -1e9);
    let bias2 = e.g.op("Mul", &[&inv, &neg], vec![]);
    let axes12 = e.g.const_i64("axes", &[1, 2]);
    let mask_bias = e.g.op("Unsqueeze", &[&bias2, &axes12], vec![]);

    let heads_shape = e.g.const_i64("heads_shape", &[0, 0, nh as i64, hd as i64]);
    let merge_shape = e.g.const_i64("merge_shape", &[0, 0, h as i64]);
    let split_sizes = e.g.const_i64("qkv_split", &[h as i64, h as i64, h as i64]);
    let scale = 1.0 / (hd as f32).sqrt();

    for l in 0..c.num_hidden_layers {
        let p = format!("encoder.layer.{l}");
        let get = |n: &str, shape: &[usize]| ck.get_shaped(&format!("{p}.{n}"), shape);
        // Fused QKV: [H, 3H] = [Wq^T * scale | Wk^T | Wv^T].
        let wq: Vec<f32> = transpose(get("attention.self.query.weight", &[h, h])?, h, h).iter().map(|v| v * scale).collect();
        let wk = transpose(get("attention.self.key.weight", &[h, h])?, h, h);
        let wv = transpose(get("attention.self.value.weight", &[h, h])?, h, h);
        let mut w_qkv = Vec::with_capacity(3 * h * h);
        for r in 0..h {
            w_qkv.extend_from_slice(&wq[r * h..(r + 1) * h]);
            w_qkv.extend_from_slice(&wk[r * h..(r + 1) * h]);
            w_qkv.extend_from_slice(&wv[r * h..(r + 1) * h]);
        }
        let mut b_qkv: Vec<f32> = get("attention.self.query.bias", &[h])?.iter().map(|v| v * scale).collect();
        b_qkv.extend_from_slice(get("attention.self.key.bias", &[h])?);
        b_qkv.extend_from_slice(get("attention.self.value.bias", &[h])?);
        let qkv = e.linear(&format!("{p}.attention.qkv"), &x, &w_qkv, h, 3 * h, &b_qkv, true);
        let parts = e.g.node_n("", "Split", &[&qkv, &split_sizes], 3, vec![attr_int("axis", -1)]);
        let q4 = e.g.op("Reshape", &[&parts[0], &heads_shape], vec![]);
        let k4 = e.g.op("Reshape", &[&parts[1], &heads_shape], vec![]);
        let v4 = e.g.op("Reshape", &[&parts[2], &heads_shape], vec![]);
        let q = e.g.op("Transpose", &[&q4], vec![attr_ints("perm", &[0, 2, 1, 3])]);
        let kt = e.g.op("Transpose", &[&k4], vec![attr_ints("perm", &[0, 2, 3, 1])]);
        let v = e.g.op("Transpose", &[&v4], vec![attr_ints("perm", &[0, 2, 1, 3])]);
        let scores = e.g.op("MatMul", &[&q, &kt], vec![]);
        let scores = e.g.op("Add", &[&scores, &mask_bias], vec![]);
        let probs = e.g.op("Softmax", &[&scores], vec![attr_int("axis", -1)]);
        let ctx = e.g.op("MatMul", &[&probs, &v], vec![]);
        let ctx = e.g.op("Transpose", &[&ctx], vec![attr_ints("perm", &[0, 2, 1, 3])]);
        let ctx = e.g.op("Reshape", &[&ctx, &merge_shape], vec![]);
        let wo = transpose(get("attention.output.dense.weight", &[h, h])?, h, h);
        let attn = e.linear(&format!("{p}.attention.output.dense"), &ctx, &wo, h, h, get("attention.output.dense.bias", &[h])?, true);
        let res = e.g.op("Add", &[&attn, &x], vec![]);
        x = e.layer_norm(
            &format!("{p}.attention.output.LayerNorm"),
            &res,
            get("attention.output.LayerNorm.weight", &[h])?,
            get("attention.output.LayerNorm.bias", &[h])?,
            eps,
        );
        let wi = transpose(get("intermediate.dense.weight", &[inter, h])?, inter, h);
        let mid = e.linear(&format!("{p}.intermediate.dense"), &x, &wi, h, inter, get("intermediate.dense.bias", &[inter])?, true);
        let act = e.gelu(&mid);
        let wo2 = transpose(get("output.dense.weight", &[h, inter])?, h, inter);
        let out = e.linear(&format!("{p}.output.dense"), &act, &wo2, inter, h, get("output.dense.bias", &[h])?, true);
        let res = e.g.op("Add", &[&out, &x], vec![]);
        x = e.layer_norm(
            &format!("{p}.output.LayerNorm"),
            &res,
            get("output.LayerNorm.weight", &[h])?,
            get("output.LayerNorm.bias", &[h])?,
            eps,
        );
    }

    let wc = transpose(ck.get_shaped("classifier.weight", &[tags, h])?, tags, h);
    let logits = e.linear("classifier", &x, &wc, h, tags, ck.get_shaped("classifier.bias", &[tags])?, false);
    e.g.identity_as(&logits, "logits");
    e.g.output("logits", data_type::FLOAT, &[Dim::Named("batch"), Dim::Named("seq"), Dim::Fixed(tags as i64)]);

    let doc = format!(
        "pii BERT token classifier ({}): hidden {h}, layers {}, heads {nh}, intermediate {inter}, vocab {}, tags {tags}",
        match precision {
            Precision::Fp32 => "fp32",
            Precision::Int8 => "int8 dynamic",
        },
        c.num_hidden_layers,
        c.vocab_size
    );
    Ok(e.g.into_model("pii_bert", &doc))
}

/// Serialized model bytes.
pub fn export_bytes(ck: &Checkpoint, precision: Precision) -> Result<Vec<u8>> {
    Ok(super::graph::encode(&build_model(ck, precision)?))
}
