//! Redaction: which labels are replaced, and by what. One [`Redactor`] serves the one-shot
//! path ([`crate::Model::redact_with`]) and a stream ([`crate::stream::Stream`]), so both
//! write the same replacement for the same span.

use std::collections::HashMap;

use crate::decode::Span;
use crate::encode::{is_separator, words};
use crate::validate::digit_runs;

/// What a redacted span becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Style {
    /// `[LABEL]`.
    #[default]
    Label,
    /// One `*` per character; the separators between the span's words are kept.
    Mask,
    /// CREDIT_CARD and PHONE keep the words that say their last four digits, as spoken:
    /// `[CREDIT_CARD] one one two three`; other labels (and numbers whose last four digits are
    /// not said by whole words of their own) become `[LABEL]`.
    KeepLastFour,
    /// `[LABEL_N]`, numbered by first mention: every mention of the same words (case-folded)
    /// under the same label gets the same number within one redactor.
    Pseudonym,
}

/// Which labels are redacted and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Redaction {
    /// The replacement style.
    pub style: Style,
    /// Bit `i` redacts label `i`; 0 redacts every PII label (the default).
    pub labels: u64,
}

impl Redaction {
    /// Whether a span of label `label` (PII or not) is replaced.
    pub fn covers(&self, label: usize, pii: bool) -> bool {
        if self.labels == 0 {
            pii
        } else {
            label < 64 && self.labels & (1u64 << label) != 0
        }
    }
}

/// Replaces spans by a [`Redaction`]; holds the pseudonym numbers, so one redactor per call
/// (one-shot) or per stream.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    redaction: Redaction,
    pseudonyms: HashMap<(usize, String), usize>,
    counts: HashMap<usize, usize>,
}

impl Redactor {
    /// A redactor with no pseudonyms handed out yet.
    pub fn new(redaction: Redaction) -> Redactor {
        Redactor { redaction, ..Default::default() }
    }

    /// The redaction this redactor applies.
    pub fn redaction(&self) -> &Redaction {
        &self.redaction
    }

    /// The replacement for `span_text` (the span's own characters) under label `label` named
    /// `name`.
    pub fn replace(&mut self, label: usize, name: &str, span_text: &str) -> String {
        match self.redaction.style {
            Style::Label => format!("[{name}]"),
            Style::Mask => span_text.chars().map(|c| if is_separator(c) { c } else { '*' }).collect(),
            Style::KeepLastFour => match (name, last_four(span_text)) {
                ("CREDIT_CARD" | "PHONE", Some(kept)) => format!("[{name}] {kept}"),
                _ => format!("[{name}]"),
            },
            Style::Pseudonym => {
                let key: Vec<String> = words(span_text).iter().map(|&(s, e)| span_text[s..e].to_lowercase()).collect();
                let next = self.counts.get(&label).copied().unwrap_or(0) + 1;
                let n = *self.pseudonyms.entry((label, key.join(" "))).or_insert_with(|| {
                    self.counts.insert(label, next);
                    next
                });
                format!("[{name}_{n}]")
            }
        }
    }

    /// `text` with every covered span replaced; `spans` sorted, on word boundaries.
    pub fn redact(&mut self, text: &str, spans: &[Span], labels: &[String]) -> String {
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        for s in spans {
            if !self.redaction.covers(s.label, s.pii) || s.start < at {
                continue;
            }
            out.push_str(&text[at..s.start]);
            let name = labels.get(s.label).map(String::as_str).unwrap_or("PII");
            out.push_str(&self.replace(s.label, name, &text[s.start..s.end]));
            at = s.end;
        }
        out.push_str(&text[at..]);
        out
    }
}

/// The trailing words of a number that say its last four digits (or fewer, when a word saying
/// more than the remaining digits stands before them: "triple one" is never split), joined by
/// single spaces; `None` when no trailing word is a whole digit group of its own.
fn last_four(span_text: &str) -> Option<String> {
    let ws: Vec<&str> = words(span_text).iter().map(|&(s, e)| &span_text[s..e]).collect();
    let all = digit_runs(&ws);
    let full = all.last().filter(|r| r.end == ws.len())?;
    let mut keep = ws.len();
    for k in (full.start..ws.len()).rev() {
        // The digits the suffix says on its own must be the number's own last digits: a suffix
        // that starts inside "ninety eight" or after "double" reads differently.
        let runs = digit_runs(&ws[k..]);
        let [r] = runs.as_slice() else { break };
        if r.start != 0 || r.digits.len() > 4 || !full.digits.ends_with(&r.digits) {
            break;
        }
        if k > 0 && matches!(ws[k - 1], "double" | "triple" | "treble") {
            continue;
        }
        keep = k;
    }
    (keep < ws.len()).then(|| ws[keep..].join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels() -> Vec<String> {
        ["CREDIT_CARD", "PHONE", "PERSON_NAME", "CITY"].iter().map(|s| s.to_string()).collect()
    }

    fn span(text: &str, what: &str, label: usize, pii: bool) -> Span {
        let start = text.find(what).unwrap();
        Span { start, end: start + what.len(), label, score: 0.9, pii }
    }

    #[test]
    fn styles_replace_only_covered_labels() {
        let text = "card four two four two one one two three for anna in paris";
        let spans = [
            span(text, "four two four two one one two three", 0, true),
            span(text, "anna", 2, true),
            span(text, "paris", 3, false),
        ];
        let red = |style, labels| Redactor::new(Redaction { style, labels }).redact(text, &spans, &self::labels());
        assert_eq!(red(Style::Label, 0), "card [CREDIT_CARD] for [PERSON_NAME] in paris");
        assert_eq!(red(Style::Label, 1 << 3), "card four two four two one one two three for anna in [CITY]");
        assert_eq!(red(Style::Mask, 0), "card **** *** **** *** *** *** *** ***** for **** in paris");
        assert_eq!(red(Style::KeepLastFour, 0), "card [CREDIT_CARD] one one two three for [PERSON_NAME] in paris");
    }

    #[test]
    fn keep_last_four_never_splits_a_word_group() {
        assert_eq!(last_four("nine four two double one").as_deref(), Some("four two double one"));
        // "one" alone after "triple" would read as one digit: the group is kept whole or not at all.
        assert_eq!(last_four("five five triple one").as_deref(), Some("five triple one"));
        assert_eq!(last_four("five five five triple one").as_deref(), Some("five triple one"));
        assert_eq!(last_four("oh seven nine four ninety eight").as_deref(), Some("nine four ninety eight"));
        // "triple five" says three digits, with two already kept: it stays hidden.
        assert_eq!(last_four("one triple five two three").as_deref(), Some("two three"));
        assert_eq!(last_four("4111-1111-1111-1111").as_deref(), None);
        assert_eq!(last_four("4111 1111 1111 1234").as_deref(), Some("1234"));
        assert_eq!(last_four("no digits here"), None);
    }

    #[test]
    fn pseudonyms_are_stable_per_label_and_case_folded() {
        let mut r = Redactor::new(Redaction { style: Style::Pseudonym, labels: 0 });
        assert_eq!(r.replace(2, "PERSON_NAME", "Anna Kowalski"), "[PERSON_NAME_1]");
        assert_eq!(r.replace(2, "PERSON_NAME", "john"), "[PERSON_NAME_2]");
        assert_eq!(r.replace(2, "PERSON_NAME", "anna  kowalski"), "[PERSON_NAME_1]");
        assert_eq!(r.replace(1, "PHONE", "john"), "[PHONE_1]");
        assert_eq!(r.replace(2, "PERSON_NAME", "anna"), "[PERSON_NAME_3]");
    }
}
