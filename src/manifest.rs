//! The model directory contract shared by the library (reader) and the trainer (writer).
//!
//! A model directory holds:
//! - `model.onnx`: the token classifier (int8 by default). Inputs `input_ids` and
//!   `attention_mask` (int64, `[batch, seq]`), output `logits` (float, `[batch, seq, tags]`).
//!   An optional `token_type_ids` input is fed zeros.
//! - `model.fp32.onnx`: optionally, the same model unquantized.
//! - `tokenizer.json`: a Hugging Face tokenizer (WordPiece, `[CLS]`/`[SEP]`).
//! - `pii_model.json`: this manifest.
//!
//! Tags are BIO over `labels`: index 0 is `O`, `1 + 2*i` is `B-<label i>`, `2 + 2*i` is
//! `I-<label i>`. Each whitespace-delimited word is tagged by its first word piece.

use serde::{Deserialize, Serialize};
use std::path::Path;

use crate::error::{Error, Result};

/// File name of the manifest inside a model directory.
pub const MANIFEST_FILE: &str = "pii_model.json";
/// Default ONNX file name (int8).
pub const MODEL_FILE: &str = "model.onnx";
/// File name of the fp32 model, when exported.
pub const MODEL_FP32_FILE: &str = "model.fp32.onnx";
/// File name of the tokenizer.
pub const TOKENIZER_FILE: &str = "tokenizer.json";
/// Manifest format version this library reads and writes.
pub const FORMAT_VERSION: u32 = 1;
/// Upper bound on labels a manifest may declare.
pub const MAX_LABELS: usize = 64;

/// One entity label and whether it is personal data.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct LabelInfo {
    /// Label name, e.g. `CREDIT_CARD`.
    pub name: String,
    /// True when spans of this label are PII (redacted by default).
    pub pii: bool,
}

/// The manifest (`pii_model.json`).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Manifest {
    /// Format version, [`FORMAT_VERSION`].
    pub format: u32,
    /// Entity labels in tag order.
    pub labels: Vec<LabelInfo>,
    /// Maximum tokens per model call, including `[CLS]` and `[SEP]`.
    pub max_length: usize,
    /// Rows of the model's word embedding; the tokenizer's vocabulary must match (0: unchecked).
    #[serde(default)]
    pub vocab_size: usize,
    /// ONNX file to load, relative to the directory.
    #[serde(default = "default_model_file")]
    pub model_file: String,
    /// Free-form model name.
    #[serde(default)]
    pub name: String,
    /// Version of the training run that produced the model.
    #[serde(default)]
    pub version: String,
    /// Training run identity and metrics (data, init, seed, dev scores). Not read by the library.
    #[serde(default)]
    pub training: serde_json::Value,
}

fn default_model_file() -> String {
    MODEL_FILE.to_string()
}

impl Manifest {
    /// A manifest for `labels` with defaults elsewhere.
    pub fn new(labels: Vec<LabelInfo>, max_length: usize) -> Self {
        Manifest {
            format: FORMAT_VERSION,
            labels,
            max_length,
            vocab_size: 0,
            model_file: default_model_file(),
            name: String::new(),
            version: String::new(),
            training: serde_json::Value::Null,
        }
    }

    /// Number of BIO tags: `1 + 2 * labels`.
    pub fn num_tags(&self) -> usize {
        1 + 2 * self.labels.len()
    }

    /// Tag names in model output order: `O`, `B-X`, `I-X`, ...
    pub fn tag_names(&self) -> Vec<String> {
        let mut t = vec!["O".to_string()];
        for l in &self.labels {
            t.push(format!("B-{}", l.name));
            t.push(format!("I-{}", l.name));
        }
        t
    }

    /// Index of a label by name.
    pub fn label_index(&self, name: &str) -> Option<usize> {
        self.labels.iter().position(|l| l.name == name)
    }

    /// Parse and validate manifest JSON.
    pub fn from_json(s: &str) -> Result<Self> {
        let m: Manifest = serde_json::from_str(s).map_err(|e| {
            let what = match e.classify() {
                serde_json::error::Category::Data => "missing or mistyped field",
                _ => "invalid JSON",
            };
            Error::Manifest(format!("{what} at line {} column {}", e.line(), e.column()))
        })?;
        m.validate()?;
        Ok(m)
    }

    /// Read and validate `dir/pii_model.json`.
    pub fn read(dir: &Path) -> Result<Self> {
        let path = dir.join(MANIFEST_FILE);
        let bytes = std::fs::read(&path).map_err(|e| Error::io(format!("cannot read {}", path.display()), e))?;
        let s = std::str::from_utf8(&bytes)
            .map_err(|e| Error::Manifest(format!("not UTF-8 (byte {})", e.valid_up_to())))?;
        Self::from_json(s)
    }

    /// Write `dir/pii_model.json` (pretty JSON).
    pub fn write(&self, dir: &Path) -> Result<()> {
        self.validate()?;
        let path = dir.join(MANIFEST_FILE);
        let s = serde_json::to_string_pretty(self).expect("manifest serializes");
        std::fs::write(&path, s + "\n").map_err(|e| Error::io(format!("cannot write {}", path.display()), e))
    }

    /// Check the invariants the library relies on.
    pub fn validate(&self) -> Result<()> {
        if self.format != FORMAT_VERSION {
            return Err(Error::Manifest(format!(
                "format {} is not supported (this library reads format {})",
                self.format, FORMAT_VERSION
            )));
        }
        if self.labels.is_empty() || self.labels.len() > MAX_LABELS {
            return Err(Error::Manifest(format!(
                "needs 1 to {} labels, has {}",
                MAX_LABELS,
                self.labels.len()
            )));
        }
        for (i, l) in self.labels.iter().enumerate() {
            let ok = !l.name.is_empty()
                && l.name.len() <= 64
                && l.name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
            if !ok {
                return Err(Error::Manifest(format!(
                    "label {i} must be 1-64 ASCII letters, digits, '_' or '-'"
                )));
            }
            if self.labels[..i].iter().any(|o| o.name == l.name) {
                return Err(Error::Manifest(format!("label {i} repeats an earlier label")));
            }
        }
        if !(8..=4096).contains(&self.max_length) {
            return Err(Error::Manifest(format!(
                "max_length {} is outside 8..=4096",
                self.max_length
            )));
        }
        if self.model_file.is_empty() || self.model_file.contains('/') || self.model_file.contains("..") {
            return Err(Error::Manifest("model_file must be a plain file name".into()));
        }
        Ok(())
    }
}

/// The seven labels of the shipped model, in tag order.
pub fn default_labels() -> Vec<LabelInfo> {
    [
        ("CREDIT_CARD", true),
        ("PHONE", true),
        ("EMAIL", true),
        ("PERSON_NAME", true),
        ("DATE", true),
        ("CITY", false),
        ("LOCATION", false),
    ]
    .into_iter()
    .map(|(n, p)| LabelInfo { name: n.to_string(), pii: p })
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_and_tags() {
        let m = Manifest::new(default_labels(), 128);
        let s = serde_json::to_string(&m).unwrap();
        let back = Manifest::from_json(&s).unwrap();
        assert_eq!(back, m);
        assert_eq!(m.num_tags(), 15);
        assert_eq!(m.tag_names()[1], "B-CREDIT_CARD");
        assert_eq!(m.tag_names()[14], "I-LOCATION");
    }

    #[test]
    fn rejects_bad_manifests() {
        let mut m = Manifest::new(default_labels(), 128);
        m.labels.push(m.labels[0].clone());
        assert!(m.validate().is_err());
        let mut m = Manifest::new(default_labels(), 128);
        m.labels[0].name = "bad name".into();
        assert!(m.validate().is_err());
        let mut m = Manifest::new(default_labels(), 128);
        m.format = 99;
        assert!(m.validate().is_err());
        let mut m = Manifest::new(default_labels(), 128);
        m.model_file = "../x.onnx".into();
        assert!(m.validate().is_err());
        assert!(Manifest::from_json("{").is_err());
        assert!(Manifest::from_json("{\"format\":1}").is_err());
    }
}
