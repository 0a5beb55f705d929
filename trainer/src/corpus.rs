//! The hand-written corpus (`data/corpus/<writer>.txt`, inline `[LABEL:words]` markup) and its
//! split by writer into training, dev and challenge jsonl sets.
//!
//! A corpus file holds one utterance per line. `# domain: <name>` starts a domain block, other
//! lines starting with `#` are comments, blank lines are skipped. See `data/corpus/README.md`.

use anyhow::{bail, Context, Result};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::data::{self, Entity, Example};

/// Command-line arguments of `pii-trainer corpus`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Directory of `<writer>.txt` corpus files.
    #[arg(long, default_value = "data/corpus")]
    pub dir: PathBuf,
    /// Writers whose lines form the challenge set (never trained on, never tuned on).
    #[arg(long, value_delimiter = ',', default_value = "cx1,cx2")]
    pub challenge: Vec<String>,
    /// Every Nth line of each training writer's domain goes to the dev split (threshold and
    /// epoch selection); 0 puts none there.
    #[arg(long, default_value_t = 8)]
    pub dev_every: usize,
    /// Output directory for `corpus_train.jsonl`, `corpus_dev.jsonl`, `challenge.jsonl`.
    #[arg(long, default_value = "data")]
    pub out: PathBuf,
    /// Also print the line count of every writer and domain.
    #[arg(long)]
    pub domains: bool,
}

/// The labels the markup may use.
const LABELS: [&str; 7] = ["CREDIT_CARD", "PHONE", "EMAIL", "PERSON_NAME", "DATE", "CITY", "LOCATION"];

/// Parse one line of markup into its plain text and entities (char offsets). Errors name the
/// problem, never the text.
pub fn parse_markup(line: &str) -> Result<(String, Vec<Entity>)> {
    let mut text = String::with_capacity(line.len());
    let mut entities = Vec::new();
    let mut rest = line;
    while let Some(open) = rest.find('[') {
        let (before, after) = rest.split_at(open);
        if before.contains(']') {
            bail!("']' without '['");
        }
        text.push_str(before);
        let close = after.find(']').context("'[' without ']'")?;
        let inner = &after[1..close];
        let (label, words) = inner.split_once(':').context("span without 'LABEL:'")?;
        if !LABELS.contains(&label) {
            bail!("unknown label {label:?}");
        }
        if words.is_empty() || words.contains('[') || words != words.trim() || words.contains("  ") {
            bail!("{label} span is empty, nested or has stray spaces");
        }
        if !(text.is_empty() || text.ends_with(' ')) || !(after[close + 1..].is_empty() || after[close + 1..].starts_with(' ')) {
            bail!("{label} span does not sit on word boundaries");
        }
        let start = text.chars().count();
        text.push_str(words);
        entities.push(Entity { start, end: start + words.chars().count(), label: label.to_string() });
        rest = &after[close + 1..];
    }
    if rest.contains(']') {
        bail!("']' without '['");
    }
    text.push_str(rest);
    if text != text.trim() || text.contains("  ") || text.is_empty() {
        bail!("text must be single-spaced words");
    }
    Ok((text, entities))
}

/// One corpus line with where it came from.
#[derive(Debug, Clone)]
pub struct Line {
    pub writer: String,
    pub domain: String,
    pub example: Example,
}

/// Read one writer's file.
pub fn read_file(path: &Path) -> Result<Vec<Line>> {
    let writer = path.file_stem().and_then(|s| s.to_str()).context("corpus file name")?.to_string();
    let body = std::fs::read_to_string(path).with_context(|| format!("read {}", path.display()))?;
    let mut domain: Option<String> = None;
    let mut out = Vec::new();
    for (i, raw) in body.lines().enumerate() {
        let line = raw.trim_end();
        if line.trim().is_empty() {
            continue;
        }
        if let Some(c) = line.strip_prefix('#') {
            if let Some(d) = c.trim().strip_prefix("domain:") {
                domain = Some(d.trim().replace(' ', "_"));
            }
            continue;
        }
        let d = domain.clone().with_context(|| format!("{}:{}: line before any '# domain:'", path.display(), i + 1))?;
        let (text, entities) = parse_markup(line).with_context(|| format!("{}:{}", path.display(), i + 1))?;
        let id = format!("{writer}-{d}-{:04}", i + 1);
        out.push(Line { writer: writer.clone(), domain: d, example: Example { id, text, entities } });
    }
    Ok(out)
}

/// The corpus files of `dir`: every `*.txt`, sorted by name.
pub fn files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("read {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "txt"))
        .collect();
    files.sort();
    Ok(files)
}

/// Every line of the corpus files of `dir` ([`files`]).
pub fn read_dir(dir: &Path) -> Result<Vec<Line>> {
    let mut out = Vec::new();
    for f in files(dir)? {
        out.extend(read_file(&f)?);
    }
    Ok(out)
}

/// Split lines into (train, dev, challenge): challenge writers whole; of the others every
/// `dev_every`-th line of each (writer, domain) block goes to dev.
pub fn split(lines: &[Line], challenge: &[String], dev_every: usize) -> (Vec<Example>, Vec<Example>, Vec<Example>) {
    let (mut train, mut dev, mut chal) = (Vec::new(), Vec::new(), Vec::new());
    let mut seen: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    for l in lines {
        if challenge.contains(&l.writer) {
            chal.push(l.example.clone());
            continue;
        }
        let n = seen.entry((&l.writer, &l.domain)).or_default();
        *n += 1;
        if dev_every > 0 && *n % dev_every == 0 {
            dev.push(l.example.clone());
        } else {
            train.push(l.example.clone());
        }
    }
    (train, dev, chal)
}

/// `pii-trainer corpus`: convert and split the hand-written corpus.
pub fn run(args: Args) -> Result<()> {
    let lines = read_dir(&args.dir)?;
    if lines.is_empty() {
        bail!("{}: no corpus lines", args.dir.display());
    }
    for w in &args.challenge {
        if !lines.iter().any(|l| &l.writer == w) {
            bail!("challenge writer {w} has no file in {}", args.dir.display());
        }
    }
    let (train, dev, chal) = split(&lines, &args.challenge, args.dev_every);
    for (name, set) in [("corpus_train", &train), ("corpus_dev", &dev), ("challenge", &chal)] {
        let path = args.out.join(format!("{name}.jsonl"));
        data::write_jsonl(&path, set)?;
        let no_pii = set
            .iter()
            .filter(|e| !e.entities.iter().any(|x| !matches!(x.label.as_str(), "CITY" | "LOCATION")))
            .count();
        eprintln!("{}: {} lines, {} without PII", path.display(), set.len(), no_pii);
    }
    let mut by: BTreeMap<(String, String), usize> = BTreeMap::new();
    for l in &lines {
        *by.entry((l.writer.clone(), l.domain.clone())).or_default() += 1;
    }
    let writers: std::collections::BTreeSet<&String> = by.keys().map(|(w, _)| w).collect();
    eprintln!("{} writers, {} writer/domain pairs{}", writers.len(), by.len(), if args.domains { ":" } else { " (--domains lists them)" });
    if args.domains {
        for ((w, d), n) in by {
            eprintln!("  {w:6} {d:32} {n}");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_becomes_char_spans() {
        let (t, e) = parse_markup("hi i'm [PERSON_NAME:josé pérez] from [CITY:pune] ok").unwrap();
        assert_eq!(t, "hi i'm josé pérez from pune ok");
        let got: Vec<(String, &str)> =
            e.iter().map(|x| (t.chars().skip(x.start).take(x.end - x.start).collect(), x.label.as_str())).collect();
        assert_eq!(got, vec![("josé pérez".into(), "PERSON_NAME"), ("pune".into(), "CITY")]);
        let (t, e) = parse_markup("[PHONE:nine eight] [PERSON_NAME:b e l l o]").unwrap();
        assert_eq!((t.as_str(), e.len(), e[1].start), ("nine eight b e l l o", 2, 11));
    }

    #[test]
    fn bad_markup_is_rejected() {
        for bad in [
            "my [PHONE:nine",
            "my PHONE:nine]",
            "x[CITY:pune]",
            "[CITY:pune]x",
            "[TOWN:pune]",
            "[CITY: pune]",
            "[CITY:[PHONE:one]]",
            "two  spaces",
            "[CITY]",
        ] {
            assert!(parse_markup(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn split_keeps_challenge_writers_whole() {
        let mk = |w: &str, d: &str, i: usize| Line {
            writer: w.into(),
            domain: d.into(),
            example: Example { id: format!("{w}{d}{i}"), text: "x".into(), entities: vec![] },
        };
        let mut lines = Vec::new();
        for i in 0..20 {
            lines.push(mk("a", "bank", i));
            lines.push(mk("cx", "bank", i));
        }
        let (tr, dv, ch) = split(&lines, &["cx".to_string()], 4);
        assert_eq!((tr.len(), dv.len(), ch.len()), (15, 5, 20));
        assert!(ch.iter().all(|e| e.id.starts_with("cx")));
        assert!(tr.iter().chain(&dv).all(|e| e.id.starts_with('a')));
    }
}
