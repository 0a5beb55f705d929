//! Streaming redaction for live speech-to-text: one [`Stream`] per call or channel.
//!
//! The engine pushes each hypothesis of the segment after its last final as it comes: partials
//! replace the previous partial, a final appends its words for good. Only final words are ever
//! released (a partial's words may still be revised); partial words serve as right context.
//! On every push the stream tags its view (up to `context` already released final words, the
//! final words not yet released, the current partial) and releases the longest run of final
//! words whose redaction the rest of the view can no longer change:
//! - a release never ends inside a span, an open number (a run of number words) or an email
//!   whose "at" has no dotted domain after it yet;
//! - at least `settle` words of the view follow the released words, and the previous push
//!   gave each of them the same word and tag (a word whose tag still flips waits);
//! - a release never goes past a doubtful word: one the view leaves untagged although the
//!   model gives the redacted labels at least [`DOUBT`] (summed over their `B-`/`I-` tags on
//!   its first piece) while fewer than [`DOUBT_WORDS`] words follow it, or one inside a closed
//!   number that reads as a card (card length, Luhn-valid) that no view has tagged;
//! - a held word that any earlier view redacted stays redacted (conservative: over-redaction
//!   is possible, unredacting a word some view saw as PII is not), and so do the other untagged
//!   words of its number (a number goes out whole);
//! - when more than `hold_back` final words wait, the oldest are released anyway,
//!   conservatively: a span cut by the release is replaced whole as far as it goes, and number
//!   words of an open number that the model has not tagged are replaced as that number's label
//!   (PHONE when it has none), those of an email still being spoken as EMAIL, doubtful words
//!   as the label the model finds likeliest for them.
//!
//! Released text is append-only; a word's redaction never changes once released. Each push
//! costs one model run over the view (`context` + held + partial words), never the call so far.

use std::collections::VecDeque;

use crate::encode::words as split_words;
use crate::error::{Error, Result};
use crate::model::Model;
use crate::redact::{Redaction, Redactor, Style};
use crate::validate::{card_length, digit_runs, luhn, name_edge_stopword};

/// A final word the view leaves untagged but on which the model gives the redacted labels at
/// least this probability is doubtful: it is not released as spoken while in doubt.
pub const DOUBT: f32 = 0.05;

/// A word's doubt ends once this many words (final or partial) follow it in the view: past
/// that, the model's view of it no longer changes in the replays (`tests/stream.rs`).
pub const DOUBT_WORDS: usize = 20;
use crate::words::{self, WordRange};

/// Settings of a [`Stream`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StreamOptions {
    /// Most final words held back; beyond it the oldest are released conservatively.
    pub hold_back: usize,
    /// Already released final words kept as left context.
    pub context: usize,
    /// Words of the view that must follow a release (final or partial).
    pub settle: usize,
    /// What is redacted, and how.
    pub redaction: Redaction,
}

impl Default for StreamOptions {
    fn default() -> Self {
        StreamOptions { hold_back: 24, context: 48, settle: 4, redaction: Redaction::default() }
    }
}

/// Largest `hold_back`, `context` or `settle` accepted: the view stays one model window.
pub const MAX_STREAM_WORDS: usize = 256;

/// One released word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReleasedWord {
    /// Index of the word in the stream's final text (0 = the call's first final word).
    pub index: usize,
    /// Bytes of [`Release::text`] that stand for it: the word itself, or the replacement of
    /// the span it belongs to (shared by all of that span's words).
    pub start: usize,
    /// End of those bytes (exclusive).
    pub end: usize,
    /// The label it was redacted as; `None` when it is released as spoken.
    pub label: Option<usize>,
}

/// What one push or finish released.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Release {
    /// The released words, redacted, joined by single spaces (no leading or trailing space;
    /// put a space between consecutive non-empty releases).
    pub text: String,
    /// Each released word, in order.
    pub words: Vec<ReleasedWord>,
    /// Words still held back after this call: final words not yet released, then the partial's.
    pub held: usize,
}

/// A live transcript's redaction state. Not for use by two threads at once (one stream per
/// call or channel; many streams may share one [`Model`]).
pub struct Stream<'m> {
    model: &'m Model,
    opts: StreamOptions,
    redactor: Redactor,
    left: VecDeque<String>,
    pending: Vec<String>,
    partial: Vec<String>,
    /// Each view word after the released ones at the last model run: the word and the label
    /// of the covered span it was in.
    last: Vec<(String, Option<usize>)>,
    /// For each held final word, a covered label some earlier view gave it: it is redacted as
    /// that label even if a later view drops it (a released word is never unredacted PII that
    /// any view saw).
    sticky: Vec<Option<usize>>,
    released: usize,
    finished: bool,
}

impl std::fmt::Debug for Stream<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the words: they are transcript text.
        f.debug_struct("Stream")
            .field("released", &self.released)
            .field("held", &(self.pending.len() + self.partial.len()))
            .field("finished", &self.finished)
            .finish()
    }
}

impl<'m> Stream<'m> {
    /// A stream over `model`.
    pub fn new(model: &'m Model, opts: StreamOptions) -> Result<Stream<'m>> {
        for (name, v) in [("hold_back", opts.hold_back), ("context", opts.context), ("settle", opts.settle)] {
            if v > MAX_STREAM_WORDS {
                return Err(Error::InvalidArgument(format!("{name} must be at most {MAX_STREAM_WORDS} words")));
            }
        }
        Ok(Stream {
            model,
            opts,
            redactor: Redactor::new(opts.redaction),
            left: VecDeque::new(),
            pending: Vec::new(),
            partial: Vec::new(),
            last: Vec::new(),
            sticky: Vec::new(),
            released: 0,
            finished: false,
        })
    }

    /// Push the engine's current hypothesis of the segment after its last final: a partial
    /// (`is_final == false`) replaces the previous partial; a final appends its words and clears
    /// the partial. Returns what is now safe to release. On error nothing changes.
    pub fn push(&mut self, hypothesis: &str, is_final: bool) -> Result<Release> {
        if self.finished {
            return Err(Error::InvalidArgument("push after finish".into()));
        }
        let new: Vec<String> = split_words(hypothesis).iter().map(|&(s, e)| hypothesis[s..e].to_string()).collect();
        let (pending, partial) = if is_final {
            let mut p = self.pending.clone();
            p.extend(new);
            (p, Vec::new())
        } else {
            (self.pending.clone(), new)
        };
        self.release(pending, partial, false)
    }

    /// End of the call: every held final word is released (the partial is dropped: the engine
    /// sends its words as a final first). Further pushes are errors.
    pub fn finish(&mut self) -> Result<Release> {
        if self.finished {
            return Err(Error::InvalidArgument("finish after finish".into()));
        }
        let rel = self.release(self.pending.clone(), Vec::new(), true)?;
        self.finished = true;
        Ok(rel)
    }

    /// Final words released so far.
    pub fn released_words(&self) -> usize {
        self.released
    }

    /// Tag the view with `pending` and `partial`, release what is settled, then commit.
    fn release(&mut self, pending: Vec<String>, partial: Vec<String>, flush: bool) -> Result<Release> {
        if pending.is_empty() {
            self.sticky.clear();
            self.partial = partial;
            return Ok(Release { held: self.partial.len(), ..Release::default() });
        }
        let base = self.left.len();
        let n = base + pending.len() + partial.len();
        if !flush && base + self.opts.settle >= n && pending.len() <= self.opts.hold_back {
            // Every final word is within `settle` of the end: nothing can go out yet.
            self.pending = pending;
            self.partial = partial;
            return Ok(Release { held: n - base, ..Release::default() });
        }
        let view: Vec<&str> =
            self.left.iter().chain(&pending).chain(&partial).map(String::as_str).collect();
        let (text, starts) = words::join(&view)?;
        let (tagged, probs) = self.model.tag_with_probs(&text)?;
        let spans = words::ranges(&tagged, &starts);
        let labels = &self.model.manifest().labels;
        let nl = labels.len();
        if probs.len() != view.len() * nl {
            return Err(Error::Model("label probabilities do not match the stream's words".into()));
        }
        let red = self.opts.redaction;
        let covered_labels: Vec<usize> = (0..nl).filter(|&l| red.covers(l, labels[l].pii)).collect();
        let pcov: Vec<f32> = (0..view.len()).map(|k| covered_labels.iter().map(|&l| probs[k * nl + l]).sum()).collect();
        let pend_end = base + pending.len();
        let cur: Vec<(String, Option<usize>)> = (base..n)
            .map(|k| {
                let l = spans.iter().find(|s| s.first <= k && k < s.last && red.covers(s.label, s.pii)).map(|s| s.label);
                (view[k].to_string(), l)
            })
            .collect();
        // A word is stable when the previous run gave the same word the same tag.
        let unstable = (base..pend_end)
            .find(|&k| self.last.get(k - base).is_none_or(|prev| *prev != cur[k - base]))
            .unwrap_or(pend_end);
        let mut sticky = self.sticky.clone();
        sticky.resize(pending.len(), None);
        for (s, c) in sticky.iter_mut().zip(&cur) {
            *s = s.or(c.1);
        }
        let runs = digit_runs(&view);
        let mut number = vec![false; view.len()];
        for r in &runs {
            number[r.start..r.end].iter_mut().for_each(|x| *x = true);
        }
        // Doubtful final words, each with the label a forced release redacts it as: untagged by
        // this view, yet given at least `DOUBT` of the redacted labels by the model (its likeliest
        // of them) with fewer than `DOUBT_WORDS` words after it, or inside a closed number that
        // reads as a card (card length, Luhn-valid; CREDIT_CARD). The release stops before the
        // first one until a view tags it or its doubt ends.
        let tagged_at = |k: usize| spans.iter().any(|s| s.first <= k && k < s.last && red.covers(s.label, s.pii));
        let mut doubt: Vec<Option<usize>> = (base..pend_end)
            .map(|k| {
                let best = covered_labels.iter().copied().max_by(|&a, &b| probs[k * nl + a].total_cmp(&probs[k * nl + b]));
                best.filter(|_| pcov[k] >= DOUBT && n - k - 1 < DOUBT_WORDS && !tagged_at(k))
            })
            .collect();
        let card = self.model.labels().iter().position(|l| l == "CREDIT_CARD").filter(|&l| red.covers(l, labels[l].pii));
        if let Some(card) = card {
            for r in runs.iter().filter(|r| !r.plus && card_length(r.digits.len()) && luhn(&r.digits)) {
                if (r.start..r.end).any(tagged_at) {
                    continue;
                }
                for k in r.start.max(base)..r.end.min(pend_end) {
                    doubt[k - base] = doubt[k - base].or(Some(card));
                }
            }
        }
        let sure = (base..pend_end).find(|&k| doubt[k - base].is_some()).unwrap_or(pend_end);
        // The partial may be misheard: an address open at the end of the final words counts too.
        let email = [open_email(&view, &number), open_email(&view[..pend_end], &number[..pend_end])].into_iter().flatten().min();
        let open = |c: usize| {
            spans.iter().any(|r| r.first < c && c < r.last)
                || runs.iter().any(|r| r.start < c && c < r.end)
                || email.is_some_and(|e| e < c)
        };
        let mut cut = if flush {
            pend_end
        } else {
            (base + 1..=unstable.min(sure)).rev().find(|&c| c + self.opts.settle <= n && !open(c)).unwrap_or(base)
        };
        let forced = !flush && pend_end - cut > self.opts.hold_back;
        if forced {
            cut = pend_end - self.opts.hold_back;
        }
        // Words redacted although no covered span of this view holds them: those an earlier view
        // redacted, and (forced) the number words cut out of an open number.
        let mut conservative: Vec<Option<usize>> = sticky[..cut - base].to_vec();
        if forced {
            for (c, d) in conservative.iter_mut().zip(&doubt) {
                *c = c.or(*d);
            }
            let phone = self.model.labels().iter().position(|l| l == "PHONE");
            for r in runs.iter().filter(|r| r.start < cut && (r.end > cut || r.end == n)) {
                let label = spans
                    .iter()
                    .find(|s| s.first < r.end && r.start < s.last)
                    .map(|s| s.label)
                    .or(phone)
                    .filter(|&l| self.opts.redaction.covers(l, self.model.manifest().labels[l].pii));
                for i in r.start.max(base)..r.end.min(cut) {
                    conservative[i - base] = label;
                }
            }
            let email_label = self.model.labels().iter().position(|l| l == "EMAIL").filter(|&l| self.opts.redaction.covers(l, true));
            if let (Some(e), Some(l)) = (email, email_label) {
                for i in e.max(base)..cut {
                    conservative[i - base] = Some(l);
                }
            }
        }
        // A number goes out whole: when some words of a digit run are redacted as a number label
        // only because an earlier view or the bound said so, its other untagged words are too.
        let numeric = |l: usize| matches!(self.model.labels()[l].as_str(), "PHONE" | "CREDIT_CARD");
        for r in &runs {
            let (lo, hi) = (r.start.max(base), r.end.min(cut));
            let label = (lo..hi).filter(|&i| !tagged_at(i)).find_map(|i| conservative[i - base].filter(|&l| numeric(l)));
            if let Some(l) = label {
                for i in (lo..hi).filter(|&i| !tagged_at(i)) {
                    conservative[i - base] = conservative[i - base].or(Some(l));
                }
            }
        }
        let piece = Piece { view: &view, text: &text, starts: &starts, spans: &spans, base, cut };
        let rel = compose(&mut self.redactor, self.model.labels(), self.released, &piece, &conservative, forced);
        // Commit.
        let released = cut - base;
        let mut pending = pending;
        self.left.extend(pending.drain(..released));
        while self.left.len() > self.opts.context {
            self.left.pop_front();
        }
        self.pending = pending;
        self.partial = partial;
        self.sticky = sticky.split_off(released);
        self.last = cur.into_iter().skip(released).collect();
        self.released += released;
        let held = self.pending.len() + self.partial.len();
        Ok(Release { held, ..rel })
    }
}

/// The tagged view and the words `base..cut` of it being released.
struct Piece<'a> {
    view: &'a [&'a str],
    text: &'a str,
    starts: &'a [usize],
    spans: &'a [WordRange],
    base: usize,
    cut: usize,
}

/// The release text for view words `base..cut`; `released` words came before them.
fn compose(
    redactor: &mut Redactor,
    names: &[String],
    released: usize,
    p: &Piece,
    conservative: &[Option<usize>],
    forced: bool,
) -> Release {
    let (view, text, starts, spans, base, cut) = (p.view, p.text, p.starts, p.spans, p.base, p.cut);
    let mut out = Release::default();
    let mut i = base;
    while i < cut {
        if !out.text.is_empty() {
            out.text.push(' ');
        }
        let at = out.text.len();
        let span = spans.iter().find(|s| s.first <= i && i < s.last && redactor.redaction().covers(s.label, s.pii));
        let (label, end) = match (span, conservative[i - base]) {
            (Some(s), _) => (Some(s.label), s.last.min(cut)),
            (None, Some(l)) => {
                let mut e = i + 1;
                while e < cut && conservative[e - base] == Some(l) && !spans.iter().any(|s| s.first == e) {
                    e += 1;
                }
                (Some(l), e)
            }
            (None, None) => (None, i + 1),
        };
        match label {
            Some(l) => {
                let piece = &text[starts[i]..starts[end - 1] + view[end - 1].len()];
                let whole = span.is_some_and(|s| s.first == i && s.last == end);
                let r = if forced && !whole && redactor.redaction().style == Style::KeepLastFour {
                    format!("[{}]", names[l])
                } else {
                    redactor.replace(l, &names[l], piece)
                };
                out.text.push_str(&r);
            }
            None => out.text.push_str(view[i]),
        }
        let stop = out.text.len();
        for w in i..end {
            out.words.push(ReleasedWord { index: released + (w - base), start: at, end: stop, label });
        }
        i = end;
    }
    out
}

/// Words that say an address follows, never a part of it.
const INTRO: &[&str] = &["mail", "email", "e-mail", "id", "address"];

/// Words that join the parts of a spoken address.
const JOINERS: &[&str] = &["dot", ".", "underscore", "_", "dash", "hyphen", "-"];

/// Where an email still being spoken starts, if one is: either an "at" among the view's last
/// ten words with no dotted domain after it yet, or a spelled or joined run ("r u t h",
/// "khan dot", "o i s i n 1982") at the very end, which may be an address whose "at" is
/// still to come (or a spelled name). The local part runs back from there over one-character
/// words, number words (`number[i]`), parts joined by "dot"/"underscore"/"dash", or one plain
/// word before an "at"; a spelled local part also takes the one word before it unless that
/// word is a function word, a title or a word that introduces an address ("cc s h a b n a m",
/// not "is s h a b n a m" or "email id r u t h").
fn open_email(view: &[&str], number: &[bool]) -> Option<usize> {
    let n = view.len();
    let single = |i: usize| view[i].chars().count() == 1;
    let joiner = |i: usize| JOINERS.contains(&view[i]);
    let part = |i: usize| single(i) || joiner(i) || number[i];
    // Back from `end` (exclusive) over the local part.
    let walk = |end: usize, plain_first: bool| {
        let mut s = end;
        while s > 0 {
            let prev = s - 1;
            if (plain_first && s == end) || part(prev) || (s < end && joiner(s)) {
                s = prev;
            } else {
                break;
            }
        }
        // A spelled part may follow one spoken word of the address ("cc s h a b n a m 37 at").
        if s > 0 && (s..end).any(part) && !name_edge_stopword(view[s - 1]) && !INTRO.contains(&view[s - 1]) {
            s - 1
        } else {
            s
        }
    };
    let at = (n.saturating_sub(10)..n).rev().find(|&a| {
        let w = view[a];
        matches!(w, "at" | "@") || (w.contains('@') && !w.split('@').nth(1).is_some_and(|d| d.contains('.')))
    });
    match at {
        // Closed once a dot has a word after it (".com" is both).
        Some(a) if (a + 1..n).any(|d| (matches!(view[d], "dot" | ".") && d + 1 < n) || (view[d].starts_with('.') && view[d].len() > 1)) => None,
        // "john@exam": the word holds its own local part.
        Some(a) if view[a] != "at" && view[a] != "@" => Some(a),
        Some(a) => Some(walk(a, true)),
        None if n > 0 && part(n - 1) => {
            let s = walk(n, false);
            (s..n).any(|i| single(i) || joiner(i)).then_some(s)
        }
        None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::open_email;

    fn open(text: &str) -> Option<usize> {
        let v: Vec<&str> = text.split(' ').collect();
        let mut number = vec![false; v.len()];
        for r in crate::validate::digit_runs(&v) {
            number[r.start..r.end].iter_mut().for_each(|x| *x = true);
        }
        open_email(&v, &number)
    }

    #[test]
    fn an_email_is_open_from_its_local_part_until_its_domain_is_said() {
        assert_eq!(open("send it to john at gmail"), Some(3));
        assert_eq!(open("send it to john at gmail dot com"), None);
        assert_eq!(open("mail me at padmakhanna at l i v e dot"), Some(3));
        assert_eq!(open("id is s o n a l s h a r m a at the rate m a i l"), Some(2));
        assert_eq!(open("mail me at priya dot k underscore two at"), Some(3));
        assert_eq!(open("it's john@example"), Some(1));
        assert_eq!(open("it's john@example.com"), None);
        assert_eq!(open("no address here"), None);
        assert_eq!(open("email id r u t h"), Some(2));
        assert_eq!(open("one more thing arre cc s h a b n a m 37 at the rate of live"), Some(4));
        assert_eq!(open("oh and cc anindita one nine seven three at the rate hdfcbank"), Some(3));
        assert_eq!(open("send it to john at gmail"), Some(3));
        assert_eq!(open("my name is s h a b"), Some(3));
        assert_eq!(open("my email id is khan dot"), Some(4));
        assert_eq!(open("the document id is o i s i n 1982"), Some(4));
        assert_eq!(open("mail r a j eight seven at"), Some(1));
        // A number alone is an open number, not an address.
        assert_eq!(open("my number is four two"), None);
    }
}
