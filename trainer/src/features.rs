//! Training features: word-level BIO targets from character-offset entities, model inputs
//! from the library's own tokenization, and padded batch tensors.

use anyhow::{Context, Result};
use candle_core::{Device, Tensor};
use pii::encode::{Encoded, Encoder};
use pii::manifest::LabelInfo;

use crate::data::{self, Entity, Example};

/// Tag index of `B-label_i` is `1 + 2i`, of `I-label_i` is `2 + 2i`; `O` is 0.
pub fn b_tag(label: usize) -> u32 {
    (1 + 2 * label) as u32
}

/// One training/eval sequence.
#[derive(Clone, Debug)]
pub struct Feature {
    /// `[CLS] pieces [SEP]`.
    pub ids: Vec<u32>,
    /// Tag per position (0 where not scored).
    pub labels: Vec<u32>,
    /// 1 where the position is the first piece of a word, else 0.
    pub scored: Vec<f32>,
    /// For each word, its position in `ids` when it has a piece inside the window.
    pub word_pos: Vec<Option<usize>>,
    /// A teacher's tag distribution per position (`ids.len() x tags`, zeros where not
    /// scored), when distilling.
    pub soft: Option<Vec<f32>>,
}

/// Word-level BIO tags from character-offset entities.
pub fn word_tags(ex: &Example, enc: &Encoded, labels: &[LabelInfo]) -> Result<Vec<u32>> {
    let mut tags = vec![0u32; enc.words.len()];
    let mut ents: Vec<&Entity> = ex.entities.iter().collect();
    ents.sort_by_key(|e| (e.start, e.end));
    for e in ents {
        let li = labels
            .iter()
            .position(|l| l.name == e.label)
            .with_context(|| format!("example {}: unknown label {}", ex.id, e.label))?;
        let bs = data::char_to_byte(&ex.text, e.start);
        let be = data::char_to_byte(&ex.text, e.end);
        let mut first = true;
        for (w, &(ws, we)) in enc.words.iter().enumerate() {
            if ws < be && bs < we {
                if tags[w] != 0 {
                    continue; // overlapping entities: the earlier one wins
                }
                tags[w] = if first { b_tag(li) } else { b_tag(li) + 1 };
                first = false;
            }
        }
    }
    Ok(tags)
}

/// Build the model input and loss targets of one example.
pub fn featurize(encoder: &Encoder, ex: &Example, labels: &[LabelInfo], max_length: usize) -> Result<(Feature, Encoded)> {
    let enc = encoder.encode(&ex.text).map_err(|e| anyhow::anyhow!("example {}: {e}", ex.id))?;
    let tags = word_tags(ex, &enc, labels)?;
    let n = enc.ids.len().min(max_length - 2);
    let mut ids = Vec::with_capacity(n + 2);
    ids.push(encoder.cls_id());
    ids.extend_from_slice(&enc.ids[..n]);
    ids.push(encoder.sep_id());
    let mut lab = vec![0u32; n + 2];
    let mut scored = vec![0f32; n + 2];
    let mut word_pos = vec![None; enc.words.len()];
    for (w, fp) in enc.first_piece.iter().enumerate() {
        if let Some(p) = *fp {
            let p = p as usize;
            if p < n {
                lab[p + 1] = tags[w];
                scored[p + 1] = 1.0;
                word_pos[w] = Some(p + 1);
            }
        }
    }
    Ok((Feature { ids, labels: lab, scored, word_pos, soft: None }, enc))
}

/// Tensors of one (sub)batch, padded to its longest sequence. `norm` divides the loss.
pub fn batch_tensors(feats: &[&Feature], norm: f32) -> Result<(Tensor, Tensor, Tensor, Tensor)> {
    let b = feats.len();
    let s = feats.iter().map(|f| f.ids.len()).max().unwrap_or(0);
    let mut ids = vec![0u32; b * s];
    let mut mask = vec![0f32; b * s];
    let mut lab = vec![0u32; b * s];
    let mut w = vec![0f32; b * s];
    for (i, f) in feats.iter().enumerate() {
        for j in 0..f.ids.len() {
            ids[i * s + j] = f.ids[j];
            mask[i * s + j] = 1.0;
            lab[i * s + j] = f.labels[j];
            w[i * s + j] = f.scored[j] / norm;
        }
    }
    let d = Device::Cpu;
    Ok((
        Tensor::from_vec(ids, (b, s), &d)?,
        Tensor::from_vec(mask, (b, s), &d)?,
        Tensor::from_vec(lab, b * s, &d)?,
        Tensor::from_vec(w, b * s, &d)?,
    ))
}
