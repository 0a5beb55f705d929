//! `pii-trainer train`: fine-tune a BERT-family encoder as a word-level BIO tagger on CPU.
//!
//! Features come from the library's own tokenization (`pii::encode::Encoder`), so training
//! and inference agree: input = `[CLS] pieces [SEP]`, and only the first piece of each
//! whitespace word carries the word's tag; every other position is masked out of the loss.
//!
//! Speed: the batch is split into `--threads` parts that run forward/backward on their own
//! threads (gemm single-threaded in each), and their gradients are summed by an in-place
//! AdamW. Each part is padded only to its longest sequence; batches are built from
//! length-sorted chunks so padding stays small.
//!
//! Layer selection (`--layers N`): keeps teacher layers `floor(i * L / N)` for `i in 0..N`
//! (6 -> 3 keeps 0, 2, 4; DistilBERT's every-other-layer choice). Layer 0 is always kept, so
//! the embeddings still feed the layer that was trained on them. `--keep-layers 1,3,5`
//! chooses explicitly.

use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use pii::encode::{Encoded, Encoder};
use pii::manifest::{default_labels, LabelInfo};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde_json::json;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::bert::{masked_cross_entropy, BertTagger, Dropout};
use crate::distill;
use crate::prune;
use crate::resume;
use crate::data::{self, Entity, Example};
use crate::features::{batch_tensors, featurize, Feature};
use crate::optim::{lr_factor, AdamW, PartGrads};

/// Command-line arguments.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Initial weights: a pretrained BERT directory (config.json, model.safetensors,
    /// tokenizer.json) or a trained checkpoint. Default: .deps/minilm (`train`), the teacher
    /// (`distill`).
    #[arg(long)]
    pub init: Option<PathBuf>,
    /// Training jsonl files, comma separated (a file listed twice is used twice per epoch).
    #[arg(long, value_delimiter = ',', default_value = "data/train.jsonl")]
    pub train: Vec<PathBuf>,
    /// Dev jsonl files (comma separated), scored together each epoch; the best epoch by span
    /// F1 is kept.
    #[arg(long, value_delimiter = ',')]
    pub dev: Vec<PathBuf>,
    /// Output checkpoint directory.
    #[arg(long)]
    pub out: PathBuf,
    #[arg(long, default_value_t = 4)]
    pub epochs: usize,
    #[arg(long, default_value_t = 16)]
    pub batch_size: usize,
    /// Peak learning rate of the encoder.
    #[arg(long, default_value_t = 5e-5)]
    pub lr: f64,
    /// Peak learning rate of the new classifier head (default: 10 x --lr).
    #[arg(long)]
    pub head_lr: Option<f64>,
    #[arg(long, default_value_t = 0.01)]
    pub weight_decay: f64,
    /// Fraction of the steps spent in linear warmup.
    #[arg(long, default_value_t = 0.1)]
    pub warmup: f64,
    /// Clip the global gradient norm to this (0 = off).
    #[arg(long, default_value_t = 1.0)]
    pub clip: f64,
    #[arg(long, default_value_t = 0.1)]
    pub dropout: f32,
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Keep N evenly spaced teacher layers (floor(i*L/N)); default all.
    #[arg(long)]
    pub layers: Option<usize>,
    /// Keep exactly these teacher layers (comma separated), overrides --layers.
    #[arg(long, value_delimiter = ',')]
    pub keep_layers: Option<Vec<usize>>,
    /// Maximum tokens per sequence including [CLS] and [SEP].
    #[arg(long, default_value_t = 128)]
    pub max_length: usize,
    /// Worker threads (each runs part of every batch with single-threaded kernels).
    #[arg(long, default_value_t = 2)]
    pub threads: usize,
    /// Use only the first N training examples.
    #[arg(long)]
    pub limit: Option<usize>,
    /// Use only the first N dev examples.
    #[arg(long)]
    pub dev_limit: Option<usize>,
    /// Stop after N optimizer steps (the schedule still spans all epochs).
    #[arg(long)]
    pub max_steps: Option<usize>,
    /// Narrow the init to this residual width (units chosen by importance; see `prune`).
    #[arg(long)]
    pub hidden: Option<usize>,
    /// Narrow the init to this many attention heads per layer (head width kept).
    #[arg(long)]
    pub heads: Option<usize>,
    /// Narrow the init to this FFN width.
    #[arg(long)]
    pub ffn: Option<usize>,
    /// A trained checkpoint whose soft targets the model learns besides the gold tags.
    #[arg(long)]
    pub teacher: Option<PathBuf>,
    /// Weight of the teacher's term in the loss (0 = gold only, 1 = teacher only).
    #[arg(long, default_value_t = 0.5)]
    pub alpha: f64,
    /// Softmax temperature of the teacher's and the student's distributions.
    #[arg(long, default_value_t = 2.0)]
    pub temperature: f64,
    /// End after this epoch, leaving its resume point: the same command without this flag
    /// continues from there (to split a run across sessions).
    #[arg(long)]
    pub stop_after_epoch: Option<usize>,
}

/// How each batch's loss is made: gold tags only, or gold and a teacher's soft targets.
#[derive(Clone, Copy, Debug)]
pub struct Loss {
    pub alpha: f64,
    pub temperature: f64,
    pub distill: bool,
}



/// Loss and gradients of one part of a batch (loss normalised by `norm`).
fn part_grads(model: &BertTagger, feats: &[&Feature], norm: f32, dropout: &mut Dropout, how: Loss) -> Result<PartGrads> {
    let (ids, mask, lab, w) = batch_tensors(feats, norm)?;
    let (b, s) = ids.dims2()?;
    let (logits, rows) = model.forward_sparse(&ids, &mask, Some(dropout))?;
    let logits = logits.reshape((b * s, model.num_tags))?;
    let mut loss = masked_cross_entropy(&logits, &lab, &w)?;
    if how.distill {
        let soft = distill::soft_tensor(feats, model.num_tags)?;
        let kd = distill::soft_cross_entropy(&logits, &soft, &w, how.temperature)?;
        loss = ((loss * (1.0 - how.alpha))? + (kd * how.alpha)?)?;
    }
    let grads = loss.backward()?;
    let word_rows = grads.get(rows.as_tensor()).context("no gradient for the word rows")?.contiguous()?;
    Ok(PartGrads { loss: loss.to_scalar::<f32>()?, grads, word_ids: ids.flatten_all()?.to_vec1::<u32>()?, word_rows })
}

/// Split `items` into `k` contiguous parts of near-equal size (no empty parts).
fn split_parts<T>(items: &[T], k: usize) -> Vec<&[T]> {
    let k = k.max(1).min(items.len().max(1));
    let n = items.len();
    let mut out = Vec::with_capacity(k);
    let mut start = 0;
    for i in 0..k {
        let end = (n * (i + 1)) / k;
        if end > start {
            out.push(&items[start..end]);
        }
        start = end;
    }
    out
}

fn dropout_seed(seed: u64, step: usize, part: usize) -> u64 {
    let mut z = seed ^ ((step as u64) << 8 | part as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Forward/backward of a whole batch on `threads` workers; the loss is the batch mean.
fn batch_grads(
    model: &BertTagger,
    feats: &[&Feature],
    threads: usize,
    dropout_p: f32,
    seed: u64,
    step: usize,
    how: Loss,
) -> Result<(f32, Vec<PartGrads>)> {
    let norm: f32 = feats.iter().map(|f| f.scored.iter().sum::<f32>()).sum::<f32>().max(1.0);
    let parts = split_parts(feats, threads);
    if parts.len() == 1 {
        let mut d = Dropout::new(dropout_seed(seed, step, 0), dropout_p);
        let g = part_grads(model, parts[0], norm, &mut d, how)?;
        return Ok((g.loss, vec![g]));
    }
    let results: Vec<Result<PartGrads>> = std::thread::scope(|sc| {
        let hs: Vec<_> = parts
            .iter()
            .enumerate()
            .map(|(i, p)| {
                sc.spawn(move || {
                    let mut d = Dropout::new(dropout_seed(seed, step, i), dropout_p);
                    part_grads(model, p, norm, &mut d, how)
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().expect("worker panicked")).collect()
    });
    let mut loss = 0.0;
    let mut gs = Vec::new();
    for r in results {
        let g = r?;
        loss += g.loss;
        gs.push(g);
    }
    Ok((loss, gs))
}

/// Word-piece logits of each dev example (eval mode), on `threads` workers, laid out as the
/// library's decoder reads them: one row per piece of the example's [`Encoded`]; pieces past
/// the training window read as a confident `O`.
fn predict_logits(model: &BertTagger, dev: &DevSet, threads: usize) -> Result<Vec<Vec<f32>>> {
    let tags = model.num_tags;
    let refs: Vec<&Feature> = dev.feats.iter().collect();
    let rows = distill::feature_logits(model, &refs, threads)?;
    Ok(rows
        .into_iter()
        .enumerate()
        .map(|(i, rows)| {
            let enc = &dev.encs[i];
            let mut out: Vec<f32> = (0..enc.ids.len() * tags).map(|k| if k % tags == 0 { 10.0 } else { 0.0 }).collect();
            for (w, pos) in dev.feats[i].word_pos.iter().enumerate() {
                if let (Some(pos), Some(p)) = (pos, enc.first_piece[w]) {
                    out[p as usize * tags..(p as usize + 1) * tags].copy_from_slice(&rows[*pos]);
                }
            }
            out
        })
        .collect())
}

struct DevSet {
    examples: Vec<Example>,
    feats: Vec<Feature>,
    encs: Vec<Encoded>,
}

/// Score the model on dev through the library's decoder (constrained decoding and every
/// validator, no thresholds) and the one scorer, [`crate::eval::score`].
fn evaluate(model: &BertTagger, dev: &DevSet, labels: &[LabelInfo], threads: usize) -> Result<serde_json::Value> {
    let logits = predict_logits(model, dev, threads)?;
    let names: Vec<(&str, bool)> = labels.iter().map(|l| (l.name.as_str(), l.pii)).collect();
    let decoder = pii::decode::Decoder::new(&names, vec![0.0; labels.len()], true, pii::Validators::ALL);
    let mut pred = HashMap::new();
    for (i, ex) in dev.examples.iter().enumerate() {
        let spans = decoder.decode(&ex.text, &dev.encs[i], &logits[i]);
        let ents = spans
            .iter()
            .map(|s| Entity {
                start: data::byte_to_char(&ex.text, s.start),
                end: data::byte_to_char(&ex.text, s.end),
                label: labels[s.label].name.clone(),
            })
            .collect();
        pred.insert(ex.id.clone(), ents);
    }
    Ok(serde_json::to_value(crate::eval::score(&dev.examples, &pred))?)
}

/// Keep freed memory in the process: candle allocates fresh buffers for every op, and
/// glibc's default trimming returns them to the kernel, so each step page-faults them back.
fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        extern "C" {
            fn mallopt(param: i32, value: i32) -> i32;
        }
        const M_TRIM_THRESHOLD: i32 = -1;
        const M_MMAP_THRESHOLD: i32 = -3;
        // SAFETY: mallopt only changes allocator tunables; called before worker threads start.
        unsafe {
            mallopt(M_TRIM_THRESHOLD, i32::MAX);
            mallopt(M_MMAP_THRESHOLD, 32 << 20);
        }
    }
}

/// Teacher layers kept for `--layers n` out of `total`: `floor(i * total / n)`.
pub fn select_layers(total: usize, n: usize) -> Result<Vec<usize>> {
    if n == 0 || n > total {
        bail!("--layers must be between 1 and {total}");
    }
    Ok((0..n).map(|i| i * total / n).collect())
}


/// Run the command.
pub fn run(args: Args) -> Result<()> {
    let t0 = Instant::now();
    if args.batch_size == 0 || args.epochs == 0 {
        bail!("--batch-size and --epochs must be positive");
    }
    let threads = args.threads.max(1);
    // Each worker runs its part with single-threaded kernels.
    std::env::set_var("RAYON_NUM_THREADS", "1");
    keep_freed_memory();

    let labels = default_labels();
    let num_tags = 1 + 2 * labels.len();
    let init = args.init.clone().or_else(|| args.teacher.clone()).unwrap_or_else(|| PathBuf::from(".deps/minilm"));
    let tok_path = init.join("tokenizer.json");
    let encoder = Encoder::from_file(&tok_path, args.max_length)
        .map_err(|e| anyhow::anyhow!("{}: {e}", tok_path.display()))?;

    let init_cfg = crate::bert::BertConfig::from_file(&init.join("config.json"))?;
    let keep: Vec<usize> = match (&args.keep_layers, args.layers) {
        (Some(k), _) => k.clone(),
        (None, Some(n)) => select_layers(init_cfg.num_hidden_layers, n)?,
        (None, None) => (0..init_cfg.num_hidden_layers).collect(),
    };
    if args.max_length > init_cfg.max_position_embeddings {
        bail!("--max-length {} exceeds max_position_embeddings {}", args.max_length, init_cfg.max_position_embeddings);
    }
    let shape = prune::Shape { hidden: args.hidden, heads: args.heads, ffn: args.ffn };
    let from_trained = init.join("train_meta.json").is_file();
    let (model, mut cfg_json) = if from_trained || !shape.is_full() {
        // A trained checkpoint keeps its head; a narrowed pretrained encoder gets a new one.
        prune::student_from_checkpoint(&init, &keep, shape, num_tags, args.seed)?
    } else {
        BertTagger::from_pretrained(&init, num_tags, Some(&keep), args.seed)?
    };
    if model.num_tags != num_tags {
        bail!("{}: the checkpoint has {} tags, this label set needs {num_tags}", init.display(), model.num_tags);
    }
    if !(0.0..=1.0).contains(&args.alpha) || args.temperature <= 0.0 {
        bail!("--alpha must be in [0, 1] and --temperature positive");
    }
    let how = Loss { alpha: args.alpha, temperature: args.temperature, distill: args.teacher.is_some() };

    let mut train_ex = Vec::new();
    for p in &args.train {
        train_ex.extend(data::read_jsonl(p)?);
    }
    if let Some(n) = args.limit {
        train_ex.truncate(n);
    }
    if train_ex.is_empty() {
        bail!("no training examples");
    }
    let mut feats = Vec::with_capacity(train_ex.len());
    let mut truncated = 0;
    for ex in &train_ex {
        let (f, enc) = featurize(&encoder, ex, &labels, args.max_length)?;
        if enc.ids.len() + 2 > args.max_length {
            truncated += 1;
        }
        feats.push(f);
    }
    let mut teacher_seconds = 0.0;
    let mut teacher: Option<BertTagger> = None;
    if let Some(tdir) = &args.teacher {
        let tt = Instant::now();
        let same_tokenizer = std::fs::read(tdir.join("tokenizer.json")).ok() == std::fs::read(&tok_path).ok();
        if !same_tokenizer {
            bail!("the teacher {} and the init {} have different tokenizers", tdir.display(), init.display());
        }
        let t = BertTagger::load_checkpoint(tdir)?;
        teacher = Some(t);
        let teacher = teacher.as_ref().expect("just set");
        if teacher.num_tags != num_tags {
            bail!("{}: the teacher has {} tags, this label set needs {num_tags}", tdir.display(), teacher.num_tags);
        }
        eprintln!("distill: teacher {} labels {} examples (T = {})", tdir.display(), feats.len(), args.temperature);
        distill::attach_soft_targets(&teacher, &mut feats, args.temperature as f32, threads)?;
        teacher_seconds = tt.elapsed().as_secs_f64();
        eprintln!("distill: soft targets in {teacher_seconds:.1} s ({:.0} examples/s)", feats.len() as f64 / teacher_seconds.max(1e-9));
    }
    let dev = match args.dev.is_empty() {
        false => {
            let mut examples = Vec::new();
            for p in &args.dev {
                examples.extend(data::read_jsonl(p)?);
            }
            if let Some(n) = args.dev_limit {
                examples.truncate(n);
            }
            let mut fs = Vec::new();
            let mut encs = Vec::new();
            for ex in &examples {
                let (f, enc) = featurize(&encoder, ex, &labels, args.max_length)?;
                fs.push(f);
                encs.push(enc);
            }
            if let Some(t) = &teacher {
                distill::attach_soft_targets(t, &mut fs, args.temperature as f32, threads)?;
            }
            Some(DevSet { examples, feats: fs, encs })
        }
        true => None,
    };
    drop(teacher);

    let steps_per_epoch = feats.len().div_ceil(args.batch_size);
    let sched_total = steps_per_epoch * args.epochs;
    let total_steps = args.max_steps.map(|m| m.min(sched_total)).unwrap_or(sched_total);
    let warmup = ((sched_total as f64 * args.warmup).ceil() as usize).max(1);
    let head_lr = args.head_lr.unwrap_or(args.lr * 10.0);
    let n_params: usize = model.params.iter().map(|(_, v)| v.elem_count()).sum();
    eprintln!(
        "train: {} examples ({} truncated), dev: {}, {} layers kept {:?}, {:.1}M params, {} steps/epoch x {} epochs, batch {}, lr {} (head {}), {} threads",
        feats.len(),
        truncated,
        dev.as_ref().map(|d| d.examples.len()).unwrap_or(0),
        keep.len(),
        keep,
        n_params as f64 / 1e6,
        steps_per_epoch,
        args.epochs,
        args.batch_size,
        args.lr,
        head_lr,
        threads
    );

    std::fs::create_dir_all(&args.out).with_context(|| format!("create {}", args.out.display()))?;
    cfg_json["architectures"] = json!(["BertForTokenClassification"]);
    let tag_names = {
        let mut t = vec!["O".to_string()];
        for l in &labels {
            t.push(format!("B-{}", l.name));
            t.push(format!("I-{}", l.name));
        }
        t
    };
    cfg_json["id2label"] = json!(tag_names.iter().enumerate().map(|(i, n)| (i.to_string(), json!(n))).collect::<serde_json::Map<String, serde_json::Value>>());
    cfg_json["label2id"] = json!(tag_names.iter().enumerate().map(|(i, n)| (n.clone(), json!(i))).collect::<serde_json::Map<String, serde_json::Value>>());
    std::fs::write(args.out.join("config.json"), serde_json::to_string_pretty(&cfg_json)?)?;
    std::fs::copy(&tok_path, args.out.join("tokenizer.json"))?;

    let mut opt = AdamW::new(&model.params, args.weight_decay as f32, threads);
    let mut rng = ChaCha8Rng::seed_from_u64(args.seed);
    let mut step = 0usize;
    let mut history = Vec::new();
    let mut best: Option<(usize, f64, serde_json::Value)> = None;
    let mut train_seconds = 0.0;
    let mut trained_steps = 0usize;

    // What makes a resume point this run's own.
    let fingerprint = format!(
        "{:?}",
        (
            args.train.iter().map(|p| (p.display().to_string(), std::fs::metadata(p).map(|m| m.len()).unwrap_or(0))).collect::<Vec<_>>(),
            (args.epochs, args.batch_size, args.lr, head_lr, args.seed, args.limit, args.max_steps, args.max_length),
            (&keep, shape, init.display().to_string(), args.teacher.as_ref().map(|t| t.display().to_string()), args.alpha, args.temperature),
        )
    );
    let mut start_epoch = 1;
    if let Some(p) = resume::load(&args.out, &fingerprint, &model, &mut opt)? {
        eprintln!("train: resuming {} after epoch {} (step {})", args.out.display(), p.epoch, p.step);
        (step, train_seconds, trained_steps, history, best, start_epoch) =
            (p.step, p.train_seconds, p.trained_steps, p.history, p.best, p.epoch + 1);
    }

    'epochs: for epoch in 1..=args.epochs {
        // Shuffle, sort chunks of 50 batches by length, shuffle the batches.
        let mut idx: Vec<usize> = (0..feats.len()).collect();
        idx.shuffle(&mut rng);
        for chunk in idx.chunks_mut(args.batch_size * 50) {
            chunk.sort_by_key(|&i| feats[i].ids.len());
        }
        let mut batches: Vec<Vec<usize>> = idx.chunks(args.batch_size).map(|c| c.to_vec()).collect();
        batches.shuffle(&mut rng);
        if epoch < start_epoch {
            continue; // done before the resume point; the shuffles above keep the order
        }
        let n_batches = batches.len().min(total_steps - step);
        let pb = ProgressBar::new(n_batches as u64).with_style(
            ProgressStyle::with_template("epoch {prefix} {bar:30} {pos}/{len} {msg} [{elapsed_precise}<{eta_precise}]")
                .unwrap(),
        );
        pb.set_prefix(format!("{epoch}/{}", args.epochs));
        let te = Instant::now();
        let mut loss_sum = 0.0f64;
        let mut n = 0usize;
        for b in batches.iter().take(n_batches) {
            let fs: Vec<&Feature> = b.iter().map(|&i| &feats[i]).collect();
            let tg = Instant::now();
            let (loss, grads) = batch_grads(&model, &fs, threads, args.dropout, args.seed, step, how)?;
            let tg = tg.elapsed().as_secs_f64();
            let to = Instant::now();
            if !loss.is_finite() {
                bail!("loss is {loss} at step {step}");
            }
            let f = lr_factor(step, sched_total, warmup);
            let (lr_body, lr_head) = ((args.lr * f) as f32, (head_lr * f) as f32);
            opt.step(
                &model.params,
                &grads,
                &|name: &str| if name.starts_with("classifier.") { lr_head } else { lr_body },
                args.clip as f32,
            )?;
            let to = to.elapsed().as_secs_f64();
            let td = Instant::now();
            drop(grads);
            if std::env::var_os("PII_TRAIN_PROFILE").is_some() {
                eprintln!("step {step}: grads {tg:.3} s, optimizer {to:.3} s, drop {:.3} s, max len {}", td.elapsed().as_secs_f64(), fs.iter().map(|f| f.ids.len()).max().unwrap_or(0));
            }
            step += 1;
            n += 1;
            loss_sum += loss as f64;
            let sps = te.elapsed().as_secs_f64() / n as f64;
            pb.set_message(format!("loss {:.4} ({:.3} s/step)", loss_sum / n as f64, sps));
            pb.inc(1);
            if pb.is_hidden() && (n % 50 == 0 || n == n_batches) {
                let left = (total_steps - step) as f64 * sps;
                eprintln!(
                    "epoch {epoch} step {n}/{n_batches} loss {:.4} ({sps:.3} s/step, {:.1} examples/s, ETA {:.0} min)",
                    loss_sum / n as f64,
                    args.batch_size as f64 / sps,
                    left / 60.0
                );
            }
        }
        pb.finish_and_clear();
        let secs = te.elapsed().as_secs_f64();
        train_seconds += secs;
        trained_steps += n;
        let ev = Instant::now();
        let metrics = match &dev {
            Some(d) => Some(evaluate(&model, d, &labels, threads)?),
            None => None,
        };
        let dev_kl = match (&dev, how.distill) {
            (Some(d), true) => Some(distill::mean_kl(&model, &d.feats.iter().collect::<Vec<_>>(), args.temperature as f32)?),
            _ => None,
        };
        if let Some(kl) = dev_kl {
            eprintln!("epoch {epoch}: dev KL to the teacher {kl:.4} (T = {})", args.temperature);
        }
        let f1 = metrics.as_ref().map(|m| m["micro"]["f1"].as_f64().unwrap_or(0.0));
        let pii_f1 = metrics.as_ref().map(|m| m["pii_strict"]["f1"].as_f64().unwrap_or(0.0));
        let loss = loss_sum / n.max(1) as f64;
        eprintln!(
            "epoch {epoch}: loss {loss:.4}, dev span F1 {}, PII F1 {}, {n} steps in {secs:.1} s ({:.3} s/step), eval {:.1} s",
            f1.map(|f| format!("{f:.4}")).unwrap_or("-".into()),
            pii_f1.map(|f| format!("{f:.4}")).unwrap_or("-".into()),
            secs / n.max(1) as f64,
            ev.elapsed().as_secs_f64()
        );
        history.push(json!({
            "epoch": epoch, "steps": n, "loss": loss, "dev_f1": f1, "dev_pii_f1": pii_f1, "dev_kl": dev_kl,
            "seconds": secs, "seconds_per_step": secs / n.max(1) as f64,
        }));
        let score = f1.unwrap_or(epoch as f64); // no dev set: keep the last epoch
        if best.as_ref().map(|b| score > b.1).unwrap_or(true) {
            let tmp = args.out.join("model.safetensors.tmp");
            model.save_safetensors(&tmp)?;
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o644))?;
            }
            std::fs::rename(&tmp, args.out.join("model.safetensors"))?;
            best = Some((epoch, score, metrics.unwrap_or(serde_json::Value::Null)));
        }
        if step >= total_steps {
            break 'epochs;
        }
        let point = resume::Point {
            fingerprint: fingerprint.clone(),
            epoch,
            step,
            train_seconds,
            trained_steps,
            history: history.clone(),
            best: best.clone(),
            adam_t: opt.state().0,
        };
        resume::save(&args.out, &model, &opt, &point)?;
        if args.stop_after_epoch == Some(epoch) {
            eprintln!("train: stopped after epoch {epoch}; rerun without --stop-after-epoch to continue");
            return Ok(());
        }
    }
    resume::clear(&args.out);

    let (best_epoch, _, dev_metrics) = best.context("no epoch ran")?;
    let meta = json!({
        "labels": labels,
        "max_length": args.max_length,
        "seed": args.seed,
        "init": init.display().to_string(),
        "teacher": args.teacher.as_ref().map(|t| t.display().to_string()),
        "alpha": args.teacher.as_ref().map(|_| args.alpha),
        "temperature": args.teacher.as_ref().map(|_| args.temperature),
        "teacher_seconds": teacher_seconds,
        "shape": {"layers": model.config.num_hidden_layers, "hidden": model.config.hidden_size, "heads": model.config.num_attention_heads, "ffn": model.config.intermediate_size},
        "init_layers": keep,
        "epochs": args.epochs,
        "best_epoch": best_epoch,
        "batch_size": args.batch_size,
        "lr": args.lr,
        "head_lr": head_lr,
        "weight_decay": args.weight_decay,
        "warmup": args.warmup,
        "dropout": args.dropout,
        "threads": threads,
        "steps": step,
        "max_steps": args.max_steps,
        "seconds_per_step": train_seconds / trained_steps.max(1) as f64,
        "train_files": args.train.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
        "train_examples": feats.len(),
        "dev_files": args.dev.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
        "dev_examples": dev.as_ref().map(|d| d.examples.len()),
        "dev_metrics": dev_metrics,
        "history": history,
        "wall_seconds": t0.elapsed().as_secs_f64(),
    });
    std::fs::write(args.out.join("train_meta.json"), serde_json::to_string_pretty(&meta)?)?;
    eprintln!(
        "wrote {} (best epoch {best_epoch}) in {:.1} s",
        args.out.display(),
        t0.elapsed().as_secs_f64()
    );
    Ok(())
}

/// A checkpoint's directory check used by tests and other commands.
#[allow(dead_code)]
pub fn checkpoint_files(dir: &Path) -> [PathBuf; 4] {
    ["config.json", "model.safetensors", "tokenizer.json", "train_meta.json"].map(|f| dir.join(f))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::word_tags;
    use candle_core::{Device, Tensor, Var};
    use crate::bert::tests::tiny_config;
    use candle_core::DType;

    pub(crate) const GOLD: Loss = Loss { alpha: 0.0, temperature: 1.0, distill: false };

    const VOCAB: &[&str] = &[
        "[PAD]", "[UNK]", "[CLS]", "[SEP]", "my", "naam", "is", "jo", "##se", "ku", "##mar", "and", "ro", "##han", "@",
        "x", ".", "com", "card", "four", "two",
    ];

    /// A tiny WordPiece tokenizer.json (BERT normalizer and pre-tokenizer).
    pub(crate) fn tiny_tokenizer_json() -> String {
        let vocab: serde_json::Map<String, serde_json::Value> =
            VOCAB.iter().enumerate().map(|(i, s)| (s.to_string(), json!(i))).collect();
        json!({
            "version": "1.0", "truncation": null, "padding": null, "added_tokens": [],
            "normalizer": {"type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": true,
                           "strip_accents": null, "lowercase": true},
            "pre_tokenizer": {"type": "BertPreTokenizer"},
            "post_processor": null, "decoder": null,
            "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                      "max_input_chars_per_word": 100, "vocab": vocab},
        })
        .to_string()
    }

    fn ent(start: usize, end: usize, label: &str) -> Entity {
        Entity { start, end, label: label.into() }
    }

    #[test]
    fn labels_align_to_first_pieces() {
        let enc = Encoder::from_bytes(tiny_tokenizer_json().as_bytes(), 128).unwrap();
        let text = "my naam is josé kumar and email is rohan@x.com";
        // Char offsets: "josé kumar" = 11..21, "rohan@x.com" = 35..46 (bytes are one more).
        let ex = Example {
            id: "a".into(),
            text: text.into(),
            entities: vec![ent(11, 21, "PERSON_NAME"), ent(35, 46, "EMAIL")],
        };
        assert_eq!(text.chars().skip(11).take(10).collect::<String>(), "josé kumar");
        let labels = default_labels();
        let (f, e) = featurize(&enc, &ex, &labels, 128).unwrap();
        // [CLS] my naam is jo ##se ku ##mar and [UNK] is ro ##han @ x . com [SEP]
        assert_eq!(f.ids, vec![2, 4, 5, 6, 7, 8, 9, 10, 11, 1, 6, 12, 13, 14, 15, 16, 17, 3]);
        let person = labels.iter().position(|l| l.name == "PERSON_NAME").unwrap() as u32;
        let email = labels.iter().position(|l| l.name == "EMAIL").unwrap() as u32;
        let mut want_lab = vec![0u32; 18];
        want_lab[4] = 1 + 2 * person;
        want_lab[6] = 2 + 2 * person;
        want_lab[11] = 1 + 2 * email;
        assert_eq!(f.labels, want_lab);
        let scored: Vec<usize> = f.scored.iter().enumerate().filter(|(_, &s)| s > 0.0).map(|(i, _)| i).collect();
        assert_eq!(scored, vec![1, 2, 3, 4, 6, 8, 9, 10, 11]);
        // The library's decoder reads the gold word tags (as one-hot piece logits) back as the
        // gold spans.
        let tags = word_tags(&ex, &e, &labels).unwrap();
        let nt = 1 + 2 * labels.len();
        let mut logits = vec![0.0f32; e.ids.len() * nt];
        for (w, &t) in tags.iter().enumerate() {
            logits[e.first_piece[w].unwrap() as usize * nt + t as usize] = 10.0;
        }
        let names: Vec<(&str, bool)> = labels.iter().map(|l| (l.name.as_str(), l.pii)).collect();
        let d = pii::decode::Decoder::new(&names, vec![0.0; labels.len()], true, pii::Validators::NONE);
        let got: Vec<Entity> = d
            .decode(text, &e, &logits)
            .iter()
            .map(|s| ent(data::byte_to_char(text, s.start), data::byte_to_char(text, s.end), &labels[s.label].name))
            .collect();
        assert_eq!(got, ex.entities);
    }

    #[test]
    fn truncation_drops_words_past_the_window() {
        let enc = Encoder::from_bytes(tiny_tokenizer_json().as_bytes(), 6).unwrap();
        let ex = Example { id: "t".into(), text: "my card four two four".into(), entities: vec![ent(8, 21, "CREDIT_CARD")] };
        let (f, _) = featurize(&enc, &ex, &default_labels(), 6).unwrap();
        assert_eq!(f.ids.len(), 6);
        assert_eq!(f.labels, vec![0, 0, 0, 1, 2, 0]);
        assert_eq!(f.word_pos, vec![Some(1), Some(2), Some(3), Some(4), None]);
    }

    #[test]
    fn layer_selection() {
        assert_eq!(select_layers(6, 3).unwrap(), vec![0, 2, 4]);
        assert_eq!(select_layers(6, 6).unwrap(), vec![0, 1, 2, 3, 4, 5]);
        assert_eq!(select_layers(12, 4).unwrap(), vec![0, 3, 6, 9]);
        assert!(select_layers(6, 7).is_err());
    }

    fn tiny_feats() -> Vec<Feature> {
        let enc = Encoder::from_bytes(tiny_tokenizer_json().as_bytes(), 32).unwrap();
        let labels = default_labels();
        let exs = [
            Example { id: "1".into(), text: "my card four two four two".into(), entities: vec![ent(8, 25, "CREDIT_CARD")] },
            Example { id: "2".into(), text: "my naam is josé kumar".into(), entities: vec![ent(11, 21, "PERSON_NAME")] },
            Example { id: "3".into(), text: "rohan@x.com is my naam".into(), entities: vec![ent(0, 11, "EMAIL")] },
        ];
        exs.iter().map(|e| featurize(&enc, e, &labels, 32).unwrap().0).collect()
    }

    fn batch_loss(model: &BertTagger, feats: &[&Feature]) -> f32 {
        let norm: f32 = feats.iter().map(|f| f.scored.iter().sum::<f32>()).sum();
        let (ids, mask, lab, w) = batch_tensors(feats, norm).unwrap();
        let (b, s) = ids.dims2().unwrap();
        let logits = model.forward(&ids, &mask, None).unwrap().reshape((b * s, model.num_tags)).unwrap();
        masked_cross_entropy(&logits, &lab, &w).unwrap().to_scalar::<f32>().unwrap()
    }

    #[test]
    fn training_steps_reduce_the_loss() {
        let model = BertTagger::random(tiny_config(VOCAB.len()), 15, 11).unwrap();
        let feats = tiny_feats();
        let fs: Vec<&Feature> = feats.iter().collect();
        let before = batch_loss(&model, &fs);
        let mut opt = AdamW::new(&model.params, 0.01, 2);
        for step in 0..30 {
            // Two parts on two threads, as in training.
            let (_, grads) = batch_grads(&model, &fs, 2, 0.1, 1, step, GOLD).unwrap();
            assert_eq!(grads.len(), 2);
            opt.step(&model.params, &grads, &|_| 3e-3, 1.0).unwrap();
        }
        let after = batch_loss(&model, &fs);
        assert!(after < before * 0.5, "loss {before} -> {after}");
    }

    #[test]
    fn distillation_lowers_the_kl_to_the_teacher() {
        // Teacher: a tiny model trained on the gold tags. Student: a narrowed copy of a
        // different random model, trained on the teacher's soft targets only (alpha 1).
        let teacher = BertTagger::random(tiny_config(VOCAB.len()), 15, 11).unwrap();
        let mut feats = tiny_feats();
        {
            let fs: Vec<&Feature> = feats.iter().collect();
            let mut opt = AdamW::new(&teacher.params, 0.01, 1);
            for step in 0..30 {
                let (_, g) = batch_grads(&teacher, &fs, 1, 0.0, 1, step, GOLD).unwrap();
                opt.step(&teacher.params, &g, &|_| 3e-3, 1.0).unwrap();
            }
        }
        distill::attach_soft_targets(&teacher, &mut feats, 2.0, 2).unwrap();
        let other = BertTagger::random(tiny_config(VOCAB.len()), 15, 99).unwrap();
        let t: std::collections::HashMap<String, Tensor> = other.params.iter().map(|(n, v)| (n.clone(), v.as_tensor().clone())).collect();
        let (nt, ncfg) = prune::narrow(&t, &other.config, prune::Shape { hidden: Some(12), heads: Some(3), ffn: Some(16) }).unwrap();
        let student = BertTagger::from_tensors(ncfg, 15, &nt, None).unwrap();
        let fs: Vec<&Feature> = feats.iter().collect();
        let before = distill::mean_kl(&student, &fs, 2.0).unwrap();
        let how = Loss { alpha: 1.0, temperature: 2.0, distill: true };
        let mut opt = AdamW::new(&student.params, 0.01, 2);
        for step in 0..40 {
            let (_, g) = batch_grads(&student, &fs, 2, 0.0, 1, step, how).unwrap();
            opt.step(&student.params, &g, &|_| 3e-3, 1.0).unwrap();
        }
        let after = distill::mean_kl(&student, &fs, 2.0).unwrap();
        assert!(before > 1e-3 && after < before * 0.3, "KL {before} -> {after}");
        // Gold-only training of the same student does not chase the teacher as closely.
        let gold = BertTagger::from_tensors(student.config.clone(), 15, &nt, None).unwrap();
        let mut opt = AdamW::new(&gold.params, 0.01, 2);
        for step in 0..40 {
            let (_, g) = batch_grads(&gold, &fs, 2, 0.0, 1, step, GOLD).unwrap();
            opt.step(&gold.params, &g, &|_| 3e-3, 1.0).unwrap();
        }
        let gold_kl = distill::mean_kl(&gold, &fs, 2.0).unwrap();
        assert!(after < gold_kl, "distilled KL {after}, gold-only KL {gold_kl}");
    }

    #[test]
    fn a_soft_target_loss_equals_cross_entropy_on_one_hot_targets() {
        // With one-hot soft targets and T = 1 the distillation term is the gold loss.
        let model = BertTagger::random(tiny_config(VOCAB.len()), 15, 5).unwrap();
        let mut feats = tiny_feats();
        for f in feats.iter_mut() {
            let mut soft = vec![0f32; f.ids.len() * 15];
            for p in 0..f.ids.len() {
                if f.scored[p] > 0.0 {
                    soft[p * 15 + f.labels[p] as usize] = 1.0;
                }
            }
            f.soft = Some(soft);
        }
        let fs: Vec<&Feature> = feats.iter().collect();
        let (a, _) = batch_grads(&model, &fs, 1, 0.0, 1, 0, GOLD).unwrap();
        let (b, _) = batch_grads(&model, &fs, 1, 0.0, 1, 0, Loss { alpha: 1.0, temperature: 1.0, distill: true }).unwrap();
        assert!((a - b).abs() < 1e-5, "{a} vs {b}");
    }

    /// A tiny pretrained-style init directory and a training file in `dir`.
    pub(crate) fn tiny_run_inputs(dir: &Path) -> (PathBuf, PathBuf) {
        let init = dir.join("init");
        std::fs::create_dir_all(&init).unwrap();
        let cfg = tiny_config(VOCAB.len());
        std::fs::write(init.join("config.json"), cfg.to_hf_json().to_string()).unwrap();
        let src = BertTagger::random(cfg, 15, 21).unwrap();
        let map: HashMap<String, Tensor> = src.params.iter().filter(|(n, _)| !n.starts_with("classifier.")).map(|(n, v)| (n.clone(), v.as_tensor().clone())).collect();
        candle_core::safetensors::save(&map, init.join("model.safetensors")).unwrap();
        std::fs::write(init.join("tokenizer.json"), tiny_tokenizer_json()).unwrap();
        let train = dir.join("train.jsonl");
        let lines = [
            r#"{"id":"1","text":"my card four two four two","entities":[{"start":8,"end":25,"label":"CREDIT_CARD"}]}"#,
            r#"{"id":"2","text":"my naam is josé kumar","entities":[{"start":11,"end":21,"label":"PERSON_NAME"}]}"#,
            r#"{"id":"3","text":"rohan@x.com is my naam","entities":[{"start":0,"end":11,"label":"EMAIL"}]}"#,
            r#"{"id":"4","text":"four two is my card","entities":[]}"#,
        ];
        std::fs::write(&train, lines.join("\n") + "\n").unwrap();
        (init, train)
    }

    pub(crate) fn parse_args(argv: &[&str]) -> Args {
        #[derive(clap::Parser)]
        struct Cli {
            #[command(flatten)]
            a: Args,
        }
        <Cli as clap::Parser>::parse_from(std::iter::once("train").chain(argv.iter().copied())).a
    }

    #[test]
    fn a_run_stopped_after_an_epoch_resumes_to_the_same_weights() {
        let tmp = tempfile::tempdir().unwrap();
        let (init, train) = tiny_run_inputs(tmp.path());
        let run = |out: &str, extra: &[&str]| {
            let out = tmp.path().join(out);
            let (i, t, o) = (init.display().to_string(), train.display().to_string(), out.display().to_string());
            let mut argv = vec!["--init", &i, "--train", &t, "--out", &o, "--epochs", "3", "--batch-size", "2", "--threads", "1", "--max-length", "32", "--lr", "1e-3"];
            argv.extend_from_slice(extra);
            run(parse_args(&argv)).unwrap();
            out
        };
        let whole = run("whole", &[]);
        assert!(!whole.join("resume").exists(), "a finished run leaves no resume point");
        let split = run("split", &["--stop-after-epoch", "1"]);
        assert!(split.join("resume/state.json").is_file());
        run("split", &[]);
        assert!(!split.join("resume").exists());
        let a = std::fs::read(whole.join("model.safetensors")).unwrap();
        let b = std::fs::read(split.join("model.safetensors")).unwrap();
        assert!(a == b, "resumed weights differ from an uninterrupted run");
        // A resume point of other settings is refused, not silently used.
        run("other", &["--stop-after-epoch", "1"]);
        let (i, t, o) = (init.display().to_string(), train.display().to_string(), tmp.path().join("other").display().to_string());
        let err = super::run(parse_args(&["--init", &i, "--train", &t, "--out", &o, "--epochs", "3", "--batch-size", "2", "--threads", "1", "--max-length", "32", "--lr", "2e-3"])).unwrap_err();
        assert!(err.to_string().contains("other settings"), "{err}");
    }

    #[test]
    fn split_gradients_equal_full_batch_gradients() {
        let model = BertTagger::random(tiny_config(VOCAB.len()), 15, 12).unwrap();
        let feats = tiny_feats();
        let fs: Vec<&Feature> = feats.iter().collect();
        // Reference: the dense path (word embedding gradient from candle) on the full batch.
        let norm: f32 = fs.iter().map(|f| f.scored.iter().sum::<f32>()).sum();
        let (ids, mask, lab, w) = batch_tensors(&fs, norm).unwrap();
        let (b, s) = ids.dims2().unwrap();
        let logits = model.forward(&ids, &mask, None).unwrap().reshape((b * s, 15)).unwrap();
        let loss = masked_cross_entropy(&logits, &lab, &w).unwrap();
        let full = loss.backward().unwrap();
        let (l2, parts) = batch_grads(&model, &fs, 2, 0.0, 1, 0, GOLD).unwrap();
        assert_eq!(parts.len(), 2);
        assert!((loss.to_scalar::<f32>().unwrap() - l2).abs() < 1e-5);
        for (name, v) in &model.params {
            let a = full.get(v.as_tensor()).unwrap();
            let b = if name == "embeddings.word_embeddings.weight" {
                // Scatter the rows' gradients.
                let (r, c) = v.dims2().unwrap();
                let mut d = vec![0f32; r * c];
                for p in &parts {
                    let g = p.word_rows.to_vec2::<f32>().unwrap();
                    for (i, &id) in p.word_ids.iter().enumerate() {
                        for j in 0..c {
                            d[id as usize * c + j] += g[i][j];
                        }
                    }
                }
                Tensor::from_vec(d, (r, c), &Device::Cpu).unwrap()
            } else {
                parts.iter().map(|p| p.grads.get(v.as_tensor()).unwrap().clone()).reduce(|x, y| (x + y).unwrap()).unwrap()
            };
            let d = (a - b).unwrap().abs().unwrap().max_all().unwrap().to_scalar::<f32>().unwrap();
            assert!(d < 1e-5, "{name}: {d}");
        }
    }

    #[test]
    fn in_place_adamw_matches_reference() {
        let v = Var::from_vec(vec![1.0f32, -2.0, 0.5], 3, &Device::Cpu).unwrap();
        let params = vec![("w.weight".to_string(), v.clone())];
        let mut opt = AdamW::new(&params, 0.1, 2);
        let loss = (v.as_tensor() * v.as_tensor()).unwrap().sum_all().unwrap();
        let g = loss.backward().unwrap();
        let part = PartGrads { loss: 0.0, grads: g, word_ids: vec![], word_rows: Tensor::zeros(0, DType::F32, &Device::Cpu).unwrap() };
        opt.step(&params, &[part], &|_| 0.01, 0.0).unwrap();
        // First step: m_hat = g, v_hat = g^2, update = lr * sign(g) (+ decay).
        let got = v.as_tensor().to_vec1::<f32>().unwrap();
        for (x, p) in got.iter().zip([1.0f32, -2.0, 0.5]) {
            let want = p * (1.0 - 0.01 * 0.1) - 0.01 * (2.0 * p) / ((2.0 * p).abs() + 1e-8);
            assert!((x - want).abs() < 1e-6, "{x} vs {want}");
        }
    }

    #[test]
    fn from_pretrained_keeps_layers_and_roundtrips() {
        let cfg = tiny_config(VOCAB.len());
        let src = BertTagger::random(cfg.clone(), 15, 21).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let mut cfg6 = cfg.clone();
        cfg6.num_hidden_layers = 2;
        std::fs::write(dir.path().join("config.json"), serde_json::to_string(&cfg6).unwrap()).unwrap();
        // Save without the head, as a pretrained encoder would be, with a "bert." prefix.
        let map: HashMap<String, Tensor> = src
            .params
            .iter()
            .filter(|(n, _)| !n.starts_with("classifier."))
            .map(|(n, v)| (format!("bert.{n}"), v.as_tensor().clone()))
            .collect();
        candle_core::safetensors::save(&map, dir.path().join("model.safetensors")).unwrap();
        let (m, cfg_json) = BertTagger::from_pretrained(dir.path(), 15, Some(&[1]), 5).unwrap();
        assert_eq!(cfg_json["num_hidden_layers"], 1);
        assert_eq!(m.config.num_hidden_layers, 1);
        let name = "encoder.layer.0.attention.self.query.weight";
        let a = m.params.iter().find(|(n, _)| n == name).unwrap().1.as_tensor().to_vec2::<f32>().unwrap();
        let b = src
            .params
            .iter()
            .find(|(n, _)| n == "encoder.layer.1.attention.self.query.weight")
            .unwrap()
            .1
            .as_tensor()
            .to_vec2::<f32>()
            .unwrap();
        assert_eq!(a, b);
        // The head is seeded: the same seed gives the same head.
        let (m2, _) = BertTagger::from_pretrained(dir.path(), 15, Some(&[1]), 5).unwrap();
        assert_eq!(m.logits(&[2, 4, 5, 3]).unwrap(), m2.logits(&[2, 4, 5, 3]).unwrap());
        // Checkpoint roundtrip.
        let out = tempfile::tempdir().unwrap();
        std::fs::write(out.path().join("config.json"), cfg_json.to_string()).unwrap();
        m.save_safetensors(&out.path().join("model.safetensors")).unwrap();
        let back = BertTagger::load_checkpoint(out.path()).unwrap();
        assert_eq!(m.logits(&[2, 4, 5, 3]).unwrap(), back.logits(&[2, 4, 5, 3]).unwrap());
    }
}
