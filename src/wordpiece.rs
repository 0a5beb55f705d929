//! An allocation-free WordPiece fast path for ASCII text.
//!
//! The shipped tokenizers are BERT uncased: `BertNormalizer` (clean text, lowercase),
//! `BertPreTokenizer` (split on whitespace, isolate punctuation) and `WordPiece` (`##`
//! continuations, `[UNK]` for a word it cannot cover or one over the length limit). On
//! printable ASCII those steps are simple enough to do here, straight into the caller's
//! buffers; the Hugging Face tokenizer does the same work with several hundred allocations
//! per utterance. [`WordPiece::from_json`] accepts only a `tokenizer.json` of exactly that
//! kind, and [`WordPiece::encode`] declines (returns `false`) any text it does not cover:
//! non-ASCII characters, or a `[` that could start an added token such as `[MASK]`. The
//! tests check it against the Hugging Face tokenizer on every data set of the repository.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// FNV-1a: vocabulary keys are short, and SipHash's setup dominates at this size.
#[derive(Default)]
struct Fnv(u64);

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 { 0xcbf2_9ce4_8422_2325 } else { self.0 };
        for &b in bytes {
            h = (h ^ b as u64).wrapping_mul(0x100_0000_01b3);
        }
        self.0 = h;
    }
}

type Vocab = HashMap<String, u32, BuildHasherDefault<Fnv>>;

/// The WordPiece vocabulary split into word-initial pieces and `##` continuations.
pub struct WordPiece {
    initial: Vocab,
    /// Continuation pieces, keyed without their prefix.
    continuation: Vocab,
    unk: u32,
    max_chars: usize,
    /// Longest key of either map, in bytes: no longer match is tried.
    longest: usize,
}

impl WordPiece {
    /// The fast path for a parsed `tokenizer.json`, or `None` when it is not a BERT uncased
    /// WordPiece tokenizer this module reproduces exactly.
    pub fn from_json(t: &serde_json::Value) -> Option<WordPiece> {
        let n = &t["normalizer"];
        let normalizer_ok = n["type"] == "BertNormalizer" && n["lowercase"] == true && n["clean_text"] == true;
        let pre_ok = t["pre_tokenizer"]["type"] == "BertPreTokenizer";
        let m = &t["model"];
        let prefix = m["continuing_subword_prefix"].as_str()?;
        if !(normalizer_ok && pre_ok && m["type"] == "WordPiece") || prefix.is_empty() {
            return None;
        }
        // Added tokens are matched in the raw text before normalization; the fast path only
        // knows the usual bracketed ones, and declines any text with a `[`.
        for a in t["added_tokens"].as_array()? {
            if !a["content"].as_str()?.starts_with('[') {
                return None;
            }
        }
        let unk = m["unk_token"].as_str()?;
        let (mut initial, mut continuation) = (Vocab::default(), Vocab::default());
        let mut longest = 0;
        for (piece, id) in m["vocab"].as_object()? {
            let id = u32::try_from(id.as_u64()?).ok()?;
            let (map, key) = match piece.strip_prefix(prefix) {
                Some(rest) => (&mut continuation, rest),
                None => (&mut initial, piece.as_str()),
            };
            longest = longest.max(key.len());
            map.insert(key.to_string(), id);
        }
        let unk = *initial.get(unk)?;
        let max_chars = m["max_input_chars_per_word"].as_u64().unwrap_or(100) as usize;
        if max_chars > 128 {
            return None; // longer words than the lowercase buffer holds
        }
        Some(WordPiece { initial, continuation, unk, max_chars, longest })
    }

    /// Append the pieces of `text` to `ids`, with each piece's byte offset in `starts`; `false`
    /// (and nothing appended) when `text` is not printable ASCII or holds a `[`.
    pub fn encode(&self, text: &str, ids: &mut Vec<u32>, starts: &mut Vec<u32>) -> bool {
        let b = text.as_bytes();
        if !b.iter().all(|&c| (b' '..=b'~').contains(&c) && c != b'[') {
            return false;
        }
        let mut lower = [0u8; 128];
        let mut i = 0;
        while i < b.len() {
            let c = b[i];
            if c == b' ' {
                i += 1;
                continue;
            }
            // A pre-token: one punctuation character, or a run of letters and digits.
            let end = if c.is_ascii_alphanumeric() {
                let mut e = i + 1;
                while e < b.len() && b[e].is_ascii_alphanumeric() {
                    e += 1;
                }
                e
            } else {
                i + 1
            };
            let word = &b[i..end];
            if word.len() > self.max_chars {
                ids.push(self.unk);
                starts.push(i as u32);
            } else {
                for (d, s) in lower.iter_mut().zip(word) {
                    *d = s.to_ascii_lowercase();
                }
                self.pieces(&lower[..word.len()], i, ids, starts);
            }
            i = end;
        }
        true
    }

    /// Greedy longest-match pieces of one lowercased ASCII pre-token starting at byte `at`.
    fn pieces(&self, word: &[u8], at: usize, ids: &mut Vec<u32>, starts: &mut Vec<u32>) {
        let mark = ids.len();
        let mut s = 0;
        while s < word.len() {
            let map = if s == 0 { &self.initial } else { &self.continuation };
            let mut e = word.len().min(s + self.longest);
            let mut found = None;
            while e > s {
                // ASCII bytes are always valid UTF-8.
                let key = std::str::from_utf8(&word[s..e]).expect("ascii");
                if let Some(&id) = map.get(key) {
                    found = Some(id);
                    break;
                }
                e -= 1;
            }
            let Some(id) = found else {
                ids.truncate(mark);
                starts.truncate(mark);
                ids.push(self.unk);
                starts.push(at as u32);
                return;
            };
            ids.push(id);
            starts.push((at + s) as u32);
            s = e;
        }
    }
}
