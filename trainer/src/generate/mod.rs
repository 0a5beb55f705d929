//! `pii-trainer generate`: synthetic call-centre STT utterances with gold spans.
//!
//! An utterance is composed as intro + clauses (joined by connectors) + tail, each
//! clause a carrier frame from a bank (`frames.rs`) whose slots are filled by the value
//! renderers (`values.rs`), with fillers, stutters and self-corrections sprinkled in.
//! Text is built word by word, so every span covers whole whitespace-separated words.
//! Train and dev use the `TRAIN` bank (different seed streams); held-out uses the
//! disjoint `HELDOUT` bank, held-out value pools and formats, and its own seed.

mod frames;
mod lex;
mod negatives;
mod values;

use crate::data::{write_jsonl, Entity, Example};
use anyhow::Result;
use frames::Bank;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng as R;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Which template/value bank an utterance draws from.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Side {
    Train,
    Heldout,
}

/// Command-line arguments.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Output directory for train.jsonl, dev.jsonl and heldout.jsonl.
    #[arg(long, default_value = "data")]
    pub out_dir: PathBuf,
    /// Seed of the generator (ChaCha20).
    #[arg(long, default_value_t = 13)]
    pub seed: u64,
    /// Number of training utterances.
    #[arg(long, default_value_t = 8000)]
    pub train: usize,
    /// Number of dev utterances (train templates, different seed stream).
    #[arg(long, default_value_t = 1000)]
    pub dev: usize,
    /// Number of held-out utterances (held-out templates and pools).
    #[arg(long, default_value_t = 1000)]
    pub heldout: usize,
}

pub const ALL_LABELS: [&str; 7] = [
    "CREDIT_CARD",
    "PHONE",
    "EMAIL",
    "PERSON_NAME",
    "DATE",
    "CITY",
    "LOCATION",
];

/// Run the command.
pub fn run(args: Args) -> Result<()> {
    let sets = [
        (
            "train",
            generate_set(Side::Train, args.seed, 1, args.train, "train"),
        ),
        (
            "dev",
            generate_set(Side::Train, args.seed, 2, args.dev, "dev"),
        ),
        (
            "heldout",
            generate_set(
                Side::Heldout,
                args.seed ^ 0x5eed_0f_4e1d_0u64,
                3,
                args.heldout,
                "heldout",
            ),
        ),
    ];
    for (name, exs) in &sets {
        let path = args.out_dir.join(format!("{name}.jsonl"));
        write_jsonl(&path, exs)?;
        println!("wrote {} ({} utterances)", path.display(), exs.len());
    }
    for (name, exs) in &sets {
        print_stats(name, exs);
    }
    Ok(())
}

/// Generate `n` utterances from a bank with a seeded stream.
pub fn generate_set(side: Side, seed: u64, stream: u64, n: usize, prefix: &str) -> Vec<Example> {
    let mut rng = R::seed_from_u64(seed);
    rng.set_stream(stream);
    (0..n)
        .map(|i| utterance(&mut rng, side, format!("{prefix}-{i:06}")))
        .collect()
}

fn bank(side: Side) -> &'static Bank {
    match side {
        Side::Train => &frames::TRAIN,
        Side::Heldout => &frames::HELDOUT,
    }
}

fn fillers(side: Side) -> &'static [&'static str] {
    match side {
        Side::Train => lex::FILLERS,
        Side::Heldout => lex::FILLERS_HO,
    }
}

/// The utterance under construction: words plus entity spans over word indices.
struct Utt {
    words: Vec<String>,
    spans: Vec<(usize, usize, &'static str)>,
    /// Per-gap probability of a filler between plain words.
    filler_rate: f64,
    side: Side,
    /// The caller's persona, so that emails and spellings agree with the name.
    first: String,
    last: String,
}

impl Utt {
    fn plain(&mut self, s: &str) {
        self.words.extend(s.split_whitespace().map(str::to_string));
    }

    fn entity(&mut self, label: &'static str, s: &str) {
        let a = self.words.len();
        self.plain(s);
        let b = self.words.len();
        if b > a {
            self.spans.push((a, b, label));
        }
    }

    fn filler(&mut self, rng: &mut R) {
        if self.side == Side::Train && rng.gen_bool(0.35) {
            self.distractors(rng, 1);
            return;
        }
        let f = fillers(self.side).choose(rng).unwrap();
        self.plain(f);
    }

    /// `n` ordinary non-entity words (train side only).
    fn distractors(&mut self, rng: &mut R, n: usize) {
        let pool = distractors();
        for _ in 0..n {
            let w = pool[rng.gen_range(0..pool.len())];
            self.plain(w);
        }
    }

    fn finish(self, id: String) -> Example {
        // Build the text and a char offset for each word.
        let mut text = String::new();
        let mut starts = Vec::with_capacity(self.words.len());
        let mut ends = Vec::with_capacity(self.words.len());
        let mut pos = 0usize;
        for (i, w) in self.words.iter().enumerate() {
            if i > 0 {
                text.push(' ');
                pos += 1;
            }
            starts.push(pos);
            text.push_str(w);
            pos += w.chars().count();
            ends.push(pos);
        }
        let mut entities: Vec<Entity> = self
            .spans
            .iter()
            .map(|&(a, b, l)| Entity {
                start: starts[a],
                end: ends[b - 1],
                label: l.to_string(),
            })
            .collect();
        entities.sort_by_key(|e| e.start);
        Example { id, text, entities }
    }
}

/// The distractor words minus every word that occurs in a held-out frame, so that the
/// held-out set's phrasing stays unseen.
fn distractors() -> &'static [&'static str] {
    static POOL: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
    POOL.get_or_init(|| {
        let held: std::collections::HashSet<&str> = frames::HELDOUT
            .all()
            .into_iter()
            .chain(lex::FILLERS_HO.iter().copied())
            .flat_map(|f| f.split(|c: char| !c.is_alphanumeric()))
            .filter(|w| !w.is_empty())
            .collect();
        let carriers: std::collections::HashSet<&str> = negatives::carrier_phrases()
            .into_iter()
            .flat_map(|c| c.split_whitespace())
            .filter(|w| !matches!(*w, "number" | "no" | "is" | "the" | "my" | "id"))
            .collect();
        let mut seen = std::collections::HashSet::new();
        lex::DISTRACTORS
            .iter()
            .copied()
            .filter(|d| {
                d.split_whitespace()
                    .all(|w| !held.contains(w) && !carriers.contains(w))
                    && seen.insert(*d)
            })
            .collect()
    })
}

fn label_of(slot: &str) -> Option<&'static str> {
    Some(match slot {
        "card" => "CREDIT_CARD",
        "phone" => "PHONE",
        "email" => "EMAIL",
        "name" | "first" | "last" | "spell" | "spell_last" => "PERSON_NAME",
        "date" => "DATE",
        "city" => "CITY",
        "loc" => "LOCATION",
        _ => return None,
    })
}

/// Render one frame into the utterance.
fn render(u: &mut Utt, rng: &mut R, frame: &str) {
    let toks: Vec<&str> = frame.split_whitespace().collect();
    for (ti, tok) in toks.iter().enumerate() {
        if *tok == "~" {
            if rng.gen_bool(0.35) {
                u.filler(rng);
            }
            continue;
        }
        if tok.starts_with('[') && tok.ends_with(']') {
            let alts: Vec<&str> = tok[1..tok.len() - 1].split('|').collect();
            let alt = alts.choose(rng).unwrap().replace('_', " ");
            if !alt.is_empty() {
                render(u, rng, &alt);
            }
            continue;
        }
        if tok.starts_with('{') && tok.ends_with('}') {
            let slot = &tok[1..tok.len() - 1];
            slot_value(u, rng, slot, ti > 0);
            continue;
        }
        u.plain(tok);
        // fillers between plain words, and the odd stutter
        if ti + 1 < toks.len() {
            if rng.gen_bool(u.filler_rate) {
                u.filler(rng);
            } else if rng.gen_bool(0.015) {
                u.plain(tok);
            }
        }
    }
}

fn slot_value(u: &mut Utt, rng: &mut R, slot: &str, after_word: bool) {
    let side = u.side;
    match slot {
        "card" | "phone" => {
            let render_v = |rng: &mut R| {
                if slot == "card" {
                    values::card(rng, side)
                } else {
                    values::phone(rng, side)
                }
            };
            // stutter of the carrier word before a number
            if after_word && rng.gen_bool(0.03) {
                if let Some(w) = u.words.last().cloned() {
                    u.plain(&w);
                }
            }
            if rng.gen_bool(0.08) {
                // self-correction: a false start, then the real number
                let wrong = render_v(rng);
                let k = rng.gen_range(2..5);
                let part: Vec<&str> = wrong.split_whitespace().take(k).collect();
                u.plain(&part.join(" "));
                let c = bank(side).corrections.choose(rng).unwrap();
                u.plain(c);
            } else if rng.gen_bool(0.1) {
                u.filler(rng);
            }
            let mut v = render_v(rng);
            if rng.gen_bool(0.1) {
                v = filler_inside(rng, side, &v);
            }
            u.entity(label_of(slot).unwrap(), &v);
            if rng.gen_bool(0.06) {
                // the agent reads it back
                let (pre, post) = match side {
                    Side::Train => (
                        *["so that's", "let me read that back", "just to confirm"]
                            .choose(rng)
                            .unwrap(),
                        *["correct", "is that right", "right", ""]
                            .choose(rng)
                            .unwrap(),
                    ),
                    Side::Heldout => (
                        *["so i have", "reading it back"].choose(rng).unwrap(),
                        *["yeah", "have i got that right", ""].choose(rng).unwrap(),
                    ),
                };
                u.plain(pre);
                let back = render_v_same(rng, &v);
                u.entity(label_of(slot).unwrap(), &back);
                u.plain(post);
            } else if rng.gen_bool(0.06) {
                // repeat for confirmation
                u.plain(
                    [
                        "i repeat",
                        "once again",
                        "again",
                        "repeat karta hoon",
                        "that is",
                    ]
                    .choose(rng)
                    .unwrap(),
                );
                u.entity(label_of(slot).unwrap(), &v);
            }
        }
        "email" => {
            let (f, l) = if rng.gen_bool(0.6) {
                (u.first.clone(), u.last.clone())
            } else {
                values::person(rng, side)
            };
            let v = values::email(rng, side, &f, &l);
            u.entity("EMAIL", &v);
        }
        "name" => {
            let (f, l) = values::person(rng, side);
            let v = match rng.gen_range(0..10) {
                0 | 1 => f.clone(),
                2 => l.clone(),
                _ => format!("{f} {l}"),
            };
            u.first = f;
            u.last = l;
            u.entity("PERSON_NAME", &v);
        }
        "first" => {
            let (f, l) = values::person(rng, side);
            u.first = f.clone();
            u.last = l;
            u.entity("PERSON_NAME", &f);
        }
        "last" => {
            let l = if u.last.is_empty() {
                values::person(rng, side).1
            } else {
                u.last.clone()
            };
            u.entity("PERSON_NAME", &l);
        }
        "spell_last" => {
            let w = u
                .last
                .split_whitespace()
                .last()
                .unwrap_or("rao")
                .to_string();
            u.entity("PERSON_NAME", &values::spell(&w));
        }
        "namefix" => {
            // a corrected name: both mentions are labelled
            let a = values::person(rng, side).1;
            let b = values::person(rng, side).1;
            if rng.gen_bool(0.5) {
                u.plain(lex::TITLES[..6].choose(rng).unwrap());
            }
            u.entity("PERSON_NAME", &a);
            u.plain(bank(side).corrections.choose(rng).unwrap());
            u.entity("PERSON_NAME", &b);
            u.last = b;
        }
        "datefix" => {
            let a = values::date(rng, side);
            u.entity("DATE", &a);
            u.plain(bank(side).corrections.choose(rng).unwrap());
            let b = values::date(rng, side);
            u.entity("DATE", &b);
        }
        "exp" => {
            let v = values::expiry(rng, side);
            u.entity("DATE", &v);
        }
        "title" => {
            let t = match side {
                Side::Train => lex::TITLES[..12].choose(rng).unwrap(),
                Side::Heldout => lex::TITLES.choose(rng).unwrap(),
            };
            u.plain(t);
        }
        "spell" => {
            let w = u
                .first
                .split_whitespace()
                .next()
                .unwrap_or("anu")
                .to_string();
            u.entity("PERSON_NAME", &values::spell(&w));
        }
        "date" => {
            let v = values::date(rng, side);
            u.entity("DATE", &v);
        }
        "city" => {
            let v = values::city(rng, side);
            u.entity("CITY", &v);
        }
        "loc" => {
            let v = values::location(rng, side);
            u.entity("LOCATION", &v);
        }
        "brand" => {
            let v = values::brand(rng, side);
            u.plain(&v);
        }
        "product" => {
            let v = values::product(rng, side);
            u.plain(&v);
        }
        other => {
            let v =
                negatives::render(rng, side, other).unwrap_or_else(|| values::non_pii(rng, other));
            u.plain(&v);
        }
    }
}

/// A filler word between two words of a number, where it cannot change the reading
/// (not after "plus", "double", "triple" or a tens word). Numbers of fewer than ten words
/// are left alone.
fn filler_inside(rng: &mut R, side: Side, v: &str) -> String {
    let ws: Vec<&str> = v.split_whitespace().collect();
    if ws.len() < 10 {
        return v.to_string();
    }
    let ok: Vec<usize> = (2..ws.len() - 1)
        .filter(|&i| {
            let p = ws[i - 1];
            !matches!(p, "plus" | "double" | "triple") && !values::TENS[2..].contains(&p)
        })
        .collect();
    let Some(&at) = ok.choose(rng) else {
        return v.to_string();
    };
    let f = match side {
        Side::Train => *["uh", "um", "hmm"].choose(rng).unwrap(),
        Side::Heldout => *["er", "erm", "ah"].choose(rng).unwrap(),
    };
    let mut out: Vec<&str> = ws[..at].to_vec();
    out.push(f);
    out.extend(&ws[at..]);
    out.join(" ")
}

/// The same number read back, without any filler the caller put in.
fn render_v_same(_rng: &mut R, v: &str) -> String {
    v.split_whitespace()
        .filter(|w| !matches!(*w, "uh" | "um" | "hmm" | "er" | "erm" | "ah"))
        .collect::<Vec<_>>()
        .join(" ")
}

#[derive(Clone, Copy)]
enum Intent {
    Card,
    Phone,
    Email,
    Name,
    Date,
    City,
    Loc,
    NonPii,
    HardNeg,
    Chat,
}

fn frames_for(b: &Bank, i: Intent) -> &'static [&'static str] {
    match i {
        Intent::Card => b.card,
        Intent::Phone => b.phone,
        Intent::Email => b.email,
        Intent::Name => b.name,
        Intent::Date => b.date,
        Intent::City => b.city,
        Intent::Loc => b.loc,
        Intent::NonPii => b.nonpii,
        Intent::HardNeg => b.hardneg,
        Intent::Chat => b.chat,
    }
}

fn pick_intent(rng: &mut R, no_entity: bool) -> Intent {
    if no_entity {
        return match rng.gen_range(0..10) {
            0..=3 => Intent::NonPii,
            4..=6 => Intent::HardNeg,
            _ => Intent::Chat,
        };
    }
    let table: [(Intent, u32); 10] = [
        (Intent::Card, 10),
        (Intent::Phone, 14),
        (Intent::Email, 11),
        (Intent::Name, 13),
        (Intent::Date, 11),
        (Intent::City, 7),
        (Intent::Loc, 7),
        (Intent::NonPii, 12),
        (Intent::HardNeg, 14),
        (Intent::Chat, 10),
    ];
    let total: u32 = table.iter().map(|t| t.1).sum();
    let mut x = rng.gen_range(0..total);
    for (i, w) in table {
        if x < w {
            return i;
        }
        x -= w;
    }
    Intent::Chat
}

/// One utterance.
fn utterance(rng: &mut R, side: Side, id: String) -> Example {
    let b = bank(side);
    let no_entity = rng.gen_bool(0.2);
    let filler_rate = *[0.0, 0.02, 0.04, 0.07].choose(rng).unwrap();
    let mut u = Utt {
        words: Vec::new(),
        spans: Vec::new(),
        filler_rate,
        side,
        first: String::new(),
        last: String::new(),
    };
    let (f, l) = values::person(rng, side);
    u.first = f;
    u.last = l;
    if rng.gen_bool(0.7) {
        let intro = b.intros.choose(rng).unwrap();
        if no_entity && intro.contains("{first}")
            || no_entity && intro.contains("{name}")
            || no_entity && intro.contains("{city}")
        {
            render(&mut u, rng, "hello");
        } else {
            render(&mut u, rng, intro);
        }
    }
    let n_clauses = match rng.gen_range(0..100) {
        0..=9 => 1,
        10..=34 => 2,
        35..=64 => 3,
        65..=84 => 4,
        85..=95 => 5,
        _ => 6,
    };
    for c in 0..n_clauses {
        if u.words.len() > 60 {
            break;
        }
        if c > 0 || (!u.words.is_empty() && rng.gen_bool(0.3)) {
            if rng.gen_bool(0.6) {
                u.plain(b.connectors.choose(rng).unwrap());
            }
            if rng.gen_bool(0.15) {
                u.filler(rng);
            }
        }
        if side == Side::Train && rng.gen_bool(0.3) {
            let n = rng.gen_range(1..=5);
            u.distractors(rng, n);
        }
        let intent = pick_intent(rng, no_entity);
        let frame = frames_for(b, intent).choose(rng).unwrap();
        if rng.gen_bool(0.2) {
            u.filler(rng);
        }
        render(&mut u, rng, frame);
    }
    if rng.gen_bool(0.5) {
        let tail = *b.tails.choose(rng).unwrap();
        render(&mut u, rng, tail);
    }
    u.finish(id)
}

/// Counts per label, plus utterance-level stats.
pub fn print_stats(name: &str, exs: &[Example]) {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    let mut words = 0usize;
    let mut empty = 0usize;
    let mut maxw = 0usize;
    for e in exs {
        for ent in &e.entities {
            *counts.entry(ent.label.as_str()).or_default() += 1;
        }
        let w = e.text.split_whitespace().count();
        words += w;
        maxw = maxw.max(w);
        if e.entities.is_empty() {
            empty += 1;
        }
    }
    let n = exs.len().max(1);
    println!(
        "{name}: {} utterances, {:.1} words avg (max {maxw}), {:.1}% without entities, {:.1}% with non-PII numbers",
        exs.len(),
        words as f64 / n as f64,
        100.0 * empty as f64 / n as f64,
        100.0 * exs.iter().filter(|e| has_non_pii_number(e)).count() as f64 / n as f64
    );
    println!(
        "  {:.1}% with PII-shaped unlabelled numbers (4+ digits)",
        100.0 * exs.iter().filter(|e| has_pii_shaped_number(e, 4)).count() as f64 / n as f64
    );
    for l in ALL_LABELS {
        println!("  {l:<12} {}", counts.get(l).copied().unwrap_or(0));
    }
}

fn is_number_word(w: &str) -> bool {
    w.chars().any(|c| c.is_ascii_digit())
        || values::ONES.contains(&w)
        || values::TENS[2..].contains(&w)
        || matches!(
            w,
            "hundred" | "thousand" | "lakh" | "double" | "triple" | "oh"
        )
}

/// Whether the utterance has a run of unlabelled number words (or written digits) that
/// spells at least `min` digits: an identifier, OTP, amount or time said like PII.
pub fn has_pii_shaped_number(e: &Example, min: usize) -> bool {
    let mut pos = 0usize;
    let mut run: Vec<&str> = Vec::new();
    for w in e.text.split(' ') {
        let (s, en) = (pos, pos + w.chars().count());
        pos = en + 1;
        let inside = e.entities.iter().any(|x| x.start < en && s < x.end);
        let numeric = is_number_word(w) || w.chars().any(|c| c.is_ascii_digit());
        if !inside && numeric {
            run.push(w);
            if values::digit_count(&run) >= min {
                return true;
            }
        } else {
            run.clear();
        }
    }
    false
}

/// Whether the utterance has a number-like word outside every entity span.
pub fn has_non_pii_number(e: &Example) -> bool {
    let chars: Vec<char> = e.text.chars().collect();
    let mut pos = 0usize;
    for w in e.text.split(' ') {
        let (s, en) = (pos, pos + w.chars().count());
        pos = en + 1;
        let inside = e.entities.iter().any(|x| x.start <= s && en <= x.end);
        if !inside && is_number_word(w) && w != "one" {
            return true;
        }
    }
    let _ = chars;
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn slice(text: &str, s: usize, e: usize) -> String {
        text.chars().skip(s).take(e - s).collect()
    }

    fn sample() -> Vec<Example> {
        let mut v = generate_set(Side::Train, 7, 1, 1500, "t");
        v.extend(generate_set(Side::Heldout, 8, 3, 1500, "h"));
        v
    }

    #[test]
    fn generate_is_deterministic() {
        let a = generate_set(Side::Train, 13, 1, 200, "t");
        let b = generate_set(Side::Train, 13, 1, 200, "t");
        assert_eq!(a, b);
        let c = generate_set(Side::Train, 14, 1, 200, "t");
        assert_ne!(a, c);
        let d = generate_set(Side::Train, 13, 2, 200, "t");
        assert_ne!(a, d);
    }

    #[test]
    fn generate_spans_on_word_boundaries_without_overlap() {
        for e in sample() {
            let chars: Vec<char> = e.text.chars().collect();
            assert!(!e.text.contains("  "), "{}", e.text);
            let mut last_end = 0;
            for (i, x) in e.entities.iter().enumerate() {
                assert!(x.start < x.end && x.end <= chars.len(), "{e:?}");
                assert!(x.start == 0 || chars[x.start - 1] == ' ', "{e:?}");
                assert!(x.end == chars.len() || chars[x.end] == ' ', "{e:?}");
                let t = slice(&e.text, x.start, x.end);
                assert_eq!(t.trim(), t);
                if i > 0 {
                    assert!(x.start >= last_end, "overlap in {e:?}");
                }
                last_end = x.end;
            }
        }
    }

    fn digitish(w: &str) -> bool {
        is_number_word(w)
            || matches!(w, "plus" | "zero" | "and")
            || w.chars()
                .all(|c| c.is_ascii_digit() || c == '-' || c == '+')
    }

    #[test]
    fn generate_label_forms() {
        let months: Vec<&str> = lex::MONTHS
            .iter()
            .chain(lex::MONTHS_SHORT.iter())
            .copied()
            .chain(["sept"])
            .collect();
        let mut seen: HashSet<&str> = HashSet::new();
        for e in sample() {
            for x in &e.entities {
                let t = slice(&e.text, x.start, x.end);
                let ws: Vec<&str> = t.split_whitespace().collect();
                seen.insert(match x.label.as_str() {
                    "CREDIT_CARD" => "CREDIT_CARD",
                    "PHONE" => "PHONE",
                    "EMAIL" => "EMAIL",
                    "PERSON_NAME" => "PERSON_NAME",
                    "DATE" => "DATE",
                    "CITY" => "CITY",
                    _ => "LOCATION",
                });
                match x.label.as_str() {
                    "CREDIT_CARD" | "PHONE" => {
                        let d = ws.iter().filter(|w| digitish(w)).count();
                        assert!(d * 10 >= ws.len() * 9, "{} not digits: {t}", x.label);
                    }
                    "EMAIL" => assert!(t.contains('@') || t.contains(" at "), "email: {t}"),
                    "DATE" => assert!(
                        ws.iter().any(|w| months.contains(w)
                            || is_number_word(w)
                            || w.ends_with("th")
                            || w.ends_with("st")
                            || w.ends_with("nd")
                            || w.ends_with("rd")),
                        "date: {t}"
                    ),
                    "PERSON_NAME" => assert!(
                        t.chars().all(|c| c.is_alphabetic() || c == ' '),
                        "name: {t}"
                    ),
                    "CITY" | "LOCATION" => {}
                    l => panic!("unknown label {l}"),
                }
            }
        }
        assert_eq!(seen.len(), 7);
    }

    #[test]
    fn generate_char_offsets_with_non_ascii() {
        let v = generate_set(Side::Train, 21, 1, 4000, "t");
        let mut found = false;
        for e in &v {
            if e.text.is_ascii() {
                continue;
            }
            for x in &e.entities {
                let t = slice(&e.text, x.start, x.end);
                // the byte-offset reading of the same span differs once non-ASCII precedes it
                if x.label == "PERSON_NAME" && !t.is_ascii() {
                    assert!(t.chars().all(|c| c.is_alphabetic() || c == ' '));
                }
                // A span after a non-ASCII char: char offsets and byte offsets disagree,
                // and only the char reading lands on the word.
                let b0 = crate::data::char_to_byte(&e.text, x.start);
                if b0 != x.start {
                    found = true;
                    let b1 = crate::data::char_to_byte(&e.text, x.end);
                    assert_eq!(&e.text[b0..b1], t);
                    assert_eq!(crate::data::byte_to_char(&e.text, b0), x.start);
                    assert_ne!(e.text.get(x.start..x.end), Some(t.as_str()));
                }
            }
            let b = crate::data::char_to_byte(&e.text, e.text.chars().count());
            assert_eq!(b, e.text.len());
        }
        assert!(found, "no accented name generated");
    }

    #[test]
    fn generate_distractors_avoid_heldout_words() {
        let pool = distractors();
        assert!(pool.len() > 300, "pool {}", pool.len());
        for f in frames::HELDOUT.all().iter().chain(lex::FILLERS_HO) {
            for w in f
                .split(|c: char| !c.is_alphanumeric())
                .filter(|w| !w.is_empty())
            {
                assert!(
                    pool.iter().all(|d| !d.split_whitespace().any(|x| x == w)),
                    "{w}"
                );
            }
        }
        // They do reach the train side, and never the held-out side.
        let train = generate_set(Side::Train, 5, 1, 200, "t");
        let ho = generate_set(Side::Heldout, 5, 3, 200, "h");
        let count = |exs: &[Example]| {
            exs.iter()
                .filter(|e| {
                    e.text
                        .split(' ')
                        .any(|w| w == "warranty" || w == "samasya" || w == "kaafi")
                })
                .count()
        };
        assert!(count(&train) > 0);
        assert_eq!(count(&ho), 0);
    }

    #[test]
    fn generate_heldout_frames_disjoint() {
        let tr: HashSet<&str> = frames::TRAIN.all().into_iter().collect();
        let ho: HashSet<&str> = frames::HELDOUT.all().into_iter().collect();
        assert!(
            tr.is_disjoint(&ho),
            "{:?}",
            tr.intersection(&ho).collect::<Vec<_>>()
        );
        // Held-out value pools never appear on the train side.
        for p in [
            lex::CITIES_HO,
            lex::LOCATIONS_HO,
            lex::DOMAINS_HO,
            lex::INDIAN_FIRST_HO,
        ] {
            for w in p {
                assert!(
                    !lex::INDIAN_CITIES.contains(w)
                        && !lex::WORLD_CITIES.contains(w)
                        && !lex::LOCATIONS.contains(w)
                        && !lex::DOMAINS.contains(w)
                        && !lex::INDIAN_FIRST.contains(w),
                    "{w}"
                );
            }
        }
        let train_text: String = generate_set(Side::Train, 5, 1, 3000, "t")
            .iter()
            .map(|e| e.text.clone() + "\n")
            .collect();
        for w in lex::CITIES_HO.iter().chain(lex::DOMAINS_HO) {
            assert!(
                !train_text.contains(&format!(" {w} ")),
                "held-out value {w} in train"
            );
        }
    }

    #[test]
    fn generate_distribution() {
        for side in [Side::Train, Side::Heldout] {
            let v = generate_set(side, 3, 1, 2000, "t");
            let n = v.len() as f64;
            let empty = v.iter().filter(|e| e.entities.is_empty()).count() as f64 / n;
            let nonpii = v.iter().filter(|e| has_non_pii_number(e)).count() as f64 / n;
            let multi = v.iter().filter(|e| e.entities.len() >= 2).count() as f64 / n;
            let words: f64 = v
                .iter()
                .map(|e| e.text.split_whitespace().count() as f64)
                .sum::<f64>()
                / n;
            assert!((0.15..0.35).contains(&empty), "empty {empty}");
            assert!(nonpii > 0.25, "non-PII numbers {nonpii}");
            assert!(multi > 0.25, "multi {multi}");
            assert!((15.0..60.0).contains(&words), "words {words}");
        }
    }
    fn spans_of<'a>(exs: &'a [Example], label: &'a str) -> impl Iterator<Item = String> + 'a {
        exs.iter().flat_map(move |e| {
            e.entities
                .iter()
                .filter(move |x| x.label == label)
                .map(move |x| slice(&e.text, x.start, x.end))
        })
    }

    #[test]
    fn generate_dates_have_a_month() {
        let exs = sample();
        let months: HashSet<&str> = lex::MONTHS
            .iter()
            .chain(lex::MONTHS_SHORT.iter())
            .copied()
            .chain(["sept"])
            .collect();
        let mut n = 0;
        for t in spans_of(&exs, "DATE") {
            n += 1;
            let ok = t.split_whitespace().any(|w| {
                months.contains(w)
                    || matches!(w, "slash" | "dash" | "stroke")
                    || (w.chars().any(|c| c.is_ascii_digit())
                        && w.chars().any(|c| matches!(c, '/' | '-' | '.')))
            });
            assert!(ok, "DATE without a month: {t}");
            for w in t.split_whitespace() {
                assert!(!lex::WEEKDAYS.contains(&w), "weekday inside DATE: {t}");
            }
        }
        assert!(n > 500, "{n} dates");
        // expiry dates and spoken slash dates are among them
        let all: Vec<String> = spans_of(&exs, "DATE").collect();
        assert!(all.iter().any(|t| t.contains(" slash ")));
        assert!(all.iter().any(|t| t.len() == 5 && t.as_bytes()[2] == b'/'));
    }

    #[test]
    fn generate_names_exclude_titles() {
        let exs = sample();
        let mut spelled = 0;
        for t in spans_of(&exs, "PERSON_NAME") {
            let ws: Vec<&str> = t.split_whitespace().collect();
            for w in [ws[0], ws[ws.len() - 1]] {
                assert!(!lex::TITLES.contains(&w), "title inside name: {t}");
            }
            // spelled letters are a span of their own
            let singles = ws.iter().filter(|w| w.chars().count() == 1).count();
            // (one lone letter is part of a name: "o sullivan")
            assert!(
                singles < 2 || singles == ws.len(),
                "spelling mixed with a name: {t}"
            );
            if singles > 1 {
                spelled += 1;
            }
        }
        assert!(spelled > 50, "{spelled} spelled names");
        // adjacent name and spelling ("bello b e l l o") are two spans
        let adjacent = exs.iter().any(|e| {
            e.entities.windows(2).any(|p| {
                p[0].label == "PERSON_NAME"
                    && p[1].label == "PERSON_NAME"
                    && p[1].start == p[0].end + 1
            })
        });
        assert!(adjacent);
        // brands are never names
        for t in spans_of(&exs, "PERSON_NAME") {
            assert!(
                !lex::BRANDS.contains(&t.as_str()) && !lex::BRANDS_HO.contains(&t.as_str()),
                "{t}"
            );
        }
    }

    #[test]
    fn generate_places_follow_the_rules() {
        let exs = sample();
        for t in spans_of(&exs, "CITY") {
            assert!(
                !lex::REGIONS.contains(&t.as_str()) && !lex::REGIONS_HO.contains(&t.as_str()),
                "region as CITY: {t}"
            );
        }
        for t in spans_of(&exs, "LOCATION") {
            let first = t.split_whitespace().next().unwrap();
            assert!(!is_number_word(first), "house number inside LOCATION: {t}");
        }
    }

    #[test]
    fn generate_number_spans_have_plausible_lengths() {
        let exs = sample();
        let mut seen_cc = HashSet::new();
        for (label, lo, hi) in [("PHONE", 8, 15), ("CREDIT_CARD", 13, 19)] {
            for t in spans_of(&exs, label) {
                let ws: Vec<&str> = t.split_whitespace().collect();
                let n = values::digit_count(&ws);
                assert!((lo..=hi).contains(&n), "{label} with {n} digits: {t}");
                if label == "PHONE" {
                    for cc in [
                        "+1 ",
                        "+44 ",
                        "+61 ",
                        "+234 ",
                        "+27 ",
                        "+63 ",
                        "+353 ",
                        "+91 ",
                        "plus two three four ",
                        "plus six one ",
                    ] {
                        if t.starts_with(cc) {
                            seen_cc.insert(cc);
                        }
                    }
                }
            }
        }
        assert!(seen_cc.len() >= 9, "{seen_cc:?}");
        assert_eq!(
            values::digit_count(&["ninety", "eight", "forty", "five"]),
            4
        );
        assert_eq!(
            values::digit_count(&["double", "oh", "four", "four", "+91"]),
            6
        );
    }

    #[test]
    fn generate_carriers_precede_unlabelled_numbers() {
        let exs = sample();
        let carriers: Vec<Vec<&str>> = negatives::carrier_phrases()
            .into_iter()
            .map(|c| c.split_whitespace().collect())
            .collect();
        let mut checked = 0;
        for e in &exs {
            let ws: Vec<&str> = e.text.split(' ').collect();
            let mut starts = Vec::with_capacity(ws.len());
            let mut pos = 0;
            for w in &ws {
                starts.push(pos);
                pos += w.chars().count() + 1;
            }
            let labelled = |i: usize| {
                let (s, en) = (starts[i], starts[i] + ws[i].chars().count());
                e.entities.iter().any(|x| x.start < en && s < x.end)
            };
            for c in &carriers {
                for i in 0..ws.len().saturating_sub(c.len()) {
                    if ws[i..i + c.len()] != c[..] {
                        continue;
                    }
                    let after = i + c.len();
                    let next = (after..(after + 4).min(ws.len())).find(|&j| {
                        is_number_word(ws[j]) || ws[j].chars().any(|ch| ch.is_ascii_digit())
                    });
                    if let Some(j) = next {
                        checked += 1;
                        assert!(
                            !labelled(j),
                            "labelled number after '{}': {}",
                            c.join(" "),
                            e.text
                        );
                    }
                }
            }
        }
        assert!(checked > 500, "{checked} carrier numbers");
    }

    #[test]
    fn generate_pii_shaped_negatives_are_common() {
        for side in [Side::Train, Side::Heldout] {
            let v = generate_set(side, 11, 1, 3000, "t");
            let share =
                v.iter().filter(|e| has_pii_shaped_number(e, 4)).count() as f64 / v.len() as f64;
            assert!(share >= 0.3, "{side:?}: {share}");
            // and long ones, phone- and card-length, are among them
            let long =
                v.iter().filter(|e| has_pii_shaped_number(e, 10)).count() as f64 / v.len() as f64;
            assert!(long >= 0.1, "{side:?} long: {long}");
        }
    }
}
