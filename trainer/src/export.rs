//! `export`: checkpoint directory -> model directory (int8 `model.onnx`, fp32
//! `model.fp32.onnx`, `tokenizer.json`, `pii_model.json`), and `fixture`: the tiny,
//! rule-built model directory the library's tests load, written through the same code.

use anyhow::{anyhow, bail, Context, Result};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use pii::manifest::{default_labels, Manifest, MANIFEST_FILE, MODEL_FILE, MODEL_FP32_FILE, TOKENIZER_FILE};

use crate::onnx::bert::{export_bytes, Precision, INT8_SCHEME};
use crate::onnx::checkpoint::{BertConfig, Checkpoint, Gaussian, Tensor};
use crate::onnx::graph::OPSET;
use crate::onnx::runtime::{argmax, OrtModel};

/// Command-line arguments of `export`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Checkpoint directory written by `train` (config.json, model.safetensors, tokenizer.json, train_meta.json).
    #[arg(long)]
    pub checkpoint: PathBuf,
    /// Model directory to write.
    #[arg(long, default_value = "data/model")]
    pub out: PathBuf,
    /// Write only the fp32 model (`model.fp32.onnx`; the manifest then points to it).
    #[arg(long, conflicts_with = "no_fp32")]
    pub fp32_only: bool,
    /// Write only the int8 model (`model.onnx`).
    #[arg(long)]
    pub no_fp32: bool,
    /// Model name recorded in the manifest (default: train_meta's "name", else "pii-bert").
    #[arg(long)]
    pub name: Option<String>,
    /// Model version recorded in the manifest (default: UTC date + short hash of the weights).
    #[arg(long)]
    pub version: Option<String>,
    /// Skip the ONNX Runtime load-and-run check of the written models.
    #[arg(long)]
    pub no_verify: bool,
}

/// Command-line arguments of `fixture`.
#[derive(clap::Args, Debug)]
pub struct FixtureArgs {
    /// Model directory to write.
    #[arg(long, default_value = "tests/fixtures/tiny")]
    pub out: PathBuf,
    /// Hugging Face tokenizer.json (BERT uncased WordPiece) the fixture uses.
    #[arg(long, default_value = ".deps/minilm/tokenizer.json")]
    pub tokenizer: PathBuf,
}

/// Whether the written models are run through ONNX Runtime.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verify {
    Off,
    /// Check when the runtime library is found, warn otherwise.
    IfAvailable,
    /// Fail when the runtime library is not found.
    Required,
}

/// Export settings.
#[derive(Clone, Debug)]
pub struct ExportOptions {
    pub int8: bool,
    pub fp32: bool,
    pub name: Option<String>,
    pub version: Option<String>,
    pub verify: Verify,
    /// Sentence used for the ONNX Runtime check.
    pub probe: String,
}

impl Default for ExportOptions {
    fn default() -> Self {
        ExportOptions {
            int8: true,
            fp32: true,
            name: None,
            version: None,
            verify: Verify::IfAvailable,
            probe: "my number is nine eight seven six five four three two one zero and my name is priya sharma from delhi"
                .into(),
        }
    }
}

/// What an export wrote.
#[derive(Debug)]
pub struct ExportReport {
    pub manifest: Manifest,
    /// (file name, bytes).
    pub files: Vec<(String, u64)>,
    /// int8 vs fp32 on the probe: (argmax agreement, positions, max abs logit diff).
    pub int8_vs_fp32: Option<(usize, usize, f32)>,
}

/// Run `export`.
pub fn run(args: Args) -> Result<()> {
    let ck = Checkpoint::load(&args.checkpoint)?;
    let opts = ExportOptions {
        int8: !args.fp32_only,
        fp32: !args.no_fp32,
        name: args.name,
        version: args.version,
        verify: if args.no_verify { Verify::Off } else { Verify::IfAvailable },
        ..Default::default()
    };
    let c = &ck.config;
    println!(
        "checkpoint {}: hidden {}, layers {}, heads {}, vocab {}, {} tags",
        args.checkpoint.display(),
        c.hidden_size,
        c.num_hidden_layers,
        c.num_attention_heads,
        c.vocab_size,
        ck.num_tags()?
    );
    let report = export_checkpoint(&ck, &args.out, &opts)?;
    print_report(&args.out, &report);
    Ok(())
}

fn print_report(out: &Path, r: &ExportReport) {
    println!("wrote {} (version {})", out.display(), r.manifest.version);
    for (f, n) in &r.files {
        println!("  {f:<18} {:>12} bytes ({:.2} MB)", n, *n as f64 / 1e6);
    }
    if let Some((agree, n, diff)) = r.int8_vs_fp32 {
        println!("  int8 vs fp32 on the probe: argmax agrees on {agree}/{n} positions, max |logit diff| {diff:.4}");
    }
}

/// UTC date `YYYY-MM-DD` (civil-from-days).
fn utc_date() -> String {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let z = (secs / 86_400) as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// FNV-1a 64 over tensor names and values: a short identity of the weights.
pub fn weights_hash(ck: &Checkpoint) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |b: &[u8]| {
        for &x in b {
            h ^= x as u64;
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    };
    for (k, t) in &ck.tensors {
        eat(k.as_bytes());
        for v in &t.data {
            eat(&v.to_le_bytes());
        }
    }
    format!("{:08x}", h >> 32)
}

/// The tokenizer JSON with padding and truncation turned off (the library windows by
/// itself; a fixed padding would run every call at the padded length).
fn sanitize_tokenizer(bytes: &[u8]) -> Result<(Vec<u8>, tokenizers::Tokenizer)> {
    let mut v: serde_json::Value = serde_json::from_slice(bytes).context("tokenizer.json is not JSON")?;
    let obj = v.as_object_mut().context("tokenizer.json is not a JSON object")?;
    obj.insert("padding".into(), serde_json::Value::Null);
    obj.insert("truncation".into(), serde_json::Value::Null);
    let out = serde_json::to_vec(&v)?;
    let tok = tokenizers::Tokenizer::from_bytes(&out).map_err(|e| anyhow!("tokenizer.json does not load: {e}"))?;
    Ok((out, tok))
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot rename {} to {}", tmp.display(), path.display()))
}

/// Encodes `text` with `[CLS]`/`[SEP]`, cut to `max_length`.
fn probe_ids(tok: &tokenizers::Tokenizer, text: &str, max_length: usize) -> Result<Vec<u32>> {
    let enc = tok.encode(text, true).map_err(|e| anyhow!("tokenize: {e}"))?;
    let mut ids = enc.get_ids().to_vec();
    if ids.len() > max_length {
        let last = *ids.last().unwrap();
        ids.truncate(max_length - 1);
        ids.push(last);
    }
    Ok(ids)
}

/// Writes the model directory for `ck` into `out`.
pub fn export_checkpoint(ck: &Checkpoint, out: &Path, opts: &ExportOptions) -> Result<ExportReport> {
    if !opts.int8 && !opts.fp32 {
        bail!("nothing to export: both int8 and fp32 are off");
    }
    ck.validate()?;
    let labels = ck.labels()?;
    let max_length = ck.max_length()?;
    if max_length > ck.config.max_position_embeddings {
        bail!("max_length {max_length} exceeds max_position_embeddings {}", ck.config.max_position_embeddings);
    }
    let (tok_bytes, tok) = sanitize_tokenizer(&ck.tokenizer_json)?;
    let tok_vocab = tok.get_vocab_size(true);
    if tok_vocab > ck.config.vocab_size {
        bail!("the tokenizer has {tok_vocab} tokens but the model's vocab_size is {}", ck.config.vocab_size);
    }
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;

    let mut written: Vec<(String, Vec<u8>)> = Vec::new();
    if opts.int8 {
        written.push((MODEL_FILE.to_string(), export_bytes(ck, Precision::Int8)?));
    }
    if opts.fp32 {
        written.push((MODEL_FP32_FILE.to_string(), export_bytes(ck, Precision::Fp32)?));
    }
    for (f, bytes) in &written {
        write_atomic(&out.join(f), bytes)?;
    }
    // A stale model of another export must not sit beside this one.
    for f in [MODEL_FILE, MODEL_FP32_FILE] {
        let p = out.join(f);
        if p.exists() && !written.iter().any(|(w, _)| w == f) {
            std::fs::remove_file(&p).with_context(|| format!("cannot remove stale {}", p.display()))?;
            println!("removed stale {}", p.display());
        }
    }
    write_atomic(&out.join(TOKENIZER_FILE), &tok_bytes)?;

    // ONNX Runtime check: every written model loads and runs; int8 is compared with fp32.
    let mut int8_vs_fp32 = None;
    let runtime_ok = match opts.verify {
        Verify::Off => false,
        Verify::Required => {
            crate::onnx::runtime::environment()?;
            true
        }
        Verify::IfAvailable => match crate::onnx::runtime::environment() {
            Ok(_) => true,
            Err(e) => {
                eprintln!("warning: not checking the models with ONNX Runtime: {e}");
                false
            }
        },
    };
    if runtime_ok {
        let ids = probe_ids(&tok, &opts.probe, max_length)?;
        let mut outs = BTreeMap::new();
        for (f, _) in &written {
            let mut m = OrtModel::load(&out.join(f), 1)?;
            let l = m.logits(&ids)?;
            if l.len() != ids.len() || l.iter().any(|r| r.len() != ck.num_tags().unwrap_or(0)) {
                bail!("{f}: logits have the wrong shape");
            }
            if l.iter().flatten().any(|v| !v.is_finite()) {
                bail!("{f}: logits are not finite");
            }
            outs.insert(f.clone(), l);
        }
        if let (Some(a), Some(b)) = (outs.get(MODEL_FILE), outs.get(MODEL_FP32_FILE)) {
            let agree = a.iter().zip(b).filter(|(x, y)| argmax(x) == argmax(y)).count();
            let diff = a.iter().flatten().zip(b.iter().flatten()).fold(0f32, |m, (x, y)| m.max((x - y).abs()));
            int8_vs_fp32 = Some((agree, a.len(), diff));
        }
    }

    let mut files: Vec<(String, u64)> = Vec::new();
    for f in [MODEL_FILE, MODEL_FP32_FILE, TOKENIZER_FILE] {
        if let Ok(md) = std::fs::metadata(out.join(f)) {
            files.push((f.to_string(), md.len()));
        }
    }

    let mut manifest = Manifest::new(labels, max_length);
    manifest.vocab_size = ck.config.vocab_size;
    manifest.validators = ck.meta.get("validators").and_then(|v| serde_json::from_value(v.clone()).ok());
    manifest.decoding = ck.meta.get("decoding").and_then(|v| v.as_str()).map(str::to_string);
    manifest.model_file = if opts.int8 { MODEL_FILE } else { MODEL_FP32_FILE }.to_string();
    manifest.name = opts
        .name
        .clone()
        .or_else(|| ck.meta.get("name").and_then(|v| v.as_str()).map(str::to_string))
        .unwrap_or_else(|| "pii-bert".into());
    // The library verifies these at load: the model that runs is the model exported here.
    for (f, bytes) in &written {
        manifest.sha256.insert(f.clone(), pii::manifest::sha256_hex(bytes));
    }
    manifest.sha256.insert(TOKENIZER_FILE.to_string(), pii::manifest::sha256_hex(&tok_bytes));
    let date = utc_date();
    manifest.version = opts.version.clone().unwrap_or_else(|| format!("{date}-{}", weights_hash(ck)));
    let c = &ck.config;
    let export_info = serde_json::json!({
        "exported_at": date,
        "exporter": format!("pii-trainer {}", env!("CARGO_PKG_VERSION")),
        "opset": OPSET,
        "weights_hash": weights_hash(ck),
        "architecture": {
            "hidden_size": c.hidden_size,
            "num_hidden_layers": c.num_hidden_layers,
            "num_attention_heads": c.num_attention_heads,
            "intermediate_size": c.intermediate_size,
            "vocab_size": c.vocab_size,
            "max_position_embeddings": c.max_position_embeddings,
        },
        "files": files.iter().map(|(f, n)| (f.clone(), serde_json::json!(n))).collect::<serde_json::Map<_, _>>(),
        "quantization": if opts.int8 { INT8_SCHEME } else { "none (fp32)" },
        "int8_vs_fp32_probe": int8_vs_fp32.map(|(a, n, d)| serde_json::json!({"argmax_agree": a, "positions": n, "max_abs_diff": d})),
    });
    manifest.training = match ck.meta.clone() {
        serde_json::Value::Object(mut m) => {
            m.insert("export".into(), export_info);
            serde_json::Value::Object(m)
        }
        other => serde_json::json!({ "train_meta": other, "export": export_info }),
    };
    manifest.write(out).map_err(|e| anyhow!("cannot write {}: {e}", out.join(MANIFEST_FILE).display()))?;
    if let Ok(md) = std::fs::metadata(out.join(MANIFEST_FILE)) {
        files.push((MANIFEST_FILE.to_string(), md.len()));
    }
    Ok(ExportReport { manifest, files, int8_vs_fp32 })
}

// ---------------------------------------------------------------------------------------
// The tiny fixture.

/// Hidden size of the fixture; dims `0..RULE_DIMS` carry the rule signal.
const FIX_HIDDEN: usize = 32;
const RULE_DIMS: usize = 16;
/// Fixture max_length (small, so the library's windowing runs on short strings).
pub const FIXTURE_MAX_LENGTH: usize = 16;
const FIXTURE_SEED: u64 = 20_240_601;

/// Words whose first word piece the fixture tags, with the tag.
pub fn fixture_rules() -> Vec<(&'static str, &'static str)> {
    let mut r = Vec::new();
    for w in [
        "zero", "oh", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "double", "triple",
    ] {
        r.push((w, "I-PHONE"));
    }
    for w in ["priya", "rahul", "john"] {
        r.push((w, "B-PERSON_NAME"));
    }
    for w in ["sharma", "smith"] {
        r.push((w, "I-PERSON_NAME"));
    }
    for w in ["delhi", "mumbai"] {
        r.push((w, "B-CITY"));
    }
    r
}

/// The tag the fixture gives a whole word (by its first piece): rules, all-digit words
/// -> I-PHONE, else O.
pub fn fixture_expected_tag(word: &str) -> &'static str {
    let w = word.to_lowercase();
    if !w.is_empty() && w.bytes().all(|b| b.is_ascii_digit()) {
        return "I-PHONE";
    }
    fixture_rules().into_iter().find(|(r, _)| *r == w).map_or("O", |(_, t)| t)
}

fn zero_mean(v: &mut [f32]) {
    let m = v.iter().sum::<f32>() / v.len() as f32;
    v.iter_mut().for_each(|x| *x -= m);
}

/// The fixture checkpoint, built in memory: random weights (seeded) arranged so that rule
/// tokens carry a large value on the hidden dim of their tag, the encoder layers barely
/// perturb the residual stream, and the classifier reads the rule dims.
pub fn fixture_checkpoint(tokenizer: &Path) -> Result<Checkpoint> {
    let tok_raw = std::fs::read(tokenizer).with_context(|| format!("cannot read {}", tokenizer.display()))?;
    let (_, tok) = sanitize_tokenizer(&tok_raw)?;
    let vocab = tok.get_vocab(true);
    let v = vocab.values().map(|&i| i as usize + 1).max().unwrap_or(0);
    let labels = default_labels();
    let manifest = Manifest::new(labels.clone(), FIXTURE_MAX_LENGTH);
    let tag_names = manifest.tag_names();
    let tags = tag_names.len();
    if tags > RULE_DIMS {
        bail!("{tags} tags do not fit in {RULE_DIMS} rule dims");
    }
    let tag_index = |t: &str| tag_names.iter().position(|n| n == t).ok_or_else(|| anyhow!("no tag {t}"));

    // Token id -> tag index.
    let mut rule: BTreeMap<u32, usize> = BTreeMap::new();
    let phone = tag_index("I-PHONE")?;
    for (tokstr, &id) in &vocab {
        let d = tokstr.strip_prefix("##").unwrap_or(tokstr);
        if !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()) {
            rule.insert(id, phone);
        }
    }
    for (w, t) in fixture_rules() {
        let enc = tok.encode(w, false).map_err(|e| anyhow!("tokenize {w}: {e}"))?;
        let first = *enc.get_ids().first().with_context(|| format!("{w} has no word piece"))?;
        rule.insert(first, tag_index(t)?);
    }

    let config = BertConfig {
        vocab_size: v,
        hidden_size: FIX_HIDDEN,
        num_hidden_layers: 2,
        num_attention_heads: 2,
        intermediate_size: 64,
        max_position_embeddings: 128,
        type_vocab_size: 2,
        layer_norm_eps: 1e-12,
        hidden_act: "gelu".into(),
    };
    let (h, inter) = (config.hidden_size, config.intermediate_size);
    let mut g = Gaussian::new(FIXTURE_SEED);
    // Rows: zeros on the rule dims, zero-mean N(0, 0.02) on the rest, so a plain token is
    // exactly 0 on the rule dims after LayerNorm.
    let table = |rows: usize, g: &mut Gaussian| {
        let mut t = vec![0f32; rows * h];
        for r in 0..rows {
            let row = &mut t[r * h..(r + 1) * h];
            for x in &mut row[RULE_DIMS..] {
                *x = g.sample(0.02);
            }
            zero_mean(&mut row[RULE_DIMS..]);
        }
        t
    };
    let mut word = table(v, &mut g);
    for (&id, &t) in &rule {
        word[id as usize * h + t] = 10.0;
    }
    let pos = table(config.max_position_embeddings, &mut g);
    let typ = table(config.type_vocab_size, &mut g);
    let mut m = BTreeMap::new();
    let mut put = |name: String, shape: Vec<usize>, data: Vec<f32>| {
        m.insert(name, Tensor::new(shape, data));
    };
    put("embeddings.word_embeddings.weight".into(), vec![v, h], word);
    put("embeddings.position_embeddings.weight".into(), vec![config.max_position_embeddings, h], pos);
    put("embeddings.token_type_embeddings.weight".into(), vec![config.type_vocab_size, h], typ);
    put("embeddings.LayerNorm.weight".into(), vec![h], vec![1.0; h]);
    put("embeddings.LayerNorm.bias".into(), vec![h], vec![0.0; h]);
    for l in 0..config.num_hidden_layers {
        let p = format!("encoder.layer.{l}");
        for n in ["query", "key", "value"] {
            put(format!("{p}.attention.self.{n}.weight"), vec![h, h], g.vec(h * h, 0.0, 0.02));
            put(format!("{p}.attention.self.{n}.bias"), vec![h], vec![0.0; h]);
        }
        put(format!("{p}.attention.output.dense.weight"), vec![h, h], g.vec(h * h, 0.0, 1e-3));
        put(format!("{p}.attention.output.dense.bias"), vec![h], vec![0.0; h]);
        put(format!("{p}.attention.output.LayerNorm.weight"), vec![h], vec![1.0; h]);
        put(format!("{p}.attention.output.LayerNorm.bias"), vec![h], vec![0.0; h]);
        put(format!("{p}.intermediate.dense.weight"), vec![inter, h], g.vec(inter * h, 0.0, 0.02));
        put(format!("{p}.intermediate.dense.bias"), vec![inter], vec![0.0; inter]);
        put(format!("{p}.output.dense.weight"), vec![h, inter], g.vec(h * inter, 0.0, 1e-3));
        put(format!("{p}.output.dense.bias"), vec![h], vec![0.0; h]);
        put(format!("{p}.output.LayerNorm.weight"), vec![h], vec![1.0; h]);
        put(format!("{p}.output.LayerNorm.bias"), vec![h], vec![0.0; h]);
    }
    let mut cls = vec![0f32; tags * h];
    for t in 0..tags {
        for d in RULE_DIMS..h {
            cls[t * h + d] = g.sample(0.01);
        }
        if t > 0 {
            cls[t * h + t] = 2.0;
        }
    }
    let mut cls_b = vec![0f32; tags];
    cls_b[0] = 3.0;
    put("classifier.weight".into(), vec![tags, h], cls);
    put("classifier.bias".into(), vec![tags], cls_b);

    let meta = serde_json::json!({
        "labels": labels,
        "max_length": FIXTURE_MAX_LENGTH,
        // The fixture's toy numbers ("nine eight seven") are far too short for the number
        // validator; the validators are tested on their own and on the shipped model.
        "validators": [],
        // Its rules emit I-PHONE for every digit word, never B-PHONE.
        "decoding": "argmax",
        "fixture": {
            "description": "tiny rule-built test model, not trained: spoken digits, 'oh', 'double', 'triple' and digit word pieces -> I-PHONE; priya/rahul/john -> B-PERSON_NAME; sharma/smith -> I-PERSON_NAME; delhi/mumbai -> B-CITY; everything else O (by each word's first piece)",
            "seed": FIXTURE_SEED,
        },
    });
    Ok(Checkpoint { config, tensors: m, meta, tokenizer_json: tok_raw })
}

/// Fixture sentences printed and checked.
pub const FIXTURE_SENTENCES: &[&str] = &[
    "my number is nine eight seven and my name is priya sharma from delhi",
    "call me on 98765 43210 or double four oh triple two",
    "this is john smith in mumbai",
    "rahul here the order id is twelve and the amount is fifty",
    "uh my name is priya and i live in delhi",
];

/// Tags each word of `text` by its first piece with an ONNX model; returns (word, tag, margin).
pub fn tag_words(
    model: &mut OrtModel,
    tok: &tokenizers::Tokenizer,
    tag_names: &[String],
    text: &str,
) -> Result<Vec<(String, String, f32)>> {
    let enc = tok.encode(text, true).map_err(|e| anyhow!("tokenize: {e}"))?;
    let logits = model.logits(enc.get_ids())?;
    let words: Vec<&str> = text.split_whitespace().collect();
    let mut out = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for (i, w) in enc.get_word_ids().iter().enumerate() {
        let Some(w) = w else { continue };
        if !seen.insert(*w) {
            continue;
        }
        let row = &logits[i];
        let best = argmax(row);
        let second = row.iter().enumerate().filter(|(k, _)| *k != best).fold(f32::NEG_INFINITY, |m, (_, &x)| m.max(x));
        let word = words.get(*w as usize).copied().unwrap_or("?").to_string();
        out.push((word, tag_names[best].clone(), row[best] - second));
    }
    Ok(out)
}

/// Writes the fixture model directory (int8 `model.onnx`, tokenizer, manifest) and checks
/// through ONNX Runtime that every word of [`FIXTURE_SENTENCES`] gets its expected tag.
#[cfg_attr(not(test), allow(dead_code))] // the library-facing entry point; the CLI prints more
pub fn write_fixture(out: &Path, tokenizer: &Path) -> Result<()> {
    write_fixture_report(out, tokenizer, false).map(|_| ())
}

fn write_fixture_report(out: &Path, tokenizer: &Path, print: bool) -> Result<ExportReport> {
    let ck = fixture_checkpoint(tokenizer)?;
    let opts = ExportOptions {
        int8: true,
        fp32: false,
        name: Some("tiny-fixture".into()),
        version: Some(format!("fixture-{}", weights_hash(&ck))),
        verify: Verify::Required,
        ..Default::default()
    };
    let report = export_checkpoint(&ck, out, &opts)?;
    let tok = tokenizers::Tokenizer::from_file(out.join(TOKENIZER_FILE)).map_err(|e| anyhow!("{e}"))?;
    let tag_names = report.manifest.tag_names();
    let mut model = OrtModel::load(&out.join(MODEL_FILE), 1)?;
    let mut bad = Vec::new();
    let mut min_margin = f32::INFINITY;
    for s in FIXTURE_SENTENCES {
        let tagged = tag_words(&mut model, &tok, &tag_names, s)?;
        if print {
            let line: Vec<String> = tagged
                .iter()
                .map(|(w, t, _)| if t == "O" { w.clone() } else { format!("{w}/{t}") })
                .collect();
            println!("  {}", line.join(" "));
        }
        for (w, t, margin) in tagged {
            min_margin = min_margin.min(margin);
            let want = fixture_expected_tag(&w);
            if t != want {
                bad.push(format!("{w:?} in {s:?}: got {t}, want {want}"));
            }
        }
    }
    if print {
        println!("  smallest logit margin: {min_margin:.2}");
    }
    if !bad.is_empty() {
        bail!("fixture tags are wrong:\n{}", bad.join("\n"));
    }
    if min_margin < 1.0 {
        bail!("fixture logit margin {min_margin} is too small");
    }
    Ok(report)
}

/// Run `fixture`.
pub fn run_fixture(args: FixtureArgs) -> Result<()> {
    println!("fixture tags (each word by its first piece, through ONNX Runtime, int8):");
    let report = write_fixture_report(&args.out, &args.tokenizer, true)?;
    print_report(&args.out, &report);
    let total: u64 = report.files.iter().map(|(_, n)| n).sum();
    println!("  total {:.2} MB", total as f64 / 1e6);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::onnx::tests::tiny_checkpoint;

    /// The BERT uncased tokenizer: the committed fixture's copy, else `.deps/minilm`.
    fn bert_tokenizer() -> PathBuf {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        for p in ["tests/fixtures/tiny/tokenizer.json", ".deps/minilm/tokenizer.json"] {
            if root.join(p).exists() {
                return root.join(p);
            }
        }
        panic!("no BERT tokenizer.json: need tests/fixtures/tiny/tokenizer.json or .deps/minilm/tokenizer.json");
    }

    #[test]
    fn fixture_exports_validates_and_tags() {
        let dir = tempfile::tempdir().unwrap();
        // write_fixture checks every word of FIXTURE_SENTENCES through ONNX Runtime.
        write_fixture(dir.path(), &bert_tokenizer()).unwrap();
        let m = Manifest::read(dir.path()).unwrap();
        assert_eq!(m.labels, default_labels());
        assert_eq!(m.max_length, FIXTURE_MAX_LENGTH);
        assert_eq!(m.model_file, MODEL_FILE);
        assert_eq!(m.vocab_size, 30522);
        assert!(!dir.path().join(MODEL_FP32_FILE).exists());
        let total: u64 = [MODEL_FILE, TOKENIZER_FILE, MANIFEST_FILE]
            .iter()
            .map(|f| std::fs::metadata(dir.path().join(f)).unwrap().len())
            .sum();
        assert!(total < 4_000_000, "fixture is {total} bytes");
        // Same seed, same bytes.
        let again = tempfile::tempdir().unwrap();
        write_fixture(again.path(), &bert_tokenizer()).unwrap();
        assert_eq!(
            std::fs::read(dir.path().join(MODEL_FILE)).unwrap(),
            std::fs::read(again.path().join(MODEL_FILE)).unwrap()
        );
    }

    #[test]
    fn export_from_checkpoint_dir() {
        let ck = tiny_checkpoint(5);
        let ckdir = tempfile::tempdir().unwrap();
        ck.save(ckdir.path()).unwrap();
        let out = tempfile::tempdir().unwrap();
        run(Args {
            checkpoint: ckdir.path().to_path_buf(),
            out: out.path().to_path_buf(),
            fp32_only: false,
            no_fp32: false,
            name: Some("t".into()),
            version: None,
            no_verify: false,
        })
        .unwrap();
        let m = Manifest::read(out.path()).unwrap();
        assert_eq!(m.name, "t");
        assert_eq!(m.model_file, MODEL_FILE);
        assert!(m.version.ends_with(&weights_hash(&ck)));
        assert!(m.training["export"]["files"][MODEL_FP32_FILE].as_u64().unwrap() > 0);
        assert!(m.training["export"]["int8_vs_fp32_probe"]["positions"].as_u64().unwrap() > 0);
        assert_eq!(m.training["random_init_seed"], 5);
        let tok: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out.path().join(TOKENIZER_FILE)).unwrap()).unwrap();
        assert!(tok["padding"].is_null() && tok["truncation"].is_null());
        // Every written file's SHA-256 is in the manifest, and only those.
        let names: Vec<&str> = m.sha256.keys().map(String::as_str).collect();
        let mut want = [MODEL_FILE, MODEL_FP32_FILE, TOKENIZER_FILE];
        want.sort();
        assert_eq!(names, want);
        for (f, h) in &m.sha256 {
            assert_eq!(h, &pii::manifest::sha256_hex(&std::fs::read(out.path().join(f)).unwrap()), "{f}");
        }

        // --fp32-only: the manifest points at the fp32 file and the stale int8 file goes.
        let opts = ExportOptions { int8: false, ..Default::default() };
        let r = export_checkpoint(&ck, out.path(), &opts).unwrap();
        assert_eq!(r.manifest.model_file, MODEL_FP32_FILE);
        assert!(!out.path().join(MODEL_FILE).exists());
        let m = Manifest::read(out.path()).unwrap();
        assert_eq!(m.model_file, MODEL_FP32_FILE);
        assert_eq!(m.sha256.keys().map(String::as_str).collect::<Vec<_>>(), [MODEL_FP32_FILE, TOKENIZER_FILE]);
    }

    #[test]
    fn export_rejects_label_mismatch() {
        let mut ck = tiny_checkpoint(6);
        ck.meta["labels"] = serde_json::json!([{"name": "PHONE", "pii": true}]);
        let out = tempfile::tempdir().unwrap();
        let e = export_checkpoint(&ck, out.path(), &ExportOptions::default()).unwrap_err();
        assert!(e.to_string().contains("labels"), "{e}");
    }
}
