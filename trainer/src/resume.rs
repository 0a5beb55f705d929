//! Per-epoch resume points of a training run. `<out>/resume/` holds the weights after the
//! last finished epoch, the optimizer's moments and the loop's state; a rerun of the same
//! command (same run fingerprint) continues from there, and the directory is removed when the
//! run ends.

use anyhow::{bail, Context, Result};
use candle_core::{Device, Tensor};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::bert::BertTagger;
use crate::optim::AdamW;

/// The loop's state after a finished epoch.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Point {
    /// What the run was started with; a resume point of another run is refused.
    pub fingerprint: String,
    pub epoch: usize,
    pub step: usize,
    pub train_seconds: f64,
    pub trained_steps: usize,
    pub history: Vec<serde_json::Value>,
    /// Best epoch so far: (epoch, score, dev metrics).
    pub best: Option<(usize, f64, serde_json::Value)>,
    pub adam_t: i32,
}

fn dir(out: &Path) -> PathBuf {
    out.join("resume")
}

/// Write the resume point (atomically: a partly written point is never read back).
pub fn save(out: &Path, model: &BertTagger, opt: &AdamW, point: &Point) -> Result<()> {
    let d = dir(out);
    let tmp = out.join("resume.tmp");
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).with_context(|| format!("create {}", tmp.display()))?;
    model.save_safetensors(&tmp.join("weights.safetensors"))?;
    let (_, m, v) = opt.state();
    let mut moments = HashMap::new();
    for (i, (a, b)) in m.iter().zip(v).enumerate() {
        moments.insert(format!("m.{i}"), Tensor::from_slice(a, a.len(), &Device::Cpu)?);
        moments.insert(format!("v.{i}"), Tensor::from_slice(b, b.len(), &Device::Cpu)?);
    }
    candle_core::safetensors::save(&moments, tmp.join("optimizer.safetensors"))?;
    std::fs::write(tmp.join("state.json"), serde_json::to_string(point)?)?;
    let _ = std::fs::remove_dir_all(&d);
    std::fs::rename(&tmp, &d).with_context(|| format!("rename to {}", d.display()))?;
    Ok(())
}

/// Load the resume point of `out` into `model` and `opt`, if there is one.
pub fn load(out: &Path, fingerprint: &str, model: &BertTagger, opt: &mut AdamW) -> Result<Option<Point>> {
    let d = dir(out);
    let Ok(text) = std::fs::read_to_string(d.join("state.json")) else { return Ok(None) };
    let point: Point = serde_json::from_str(&text).with_context(|| format!("{}", d.join("state.json").display()))?;
    if point.fingerprint != fingerprint {
        bail!("{} belongs to a run with other settings; remove it to start over", d.display());
    }
    let w = candle_core::safetensors::load(d.join("weights.safetensors"), &Device::Cpu)?;
    for (name, var) in &model.params {
        let t = w.get(name).with_context(|| format!("resume weights lack {name}"))?;
        var.set(t)?;
    }
    let mo = candle_core::safetensors::load(d.join("optimizer.safetensors"), &Device::Cpu)?;
    let n = model.params.len();
    let read = |k: &str| -> Result<Vec<Vec<f32>>> {
        (0..n).map(|i| Ok(mo.get(&format!("{k}.{i}")).context("resume optimizer state is incomplete")?.to_vec1::<f32>()?)).collect()
    };
    opt.restore(point.adam_t, read("m")?, read("v")?)?;
    Ok(Some(point))
}

/// Remove the resume point of a finished run.
pub fn clear(out: &Path) {
    let _ = std::fs::remove_dir_all(dir(out));
}
