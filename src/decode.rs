//! From per-piece logits to labelled spans on word boundaries, and redaction.

use crate::encode::Encoded;

/// A tagged span: byte offsets into the input text (end exclusive).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Span {
    /// Byte offset of the first byte of the span's first word.
    pub start: usize,
    /// Byte offset one past the span's last word.
    pub end: usize,
    /// Index of the label in the model's label list.
    pub label: usize,
    /// Mean probability of the span's label over its words, in `0..=1`.
    pub score: f32,
    /// True when the label is PII.
    pub pii: bool,
}

/// The tag a word got: `None` for O, else (label, begins-a-span, probability of the label).
fn word_tag(row: &[f32]) -> Option<(usize, bool, f32)> {
    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0f32;
    let mut best = 0usize;
    for (i, &v) in row.iter().enumerate() {
        sum += (v - max).exp();
        if v > row[best] {
            best = i;
        }
    }
    if best == 0 || !sum.is_finite() {
        return None;
    }
    let label = (best - 1) / 2;
    let is_b = (best - 1) % 2 == 0;
    // Probability of the label whatever its B/I position.
    let p = ((row[1 + 2 * label] - max).exp() + (row[2 + 2 * label] - max).exp()) / sum;
    Some((label, is_b, p))
}

/// Decode BIO tags into spans.
///
/// `logits` holds one row of `num_tags` values per word piece of `enc`. Each word takes the tag
/// of its first piece; `B-X` starts a span, `I-X` continues an `X` span or starts one.
/// Spans whose score is below `min_score` are dropped. `pii[label]` gives the PII flag.
pub fn decode(enc: &Encoded, logits: &[f32], num_tags: usize, pii: &[bool], min_score: f32) -> Vec<Span> {
    debug_assert_eq!(logits.len(), enc.ids.len() * num_tags);
    let mut out = Vec::new();
    // Open span: (label, start, end, score sum, words).
    let mut open: Option<(usize, usize, usize, f32, u32)> = None;
    let close = |open: &mut Option<(usize, usize, usize, f32, u32)>, out: &mut Vec<Span>| {
        if let Some((label, start, end, sum, n)) = open.take() {
            let score = sum / n as f32;
            if score >= min_score {
                out.push(Span { start, end, label, score, pii: pii.get(label).copied().unwrap_or(true) });
            }
        }
    };
    for (w, &(ws, we)) in enc.words.iter().enumerate() {
        let tag = enc.first_piece[w].and_then(|p| {
            let p = p as usize;
            word_tag(&logits[p * num_tags..(p + 1) * num_tags])
        });
        match tag {
            None => close(&mut open, &mut out),
            Some((label, is_b, p)) => match &mut open {
                Some((l, _, end, sum, n)) if *l == label && !is_b => {
                    *end = we;
                    *sum += p;
                    *n += 1;
                }
                _ => {
                    close(&mut open, &mut out);
                    open = Some((label, ws, we, p, 1));
                }
            },
        }
    }
    close(&mut open, &mut out);
    out
}

/// Replace spans in `text` by `[LABEL]`: PII spans always, non-PII spans when `non_pii` is set.
/// `spans` must be sorted and non-overlapping, as [`decode`] returns them.
pub fn redact(text: &str, spans: &[Span], labels: &[String], non_pii: bool) -> String {
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for s in spans {
        if !(s.pii || non_pii) || s.start < at {
            continue;
        }
        out.push_str(&text[at..s.start]);
        out.push('[');
        out.push_str(labels.get(s.label).map(String::as_str).unwrap_or("PII"));
        out.push(']');
        at = s.end;
    }
    out.push_str(&text[at..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 3 labels -> 7 tags. Builds logits that put `tag` far ahead for each word's single piece.
    fn setup(text: &str, tags: &[usize]) -> (Encoded, Vec<f32>) {
        let words = crate::encode::words(text);
        assert_eq!(words.len(), tags.len());
        let n = words.len();
        let enc = Encoded {
            words,
            ids: vec![1; n],
            word_of: (0..n as u32).collect(),
            first_piece: (0..n as u32).map(Some).collect(),
        };
        let mut logits = vec![0.0; n * 7];
        for (i, &t) in tags.iter().enumerate() {
            logits[i * 7 + t] = 10.0;
        }
        (enc, logits)
    }

    #[test]
    fn bio_runs_become_spans() {
        // O B-0 I-0 O I-1 I-1 B-2 B-2 I-2
        let text = "my card four two ok  nine one é b c";
        let (enc, lg) = setup(text, &[0, 0, 1, 2, 0, 4, 4, 5, 5, 6]);
        let spans = decode(&enc, &lg, 7, &[true, true, false], 0.0);
        let got: Vec<(&str, usize)> = spans.iter().map(|s| (&text[s.start..s.end], s.label)).collect();
        assert_eq!(got, vec![("four two", 0), ("nine one", 1), ("é", 2), ("b c", 2)]);
        assert!(!spans[2].pii && spans[0].pii);
        assert!(spans.iter().all(|s| s.score > 0.99));
    }

    #[test]
    fn label_change_splits_and_min_score_filters() {
        let text = "a b c";
        let (enc, mut lg) = setup(text, &[2, 4, 0]);
        let spans = decode(&enc, &lg, 7, &[true; 3], 0.0);
        assert_eq!(spans.len(), 2);
        // make the second word uncertain: equal logits everywhere
        for v in &mut lg[7..14] {
            *v = 0.0;
        }
        lg[7 + 4] = 0.1;
        let spans = decode(&enc, &lg, 7, &[true; 3], 0.5);
        assert_eq!(spans.len(), 1);
        assert_eq!((spans[0].start, spans[0].end), (0, 1));
    }

    #[test]
    fn redaction_keeps_non_pii_unless_asked() {
        let text = "call nine one from delhi";
        let spans = vec![
            Span { start: 5, end: 13, label: 0, score: 1.0, pii: true },
            Span { start: 19, end: 24, label: 1, score: 1.0, pii: false },
        ];
        let labels = vec!["PHONE".to_string(), "CITY".to_string()];
        assert_eq!(redact(text, &spans, &labels, false), "call [PHONE] from delhi");
        assert_eq!(redact(text, &spans, &labels, true), "call [PHONE] from [CITY]");
    }
}
