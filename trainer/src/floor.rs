//! `pii-trainer floor`: a model's distance to its int8 GEMM floor on this machine.
//!
//! The encoder's GEMMs are read from the model's graph (every com.microsoft
//! `DynamicQuantizeMatMul` and its int8 weight `[in, out]`). For each shape, a graph of
//! `--copies` such nodes (distinct random weights, one shared input `[1, seq, in]`, as the
//! model feeds them) is run on one thread with the library's session options; its time per
//! node, activation quantization included, is that GEMM's measured cost, and
//! `seq * in * out / time` its throughput. The floor is the sum over the model's GEMMs.
//! Then the model itself is timed at the same length: `Model::logits` (inference alone) and
//! `Model::tag` end to end on utterances of exactly `--pieces` word pieces, and printed as
//! multiples of the floor. GEMM and model timings alternate in rounds, so machine noise
//! falls on both alike; medians are reported.

use anyhow::{anyhow, bail, Context, Result};
use prost::Message;
use rand::{Rng, SeedableRng};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use ort::session::Session;
use ort::value::Tensor;

use crate::data::read_jsonl;
use crate::onnx::graph::{Dim, GraphBuilder, MS_DOMAIN};
use crate::onnx::proto::{data_type, ModelProto};

/// Command-line arguments.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Model directory.
    #[arg(long, default_value = "data/model")]
    pub model: PathBuf,
    /// Word pieces per utterance (without [CLS]/[SEP]); comma separated for several lengths.
    #[arg(long, value_delimiter = ',', default_value = "38,63")]
    pub pieces: Vec<usize>,
    /// Utterances to time `Model::tag` on: those with exactly `--pieces` pieces.
    #[arg(long, value_delimiter = ',', default_value = "data/dev.jsonl,data/heldout.jsonl")]
    pub texts: Vec<PathBuf>,
    /// Rounds (each: every GEMM graph, then the model).
    #[arg(long, default_value_t = 10)]
    pub rounds: usize,
    /// Timed runs per GEMM graph and model calls per stage, per round.
    #[arg(long, default_value_t = 50)]
    pub runs: usize,
    /// DynamicQuantizeMatMul nodes per GEMM graph (amortizes ONNX Runtime's per-run cost).
    #[arg(long, default_value_t = 8)]
    pub copies: usize,
    /// ONNX Runtime library (default as for `predict`).
    #[arg(long)]
    pub ort_library: Option<PathBuf>,
}

/// (in, out) of each `DynamicQuantizeMatMul` of the model graph `bytes`, in graph order.
pub fn gemm_shapes(bytes: &[u8]) -> Result<Vec<(usize, usize)>> {
    let model = ModelProto::decode(bytes).context("model is not an ONNX protobuf")?;
    let graph = model.graph.ok_or_else(|| anyhow!("model has no graph"))?;
    let dims: BTreeMap<&str, (&[i64], i32)> = graph
        .initializer
        .iter()
        .map(|t| (t.name.as_deref().unwrap_or(""), (&t.dims[..], t.data_type.unwrap_or(0))))
        .collect();
    let mut out = Vec::new();
    for n in &graph.node {
        if n.op_type.as_deref() != Some("DynamicQuantizeMatMul") || n.domain.as_deref() != Some(MS_DOMAIN) {
            continue;
        }
        let w = n.input.get(1).map(String::as_str).unwrap_or("");
        match dims.get(w) {
            Some((&[i, o], dt)) if *dt == data_type::INT8 => out.push((i as usize, o as usize)),
            _ => bail!("DynamicQuantizeMatMul {:?}: weight {w:?} is not an int8 [in, out] initializer", n.name),
        }
    }
    Ok(out)
}

/// A graph of `copies` DynamicQuantizeMatMul nodes `[1, seq, n_in] x [n_in, n_out] + bias`
/// with distinct random int8 weights, all reading input `x`.
fn gemm_graph(n_in: usize, n_out: usize, copies: usize, seed: u64) -> Vec<u8> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut g = GraphBuilder::new();
    let x = g.input("x", data_type::FLOAT, &[Dim::Fixed(1), Dim::Named("seq"), Dim::Fixed(n_in as i64)]);
    for c in 0..copies {
        let q: Vec<i8> = (0..n_in * n_out).map(|_| rng.gen_range(-127..=127)).collect();
        let s: Vec<f32> = (0..n_out).map(|_| rng.gen_range(0.5..1.5) / 127.0 / (n_in as f32).sqrt()).collect();
        let b: Vec<f32> = (0..n_out).map(|_| rng.gen_range(-0.1..0.1)).collect();
        let wq = g.init_i8(&format!("w{c}"), &[n_in, n_out], &q);
        let ws = g.init_f32(&format!("s{c}"), &[n_out], &s);
        let bias = g.init_f32(&format!("b{c}"), &[n_out], &b);
        let y = g.ms_op("DynamicQuantizeMatMul", &[&x, &wq, &ws, "", &bias], vec![]);
        let name = format!("y{c}");
        g.identity_as(&y, &name);
        g.output(&name, data_type::FLOAT, &[Dim::Fixed(1), Dim::Named("seq"), Dim::Fixed(n_out as i64)]);
    }
    crate::onnx::graph::encode(&g.into_model("gemm", "GEMM floor probe"))
}

/// A session with the library's own settings ([`pii::model::new_session`]).
fn session(bytes: &[u8]) -> Result<Session> {
    // The runtime the model's load made, else the trainer's default one.
    if pii::runtime::environment().is_none() {
        crate::onnx::runtime::environment()?;
    }
    pii::model::new_session(bytes).map_err(|x| anyhow!("cannot load the GEMM graph: {x}"))
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// Run the command.
pub fn run(args: Args) -> Result<()> {
    if args.rounds == 0 || args.runs == 0 || args.copies == 0 {
        bail!("--rounds, --runs and --copies must be positive");
    }
    let ort = crate::predict::default_ort_library(args.ort_library.clone());
    let manifest = pii::manifest::Manifest::read(&args.model).map_err(|e| anyhow!("{e}"))?;
    let model_path = args.model.join(&manifest.model_file);
    let bytes = std::fs::read(&model_path).with_context(|| format!("cannot read {}", model_path.display()))?;
    let shapes = gemm_shapes(&bytes)?;
    if shapes.is_empty() {
        bail!("{} has no DynamicQuantizeMatMul (the floor is for int8 graphs)", model_path.display());
    }
    let opts = pii::Options { max_sessions: 1, ort_library: ort, ..Default::default() };
    let model = pii::Model::load(&args.model, &opts).map_err(|e| anyhow!("{}: {e}", args.model.display()))?;
    let mut kinds: BTreeMap<(usize, usize), usize> = BTreeMap::new();
    for s in &shapes {
        *kinds.entry(*s).or_default() += 1;
    }
    let macs_per_token: usize = shapes.iter().map(|(i, o)| i * o).sum();
    let cpu = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model_name = cpu.lines().find_map(|l| l.strip_prefix("model name")).map(|l| l.trim_start_matches([' ', '\t', ':'])).unwrap_or("?");
    let flags = cpu.lines().find(|l| l.starts_with("flags")).unwrap_or("");
    let has = |f: &str| if flags.split_whitespace().any(|x| x == f) { "yes" } else { "no" };
    println!(
        "cpu: {model_name} (avx512_vnni {}, avx_vnni {}); onnxruntime {}, one thread",
        has("avx512_vnni"),
        has("avx_vnni"),
        pii::runtime::version().unwrap_or("?")
    );
    println!(
        "model {}: {} int8 GEMMs (DynamicQuantizeMatMul), {:.2} M multiply-adds per token (all layers)",
        args.model.display(),
        shapes.len(),
        macs_per_token as f64 / 1e6
    );

    let mut utterances = Vec::new();
    for p in &args.texts {
        utterances.extend(read_jsonl(p)?.into_iter().map(|e| e.text));
    }
    let graphs: Vec<(usize, usize)> = kinds.keys().copied().collect();
    let mut graph_sessions: Vec<Session> = graphs
        .iter()
        .enumerate()
        .map(|(k, &(i, o))| session(&gemm_graph(i, o, args.copies, 17 + k as u64)))
        .collect::<Result<_>>()?;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
    for &pieces in &args.pieces {
        let seq = pieces + 2;
        let texts: Vec<&String> = utterances
            .iter()
            .filter(|t| model.encoder().encode(t).map(|e| e.ids.len() == pieces).unwrap_or(false))
            .collect();
        if texts.is_empty() {
            bail!("no utterance in {:?} has exactly {pieces} word pieces", args.texts);
        }
        let inputs: Vec<Tensor<f32>> = graphs
            .iter()
            .map(|(i, _)| {
                let x: Vec<f32> = (0..seq * i).map(|_| rng.gen_range(-2.0..2.0)).collect();
                Tensor::from_array(([1usize, seq, *i], x)).map_err(|e| anyhow!("{e}"))
            })
            .collect::<Result<_>>()?;
        let ids: Vec<i64> = {
            let enc = model.encoder().encode(texts[0])?;
            let mut ids = Vec::new();
            model.encoder().model_input(&enc, 0..pieces, &mut ids);
            ids
        };
        let mut gemm_ms: Vec<Vec<f64>> = vec![Vec::new(); graphs.len()];
        let (mut infer_ms, mut tag_ms) = (Vec::new(), Vec::new());
        let run_graph = |k: usize, s: &mut Session| -> Result<f64> {
            let t = Instant::now();
            drop(s.run(ort::inputs!["x" => inputs[k].view()]).map_err(|e| anyhow!("GEMM run failed: {e}"))?);
            Ok(t.elapsed().as_secs_f64() * 1e3 / args.copies as f64)
        };
        // Warm-up: every graph and the model.
        for (k, s) in graph_sessions.iter_mut().enumerate() {
            for _ in 0..3 {
                run_graph(k, s)?;
            }
        }
        for t in texts.iter().take(20) {
            model.tag(t).map_err(|e| anyhow!("{e}"))?;
        }
        let mut next = 0usize;
        for _ in 0..args.rounds {
            for (k, s) in graph_sessions.iter_mut().enumerate() {
                for _ in 0..args.runs {
                    gemm_ms[k].push(run_graph(k, s)?);
                }
            }
            for _ in 0..args.runs {
                let t = Instant::now();
                model.logits(&ids).map_err(|e| anyhow!("{e}"))?;
                infer_ms.push(t.elapsed().as_secs_f64() * 1e3);
                let text = texts[next % texts.len()];
                next += 1;
                let t = Instant::now();
                model.tag(text).map_err(|e| anyhow!("{e}"))?;
                tag_ms.push(t.elapsed().as_secs_f64() * 1e3);
            }
        }
        println!("pieces {pieces} (seq {seq} with [CLS]/[SEP]); {} utterances of that length; {} rounds x {} runs", texts.len(), args.rounds, args.runs);
        let mut floor = 0.0;
        for (k, (i, o)) in graphs.iter().enumerate() {
            let ms = median(&mut gemm_ms[k]);
            let n = kinds[&(*i, *o)];
            floor += ms * n as f64;
            println!(
                "  GEMM [{seq} x {i}] x [{i} x {o}]: {n} in the model, {:.4} ms each, {:.0} G multiply-adds/s",
                ms,
                (seq * i * o) as f64 / (ms * 1e-3) / 1e9
            );
        }
        let macs = (seq * macs_per_token) as f64;
        println!("  floor (sum over the model's GEMMs): {floor:.3} ms ({:.0} G multiply-adds/s overall)", macs / (floor * 1e-3) / 1e9);
        let infer = median(&mut infer_ms);
        let tag = median(&mut tag_ms);
        println!("  inference (Model::logits, one sequence): median {infer:.3} ms = {:.2}x floor", infer / floor);
        println!("  pii_tag end to end (Model::tag): median {tag:.3} ms = {:.2}x floor", tag / floor);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gemm_shapes_are_the_encoders_linears() {
        let ck = crate::onnx::tests::tiny_checkpoint(3);
        let c = &ck.config;
        let bytes = crate::onnx::bert::export_bytes(&ck, crate::onnx::bert::Precision::Int8).unwrap();
        let (h, f) = (c.hidden_size, c.intermediate_size);
        let per_layer = [(h, 3 * h), (h, h), (h, f), (f, h)];
        let want: Vec<(usize, usize)> = (0..c.num_hidden_layers).flat_map(|_| per_layer).collect();
        assert_eq!(gemm_shapes(&bytes).unwrap(), want);
        // The fp32 export has none (its Linears are MatMul + Add).
        let fp32 = crate::onnx::bert::export_bytes(&ck, crate::onnx::bert::Precision::Fp32).unwrap();
        assert!(gemm_shapes(&fp32).unwrap().is_empty());
        // A probe graph has the requested nodes and loads in ONNX Runtime.
        let probe = gemm_graph(h, f, 3, 1);
        assert_eq!(gemm_shapes(&probe).unwrap(), vec![(h, f); 3]);
        session(&probe).unwrap();
    }
}
