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
//! Integrity: the manifest's `sha256` maps each other file of the directory to its SHA-256
//! (lowercase hex), written by `pii-trainer export`. At load the library hashes the bytes it
//! actually uses (the tokenizer and the chosen ONNX file) and refuses the model on a mismatch
//! or when a used file is not listed. A manifest without `sha256` (exported before it existed)
//! loads unchecked. The manifest does not cover itself: protect `pii_model.json` (sign it or
//! record its own hash) where the directory is not trusted.
//!
//! Tags are BIO over `labels`: index 0 is `O`, `1 + 2*i` is `B-<label i>`, `2 + 2*i` is
//! `I-<label i>`. Each whitespace-delimited word is tagged by its first word piece.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
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
    /// Lowest span score kept per label (chosen on a dev split for precision); labels not
    /// listed keep every span.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub thresholds: BTreeMap<String, f32>,
    /// `"bio"` (the default): BIO-constrained decoding; `"argmax"`: each word's argmax tag,
    /// for models that do not emit `B-` tags (the rule-built test fixture).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decoding: Option<String>,
    /// Validators that suit this model's labels (`numbers`, `email`, `date`, `name`); absent
    /// means all of them. The options can switch them off, never on beyond this list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validators: Option<Vec<String>>,
    /// SHA-256 (64 lowercase hex digits) of each file of the model directory other than the
    /// manifest, by file name. Empty: not checked (models exported before hashes existed).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub sha256: BTreeMap<String, String>,
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
            thresholds: Default::default(),
            decoding: None,
            validators: None,
            sha256: Default::default(),
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
        for (name, t) in &self.thresholds {
            if self.label_index(name).is_none() || !(0.0..=1.0).contains(t) {
                return Err(Error::Manifest(format!("threshold for {name:?} needs a known label and a value in 0..=1")));
            }
        }
        if self.model_file.is_empty() || self.model_file.contains('/') || self.model_file.contains("..") {
            return Err(Error::Manifest("model_file must be a plain file name".into()));
        }
        if !matches!(self.decoding.as_deref(), None | Some("bio") | Some("argmax")) {
            return Err(Error::Manifest("decoding must be \"bio\" or \"argmax\"".into()));
        }
        if let Some(v) = &self.validators {
            if let Some(bad) = v.iter().find(|n| crate::validate::Validators::named(n).is_none()) {
                return Err(Error::Manifest(format!("unknown validator {bad:?} (numbers, email, date, name)")));
            }
        }
        for (name, hex) in &self.sha256 {
            let plain = !name.is_empty() && !name.contains('/') && !name.contains("..") && name != MANIFEST_FILE;
            if !plain {
                return Err(Error::Manifest(format!("sha256 entry {name:?} must name another file of the directory")));
            }
            if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
                return Err(Error::Manifest(format!("sha256 of {name} must be 64 lowercase hex digits")));
            }
        }
        Ok(())
    }

    /// Check `bytes`, the content of the directory's file `name`, against the manifest's
    /// SHA-256. Passes when the manifest records no hashes at all; otherwise a file that is not
    /// listed or does not match is [`Error::Model`].
    pub fn verify_file(&self, name: &str, bytes: &[u8]) -> Result<()> {
        if self.sha256.is_empty() {
            return Ok(());
        }
        let Some(want) = self.sha256.get(name) else {
            return Err(Error::Model(format!(
                "{name} has no SHA-256 in {MANIFEST_FILE}: the model directory was changed after export"
            )));
        };
        let got = sha256_hex(bytes);
        if &got != want {
            return Err(Error::Model(format!(
                "{name} does not match the SHA-256 in {MANIFEST_FILE} (expected {want}, found {got}): \
                 the file was changed or damaged after export"
            )));
        }
        Ok(())
    }
}

/// SHA-256 of `bytes` as 64 lowercase hex digits.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
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
        let mut m = Manifest::new(default_labels(), 128);
        m.sha256.insert(MODEL_FILE.into(), "ab".repeat(31));
        assert!(m.validate().is_err());
        let mut m = Manifest::new(default_labels(), 128);
        m.sha256.insert(MODEL_FILE.into(), "AB".repeat(32));
        assert!(m.validate().is_err());
        let mut m = Manifest::new(default_labels(), 128);
        m.sha256.insert("../model.onnx".into(), "ab".repeat(32));
        assert!(m.validate().is_err());
        let mut m = Manifest::new(default_labels(), 128);
        m.sha256.insert(MANIFEST_FILE.into(), "ab".repeat(32));
        assert!(m.validate().is_err());
    }

    #[test]
    fn sha256_matches_known_vectors() {
        assert_eq!(sha256_hex(b""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        assert_eq!(sha256_hex(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }

    #[test]
    fn verify_file_checks_listed_files_only_when_hashes_exist() {
        let mut m = Manifest::new(default_labels(), 128);
        m.verify_file(MODEL_FILE, b"anything").unwrap();
        m.sha256.insert(MODEL_FILE.into(), sha256_hex(b"model"));
        m.verify_file(MODEL_FILE, b"model").unwrap();
        let e = m.verify_file(MODEL_FILE, b"modem").unwrap_err();
        assert!(matches!(e, Error::Model(_)) && e.to_string().contains("does not match"), "{e}");
        let e = m.verify_file(TOKENIZER_FILE, b"{}").unwrap_err();
        assert!(matches!(e, Error::Model(_)) && e.to_string().contains("no SHA-256"), "{e}");
        // Hashes survive a JSON round trip; a manifest without them still parses.
        let back = Manifest::from_json(&serde_json::to_string(&m).unwrap()).unwrap();
        assert_eq!(back.sha256, m.sha256);
        let old = Manifest::new(default_labels(), 128);
        assert!(!serde_json::to_string(&old).unwrap().contains("sha256"));
    }
}
