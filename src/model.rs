//! A loaded model: manifest, tokenizer and a pool of single-threaded ONNX Runtime sessions.

use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex};

use ort::session::builder::GraphOptimizationLevel;
use ort::session::Session;
use ort::value::TensorRef;

use crate::decode::{DecodeScratch, Decoder, Span};
use crate::redact::{Redaction, Redactor, Style};
use crate::encode::{Encoded, Encoder, Window};
use crate::error::{Error, Result};
use crate::manifest::{Manifest, TOKENIZER_FILE};
use crate::runtime;
use crate::segment;
use crate::validate::Validators;
use crate::words;

/// Options for [`Model::load`].
#[derive(Debug, Clone)]
pub struct Options {
    /// ONNX Runtime library to load; `None` searches `PII_ORT_LIBRARY`, then beside the library.
    pub ort_library: Option<PathBuf>,
    /// Spans whose mean label probability is below this are dropped (0 keeps every argmax span).
    pub min_score: f32,
    /// Most ONNX Runtime sessions kept for concurrent calls (each runs on one thread);
    /// 0 means one per available CPU.
    pub max_sessions: usize,
    /// ONNX file inside the model directory; `None` uses the manifest's `model_file`.
    pub model_file: Option<String>,
    /// Per-label lowest span score, overriding the manifest's `thresholds` for the labels
    /// named; the effective threshold is never below `min_score`.
    pub thresholds: Vec<(String, f32)>,
    /// Validators applied to the model's spans ([`Validators::ALL`] by default).
    pub validators: Validators,
    /// BIO-constrained (Viterbi) decoding; `false` takes each word's argmax tag (for evaluation).
    pub constrained: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            ort_library: None,
            min_score: 0.0,
            max_sessions: 0,
            model_file: None,
            thresholds: Vec::new(),
            validators: Validators::ALL,
            constrained: true,
        }
    }
}

struct Pool {
    idle: Vec<Slot>,
    created: usize,
}

/// One ONNX Runtime session and the working buffers of the calls it serves: a call holds its
/// slot from tokenization to decoding, so the buffers need no lock and only grow.
struct Slot {
    session: Session,
    scratch: Scratch,
}

/// Grow-only buffers of one tag call (see [`Slot`]).
#[derive(Default)]
struct Scratch {
    enc: Encoded,
    spaced: String,
    run: RunBuffers,
    logits: Vec<f32>,
    decode: DecodeScratch,
    spans: Vec<Span>,
}

/// Model inputs of one window, and the windows of a text.
#[derive(Default)]
struct RunBuffers {
    ids: Vec<i64>,
    /// All ones; only ever grows.
    mask: Vec<i64>,
    /// All zeros; only ever grows.
    types: Vec<i64>,
    windows: Vec<Window>,
}

/// A PII tagging model. `tag` may be called from many threads at once; calls run in parallel
/// on separate sessions, up to `max_sessions`.
pub struct Model {
    manifest: Manifest,
    encoder: Encoder,
    label_names: Vec<String>,
    decoder: Decoder,
    model_bytes: Vec<u8>,
    max_sessions: usize,
    has_token_types: bool,
    pool: Mutex<Pool>,
    freed: Condvar,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model").field("labels", &self.label_names).finish_non_exhaustive()
    }
}

/// An ONNX Runtime session over `bytes` with the settings every model session uses (one
/// intra-op and one inter-op thread, sequential, full graph optimization, no spinning), in the
/// environment of the loaded runtime; for tools that must time other graphs as the library runs them.
pub fn new_session(bytes: &[u8]) -> Result<Session> {
    let err = |e: ort::Error| Error::Model(format!("cannot create session: {e}"));
    let env = runtime::environment().ok_or_else(|| Error::Runtime("not loaded".into()))?;
    let mut b = Session::builder(env)
        .map_err(err)?
        .with_intra_threads(1)
        .map_err(|e| err(e.into()))?
        .with_inter_threads(1)
        .map_err(|e| err(e.into()))?
        .with_parallel_execution(false)
        .map_err(|e| err(e.into()))?
        .with_optimization_level(GraphOptimizationLevel::All)
        .map_err(|e| err(e.into()))?
        .with_intra_op_spinning(false)
        .map_err(|e| err(e.into()))?;
    b.commit_from_memory(bytes).map_err(|e| Error::Model(format!("cannot load ONNX model: {e}")))
}

impl Model {
    /// Load a model directory (see [`crate::manifest`]).
    pub fn load(dir: &Path, opts: &Options) -> Result<Model> {
        if !dir.is_dir() {
            return Err(Error::io(
                format!("model directory {}", dir.display()),
                std::io::Error::new(std::io::ErrorKind::NotFound, "not found or not a directory"),
            ));
        }
        if !(0.0..=1.0).contains(&opts.min_score) {
            return Err(Error::InvalidArgument("min_score must be within 0..=1".into()));
        }
        let manifest = Manifest::read(dir)?;
        let decoder = decoder_for(&manifest, opts)?;
        // The bytes that are hashed are the bytes that are parsed: no window between the check
        // and the use.
        let tok_path = dir.join(TOKENIZER_FILE);
        let tok_bytes =
            std::fs::read(&tok_path).map_err(|e| Error::io(format!("cannot read {}", tok_path.display()), e))?;
        manifest.verify_file(TOKENIZER_FILE, &tok_bytes)?;
        let encoder = Encoder::from_bytes(&tok_bytes, manifest.max_length)?;
        drop(tok_bytes);
        runtime::ensure(opts.ort_library.as_deref())?;
        let file = opts.model_file.clone().unwrap_or_else(|| manifest.model_file.clone());
        if file.is_empty() || file.contains('/') {
            return Err(Error::InvalidArgument("model_file must be a plain file name".into()));
        }
        let path = dir.join(&file);
        let model_bytes = std::fs::read(&path).map_err(|e| Error::io(format!("cannot read {}", path.display()), e))?;
        manifest.verify_file(&file, &model_bytes)?;
        let session = new_session(&model_bytes)?;
        let has_token_types = check_signature(&session, &manifest, encoder.vocab_size())?;
        let max_sessions = match opts.max_sessions {
            0 => std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
            n => n,
        };
        let model = Model {
            label_names: manifest.labels.iter().map(|l| l.name.clone()).collect(),
            decoder,
            manifest,
            encoder,
            model_bytes,
            max_sessions,
            has_token_types,
            pool: Mutex::new(Pool { idle: vec![Slot { session, scratch: Scratch::default() }], created: 1 }),
            freed: Condvar::new(),
        };
        // A probe run catches a model whose output does not match the manifest at load time.
        let probe = model.logits(&[model.encoder.cls_id() as i64, model.encoder.sep_id() as i64])?;
        if probe.len() != 2 * model.manifest.num_tags() {
            return Err(Error::Model(format!(
                "model outputs {} values per token, manifest declares {} tags",
                probe.len() / 2,
                model.manifest.num_tags()
            )));
        }
        // A second probe at max_length catches a manifest that promises longer windows than the
        // model's position table holds (every long text would otherwise fail at tag time).
        let n = model.manifest.max_length;
        let mut ids = vec![model.encoder.cls_id() as i64; n];
        ids[n - 1] = model.encoder.sep_id() as i64;
        match model.logits(&ids) {
            Ok(_) => {}
            Err(Error::Model(m)) => {
                return Err(Error::Model(format!(
                    "the model cannot run the manifest's max_length of {n} tokens (is max_length larger \
                     than the model's position embeddings?): {m}"
                )))
            }
            Err(e) => return Err(e),
        }
        Ok(model)
    }

    /// The manifest the model was loaded with.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// Label names in index order.
    pub fn labels(&self) -> &[String] {
        &self.label_names
    }

    /// The tokenizer bound to this model.
    pub fn encoder(&self) -> &Encoder {
        &self.encoder
    }

    /// Tag `text`; spans are byte ranges on whitespace word boundaries, sorted, non-overlapping.
    /// Texts longer than [`segment::SEGMENT_WORDS`] words are tagged segment by segment, so
    /// working memory stays bounded whatever the input length.
    pub fn tag(&self, text: &str) -> Result<Vec<Span>> {
        self.tag_in_segments(text, segment::SEGMENT_WORDS, segment::CONTEXT_WORDS)
    }

    /// [`Model::tag`] with segments of `words` words read with `context` words on each side.
    pub fn tag_in_segments(&self, text: &str, words: usize, context: usize) -> Result<Vec<Span>> {
        self.tag_segments(text, words, context, None)
    }

    /// [`Model::tag`], and for each word of `text` (split as [`crate::encode::words`] does) the
    /// probability the model gives each label on it before decoding (its `B-` plus `I-` tag
    /// on the word's first piece): [`Model::labels`]`.len()` values per word, in label order.
    pub fn tag_with_probs(&self, text: &str) -> Result<(Vec<Span>, Vec<f32>)> {
        let mut probs = Vec::new();
        let spans = self.tag_segments(text, segment::SEGMENT_WORDS, segment::CONTEXT_WORDS, Some(&mut probs))?;
        Ok((spans, probs))
    }

    /// [`Model::tag_in_segments`]; with `probs`, each owned word's label probabilities too.
    fn tag_segments(&self, text: &str, words: usize, context: usize, mut probs: Option<&mut Vec<f32>>) -> Result<Vec<Span>> {
        let mut out = Vec::new();
        let mut slot = self.checkout()?;
        let slot = &mut *slot;
        let mut result = Ok(());
        for seg in segment::segments(text, words, context) {
            let base = seg.input.start;
            let owned = seg.owned.start - base..seg.owned.end - base;
            result = self.tag_one(slot, &text[seg.input.clone()], probs.as_deref_mut().map(|p| (p, owned)));
            if result.is_err() {
                break;
            }
            let spans = &slot.scratch.spans;
            out.reserve(spans.len());
            let shifted = spans.iter().map(|s| Span { start: s.start + base, end: s.end + base, ..*s });
            segment::stitch(&mut out, shifted, &seg.owned);
        }
        result.map(|()| out)
    }

    /// Tag `text` in one piece (its logits and word probabilities held at once) into
    /// `scratch.spans`; with `probs`, append the label probabilities of the words that start in
    /// its byte range.
    fn tag_one(&self, slot: &mut Slot, text: &str, probs: Option<(&mut Vec<f32>, std::ops::Range<usize>)>) -> Result<()> {
        let Slot { session, scratch } = slot;
        let sc = scratch;
        sc.spans.clear();
        self.encoder.encode_into(text, &mut sc.enc, &mut sc.spaced)?;
        let enc = &sc.enc;
        if enc.ids.is_empty() {
            if let Some((p, owned)) = probs {
                // Words without pieces are O.
                let n = enc.words.iter().filter(|w| owned.contains(&w.0)).count();
                p.resize(p.len() + n * self.label_names.len(), 0.0);
            }
            return Ok(());
        }
        self.fill_logits(session, &mut sc.run, enc, &mut sc.logits)?;
        if let Some((p, owned)) = probs {
            let l = self.label_names.len();
            let all = self.decoder.label_probs(enc, &sc.logits);
            for (w, row) in enc.words.iter().zip(all.chunks(l)) {
                if owned.contains(&w.0) {
                    p.extend_from_slice(row);
                }
            }
        }
        self.decoder.decode_into(text, enc, &sc.logits, &mut sc.decode, &mut sc.spans);
        Ok(())
    }

    /// Tag a list of words (a speech engine's hypothesis): the words joined with single spaces,
    /// tagged as [`Model::tag`] does, spans returned as word ranges. An empty word or one that
    /// holds a separator is [`Error::InvalidArgument`](crate::Error::InvalidArgument).
    pub fn tag_words<S: AsRef<str>>(&self, words: &[S]) -> Result<Vec<words::WordRange>> {
        let (text, starts) = words::join(words)?;
        Ok(words::ranges(&self.tag(&text)?, &starts))
    }

    /// Tag `text` and replace PII spans (and non-PII spans when `non_pii`) by `[LABEL]`.
    pub fn redact(&self, text: &str, non_pii: bool) -> Result<String> {
        let labels = if non_pii { (1u64 << self.label_names.len().min(63)) - 1 } else { 0 };
        self.redact_with(text, &mut Redactor::new(Redaction { style: Style::Label, labels }))
    }

    /// Tag `text` and replace the spans `redactor` covers, in its style (its pseudonym numbers
    /// carry over to the next call with the same redactor).
    pub fn redact_with(&self, text: &str, redactor: &mut Redactor) -> Result<String> {
        let spans = self.tag(text)?;
        Ok(redactor.redact(text, &spans, &self.label_names))
    }

    /// Logits for every word piece of `enc`, running overlapping windows when it is longer
    /// than the model's maximum length.
    pub fn piece_logits(&self, enc: &Encoded) -> Result<Vec<f32>> {
        let mut out = Vec::new();
        let mut slot = self.checkout()?;
        let Slot { session, scratch } = &mut *slot;
        self.fill_logits(session, &mut scratch.run, enc, &mut out)?;
        Ok(out)
    }

    /// [`Model::piece_logits`] into `out` (overwritten) on `session`.
    fn fill_logits(&self, session: &mut Session, bufs: &mut RunBuffers, enc: &Encoded, out: &mut Vec<f32>) -> Result<()> {
        let tags = self.manifest.num_tags();
        // The owned ranges partition the pieces: every value is written below.
        out.clear();
        out.resize(enc.ids.len() * tags, 0.0);
        self.encoder.windows_into(enc.ids.len(), &mut bufs.windows);
        for win in &bufs.windows {
            self.encoder.model_input(enc, win.input.clone(), &mut bufs.ids);
            // Row 0 is [CLS]; piece i of the window is row i + 1.
            let from = (win.owned.start - win.input.start + 1) * tags;
            let len = win.owned.len() * tags;
            let dst = &mut out[win.owned.start * tags..win.owned.end * tags];
            self.run(session, &bufs.ids, &mut bufs.mask, &mut bufs.types, |lg| dst.copy_from_slice(&lg[from..from + len]))?;
        }
        Ok(())
    }

    /// Raw model logits for one sequence of ids (with `[CLS]`/`[SEP]`): `ids.len() * tags` values.
    pub fn logits(&self, ids: &[i64]) -> Result<Vec<f32>> {
        let mut slot = self.checkout()?;
        let Slot { session, scratch } = &mut *slot;
        self.run(session, ids, &mut scratch.run.mask, &mut scratch.run.types, <[f32]>::to_vec)
    }

    /// Run `session` on `ids` and hand the logits (`ids.len() * tags` values, checked) to `f`.
    /// `mask` and `types` are grow-only buffers of ones and zeros.
    fn run<R>(&self, session: &mut Session, ids: &[i64], mask: &mut Vec<i64>, types: &mut Vec<i64>, f: impl FnOnce(&[f32]) -> R) -> Result<R> {
        let n = ids.len();
        // ONNX Runtime's message may quote values derived from the text; keep only its code.
        let err = |e: ort::Error| Error::Model(format!("inference failed (ONNX Runtime error {:?})", e.code()));
        if mask.len() < n {
            mask.resize(n, 1);
        }
        let ids_t = TensorRef::from_array_view(([1usize, n], ids)).map_err(err)?;
        let mask_t = TensorRef::from_array_view(([1usize, n], &mask[..n])).map_err(err)?;
        let outputs = if self.has_token_types {
            if types.len() < n {
                types.resize(n, 0);
            }
            let types_t = TensorRef::from_array_view(([1usize, n], &types[..n])).map_err(err)?;
            session.run(ort::inputs!["input_ids" => ids_t, "attention_mask" => mask_t, "token_type_ids" => types_t])
        } else {
            session.run(ort::inputs!["input_ids" => ids_t, "attention_mask" => mask_t])
        }
        .map_err(err)?;
        let (shape, data) = outputs["logits"].try_extract_tensor::<f32>().map_err(err)?;
        let tags = self.manifest.num_tags();
        if shape.len() == 3 && shape[2] as usize != tags {
            return Err(Error::Model(format!(
                "model outputs {} tags per token but the manifest's labels make {tags}",
                shape[2]
            )));
        }
        if shape.len() != 3 || shape[0] != 1 || shape[1] as usize != n || data.len() != n * tags {
            return Err(Error::Model(format!(
                "logits have shape {:?}, expected [1, {n}, {tags}]",
                &shape[..]
            )));
        }
        Ok(f(data))
    }

    /// A slot for one call; it goes back to the pool when the guard drops (a slot left by a
    /// panic is dropped instead: its buffers may be half-written).
    fn checkout(&self) -> Result<SlotGuard<'_>> {
        self.take_slot().map(|slot| SlotGuard { model: self, slot: Some(slot) })
    }

    fn take_slot(&self) -> Result<Slot> {
        let mut pool = self.pool.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if let Some(s) = pool.idle.pop() {
                return Ok(s);
            }
            if pool.created < self.max_sessions {
                pool.created += 1;
                drop(pool);
                return new_session(&self.model_bytes)
                    .map(|session| Slot { session, scratch: Scratch::default() })
                    .inspect_err(|_| {
                        self.pool.lock().unwrap_or_else(|e| e.into_inner()).created -= 1;
                    });
            }
            pool = self.freed.wait(pool).unwrap_or_else(|e| e.into_inner());
        }
    }

    /// Number of ONNX Runtime sessions created so far.
    pub fn sessions(&self) -> usize {
        self.pool.lock().unwrap_or_else(|e| e.into_inner()).created
    }
}

/// A slot checked out of a model's pool (see [`Model::checkout`]).
struct SlotGuard<'a> {
    model: &'a Model,
    slot: Option<Slot>,
}

impl std::ops::Deref for SlotGuard<'_> {
    type Target = Slot;
    fn deref(&self) -> &Slot {
        self.slot.as_ref().expect("slot present until drop")
    }
}

impl std::ops::DerefMut for SlotGuard<'_> {
    fn deref_mut(&mut self) -> &mut Slot {
        self.slot.as_mut().expect("slot present until drop")
    }
}

impl Drop for SlotGuard<'_> {
    fn drop(&mut self) {
        let Some(slot) = self.slot.take() else { return };
        let mut pool = self.model.pool.lock().unwrap_or_else(|e| e.into_inner());
        if std::thread::panicking() {
            pool.created -= 1;
            drop(pool);
            drop(slot);
        } else {
            pool.idle.push(slot);
            drop(pool);
        }
        self.model.freed.notify_one();
    }
}

/// Check the model's inputs and outputs against the contract; returns whether it takes
/// `token_type_ids`.
fn check_signature(session: &Session, manifest: &Manifest, vocab: usize) -> Result<bool> {
    let names: Vec<&str> = session.inputs().iter().map(|i| i.name()).collect();
    for needed in ["input_ids", "attention_mask"] {
        if !names.contains(&needed) {
            return Err(Error::Model(format!("model has no `{needed}` input")));
        }
    }
    if let Some(extra) = names.iter().find(|n| !["input_ids", "attention_mask", "token_type_ids"].contains(n)) {
        return Err(Error::Model(format!("model has an unexpected input `{extra}`")));
    }
    if !session.outputs().iter().any(|o| o.name() == "logits") {
        return Err(Error::Model("model has no `logits` output".into()));
    }
    if manifest.vocab_size != 0 && manifest.vocab_size != vocab {
        return Err(Error::Tokenizer(format!(
            "tokenizer has {vocab} tokens but the model was trained with {}",
            manifest.vocab_size
        )));
    }
    Ok(names.contains(&"token_type_ids"))
}

/// The decoder of `manifest` with the thresholds and validators of `opts`.
fn decoder_for(manifest: &Manifest, opts: &Options) -> Result<Decoder> {
    let mut thresholds: Vec<f32> = manifest
        .labels
        .iter()
        .map(|l| manifest.thresholds.get(&l.name).copied().unwrap_or(0.0))
        .collect();
    for (name, t) in &opts.thresholds {
        let i = manifest
            .label_index(name)
            .ok_or_else(|| Error::InvalidArgument(format!("threshold for unknown label {name:?}")))?;
        if !(0.0..=1.0).contains(t) {
            return Err(Error::InvalidArgument(format!("threshold for {name} must be within 0..=1")));
        }
        thresholds[i] = *t;
    }
    thresholds.iter_mut().for_each(|t| *t = t.max(opts.min_score));
    let labels: Vec<(&str, bool)> = manifest.labels.iter().map(|l| (l.name.as_str(), l.pii)).collect();
    let allowed = match &manifest.validators {
        None => Validators::ALL,
        Some(names) => Validators(names.iter().filter_map(|n| Validators::named(n)).fold(0, |a, v| a | v.0)),
    };
    let constrained = opts.constrained && manifest.decoding.as_deref() != Some("argmax");
    Ok(Decoder::new(&labels, thresholds, constrained, Validators(opts.validators.0 & allowed.0)))
}
