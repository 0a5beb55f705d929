//! Tokenization: whitespace words, word pieces with byte offsets, and model windows.
//!
//! The trainer builds its features with this module too, so training and inference agree
//! on how text becomes tokens and how tokens map back to words.

use std::path::Path;
use tokenizers::Tokenizer;

use crate::wordpiece::WordPiece;

use crate::error::{Error, Result};

/// True for the characters that separate words: Unicode whitespace, every control
/// character (C0, DEL, C1) and the invisible word separators U+200B, U+2060, U+FEFF, U+180E.
///
/// The tokenizer's normalizer deletes control and format characters, which would glue the
/// words on either side into one; [`Encoder::encode`] replaces every separator by spaces
/// before tokenizing, so words and word pieces always agree.
pub fn is_separator(c: char) -> bool {
    c.is_whitespace() || c.is_control() || matches!(c, '\u{200B}' | '\u{2060}' | '\u{FEFF}' | '\u{180E}')
}

/// Byte ranges of the words of `text`, split on [`is_separator`].
pub fn words(text: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    words_into(text, &mut out);
    out
}

/// [`words`] into `out` (cleared first), reusing its allocation.
pub fn words_into(text: &str, out: &mut Vec<(usize, usize)>) {
    out.clear();
    let mut start = None;
    for (i, c) in text.char_indices() {
        if is_separator(c) {
            if let Some(s) = start.take() {
                out.push((s, i));
            }
        } else if start.is_none() {
            start = Some(i);
        }
    }
    if let Some(s) = start {
        out.push((s, text.len()));
    }
}

/// A text split into words and word pieces.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Encoded {
    /// Byte ranges of the whitespace words.
    pub words: Vec<(usize, usize)>,
    /// Word-piece ids, without `[CLS]`/`[SEP]`.
    pub ids: Vec<u32>,
    /// Index into `words` of each word piece.
    pub word_of: Vec<u32>,
    /// For each word, the index of its first word piece, or `None` when it produced none.
    pub first_piece: Vec<Option<u32>>,
}

impl Encoded {
    /// Replace each piece's byte offset in `word_of` by the index of the word containing it
    /// (pieces arrive in text order) and set `first_piece`.
    fn map_to_words(&mut self) {
        let mut w = 0usize;
        for (idx, at) in self.word_of.iter_mut().enumerate() {
            while w + 1 < self.words.len() && *at as usize >= self.words[w].1 {
                w += 1;
            }
            *at = w as u32;
            if self.first_piece[w].is_none() {
                self.first_piece[w] = Some(idx as u32);
            }
        }
    }
}

/// A tokenizer bound to a model's maximum length.
pub struct Encoder {
    tok: Tokenizer,
    /// The allocation-free path for ASCII text, when the tokenizer is one it reproduces.
    fast: Option<WordPiece>,
    cls: u32,
    sep: u32,
    max_length: usize,
}

impl Encoder {
    /// Load `tokenizer.json`; padding and truncation in the file are switched off.
    pub fn from_file(path: &Path, max_length: usize) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(format!("cannot read {}", path.display()), e))?;
        Self::from_bytes(&bytes, max_length)
    }

    /// Load a tokenizer from the bytes of a `tokenizer.json`.
    pub fn from_bytes(bytes: &[u8], max_length: usize) -> Result<Self> {
        // One JSON parse: the fast path reads the tree, then the tokenizer is built from it.
        let invalid = || Error::Tokenizer("tokenizer.json is not a valid Hugging Face tokenizer".into());
        let json: serde_json::Value = serde_json::from_slice(bytes).map_err(|_| invalid())?;
        let fast = WordPiece::from_json(&json);
        let mut tok: Tokenizer = serde_json::from_value(json).map_err(|_| invalid())?;
        tok.with_padding(None);
        tok.with_truncation(None)
            .map_err(|_| Error::Tokenizer("cannot disable truncation".into()))?;
        let cls = tok
            .token_to_id("[CLS]")
            .ok_or_else(|| Error::Tokenizer("vocabulary has no [CLS] token".into()))?;
        let sep = tok
            .token_to_id("[SEP]")
            .ok_or_else(|| Error::Tokenizer("vocabulary has no [SEP] token".into()))?;
        if max_length < 3 {
            return Err(Error::InvalidArgument("max_length must be at least 3".into()));
        }
        Ok(Encoder { tok, fast, cls, sep, max_length })
    }

    /// Id of `[CLS]`.
    pub fn cls_id(&self) -> u32 {
        self.cls
    }

    /// Id of `[SEP]`.
    pub fn sep_id(&self) -> u32 {
        self.sep
    }

    /// Vocabulary size including added tokens.
    pub fn vocab_size(&self) -> usize {
        self.tok.get_vocab_size(true)
    }

    /// Maximum tokens per model call, including `[CLS]` and `[SEP]`.
    pub fn max_length(&self) -> usize {
        self.max_length
    }

    /// Split `text` into words and word pieces (no special tokens, no truncation).
    pub fn encode(&self, text: &str) -> Result<Encoded> {
        let mut out = Encoded::default();
        self.encode_into(text, &mut out, &mut String::new())?;
        Ok(out)
    }

    /// [`Encoder::encode`] into `out`, reusing its vectors (and `spaced`, a working buffer for
    /// texts with separators other than a plain space): a caller that keeps both across calls
    /// allocates only inside the tokenizer. `out` is overwritten, also on error.
    pub fn encode_into(&self, text: &str, out: &mut Encoded, spaced: &mut String) -> Result<()> {
        words_into(text, &mut out.words);
        out.ids.clear();
        out.word_of.clear();
        out.first_piece.clear();
        out.first_piece.resize(out.words.len(), None);
        if out.words.is_empty() {
            return Ok(());
        }
        // Separators other than a plain space become as many spaces as they have bytes, so
        // the tokenizer splits exactly where `words` does and offsets stay byte-exact.
        let input: &str = if text.chars().any(|c| c != ' ' && is_separator(c)) {
            spaced.clear();
            spaced.reserve(text.len());
            for c in text.chars() {
                if is_separator(c) {
                    spaced.extend(std::iter::repeat_n(' ', c.len_utf8()));
                } else {
                    spaced.push(c);
                }
            }
            spaced.as_str()
        } else {
            text
        };
        // Either path leaves each piece's byte offset in `word_of`; `map_to_words` replaces it.
        let fast = self.fast.as_ref().is_some_and(|wp| wp.encode(input, &mut out.ids, &mut out.word_of));
        if !fast {
            self.encode_reference(input, out)?;
        }
        out.map_to_words();
        Ok(())
    }

    /// True when ASCII text takes the allocation-free WordPiece path.
    pub fn has_fast_path(&self) -> bool {
        self.fast.is_some()
    }

    /// The Hugging Face tokenizer's pieces of `input` (separators already spaces): their ids
    /// into `out.ids` and their byte offsets into `out.word_of`.
    fn encode_reference(&self, input: &str, out: &mut Encoded) -> Result<()> {
        let enc = self.tok.encode(input, false).map_err(|_| Error::Tokenizer("encoding failed".into()))?;
        out.ids.extend_from_slice(enc.get_ids());
        out.word_of.extend(enc.get_offsets().iter().map(|&(s, _)| s as u32));
        Ok(())
    }

    /// Model input ids for pieces `range` of `enc`: `[CLS] pieces [SEP]`.
    pub fn model_input(&self, enc: &Encoded, range: std::ops::Range<usize>, out: &mut Vec<i64>) {
        out.clear();
        out.push(self.cls as i64);
        out.extend(enc.ids[range].iter().map(|&i| i as i64));
        out.push(self.sep as i64);
    }

    /// Windows of at most `max_length - 2` pieces over `n` pieces, overlapping by a quarter,
    /// and for each window the sub-range of pieces it is responsible for (its centre part).
    /// The owned ranges partition `0..n`.
    pub fn windows(&self, n: usize) -> Vec<Window> {
        windows(n, self.max_length - 2)
    }

    /// [`Encoder::windows`] into `out` (cleared first), reusing its allocation.
    pub fn windows_into(&self, n: usize, out: &mut Vec<Window>) {
        windows_into(n, self.max_length - 2, out)
    }
}

/// One model call over pieces `input`; its logits are used for pieces `owned`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    /// Pieces fed to the model.
    pub input: std::ops::Range<usize>,
    /// Pieces whose tags come from this window.
    pub owned: std::ops::Range<usize>,
}

/// Windows of at most `w` pieces over `n` pieces; see [`Encoder::windows`].
pub fn windows(n: usize, w: usize) -> Vec<Window> {
    let mut out = Vec::new();
    windows_into(n, w, &mut out);
    out
}

/// [`windows`] into `out` (cleared first), reusing its allocation.
pub fn windows_into(n: usize, w: usize, out: &mut Vec<Window>) {
    out.clear();
    if n <= w {
        out.push(Window { input: 0..n, owned: 0..n });
        return;
    }
    let overlap = (w / 4).max(1);
    let step = w - overlap;
    let mut start = 0;
    loop {
        let end = (start + w).min(n);
        out.push(Window { input: start..end, owned: 0..0 });
        if end == n {
            break;
        }
        start += step;
    }
    // Each boundary between consecutive windows sits in the middle of their overlap.
    let k = out.len();
    let mut owned_start = 0;
    for i in 0..k {
        let owned_end = if i + 1 == k {
            n
        } else {
            let next_start = out[i + 1].input.start;
            (next_start + out[i].input.end) / 2
        };
        out[i].owned = owned_start..owned_end;
        owned_start = owned_end;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shipped() -> Encoder {
        Encoder::from_file(&Path::new(env!("CARGO_MANIFEST_DIR")).join("data/model/tokenizer.json"), 128).unwrap()
    }

    /// Both paths on `text`: the fast one (when it takes the text) and the reference.
    fn both(e: &Encoder, text: &str) -> (Encoded, Encoded) {
        let fast = e.encode(text).unwrap();
        let mut reference = Encoded::default();
        words_into(text, &mut reference.words);
        reference.first_piece.resize(reference.words.len(), None);
        let spaced: String = text.chars().map(|c| if is_separator(c) { " ".repeat(c.len_utf8()) } else { c.to_string() }).collect();
        if !reference.words.is_empty() {
            e.encode_reference(&spaced, &mut reference).unwrap();
            reference.map_to_words();
        }
        (fast, reference)
    }

    #[test]
    fn the_ascii_fast_path_matches_the_tokenizer_on_every_data_set_and_random_text() {
        let e = shipped();
        assert!(e.has_fast_path(), "the shipped tokenizer should take the fast path");
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("data");
        let mut texts: Vec<String> = Vec::new();
        for f in ["train.jsonl", "dev.jsonl", "heldout.jsonl"] {
            for line in std::fs::read_to_string(root.join(f)).unwrap().lines().take(4000) {
                let v: serde_json::Value = serde_json::from_str(line).unwrap();
                texts.push(v["text"].as_str().unwrap().to_string());
            }
        }
        for f in std::fs::read_dir(root.join("corpus")).unwrap() {
            let p = f.unwrap().path();
            if p.extension().is_some_and(|x| x == "txt") {
                // Markup `[LABEL:words]` read as its words, and once as written.
                for line in std::fs::read_to_string(&p).unwrap().lines() {
                    texts.push(line.to_string());
                    let mut plain = String::new();
                    for part in line.split('[') {
                        plain.push_str(part.split_once(':').filter(|(l, _)| l.chars().all(|c| c.is_ascii_uppercase() || c == '_')).map_or(part, |(_, r)| r));
                    }
                    texts.push(plain.replace(']', ""));
                }
            }
        }
        // Random printable ASCII, weighted to letters and spaces, with long words and tokens.
        let alphabet: Vec<char> = (b' '..=b'~').map(|b| b as char).collect();
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut next = |n: usize| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % n as u64) as usize
        };
        for _ in 0..3000 {
            let mut t = String::new();
            for _ in 0..next(60) {
                match next(10) {
                    0..=4 => t.push((b'a' + next(26) as u8) as char),
                    5 => t.push(' '),
                    6 => t.push((b'A' + next(26) as u8) as char),
                    7 => t.push(alphabet[next(alphabet.len())]),
                    8 => t.push_str(["[MASK]", "##ing", "\t", "co.uk", "don't", "4111-1111", "é", "\u{200b}"][next(8)]),
                    _ => t.push_str(&"z".repeat(next(130))),
                }
            }
            texts.push(t);
        }
        let mut fast = 0;
        for t in &texts {
            let (a, b) = both(&e, t);
            assert_eq!(a, b, "pieces differ on a text of {} bytes", t.len());
            fast += t.bytes().all(|c| (b' '..=b'~').contains(&c) && c != b'[') as usize;
        }
        assert!(fast > texts.len() / 2, "only {fast} of {} texts took the fast path", texts.len());
    }

    #[test]
    fn a_tokenizer_the_fast_path_does_not_reproduce_keeps_the_reference_path() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/model/tokenizer.json");
        let mut j: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        j["normalizer"]["lowercase"] = serde_json::Value::Bool(false);
        let e = Encoder::from_bytes(&serde_json::to_vec(&j).unwrap(), 128).unwrap();
        assert!(!e.has_fast_path());
        // Cased input keeps its case on the reference path, so its pieces differ.
        assert_ne!(e.encode("Hello there").unwrap().ids, shipped().encode("Hello there").unwrap().ids);
    }

    #[test]
    fn words_are_byte_ranges() {
        let t = "  my naam  is é x\t";
        let w = words(t);
        let got: Vec<&str> = w.iter().map(|&(s, e)| &t[s..e]).collect();
        assert_eq!(got, vec!["my", "naam", "is", "é", "x"]);
        assert!(words("   ").is_empty());
        let t = "a\u{1c}b\u{85}c\u{200b}d\u{0}e";
        let got: Vec<&str> = words(t).iter().map(|&(s, e)| &t[s..e]).collect();
        assert_eq!(got, vec!["a", "b", "c", "d", "e"]);
    }

    #[test]
    fn windows_partition_and_fit() {
        for n in [0usize, 1, 5, 126, 127, 300, 1000] {
            let ws = windows(n, 126);
            let mut next = 0;
            for win in &ws {
                assert!(win.input.len() <= 126);
                assert!(win.input.start <= win.owned.start && win.owned.end <= win.input.end);
                assert_eq!(win.owned.start, next);
                next = win.owned.end;
            }
            assert_eq!(next, n);
            if n > 126 {
                // owned parts keep context on both inner sides
                for win in &ws[1..] {
                    assert!(win.owned.start - win.input.start >= 10);
                }
            }
        }
    }
}
