//! Long inputs in bounded memory: a text is tagged in segments of whole words, each read
//! with context on both sides, and the segments' spans are stitched into one list.
//!
//! Memory per call is then bounded by the segment size, not the input length (the spans and
//! the redacted text returned are the only parts that grow with the input).

use std::collections::VecDeque;
use std::ops::Range;

use crate::decode::Span;
use crate::encode::is_separator;

/// Words owned by one segment of [`crate::Model::tag`] (about 5,500 word pieces).
pub const SEGMENT_WORDS: usize = 4096;
/// Words of context read on each side of a segment: longer than any entity, and longer than
/// the model windows' overlap, so a span that crosses a segment boundary is seen whole.
pub const CONTEXT_WORDS: usize = 96;

/// One segment: bytes `input` of the text are tagged; spans that start in `owned` are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    /// The bytes fed to the model: `owned` with up to `context` words on each side.
    pub input: Range<usize>,
    /// The bytes this segment answers for; the owned ranges partition the text.
    pub owned: Range<usize>,
}

/// The next word of `text` at or after byte `from`.
fn next_word(text: &str, from: usize) -> Option<Range<usize>> {
    let rest = &text[from..];
    let (s, _) = rest.char_indices().find(|&(_, c)| !is_separator(c))?;
    let e = rest[s..].char_indices().find(|&(_, c)| is_separator(c)).map_or(rest.len(), |(i, _)| s + i);
    Some(from + s..from + e)
}

/// Segments of `text` owning `words` words each (the last one up to `words + context`), read
/// with `context` words on each side. A text of at most `words + context` words is one
/// segment covering it all; a text without words has none. Lazy: memory is O(`context`).
pub fn segments(text: &str, words: usize, context: usize) -> impl Iterator<Item = Segment> + '_ {
    let words = words.max(1);
    let mut pos = 0usize;
    // Starts of the last `context` words before `pos`.
    let mut recent: VecDeque<usize> = VecDeque::new();
    let mut done = false;
    std::iter::from_fn(move || {
        if done {
            return None;
        }
        let input_start = recent.front().copied().unwrap_or(pos);
        // Scan at most `words + context + 1` words: if the text ends first, this is the last segment.
        // Starts of the last `context` owned words (the next segment's left context).
        let mut owned_starts = Vec::new();
        let (mut total, mut cursor) = (0usize, pos);
        let (mut boundary, mut context_end) = (pos, pos);
        while total < words + context + 1 {
            let Some(w) = next_word(text, cursor) else { break };
            total += 1;
            if total <= words {
                if total + context > words {
                    owned_starts.push(w.start);
                }
            } else if total == words + 1 {
                boundary = w.start;
            }
            if total == words + context {
                context_end = w.end;
            }
            cursor = w.end;
        }
        if total == 0 {
            done = true;
            return None;
        }
        if total <= words + context {
            done = true;
            return Some(Segment { input: input_start..text.len(), owned: pos..text.len() });
        }
        let seg = Segment { input: input_start..context_end, owned: pos..boundary };
        for s in owned_starts {
            recent.push_back(s);
            if recent.len() > context {
                recent.pop_front();
            }
        }
        pos = boundary;
        Some(seg)
    })
}

/// Add a segment's `spans` (sorted, byte offsets into the whole text) to `out`: those that
/// start inside `owned`, a span of the same label that continues the last kept one extends
/// it, and a span from the left context that no kept span covers is kept when it reaches
/// into `owned` (a miss there would be a leak; a doubtful extra tag is not).
pub fn stitch(out: &mut Vec<Span>, spans: impl IntoIterator<Item = Span>, owned: &Range<usize>) {
    for s in spans {
        if s.start >= owned.end {
            break;
        }
        match out.last_mut() {
            Some(last) if s.start < last.end => {
                if s.label == last.label && s.end > last.end {
                    last.end = s.end;
                }
            }
            _ if s.end > owned.start => out.push(s),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(start: usize, end: usize, label: usize) -> Span {
        Span { start, end, label, score: 0.9, pii: true }
    }

    #[test]
    fn segments_partition_the_text_on_word_starts() {
        let text = "  w0 w1\tw2  w3 w4 w5 w6 w7 w8 w9 w10 w11 w12 ";
        let starts: Vec<usize> = crate::encode::words(text).iter().map(|w| w.0).collect();
        for (words, context) in [(1, 0), (2, 1), (3, 2), (4, 4), (5, 20)] {
            let segs: Vec<Segment> = segments(text, words, context).collect();
            assert_eq!(segs[0].owned.start, 0);
            assert_eq!(segs.last().unwrap().owned.end, text.len());
            for pair in segs.windows(2) {
                assert_eq!(pair[0].owned.end, pair[1].owned.start, "{words}/{context}");
                assert!(starts.contains(&pair[1].owned.start), "segments start on a word");
            }
            for s in &segs {
                assert!(s.input.start <= s.owned.start);
                let tail = &text[s.input.end.min(s.owned.end)..s.owned.end];
                assert!(tail.chars().all(is_separator), "input covers every owned word");
                let owned_words = crate::encode::words(&text[s.owned.clone()]).len();
                let before = crate::encode::words(&text[s.input.start..s.owned.start]).len();
                let after = crate::encode::words(&text[s.owned.end.min(s.input.end)..s.input.end]).len();
                assert!(before <= context && after <= context, "{words}/{context}: {s:?}");
                assert!(owned_words <= words + context && owned_words >= 1, "{words}/{context}: {s:?}");
            }
        }
        let one: Vec<Segment> = segments(text, 13, 0).collect();
        assert_eq!(one, vec![Segment { input: 0..text.len(), owned: 0..text.len() }]);
        assert_eq!(segments("  \t ", 4, 2).count(), 0);
    }

    #[test]
    fn a_segment_reads_its_neighbours_words() {
        let text = "a b c d e f g h i j";
        let segs: Vec<Segment> = segments(text, 3, 2).collect();
        let owned: Vec<&str> = segs.iter().map(|s| text[s.owned.clone()].trim()).collect();
        let input: Vec<&str> = segs.iter().map(|s| text[s.input.clone()].trim()).collect();
        assert_eq!(owned, vec!["a b c", "d e f", "g h i j"]);
        assert_eq!(input, vec!["a b c d e", "b c d e f g h", "e f g h i j"]);
    }

    #[test]
    fn stitching_keeps_owned_spans_and_joins_continued_ones() {
        let mut out = vec![span(0, 5, 1), span(90, 110, 2)];
        // Same label continuing the last kept span: extended; inside it: dropped; from the left
        // context reaching into owned: kept; wholly in the left context: dropped; past owned: dropped.
        stitch(&mut out, [span(95, 120, 2), span(110, 118, 3), span(140, 150, 1), span(200, 210, 1)], &(100..200));
        assert_eq!(out, vec![span(0, 5, 1), span(90, 120, 2), span(140, 150, 1)]);
        let mut out = vec![span(90, 110, 2)];
        stitch(&mut out, [span(95, 120, 4), span(112, 118, 1)], &(100..200));
        assert_eq!(out, vec![span(90, 110, 2), span(112, 118, 1)], "a different label does not extend");
        let mut out = Vec::new();
        stitch(&mut out, [span(60, 70, 1), span(95, 105, 2)], &(100..200));
        assert_eq!(out, vec![span(95, 105, 2)]);
    }
}
