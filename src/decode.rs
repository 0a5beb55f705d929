//! From per-piece logits to labelled spans on word boundaries.

use crate::encode::Encoded;
use crate::validate::{card_length, date_shape, digit_runs, email_shape, luhn, name_edge_stopword, phone_length, DigitRun, Validators};

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

/// How spans are decoded from per-piece logits: constrained BIO decoding, per-label score
/// thresholds and the structural validators of [`crate::validate`].
#[derive(Debug, Clone)]
pub struct Decoder {
    num_tags: usize,
    pii: Vec<bool>,
    thresholds: Vec<f32>,
    constrained: bool,
    validators: Validators,
    card: Option<usize>,
    phone: Option<usize>,
    email: Option<usize>,
    date: Option<usize>,
    person: Option<usize>,
}

/// Working buffers of [`Decoder::decode_into`], grow-only: a caller that keeps one across
/// calls (the model keeps one per session) decodes without allocating, except in the
/// validators of name and number spans.
#[derive(Debug, Default)]
pub struct DecodeScratch {
    probs: Vec<f32>,
    score: Vec<f32>,
    next: Vec<f32>,
    back: Vec<u8>,
    tags: Vec<usize>,
    spans: Vec<WordSpan>,
    tmp: Vec<WordSpan>,
    lower: String,
    lower_at: Vec<(usize, usize)>,
    /// Always empty between calls; holds the allocation of the lowercased words' `&str`s.
    words: Vec<&'static str>,
}

/// An empty vector that takes over `v`'s allocation (same element layout, so the in-place
/// collect keeps it) with another lifetime.
fn recycle<'b>(mut v: Vec<&str>) -> Vec<&'b str> {
    v.clear();
    v.into_iter().map(|_| -> &'b str { unreachable!() }).collect()
}

/// A span over words `start..end` before it becomes byte offsets.
#[derive(Debug, Clone, Copy, PartialEq)]
struct WordSpan {
    label: usize,
    start: usize,
    end: usize,
    score: f32,
}

impl Decoder {
    /// A decoder for `labels` (name, is PII) in tag order. `thresholds[i]` is the lowest score
    /// a span of label `i` may have. `constrained` picks the best tag sequence in which every
    /// `I-X` follows `B-X` or `I-X` (Viterbi); otherwise each word takes its argmax tag.
    pub fn new(labels: &[(&str, bool)], thresholds: Vec<f32>, constrained: bool, validators: Validators) -> Decoder {
        assert_eq!(thresholds.len(), labels.len(), "one threshold per label");
        let find = |n: &str| labels.iter().position(|l| l.0 == n);
        Decoder {
            num_tags: 1 + 2 * labels.len(),
            pii: labels.iter().map(|l| l.1).collect(),
            thresholds,
            constrained,
            validators,
            card: find("CREDIT_CARD"),
            phone: find("PHONE"),
            email: find("EMAIL"),
            date: find("DATE"),
            person: find("PERSON_NAME"),
        }
    }

    /// Spans of `text` from `logits`, one row of `num_tags` values per word piece of `enc`
    /// (each word is read from its first piece). Spans are sorted and do not overlap.
    pub fn decode(&self, text: &str, enc: &Encoded, logits: &[f32]) -> Vec<Span> {
        let mut out = Vec::new();
        self.decode_into(text, enc, logits, &mut DecodeScratch::default(), &mut out);
        out
    }

    /// [`Decoder::decode`], appending the spans to `out`, with the working buffers of `scratch`.
    pub fn decode_into(&self, text: &str, enc: &Encoded, logits: &[f32], scratch: &mut DecodeScratch, out: &mut Vec<Span>) {
        debug_assert_eq!(logits.len(), enc.ids.len() * self.num_tags);
        let sc = scratch;
        self.word_probs_into(enc, logits, &mut sc.probs);
        self.best_tags_into(&sc.probs, &mut sc.tags, &mut sc.score, &mut sc.next, &mut sc.back);
        self.spans_into(&sc.tags, &sc.probs, &mut sc.spans);
        if self.validators != Validators::NONE && !sc.spans.is_empty() {
            // The validators read the words lowercased: in one buffer, unless the text holds a
            // capital sigma (str::to_lowercase's final-sigma rule; one string per word then).
            let owned: Vec<String>;
            let mut words = recycle(std::mem::take(&mut sc.words));
            if text.contains('Σ') {
                owned = enc.words.iter().map(|&(s, e)| text[s..e].to_lowercase()).collect();
                words.extend(owned.iter().map(String::as_str));
            } else {
                sc.lower.clear();
                sc.lower_at.clear();
                for &(s, e) in &enc.words {
                    let at = sc.lower.len();
                    sc.lower.extend(text[s..e].chars().flat_map(char::to_lowercase));
                    sc.lower_at.push((at, sc.lower.len()));
                }
                words.extend(sc.lower_at.iter().map(|&(a, b)| &sc.lower[a..b]));
            }
            self.validate(&words, &mut sc.spans, &mut sc.tmp);
            sc.words = recycle(words);
        }
        self.emit(enc, &sc.spans, out);
    }

    /// Append the word spans that pass their label's threshold to `out` as byte spans.
    fn emit(&self, enc: &Encoded, spans: &[WordSpan], out: &mut Vec<Span>) {
        out.extend(spans.iter().filter(|s| s.score >= self.thresholds[s.label]).map(|s| Span {
            start: enc.words[s.start].0,
            end: enc.words[s.end - 1].1,
            label: s.label,
            score: s.score,
            pii: self.pii[s.label],
        }));
    }

    /// For each word of `enc`, the probability of each label (its `B-` plus its `I-` tag, from
    /// the word's first piece, before any decoding): `labels` values per word, in label order.
    pub fn label_probs(&self, enc: &Encoded, logits: &[f32]) -> Vec<f32> {
        let t = self.num_tags;
        self.word_probs(enc, logits).chunks(t).flat_map(|row| (0..t / 2).map(move |l| row[1 + 2 * l] + row[2 + 2 * l])).collect()
    }

    /// Tag probabilities per word (softmax of its first piece; a word without pieces is O).
    fn word_probs(&self, enc: &Encoded, logits: &[f32]) -> Vec<f32> {
        let mut out = Vec::new();
        self.word_probs_into(enc, logits, &mut out);
        out
    }

    /// [`Decoder::word_probs`] into `out` (overwritten).
    fn word_probs_into(&self, enc: &Encoded, logits: &[f32], out: &mut Vec<f32>) {
        let t = self.num_tags;
        out.clear();
        out.resize(enc.words.len() * t, 0.0);
        for (w, row_out) in out.chunks_mut(t).enumerate() {
            let Some(p) = enc.first_piece[w] else {
                row_out[0] = 1.0;
                continue;
            };
            let row = &logits[p as usize * t..(p as usize + 1) * t];
            let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let mut sum = 0.0;
            for (o, &v) in row_out.iter_mut().zip(row) {
                *o = (v - max).exp();
                sum += *o;
            }
            if !(sum.is_finite() && sum > 0.0) {
                row_out.fill(0.0);
                row_out[0] = 1.0;
                continue;
            }
            row_out.iter_mut().for_each(|o| *o /= sum);
        }
    }

    /// May tag `cur` follow tag `prev` (`None`: the first word)?
    fn allowed(&self, prev: Option<usize>, cur: usize) -> bool {
        let inside = cur > 0 && cur % 2 == 0;
        !self.constrained || !inside || prev.is_some_and(|p| p == cur || p == cur - 1)
    }

    /// Log probability of tag `cur` on word `w` (`prev` is the previous word's tag).
    fn emission(&self, probs: &[f32], w: usize, _prev: Option<usize>, cur: usize) -> f32 {
        probs[w * self.num_tags + cur].max(1e-30).ln()
    }

    /// The best tag sequence under [`Decoder::allowed`] and [`Decoder::emission`] (Viterbi).
    #[cfg(test)]
    fn best_tags(&self, probs: &[f32]) -> Vec<usize> {
        let mut tags = Vec::new();
        self.best_tags_into(probs, &mut tags, &mut Vec::new(), &mut Vec::new(), &mut Vec::new());
        tags
    }

    /// [`Decoder::best_tags`] into `tags` (overwritten), with working buffers `score`, `next`
    /// and `back` (their contents on entry do not matter).
    fn best_tags_into(&self, probs: &[f32], tags: &mut Vec<usize>, score: &mut Vec<f32>, next: &mut Vec<f32>, back: &mut Vec<u8>) {
        let t = self.num_tags;
        let n = probs.len() / t;
        tags.clear();
        if n == 0 {
            return;
        }
        score.clear();
        score.extend((0..t).map(|k| if self.allowed(None, k) { self.emission(probs, 0, None, k) } else { f32::NEG_INFINITY }));
        // Row 0 of `back` is never read; every other row is written before it is read.
        back.clear();
        back.resize(n * t, 0);
        next.clear();
        next.resize(t, 0.0);
        for w in 1..n {
            for k in 0..t {
                let mut best = (f32::NEG_INFINITY, 0usize);
                for (p, &s) in score.iter().enumerate() {
                    if self.allowed(Some(p), k) {
                        let v = s + self.emission(probs, w, Some(p), k);
                        if v > best.0 {
                            best = (v, p);
                        }
                    }
                }
                next[k] = best.0;
                back[w * t + k] = best.1 as u8;
            }
            std::mem::swap(score, next);
        }
        let mut k = (0..t).fold(0, |b, k| if score[k] > score[b] { k } else { b });
        tags.resize(n, 0);
        for w in (0..n).rev() {
            tags[w] = k;
            k = back[w * t + k] as usize;
        }
    }

    /// BIO runs of `tags` as word spans scored by the mean probability of their label, into
    /// `out` (overwritten).
    fn spans_into(&self, tags: &[usize], probs: &[f32], out: &mut Vec<WordSpan>) {
        let t = self.num_tags;
        let p_label = |w: usize, l: usize| probs[w * t + 1 + 2 * l] + probs[w * t + 2 + 2 * l];
        out.clear();
        let mut open: Option<WordSpan> = None;
        for (w, &tag) in tags.iter().enumerate() {
            let label = (tag.max(1) - 1) / 2;
            let continues = tag > 0 && tag % 2 == 0 && open.is_some_and(|o| o.label == label);
            if continues {
                let o = open.as_mut().unwrap();
                o.end = w + 1;
                o.score += p_label(w, label);
                continue;
            }
            out.extend(open.take());
            if tag > 0 {
                open = Some(WordSpan { label, start: w, end: w + 1, score: p_label(w, label) });
            }
        }
        out.extend(open);
        for s in out.iter_mut() {
            s.score /= (s.end - s.start) as f32;
        }
    }

    /// Apply the enabled validators to sorted, non-overlapping `spans` over `words`, in place
    /// (`tmp` is a working buffer).
    fn validate(&self, words: &[&str], spans: &mut Vec<WordSpan>, tmp: &mut Vec<WordSpan>) {
        let v = self.validators;
        let is = |l: Option<usize>, s: &WordSpan| l == Some(s.label);
        if v.has(Validators::NAME) && spans.iter().any(|s| is(self.person, s)) {
            let out = tmp;
            out.clear();
            // Name spans that touch are first joined when the second opens with a spoken word:
            // a name is one span however the model began its words ("precious | joy navarro");
            // `split_name_parts` then cuts it where the labelling rules do (spelled runs,
            // restarts, nicknames). A span opening with a letter stays apart (a lone letter is
            // dropped below), and so does a span below the label's threshold (dropped at emit).
            let mut i = 0;
            while i < spans.len() {
                let mut s = spans[i];
                i += 1;
                if !is(self.person, &s) {
                    out.push(s);
                    continue;
                }
                let th = self.thresholds[s.label];
                while i < spans.len()
                    && is(self.person, &spans[i])
                    && spans[i].start == s.end
                    && words[s.end].chars().count() > 1
                    && s.score >= th
                    && spans[i].score >= th
                {
                    let n = spans[i];
                    let (a, b) = ((s.end - s.start) as f32, (n.end - n.start) as f32);
                    s.score = (s.score * a + n.score * b) / (a + b);
                    s.end = n.end;
                    i += 1;
                }
                let letter = |i: usize| words[i].chars().count() == 1;
                for mut part in split_name_parts(words, s) {
                    // A one-letter stopword ("a", "i") beside another letter is part of a
                    // spelled name ("a y u b", "k u l k a r n i"), not an article or pronoun.
                    while part.start < part.end
                        && name_edge_stopword(words[part.start])
                        && !(letter(part.start) && part.start + 1 < part.end && letter(part.start + 1))
                    {
                        part.start += 1;
                    }
                    while part.end > part.start
                        && name_edge_stopword(words[part.end - 1])
                        && !(letter(part.end - 1) && part.end - 1 > part.start && letter(part.end - 2))
                    {
                        part.end -= 1;
                    }
                    // A lone letter is not a name (a spelled name has two letters or more).
                    if part.start < part.end && !(part.end - part.start == 1 && words[part.start].chars().count() == 1) {
                        out.push(part);
                    }
                }
            }
            std::mem::swap(spans, out);
            return self.validate_rest(words, spans, out);
        }
        self.validate_rest(words, spans, tmp)
    }

    /// The validators after the name validator (see [`Decoder::validate`]).
    fn validate_rest(&self, words: &[&str], spans: &mut Vec<WordSpan>, tmp: &mut Vec<WordSpan>) {
        let v = self.validators;
        let is = |l: Option<usize>, s: &WordSpan| l == Some(s.label);
        if v.has(Validators::DATE) {
            spans.retain(|s| !is(self.date, s) || date_shape(&words[s.start..s.end]));
        }
        if v.has(Validators::EMAIL) {
            // In place: span i is written at or before index i, after span i + 1 was read.
            let mut kept = 0;
            for i in 0..spans.len() {
                let mut s = spans[i];
                if is(self.email, &s) {
                    // Take a trailing "dot <word>" the model left out (up to three), then check.
                    let limit = spans.get(i + 1).map_or(words.len(), |n| n.start);
                    let mut k = 0;
                    while k < 3 && s.end + 1 < limit && words[s.end] == "dot" && !name_edge_stopword(words[s.end + 1]) {
                        s.end += 2;
                        k += 1;
                    }
                    if !email_shape(&words[s.start..s.end]) {
                        continue;
                    }
                }
                spans[kept] = s;
                kept += 1;
            }
            spans.truncate(kept);
        }
        let number = |s: &WordSpan| Some(s.label) == self.card || Some(s.label) == self.phone;
        // Without number spans the number validator keeps every span as it is.
        if v.has(Validators::NUMBERS) && (self.card.is_some() || self.phone.is_some()) && spans.iter().any(number) {
            self.validate_numbers(words, spans, tmp);
            std::mem::swap(spans, tmp);
        }
    }

    /// PHONE and CREDIT_CARD spans become whole digit runs of a plausible length.
    /// `spans` validated into `out` (overwritten).
    fn validate_numbers(&self, words: &[&str], spans: &[WordSpan], out: &mut Vec<WordSpan>) {
        let runs = digit_runs(words);
        let number = |s: &WordSpan| Some(s.label) == self.card || Some(s.label) == self.phone;
        out.clear();
        let mut i = 0;
        while i < spans.len() {
            let s = spans[i];
            i += 1;
            if !number(&s) {
                out.push(s);
                continue;
            }
            // The runs this span touches, and the room left by its neighbours of other labels.
            let lo = out.last().map_or(0, |p| p.end);
            let hi = spans[i..].iter().find(|n| !number(n)).map_or(words.len(), |n| n.start);
            let touched: Vec<&DigitRun> = runs.iter().filter(|r| r.start < s.end && s.start < r.end).collect();
            let (Some(first), Some(last)) = (touched.first(), touched.last()) else {
                continue;
            };
            let mut span = WordSpan { start: first.start.max(lo), end: last.end.min(hi), ..s };
            // Absorb later number spans that fall inside the run (fragments of one number).
            let mut votes = [0usize; 2];
            let mut vote = |x: &WordSpan| votes[usize::from(Some(x.label) == self.card)] += x.end - x.start;
            vote(&s);
            while i < spans.len() && number(&spans[i]) && spans[i].start < span.end.max(last.end) {
                let n = spans[i];
                vote(&n);
                span.score = span.score.max(n.score);
                span.end = span.end.max(n.end.min(hi));
                i += 1;
            }
            let all: Vec<&DigitRun> = runs.iter().filter(|r| r.start < span.end && span.start < r.end).collect();
            let digits: String = all.iter().map(|r| r.digits.as_str()).collect();
            let plus = all.first().is_some_and(|r| r.plus);
            let n = digits.len();
            let said_card = votes[1] > votes[0];
            let label = if said_card && card_length(n) {
                self.card
            } else if phone_length(&digits, plus) && (!said_card || n <= 12) {
                self.phone
            } else if card_length(n) && luhn(&digits) && !plus {
                self.card
            } else {
                None
            };
            if let Some(l) = label {
                span.label = l;
                out.push(span);
            }
        }
    }
}

/// Split a name span into the mentions it holds, by the labelling rules:
/// - where a spelled run (three or more one-letter words) meets a spoken word: "ouellet o u e
///   l l e t" is two names; initials ("k r ramesh") stay with the name;
/// - where a word is said again ("rose rose mahlangu", "okafor okafor"), where the first word
///   comes again after more of the name ("fatima zahra naqvi fatima zahra"), or a full first name is
///   followed by its short form ("bartholomew bart kaczmarek"): a restart or a nickname is a
///   mention of its own. (A short form followed by a longer word is left alone: "john johnson";
///   so is a doubled name on its own: "jun jun".)
fn split_name_parts(words: &[&str], s: WordSpan) -> Vec<WordSpan> {
    let letter = |i: usize| words[i].chars().count() == 1;
    let mut cuts = Vec::new();
    let mut i = s.start;
    while i < s.end {
        let mut j = i;
        while j < s.end && letter(j) {
            j += 1;
        }
        if j - i >= 3 {
            cuts.extend([i, j]);
        }
        i = j.max(i + 1);
    }
    for i in s.start + 1..s.end {
        let (a, b) = (words[i - 1], words[i]);
        // Two equal words alone are one doubled name ("jun jun"); with more words, a restart.
        let again = a == b && s.end - s.start > 2;
        // The name begun again after more of it was said: "fatima zahra naqvi fatima zahra".
        let begun_again = i >= s.start + 2 && b == words[s.start] && b.chars().count() >= 3;
        let restart = !letter(i) && (again || begun_again || (b.chars().count() >= 3 && a.len() > b.len() && a.starts_with(b)));
        if restart {
            cuts.push(i);
        }
    }
    cuts.sort_unstable();
    let mut out = Vec::new();
    let mut at = s.start;
    for c in cuts.into_iter().chain([s.end]) {
        if c > at {
            out.push(WordSpan { start: at, end: c, ..s });
            at = c;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const LABELS: [(&str, bool); 3] = [("PHONE", true), ("CITY", false), ("EMAIL", true)];

    /// 3 labels -> 7 tags. Logits put `tag` far ahead for each word's single piece.
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

    fn plain(constrained: bool, min: f32) -> Decoder {
        Decoder::new(&LABELS, vec![min; 3], constrained, Validators::NONE)
    }

    fn texts<'a>(text: &'a str, spans: &[Span]) -> Vec<(&'a str, usize)> {
        spans.iter().map(|s| (&text[s.start..s.end], s.label)).collect()
    }

    #[test]
    fn bio_runs_become_spans() {
        // O O B-0 I-0 O I-1 I-1 B-2 B-2 I-2 (argmax: a stray I- opens a span)
        let text = "my card four two ok  nine one é b c";
        let (enc, lg) = setup(text, &[0, 0, 1, 2, 0, 4, 4, 5, 5, 6]);
        let spans = plain(false, 0.0).decode(text, &enc, &lg);
        assert_eq!(texts(text, &spans), vec![("four two", 0), ("nine one", 1), ("é", 2), ("b c", 2)]);
        assert!(!spans[1].pii && spans[0].pii);
        assert!(spans.iter().all(|s| s.score > 0.99));
    }

    #[test]
    fn constrained_decoding_never_starts_with_inside_or_mixes_labels() {
        // Words 1-3: B-PHONE, I-CITY (confident), I-PHONE. Argmax gives PHONE | CITY | PHONE;
        // the constrained decoder picks one consistent sequence.
        let text = "a b c d e";
        let (enc, mut lg) = setup(text, &[0, 1, 4, 2, 0]);
        lg[2 * 7 + 2] = 9.0; // I-PHONE close behind I-CITY on word 2
        assert_eq!(texts(text, &plain(false, 0.0).decode(text, &enc, &lg)), vec![("b", 0), ("c", 1), ("d", 0)]);
        assert_eq!(texts(text, &plain(true, 0.0).decode(text, &enc, &lg)), vec![("b c d", 0)]);
        // Random logits: every decoded span is one label, and no span begins with I- unless
        // it is a continuation; compare with argmax that does fragment.
        let mut x = 12345u64;
        let mut rnd = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % 1000) as f32 / 100.0
        };
        let text = "w ".repeat(40);
        let text = text.trim_end();
        for _ in 0..200 {
            let (enc, _) = setup(text, &[0; 40]);
            let lg: Vec<f32> = (0..40 * 7).map(|_| rnd()).collect();
            let d = plain(true, 0.0);
            let probs = d.word_probs(&enc, &lg);
            let tags = d.best_tags(&probs);
            for (w, &t) in tags.iter().enumerate() {
                if t > 0 && t % 2 == 0 {
                    assert!(w > 0 && (tags[w - 1] == t || tags[w - 1] == t - 1), "I- without a span at {w}: {tags:?}");
                }
            }
        }
        // On short texts, Viterbi's sequence scores as well as the best of every allowed one.
        let text = "a b c d";
        for _ in 0..30 {
            let (enc, _) = setup(text, &[0; 4]);
            let lg: Vec<f32> = (0..4 * 7).map(|_| rnd()).collect();
            let d = plain(true, 0.0);
            let probs = d.word_probs(&enc, &lg);
            let score = |ts: &[usize]| -> f32 {
                (0..4)
                    .map(|w| {
                        let prev = if w == 0 { None } else { Some(ts[w - 1]) };
                        if d.allowed(prev, ts[w]) { d.emission(&probs, w, prev, ts[w]) } else { f32::NEG_INFINITY }
                    })
                    .sum()
            };
            let mut best = f32::NEG_INFINITY;
            for code in 0..7usize.pow(4) {
                let ts: Vec<usize> = (0..4).map(|i| code / 7usize.pow(i) % 7).collect();
                best = best.max(score(&ts));
            }
            assert!((score(&d.best_tags(&probs)) - best).abs() < 1e-4);
        }
    }

    #[test]
    fn thresholds_are_per_label() {
        let text = "a b c";
        let (enc, mut lg) = setup(text, &[1, 0, 3]);
        // Make the PHONE word uncertain (p ~ 0.6).
        lg[0..7].copy_from_slice(&[1.0, 1.6, 0.0, 0.0, 0.0, 0.0, 0.0]);
        let d = Decoder::new(&LABELS, vec![0.9, 0.0, 0.0], true, Validators::NONE);
        assert_eq!(texts(text, &d.decode(text, &enc, &lg)), vec![("c", 1)]);
        let d = Decoder::new(&LABELS, vec![0.3, 0.0, 0.0], true, Validators::NONE);
        assert_eq!(texts(text, &d.decode(text, &enc, &lg)).len(), 2);
    }

    #[test]
    fn number_validator_merges_extends_and_vetoes() {
        let d = Decoder::new(&[("CREDIT_CARD", true), ("PHONE", true), ("DATE", true)], vec![0.0; 3], true, Validators::ALL);
        // A phone cut into CREDIT_CARD "nine" + PHONE rest, missing its last word: one PHONE.
        let text = "call nine eight four five oh one two three four five thanks";
        let (enc, lg) = setup(text, &[0, 1, 3, 4, 4, 4, 4, 4, 4, 4, 0, 0]);
        assert_eq!(texts(text, &d.decode(text, &enc, &lg)), vec![("nine eight four five oh one two three four five", 1)]);
        // A 6-digit OTP tagged PHONE is dropped; a Luhn-valid 16-digit PHONE becomes a card.
        let text = "otp is four four one two three nine";
        let (enc, lg) = setup(text, &[0, 0, 3, 4, 4, 4, 4, 4]);
        assert!(d.decode(text, &enc, &lg).is_empty());
        let text = "4111 1111 1111 1111";
        let (enc, lg) = setup(text, &[3, 4, 4, 4]);
        assert_eq!(texts(text, &d.decode(text, &enc, &lg)), vec![(text, 0)]);
    }

    #[test]
    fn name_validator_trims_titles_and_splits_spelled_names() {
        let d = Decoder::new(&[("PERSON_NAME", true), ("CITY", false), ("EMAIL", true)], vec![0.0; 3], true, Validators::ALL);
        let text = "hi mister rejean ouellet o u e l l e t and k r ramesh t";
        let (enc, lg) = setup(text, &[0, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 0, 1, 2, 2, 1]);
        let got: Vec<&str> = texts(text, &d.decode(text, &enc, &lg)).into_iter().map(|x| x.0).collect();
        assert_eq!(got, vec!["rejean ouellet", "o u e l l e t", "k r ramesh"]);
    }

    #[test]
    fn name_validator_keeps_edge_letters_of_spelled_names() {
        let d = Decoder::new(&[("PERSON_NAME", true), ("CITY", false), ("EMAIL", true)], vec![0.0; 3], true, Validators::ALL);
        let text = "it is a y u b and k u l k a r n i and i anita";
        let (enc, lg) = setup(text, &[0, 0, 1, 2, 2, 2, 0, 1, 2, 2, 2, 2, 2, 2, 2, 0, 1, 2]);
        let got: Vec<&str> = texts(text, &d.decode(text, &enc, &lg)).into_iter().map(|x| x.0).collect();
        assert_eq!(got, vec!["a y u b", "k u l k a r n i", "anita"]);
    }

    #[test]
    fn name_validator_splits_restarts_and_nicknames() {
        let d = Decoder::new(&[("PERSON_NAME", true), ("CITY", false), ("EMAIL", true)], vec![0.0; 3], true, Validators::ALL);
        let text = "rose rose mahlangu and bartholomew bart kaczmarek and patience okafor okafor and john johnson or jun jun and fatima zahra naqvi fatima zahra";
        let (enc, lg) = setup(text, &[1, 2, 2, 0, 1, 2, 2, 0, 1, 2, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 2, 2, 2]);
        let got: Vec<&str> = texts(text, &d.decode(text, &enc, &lg)).into_iter().map(|x| x.0).collect();
        let want = [
            "rose", "rose mahlangu", "bartholomew", "bart kaczmarek", "patience okafor", "okafor", "john johnson", "jun jun",
            "fatima zahra naqvi", "fatima zahra",
        ];
        assert_eq!(got, want);
    }

    #[test]
    fn name_validator_joins_touching_name_spans_then_splits_by_the_rules() {
        let d = Decoder::new(&[("PERSON_NAME", true), ("CITY", false), ("EMAIL", true)], vec![0.0; 3], true, Validators::ALL);
        let text = "her name is precious joy navarro and bello b e l l o and rose rose mahlangu";
        let (enc, lg) = setup(text, &[0, 0, 0, 1, 1, 2, 0, 1, 1, 2, 2, 2, 2, 0, 1, 1, 1]);
        let got: Vec<&str> = texts(text, &d.decode(text, &enc, &lg)).into_iter().map(|x| x.0).collect();
        assert_eq!(got, vec!["precious joy navarro", "bello", "b e l l o", "rose", "rose mahlangu"]);
        // Without the name validator the model's own span starts stand.
        let raw = Decoder::new(&[("PERSON_NAME", true), ("CITY", false), ("EMAIL", true)], vec![0.0; 3], true, Validators::NONE);
        let got: Vec<&str> = texts(text, &raw.decode(text, &enc, &lg)).into_iter().map(|x| x.0).collect();
        assert_eq!(got[..2], ["precious", "joy navarro"]);
    }
}
