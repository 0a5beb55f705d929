//! The shipped graph after ONNX Runtime's own optimization (the level `pii_load` uses) holds no
//! `SkipLayerNormalization`: ONNX Runtime 1.31's CPU kernel for that fusion is several times
//! slower than Add + LayerNormalization on these shapes, and the export avoids it only because
//! each bias sits inside `DynamicQuantizeMatMul`. A change of export that lets the fusion
//! happen fails here.

mod common;

use common::*;
use ort::session::builder::GraphOptimizationLevel;
use ort::session::Session;

#[test]
fn optimized_shipped_graph_has_no_skip_layer_normalization() {
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data/model");
    // Loading a model starts the runtime this test then builds its own session on.
    let _m = pii::Model::load(&dir, &options()).expect("shipped model loads");
    let env = pii::runtime::environment().expect("runtime started");
    let out = tempfile::tempdir().unwrap();
    let optimized = out.path().join("optimized.onnx");
    Session::builder(env)
        .unwrap()
        .with_intra_threads(1)
        .unwrap()
        .with_optimization_level(GraphOptimizationLevel::All)
        .unwrap()
        .with_optimized_model_path(&optimized)
        .unwrap()
        .commit_from_file(dir.join("model.onnx"))
        .expect("session on the shipped graph");
    let bytes = std::fs::read(&optimized).expect("ONNX Runtime wrote the optimized graph");
    let has = |op: &str| bytes.windows(op.len()).any(|w| w == op.as_bytes());
    assert!(has("LayerNormalization"), "the optimized graph should still hold its layer norms");
    assert!(has("DynamicQuantizeMatMul"), "the int8 graph keeps its quantized matmuls");
    assert!(!has("SkipLayerNormalization"), "ONNX Runtime fused Add + LayerNormalization into SkipLayerNormalization");
}
