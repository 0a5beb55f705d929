//! Running exported models through ONNX Runtime (export checks, fixture checks, tests).

use anyhow::{anyhow, bail, Result};
use std::path::{Path, PathBuf};

use ort::environment::Environment;
use ort::session::builder::GraphOptimizationLevel;
use ort::session::Session;
use ort::value::Tensor;

/// Where the ONNX Runtime shared library is: `$PII_ORT_LIBRARY`, else
/// `.deps/onnxruntime/libonnxruntime.so.1` under the workspace root or the current directory.
pub fn ort_library() -> Result<PathBuf> {
    if let Some(p) = std::env::var_os("PII_ORT_LIBRARY") {
        let p = PathBuf::from(p);
        if p.exists() {
            return Ok(p);
        }
        bail!("PII_ORT_LIBRARY={} does not exist", p.display());
    }
    let rel = Path::new(".deps/onnxruntime/libonnxruntime.so.1");
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    for c in [workspace.join(rel), rel.to_path_buf()] {
        if c.exists() {
            return Ok(c);
        }
    }
    bail!(
        "ONNX Runtime library not found: set PII_ORT_LIBRARY to libonnxruntime.so.1 or place it at {}",
        workspace.join(rel).display()
    )
}

/// The process-wide ONNX Runtime environment, shared with the pii library (a process may
/// hold only one): loaded through `pii::runtime::ensure`, telemetry off.
pub fn environment() -> Result<&'static Environment> {
    let lib = ort_library()?;
    pii::runtime::ensure(Some(&lib)).map_err(|e| anyhow!("{e}"))?;
    pii::runtime::environment().ok_or_else(|| anyhow!("ONNX Runtime environment missing after load"))
}

/// One ONNX Runtime session over an exported model.
pub struct OrtModel {
    session: Session,
}

impl OrtModel {
    /// Loads `path` with full graph optimization and `threads` intra-op threads.
    pub fn load(path: &Path, threads: usize) -> Result<Self> {
        let env = environment()?;
        let session = Session::builder(env)
            .map_err(|e| anyhow!("{e}"))?
            .with_optimization_level(GraphOptimizationLevel::All)
            .map_err(|e| anyhow!("{e}"))?
            .with_intra_threads(threads)
            .map_err(|e| anyhow!("{e}"))?
            .commit_from_file(path)
            .map_err(|e| anyhow!("ONNX Runtime cannot load {}: {e}", path.display()))?;
        Ok(OrtModel { session })
    }

    /// Logits `[seq][tags]` of one sequence (mask all ones).
    pub fn logits(&mut self, ids: &[u32]) -> Result<Vec<Vec<f32>>> {
        let mask = vec![1i64; ids.len()];
        let mut out = self.logits_batch(&[ids.iter().map(|&i| i as i64).collect()], &[mask])?;
        Ok(out.remove(0))
    }

    /// Logits `[batch][seq][tags]` of equal-length sequences with their masks.
    pub fn logits_batch(&mut self, ids: &[Vec<i64>], masks: &[Vec<i64>]) -> Result<Vec<Vec<Vec<f32>>>> {
        let b = ids.len();
        let s = ids.first().map_or(0, |v| v.len());
        if ids.iter().chain(masks).any(|v| v.len() != s) || masks.len() != b {
            bail!("logits_batch: ragged inputs");
        }
        let ids_t = Tensor::from_array(([b, s], ids.concat())).map_err(|e| anyhow!("{e}"))?;
        let mask_t = Tensor::from_array(([b, s], masks.concat())).map_err(|e| anyhow!("{e}"))?;
        let outputs = self
            .session
            .run(ort::inputs!["input_ids" => ids_t, "attention_mask" => mask_t])
            .map_err(|e| anyhow!("ONNX Runtime run failed: {e}"))?;
        let (shape, data) = outputs["logits"].try_extract_tensor::<f32>().map_err(|e| anyhow!("{e}"))?;
        if shape.len() != 3 || shape[0] as usize != b || shape[1] as usize != s {
            bail!("unexpected logits shape {:?}", &shape[..]);
        }
        let t = shape[2] as usize;
        Ok(data.chunks(s * t).map(|seq| seq.chunks(t).map(|r| r.to_vec()).collect()).collect())
    }
}

/// Index of the largest value.
pub fn argmax(v: &[f32]) -> usize {
    v.iter().enumerate().fold((0, f32::NEG_INFINITY), |(bi, bv), (i, &x)| if x > bv { (i, x) } else { (bi, bv) }).0
}
