//! The jsonl data format: `{"id","text","entities":[{"start","end","label"}]}`, char offsets.

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::Path;

/// A gold (or predicted) entity: character offsets into `text`, end exclusive.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Entity {
    pub start: usize,
    pub end: usize,
    pub label: String,
}

/// One utterance with its entities.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Example {
    pub id: String,
    pub text: String,
    #[serde(default)]
    pub entities: Vec<Entity>,
}

/// Read a jsonl file of examples.
pub fn read_jsonl(path: &Path) -> Result<Vec<Example>> {
    let f = std::fs::File::open(path).with_context(|| format!("open {}", path.display()))?;
    let mut out = Vec::new();
    for (i, line) in BufReader::new(f).lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let ex: Example = serde_json::from_str(&line)
            .with_context(|| format!("{}:{}: bad example", path.display(), i + 1))?;
        out.push(ex);
    }
    Ok(out)
}

/// Write examples as jsonl.
pub fn write_jsonl(path: &Path, examples: &[Example]) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let f = std::fs::File::create(path).with_context(|| format!("create {}", path.display()))?;
    let mut w = BufWriter::new(f);
    for ex in examples {
        serde_json::to_writer(&mut w, ex)?;
        w.write_all(b"\n")?;
    }
    w.flush()?;
    Ok(())
}

/// Convert a byte offset in `text` to a char offset.
pub fn byte_to_char(text: &str, byte: usize) -> usize {
    text[..byte].chars().count()
}

/// Convert a char offset in `text` to a byte offset.
pub fn char_to_byte(text: &str, ch: usize) -> usize {
    text.char_indices().nth(ch).map(|(b, _)| b).unwrap_or(text.len())
}
