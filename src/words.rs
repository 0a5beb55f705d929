//! Word-level tagging: the speech engine's own words in, spans as word ranges out, so that
//! exactly those stretches of audio can be muted. The words are joined with single spaces and
//! tagged like any text (same model, same decoding); spans map back to word indices exactly,
//! because spans always lie on word boundaries.

use crate::decode::Span;
use crate::encode::is_separator;
use crate::error::{Error, Result};

/// A span over a list of words: `first..last` (last exclusive) are word indices.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WordRange {
    /// Index of the span's first word.
    pub first: usize,
    /// Index one past the span's last word.
    pub last: usize,
    /// Index of the label in the model's label list.
    pub label: usize,
    /// Mean probability of the span's label over its words, in `0..=1`.
    pub score: f32,
    /// True when the label is PII.
    pub pii: bool,
}

/// The text the words make, single-spaced, and each word's byte offset in it. An empty word or
/// one holding a separator (space, tab, newline, zero-width space, ...) is refused: it would not
/// be one word of the text. Errors name the word's index, never its text.
pub fn join<S: AsRef<str>>(words: &[S]) -> Result<(String, Vec<usize>)> {
    let total: usize = words.iter().map(|w| w.as_ref().len() + 1).sum();
    let mut text = String::with_capacity(total);
    let mut starts = Vec::with_capacity(words.len());
    for (i, w) in words.iter().enumerate() {
        let w = w.as_ref();
        if w.is_empty() {
            return Err(Error::InvalidArgument(format!("word {i} is empty")));
        }
        if let Some((at, _)) = w.char_indices().find(|&(_, c)| is_separator(c)) {
            return Err(Error::InvalidArgument(format!("word {i} contains a separator at byte {at}")));
        }
        if i > 0 {
            text.push(' ');
        }
        starts.push(text.len());
        text.push_str(w);
    }
    Ok((text, starts))
}

/// Byte spans of the joined text (on word boundaries) as word ranges.
pub fn ranges(spans: &[Span], starts: &[usize]) -> Vec<WordRange> {
    spans
        .iter()
        .map(|s| {
            let first = starts.partition_point(|&b| b < s.start);
            let last = starts.partition_point(|&b| b < s.end);
            WordRange { first, last, label: s.label, score: s.score, pii: s.pii }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(start: usize, end: usize) -> Span {
        Span { start, end, label: 1, score: 0.5, pii: true }
    }

    #[test]
    fn joins_and_maps_back_to_word_indices() {
        let (text, starts) = join(&["my", "card", "is", "four", "two", "ok"]).unwrap();
        assert_eq!(text, "my card is four two ok");
        assert_eq!(starts, vec![0, 3, 8, 11, 16, 20]);
        // "four two" = bytes 11..19; "my" = 0..2; "ok" = 20..22.
        let got = ranges(&[span(0, 2), span(11, 19), span(20, 22)], &starts);
        let pairs: Vec<(usize, usize)> = got.iter().map(|r| (r.first, r.last)).collect();
        assert_eq!(pairs, vec![(0, 1), (3, 5), (5, 6)]);
    }

    #[test]
    fn refuses_empty_words_and_separators_without_echoing_them() {
        let e = join(&["ok", ""]).unwrap_err().to_string();
        assert!(e.contains("word 1 is empty"), "{e}");
        for bad in ["two words", "tab\there", "nl\n", "zw\u{200B}sp", "\u{00A0}"] {
            let e = join(&["fine", bad]).unwrap_err().to_string();
            assert!(e.contains("word 1 contains a separator"), "{e}");
            assert!(!e.contains("two") && !e.contains("tab") && !e.contains("zw"), "{e}");
        }
        assert_eq!(join::<&str>(&[]).unwrap(), (String::new(), vec![]));
    }
}
