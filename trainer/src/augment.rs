//! `pii-trainer augment`: more training lines from hand-written ones, for a student to learn
//! its teacher's soft targets on.
//!
//! Each copy of a line swaps some entities for another surface form of the same label drawn
//! from the whole input (so a writer's contexts meet other writers' names, numbers and
//! dates) and puts STT fillers ("uh", "um", ...) between some context words. Entities keep
//! their label and stay whole words; fillers never go inside an entity, so the gold labels of
//! a copy follow `../shared/LABELLING.md` whenever the original's do. Lines without entities
//! get fillers only. Only training lines may be passed here.

use anyhow::{bail, Result};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::data::{read_jsonl, write_jsonl, Entity, Example};

/// Command-line arguments.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Training jsonl files to draw lines and entity forms from (comma separated).
    #[arg(long = "in", value_delimiter = ',', required = true)]
    pub input: Vec<PathBuf>,
    /// Output jsonl (the copies only, not the originals).
    #[arg(long)]
    pub out: PathBuf,
    /// Copies per line.
    #[arg(long, default_value_t = 2)]
    pub copies: usize,
    /// Chance that an entity is swapped for another form of its label.
    #[arg(long, default_value_t = 0.5)]
    pub swap: f64,
    /// Chance of a filler before each context word.
    #[arg(long, default_value_t = 0.06)]
    pub filler: f64,
    #[arg(long, default_value_t = 17)]
    pub seed: u64,
}

const FILLERS: &[&str] = &["uh", "um", "like", "you know", "sorry", "okay", "so", "hmm", "er", "i mean"];

/// Every entity surface form of each label in `examples`.
pub fn entity_pool(examples: &[Example]) -> BTreeMap<String, Vec<String>> {
    let mut pool: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for ex in examples {
        let chars: Vec<char> = ex.text.chars().collect();
        for e in &ex.entities {
            pool.entry(e.label.clone()).or_default().push(chars[e.start..e.end].iter().collect());
        }
    }
    for forms in pool.values_mut() {
        forms.sort();
        forms.dedup();
    }
    pool
}

/// One augmented copy of `ex`: words in order, each context word possibly preceded by a
/// filler, each entity possibly replaced by a random form from `pool`.
pub fn augment_one(ex: &Example, pool: &BTreeMap<String, Vec<String>>, swap: f64, filler: f64, rng: &mut impl Rng) -> Example {
    let chars: Vec<char> = ex.text.chars().collect();
    let mut ents: Vec<&Entity> = ex.entities.iter().collect();
    ents.sort_by_key(|e| (e.start, e.end));
    // Pieces in order: (text, Some(label) for an entity).
    let mut pieces: Vec<(String, Option<&str>)> = Vec::new();
    let mut at = 0;
    let context = |a: usize, b: usize, pieces: &mut Vec<(String, Option<&str>)>| {
        let s: String = chars[a..b].iter().collect();
        for w in s.split_whitespace() {
            pieces.push((w.to_string(), None));
        }
    };
    for e in ents {
        if e.start < at {
            continue; // overlapping entity: keep the first, as training does
        }
        context(at, e.start, &mut pieces);
        let orig: String = chars[e.start..e.end].iter().collect();
        let form = match pool.get(&e.label) {
            Some(forms) if !forms.is_empty() && rng.gen_bool(swap) => forms.choose(rng).cloned().unwrap_or(orig),
            _ => orig,
        };
        pieces.push((form, Some(&e.label)));
        at = e.end;
    }
    context(at, chars.len(), &mut pieces);

    let mut text = String::new();
    let mut entities = Vec::new();
    let push = |s: &str, text: &mut String| -> usize {
        if !text.is_empty() {
            text.push(' ');
        }
        let start = text.chars().count();
        text.push_str(s);
        start
    };
    for (i, (w, label)) in pieces.iter().enumerate() {
        match label {
            Some(l) => {
                let start = push(w, &mut text);
                entities.push(Entity { start, end: start + w.chars().count(), label: l.to_string() });
            }
            None => {
                if i > 0 && rng.gen_bool(filler) {
                    push(FILLERS.choose(rng).expect("fillers"), &mut text);
                }
                push(w, &mut text);
            }
        }
    }
    Example { id: String::new(), text, entities }
}

/// `copies` augmented copies of every example, ids `<id>~aug<k>`.
pub fn augment(examples: &[Example], copies: usize, swap: f64, filler: f64, seed: u64) -> Vec<Example> {
    let pool = entity_pool(examples);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut out = Vec::with_capacity(examples.len() * copies);
    for k in 0..copies {
        for ex in examples {
            let mut a = augment_one(ex, &pool, swap, filler, &mut rng);
            a.id = format!("{}~aug{k}", ex.id);
            out.push(a);
        }
    }
    out
}

/// Run the command.
pub fn run(a: Args) -> Result<()> {
    if !(0.0..=1.0).contains(&a.swap) || !(0.0..=1.0).contains(&a.filler) {
        bail!("--swap and --filler are chances in [0, 1]");
    }
    let mut examples = Vec::new();
    for p in &a.input {
        examples.extend(read_jsonl(p)?);
    }
    let out = augment(&examples, a.copies, a.swap, a.filler, a.seed);
    write_jsonl(&a.out, &out)?;
    eprintln!("augment: {} lines -> {} copies in {}", examples.len(), out.len(), a.out.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ex(text: &str, ents: &[(&str, &str)]) -> Example {
        let entities = ents
            .iter()
            .map(|(w, l)| {
                let b = text.find(w).unwrap();
                let start = text[..b].chars().count();
                Entity { start, end: start + w.chars().count(), label: l.to_string() }
            })
            .collect();
        Example { id: "x".into(), text: text.into(), entities }
    }

    fn span(e: &Example, i: usize) -> String {
        e.text.chars().skip(e.entities[i].start).take(e.entities[i].end - e.entities[i].start).collect()
    }

    #[test]
    fn swapped_entities_keep_their_label_and_are_whole_words_of_the_new_text() {
        let data = vec![
            ex("my name is priya rao and i live in pune", &[("priya rao", "PERSON_NAME"), ("pune", "CITY")]),
            ex("this is john from leeds", &[("john", "PERSON_NAME"), ("leeds", "CITY")]),
            ex("no entities here at all", &[]),
        ];
        let out = augment(&data, 20, 1.0, 0.3, 3);
        assert_eq!(out.len(), 60);
        let pool = entity_pool(&data);
        let mut swapped = 0;
        let mut fillers = 0;
        for (k, a) in out.iter().enumerate() {
            let orig = &data[k % 3];
            assert_eq!(a.entities.len(), orig.entities.len(), "{a:?}");
            assert!(!a.text.contains("  ") && a.text.trim() == a.text);
            for (i, e) in a.entities.iter().enumerate() {
                assert_eq!(e.label, orig.entities[i].label);
                let s = span(a, i);
                assert!(pool[&e.label].contains(&s), "{s} is not a {} form", e.label);
                let chars: Vec<char> = a.text.chars().collect();
                assert!(e.start == 0 || chars[e.start - 1] == ' ');
                assert!(e.end == chars.len() || chars[e.end] == ' ');
                if s != span(orig, i) {
                    swapped += 1;
                }
            }
            // Context words survive in order; only fillers are added.
            let ctx = |x: &Example| -> Vec<String> {
                let mut t: String = x.text.clone();
                for i in (0..x.entities.len()).rev() {
                    let c: Vec<char> = t.chars().collect();
                    t = c[..x.entities[i].start].iter().chain(c[x.entities[i].end..].iter()).collect();
                }
                t.split_whitespace().map(String::from).collect()
            };
            let (mine, theirs) = (ctx(a), ctx(orig));
            let mut it = mine.iter();
            for w in &theirs {
                assert!(it.any(|m| m == w), "context word {w} lost in {}", a.text);
            }
            fillers += mine.len() - theirs.len();
        }
        assert!(swapped > 0, "swap 1.0 never changed a form");
        assert!(fillers > 0, "no filler inserted at 0.3");
    }

    #[test]
    fn zero_chances_copy_the_line() {
        let data = vec![ex("call me on nine eight four five", &[("nine eight four five", "PHONE")])];
        let out = augment(&data, 3, 0.0, 0.0, 1);
        for a in &out {
            assert_eq!((&a.text, &a.entities), (&data[0].text, &data[0].entities));
        }
    }
}
