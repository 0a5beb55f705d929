//! `pii-trainer pipeline`: the shipped model from nothing, in one resumable command.
//!
//! Stages, each skipped when its output is complete (rerun the same command to resume; the
//! training stages also resume from their last finished epoch):
//! 1. `data`: generator train/dev/held-out sets and the corpus split (`<out>/data/`);
//! 2. `teacher`: a full-size model trained on the first `--teacher-gen` generator utterances
//!    and the corpus training split twice (`<out>/teacher/`);
//! 3. `teacher-model`: its ONNX export, thresholds tuned on the dev sets (`<out>/teacher_model/`);
//! 4. `student`: the narrow student distilled from it on every generator utterance, the
//!    corpus training split once with `--augment` augmented copies of it, or twice without
//!    (`<out>/student/`);
//! 5. `model`: the student's export (int8 + fp32) and thresholds (`<out>/model/`);
//! 6. `report`: both models scored on the challenge set, the corpus dev split and the
//!    generator dev and held-out sets; the tables and every stage's wall time go into
//!    `<out>/model/report.md` and the manifest's `training.pipeline`.
//!
//! Each stage runs the same code as its own command; the equivalent command line is printed.

use anyhow::{bail, Context, Result};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::data::{read_jsonl, write_jsonl};

/// Command-line arguments.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Run directory (every stage's output; resumable).
    #[arg(long, default_value = "trainer/runs/pipeline")]
    pub out: PathBuf,
    /// Pretrained encoder the teacher starts from.
    #[arg(long, default_value = ".deps/minilm")]
    pub init: PathBuf,
    /// A trained teacher checkpoint to use instead of training one.
    #[arg(long)]
    pub teacher: Option<PathBuf>,
    /// Hand-written corpus directory.
    #[arg(long, default_value = "data/corpus")]
    pub corpus: PathBuf,
    /// Challenge writers (never trained or tuned on).
    #[arg(long, value_delimiter = ',', default_value = "cx1,cx2")]
    pub challenge: Vec<String>,
    /// Generator seed.
    #[arg(long, default_value_t = 13)]
    pub seed: u64,
    /// Generator training utterances (the student's share; the teacher takes the first `--teacher-gen`).
    #[arg(long, default_value_t = 15000)]
    pub gen: usize,
    #[arg(long, default_value_t = 5000)]
    pub teacher_gen: usize,
    /// Generator dev and held-out utterances each.
    #[arg(long, default_value_t = 1000)]
    pub eval_size: usize,
    #[arg(long, default_value_t = 3)]
    pub teacher_epochs: usize,
    #[arg(long, default_value_t = 8e-5)]
    pub teacher_lr: f64,
    /// Student shape: layers kept from the teacher, residual width, heads, FFN width.
    #[arg(long, default_value_t = 3)]
    pub layers: usize,
    /// The teacher layers the student keeps (overrides `--layers`' even spacing).
    #[arg(long, value_delimiter = ',')]
    pub keep_layers: Option<Vec<usize>>,
    #[arg(long, default_value_t = 256)]
    pub hidden: usize,
    #[arg(long, default_value_t = 8)]
    pub heads: usize,
    #[arg(long, default_value_t = 1024)]
    pub ffn: usize,
    #[arg(long, default_value_t = 3)]
    pub student_epochs: usize,
    #[arg(long, default_value_t = 3e-4)]
    pub student_lr: f64,
    #[arg(long, default_value_t = 0.7)]
    pub alpha: f64,
    #[arg(long, default_value_t = 2.0)]
    pub temperature: f64,
    /// Augmented copies of each corpus training line in the student's data (`augment`; 0: none).
    #[arg(long, default_value_t = 2)]
    pub augment: usize,
    /// Dev examples scored per training epoch.
    #[arg(long, default_value_t = 1000)]
    pub dev_limit: usize,
    /// Small-budget runs (CI): at most N training examples and M steps per training stage.
    #[arg(long)]
    pub limit: Option<usize>,
    #[arg(long)]
    pub max_steps: Option<usize>,
    /// Copy the finished model directory here (e.g. data/model).
    #[arg(long)]
    pub ship: Option<PathBuf>,
}

/// Parse a subcommand's arguments from an argv, so that every stage runs exactly what its
/// printed command line would.
fn parse<A: clap::Args>(argv: &[String]) -> A {
    #[derive(clap::Parser)]
    struct Wrap<A: clap::Args> {
        #[command(flatten)]
        a: A,
    }
    <Wrap<A> as clap::Parser>::parse_from(std::iter::once("pii-trainer".to_string()).chain(argv.iter().cloned())).a
}

fn s(p: &Path) -> String {
    p.display().to_string()
}

/// Wall time of each stage, kept in `<out>/stages.json` across resumed runs.
struct Stages {
    path: PathBuf,
    done: serde_json::Map<String, serde_json::Value>,
    t0: Instant,
    total: usize,
    index: usize,
}

impl Stages {
    fn open(out: &Path, total: usize) -> Result<Self> {
        let path = out.join("stages.json");
        let done = match std::fs::read_to_string(&path) {
            Ok(t) => serde_json::from_str(&t).with_context(|| s(&path))?,
            Err(_) => serde_json::Map::new(),
        };
        Ok(Stages { path, done, t0: Instant::now(), total, index: 0 })
    }

    /// Run `f` unless stage `name` finished before (and `complete` still holds).
    fn run(&mut self, name: &str, complete: bool, command: &str, f: impl FnOnce() -> Result<()>) -> Result<()> {
        self.index += 1;
        if complete && self.done.contains_key(name) {
            eprintln!("[pipeline {}/{}] {name}: done before, skipped", self.index, self.total);
            return Ok(());
        }
        eprintln!("[pipeline {}/{}] {name}: {command}", self.index, self.total);
        let t = Instant::now();
        f()?;
        let secs = t.elapsed().as_secs_f64();
        self.done.insert(name.to_string(), json!(secs));
        std::fs::write(&self.path, serde_json::to_string_pretty(&self.done)?)?;
        eprintln!(
            "[pipeline {}/{}] {name}: {secs:.0} s (pipeline so far {:.0} s this run)",
            self.index,
            self.total,
            self.t0.elapsed().as_secs_f64()
        );
        Ok(())
    }

    /// Record a stage whose output was given (`secs`: what producing it took).
    fn given(&mut self, name: &str, secs: f64, from: &Path) -> Result<()> {
        self.index += 1;
        eprintln!("[pipeline {}/{}] {name}: given ({}, {secs:.0} s when it was made)", self.index, self.total, from.display());
        self.done.insert(name.to_string(), json!(secs));
        std::fs::write(&self.path, serde_json::to_string_pretty(&self.done)?)?;
        Ok(())
    }

    fn seconds(&self) -> serde_json::Value {
        serde_json::Value::Object(self.done.clone())
    }
}

fn train_argv(a: &Args, out: &Path, extra: &[String]) -> Vec<String> {
    let mut v: Vec<String> = extra.to_vec();
    v.extend(["--out".into(), s(out), "--dev-limit".into(), a.dev_limit.to_string()]);
    if let Some(n) = a.limit {
        v.extend(["--limit".into(), n.to_string()]);
    }
    if let Some(n) = a.max_steps {
        v.extend(["--max-steps".into(), n.to_string()]);
    }
    v
}

fn export_and_tune(checkpoint: &Path, model: &Path, dev: &str) -> Result<()> {
    crate::export::run(parse(&["--checkpoint".into(), s(checkpoint), "--out".into(), s(model)]))?;
    crate::tune::run(parse(&["--model".into(), s(model), "--dev".into(), dev.into(), "--write".into()]))
}

/// Where the data stage records the digest of what it was made from.
const INPUTS_FILE: &str = "inputs.sha256";

/// SHA-256 over everything the data stage reads: the generator and split settings and every
/// corpus file's name and bytes.
fn data_inputs_digest(a: &Args, gen_argv: &[String], corpus_argv: &[String]) -> Result<String> {
    let files = crate::corpus::files(&a.corpus)?;
    let mut bytes = format!("{}\n{}\n{}\n", gen_argv.join(" "), corpus_argv.join(" "), a.teacher_gen).into_bytes();
    for f in files {
        bytes.extend(f.file_name().unwrap_or_default().as_encoded_bytes());
        bytes.push(0);
        bytes.extend(std::fs::read(&f).with_context(|| s(&f))?);
        bytes.push(0);
    }
    Ok(pii::manifest::sha256_hex(&bytes))
}

/// A resumed run must read the data its finished stages were trained on: refuse to go on when
/// the corpus or the data settings changed since `data` was written.
fn check_data_inputs(data: &Path, inputs: &str) -> Result<()> {
    let path = data.join(INPUTS_FILE);
    match std::fs::read_to_string(&path) {
        Ok(old) if old.trim() == inputs => Ok(()),
        Ok(_) => bail!(
            "{}: the corpus or the data settings changed since this run's data was made; its finished stages were trained on the old data. Use a new --out, or delete {} to start over",
            data.display(),
            data.parent().unwrap_or(data).display()
        ),
        Err(_) => {
            eprintln!("pipeline: {} predates input digests; recording the current inputs", data.display());
            Ok(std::fs::write(&path, inputs)?)
        }
    }
}

/// Run the command.
pub fn run(a: Args) -> Result<()> {
    let t0 = Instant::now();
    std::fs::create_dir_all(&a.out).with_context(|| format!("create {}", a.out.display()))?;
    let data = a.out.join("data");
    let mut st = Stages::open(&a.out, 6)?;
    let p = |n: &str| data.join(n);

    let gen_argv: Vec<String> = vec![
        "--out-dir".into(), s(&data), "--seed".into(), a.seed.to_string(), "--train".into(), a.gen.to_string(),
        "--dev".into(), a.eval_size.to_string(), "--heldout".into(), a.eval_size.to_string(),
    ];
    let corpus_argv: Vec<String> = vec!["--dir".into(), s(&a.corpus), "--challenge".into(), a.challenge.join(","), "--out".into(), s(&data)];
    let inputs = data_inputs_digest(&a, &gen_argv, &corpus_argv)?;
    let have_data = p("teacher_gen.jsonl").is_file() && p("corpus_dev.jsonl").is_file();
    if have_data {
        check_data_inputs(&data, &inputs)?;
    }
    st.run(
        "data",
        have_data,
        &format!("generate {} && corpus {}", gen_argv.join(" "), corpus_argv.join(" ")),
        || {
            std::fs::create_dir_all(&data)?;
            crate::generate::run(parse(&gen_argv))?;
            crate::corpus::run(parse(&corpus_argv))?;
            let mut g = read_jsonl(&p("train.jsonl"))?;
            g.truncate(a.teacher_gen);
            write_jsonl(&p("teacher_gen.jsonl"), &g)?;
            Ok(std::fs::write(p(INPUTS_FILE), &inputs)?)
        },
    )?;
    let dev = format!("{},{}", s(&p("corpus_dev.jsonl")), s(&p("dev.jsonl")));
    let (ct, dv) = (s(&p("corpus_train.jsonl")), dev.clone());

    let teacher = a.teacher.clone().unwrap_or_else(|| a.out.join("teacher"));
    let t_argv = train_argv(
        &a,
        &teacher,
        &[
            "--init".into(), s(&a.init), "--epochs".into(), a.teacher_epochs.to_string(), "--lr".into(), a.teacher_lr.to_string(),
            "--train".into(), format!("{},{ct},{ct}", s(&p("teacher_gen.jsonl"))), "--dev".into(), dv.clone(),
        ],
    );
    let have_teacher = teacher.join("train_meta.json").is_file();
    if a.teacher.is_some() {
        // A given teacher: its own training time is what this stage would have cost.
        let meta: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(teacher.join("train_meta.json"))
                .with_context(|| format!("--teacher {}: not a finished checkpoint (no train_meta.json)", teacher.display()))?,
        )?;
        st.given("teacher", meta["wall_seconds"].as_f64().unwrap_or(0.0), &teacher)?;
    } else {
        st.run("teacher", have_teacher, &format!("train {}", t_argv.join(" ")), || crate::train::run(parse(&t_argv)))?;
    }
    let teacher_model = a.out.join("teacher_model");
    st.run(
        "teacher-model",
        teacher_model.join("pii_model.json").is_file(),
        &format!("export --checkpoint {} --out {} && tune --model {} --dev {dev} --write", s(&teacher), s(&teacher_model), s(&teacher_model)),
        || export_and_tune(&teacher, &teacher_model, &dev),
    )?;

    let student = a.out.join("student");
    let aug = p("corpus_aug.jsonl");
    let aug_argv: Vec<String> =
        vec!["--in".into(), ct.clone(), "--out".into(), s(&aug), "--copies".into(), a.augment.to_string(), "--seed".into(), a.seed.to_string()];
    let student_train = if a.augment > 0 { format!("{},{ct},{}", s(&p("train.jsonl")), s(&aug)) } else { format!("{},{ct},{ct}", s(&p("train.jsonl"))) };
    let layers_flag = match &a.keep_layers {
        Some(k) => ("--keep-layers", k.iter().map(|l| l.to_string()).collect::<Vec<_>>().join(",")),
        None => ("--layers", a.layers.to_string()),
    };
    let s_argv = train_argv(
        &a,
        &student,
        &[
            "--teacher".into(), s(&teacher), layers_flag.0.into(), layers_flag.1, "--hidden".into(), a.hidden.to_string(),
            "--heads".into(), a.heads.to_string(), "--ffn".into(), a.ffn.to_string(), "--epochs".into(), a.student_epochs.to_string(),
            "--lr".into(), a.student_lr.to_string(), "--alpha".into(), a.alpha.to_string(), "--temperature".into(), a.temperature.to_string(),
            "--train".into(), student_train, "--dev".into(), dv,
        ],
    );
    let command = if a.augment > 0 { format!("augment {} && distill {}", aug_argv.join(" "), s_argv.join(" ")) } else { format!("distill {}", s_argv.join(" ")) };
    st.run("student", student.join("train_meta.json").is_file(), &command, || {
        if a.augment > 0 {
            // Deterministic and quick: rewritten from the current corpus split on every run of
            // this stage, so a resumed student reads the same lines and a stale file is never used.
            crate::augment::run(parse(&aug_argv))?;
        }
        crate::train::run(parse(&s_argv))
    })?;
    let model = a.out.join("model");
    st.run(
        "model",
        model.join("pii_model.json").is_file(),
        &format!("export --checkpoint {} --out {} && tune --model {} --dev {dev} --write", s(&student), s(&model), s(&model)),
        || export_and_tune(&student, &model, &dev),
    )?;

    let report_of = |dir: &Path| -> Result<(String, serde_json::Value)> {
        crate::report::tables(&parse(&[
            "--model".into(), s(dir), "--corpus".into(), s(&a.corpus), "--challenge".into(), a.challenge.join(","),
            "--sets".into(), format!("dev={},held-out={}", s(&p("dev.jsonl")), s(&p("heldout.jsonl"))),
        ]))
    };
    st.index += 1;
    eprintln!("[pipeline {}/{}] report: report --model {} (and the teacher)", st.index, st.total, s(&model));
    let tr = Instant::now();
    {
        let (smd, sjson) = report_of(&model)?;
        let (tmd, tjson) = report_of(&teacher_model)?;
        let shape = |dir: &Path| -> Result<serde_json::Value> {
            let m: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dir.join("pii_model.json"))?)?;
            Ok(m["training"]["export"]["architecture"].clone())
        };
        let size = |dir: &Path| std::fs::metadata(dir.join("model.onnx")).map(|m| m.len()).unwrap_or(0);
        let mut manifest = pii::manifest::Manifest::read(&model)?;
        let pipeline = json!({
            "stage_seconds": st.seconds(),
            "teacher": {"checkpoint": s(&teacher), "architecture": shape(&teacher_model)?, "model_onnx_bytes": size(&teacher_model), "scores": tjson},
            "student_scores": sjson,
            "settings": format!("{a:?}"),
        });
        if !manifest.training.is_object() {
            manifest.training = json!({});
        }
        manifest.training["pipeline"] = pipeline;
        manifest.write(&model)?;
        let mut md = String::from("# Model report (`pii-trainer pipeline`)\n\n");
        md += &format!("Student {} from teacher {}.\n\n## Student\n\n{smd}\n## Teacher\n\n{tmd}\n", shape(&model)?, shape(&teacher_model)?);
        md += "## Wall time per stage (seconds; a resumed stage counts its last run)\n\n| stage | s |\n|---|---|\n";
        for (k, v) in &st.done {
            md += &format!("| {k} | {:.0} |\n", v.as_f64().unwrap_or(0.0));
        }
        md += &format!("| report | {:.0} |\n", tr.elapsed().as_secs_f64());
        std::fs::write(model.join("report.md"), md)?;
        eprintln!("wrote {}", model.join("report.md").display());
    }
    if let Some(dst) = &a.ship {
        std::fs::create_dir_all(dst)?;
        for f in ["model.onnx", "tokenizer.json", "pii_model.json", "report.md"] {
            std::fs::copy(model.join(f), dst.join(f)).with_context(|| format!("copy {f} to {}", dst.display()))?;
        }
        eprintln!("shipped {} to {}", model.display(), dst.display());
    }
    eprintln!("pipeline: {} in {:.0} s this run", a.out.display(), t0.elapsed().as_secs_f64());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bert::{BertConfig, BertTagger};

    /// A tiny random encoder with the shipped tokenizer, as a pretrained init would be laid out.
    fn tiny_init(dir: &Path) -> PathBuf {
        let init = dir.join("init");
        std::fs::create_dir_all(&init).unwrap();
        let tok = Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/model/tokenizer.json");
        std::fs::copy(&tok, init.join("tokenizer.json")).unwrap();
        let cfg = BertConfig {
            vocab_size: 30522,
            hidden_size: 32,
            num_hidden_layers: 2,
            num_attention_heads: 4,
            intermediate_size: 64,
            max_position_embeddings: 128,
            type_vocab_size: 2,
            layer_norm_eps: 1e-12,
            hidden_act: "gelu".into(),
        };
        std::fs::write(init.join("config.json"), cfg.to_hf_json().to_string()).unwrap();
        let m = BertTagger::random(cfg, 15, 3).unwrap();
        m.save_safetensors(&init.join("model.safetensors")).unwrap();
        init
    }

    #[test]
    fn the_pipeline_runs_end_to_end_on_a_tiny_budget_and_resumes() {
        let tmp = tempfile::tempdir().unwrap();
        let init = tiny_init(tmp.path());
        let out = tmp.path().join("run");
        // A copy of the corpus, so that the test can edit it.
        let corpus = tmp.path().join("corpus");
        std::fs::create_dir_all(&corpus).unwrap();
        for e in std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/corpus")).unwrap() {
            let f = e.unwrap().path();
            std::fs::copy(&f, corpus.join(f.file_name().unwrap())).unwrap();
        }
        let argv: Vec<String> = [
            "--out", &s(&out), "--init", &s(&init), "--corpus", &s(&corpus), "--gen", "40", "--teacher-gen", "20",
            "--eval-size", "20", "--teacher-epochs", "1", "--student-epochs", "2", "--layers", "1", "--hidden", "16",
            "--heads", "2", "--ffn", "32", "--dev-limit", "20", "--limit", "48", "--max-steps", "3",
        ]
        .iter()
        .map(|x| x.to_string())
        .collect();
        run(parse(&argv)).unwrap();
        let stages: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.join("stages.json")).unwrap()).unwrap();
        for k in ["data", "teacher", "teacher-model", "student", "model"] {
            assert!(stages[k].as_f64().is_some(), "stage {k} not recorded");
        }
        let m: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.join("model/pii_model.json")).unwrap()).unwrap();
        assert_eq!(m["training"]["export"]["architecture"]["hidden_size"], 16);
        assert_eq!(m["training"]["export"]["architecture"]["num_hidden_layers"], 1);
        assert_eq!(m["training"]["teacher"], s(&out.join("teacher")));
        assert_eq!(m["training"]["pipeline"]["teacher"]["architecture"]["hidden_size"], 32);
        assert!(m["training"]["pipeline"]["student_scores"]["challenge (hand-written, unseen writers)"]["pii_strict"]["f1"].is_number());
        let report = std::fs::read_to_string(out.join("model/report.md")).unwrap();
        assert!(report.contains("## Student") && report.contains("## Teacher") && report.contains("| challenge"), "{report}");
        // The library loads the result.
        crate::predict::load_model(&out.join("model"), None, None, |_| {}).unwrap();
        // A rerun skips every finished stage and keeps their times.
        run(parse(&argv)).unwrap();
        let again: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.join("stages.json")).unwrap()).unwrap();
        assert_eq!(stages, again);
        // A changed corpus is refused rather than silently mixed with the old run's stages.
        let f = corpus.join("us1.txt");
        let mut text = std::fs::read_to_string(&f).unwrap();
        text = text.replacen("the", "teh", 1);
        std::fs::write(&f, text).unwrap();
        let err = run(parse(&argv)).unwrap_err().to_string();
        assert!(err.contains("changed since"), "{err}");
    }
}
