//! The C ABI: a thin shell over [`crate::Model`]. Every export catches panics, checks
//! pointers, and writes its outputs only on success.

#![allow(non_camel_case_types)]

use std::ffi::{c_char, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;

use crate::error::Error;
use crate::model::{Model, Options};
use crate::redact::{Redaction, Redactor, Style};

mod stream_abi;
pub use stream_abi::*;

/// Status of every fallible call. `PII_OK` is 0.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum pii_status {
    /// Success.
    PII_OK = 0,
    /// A required pointer argument was NULL.
    PII_ERR_NULL_ARGUMENT = 1,
    /// The text is not valid UTF-8.
    PII_ERR_INVALID_UTF8 = 2,
    /// The output buffer is too small; the needed size was written to the count argument.
    PII_ERR_BUFFER_TOO_SMALL = 3,
    /// A file or directory is missing or cannot be read: the model directory, or its
    /// manifest, tokenizer or ONNX file (whatever its content would have been).
    PII_ERR_IO = 4,
    /// The model manifest exists but is invalid (bad JSON, fields, labels, hashes).
    PII_ERR_MANIFEST = 5,
    /// The tokenizer file exists but is invalid or does not match the model.
    PII_ERR_TOKENIZER = 6,
    /// The ONNX Runtime library is missing, damaged (not an x86-64 ELF shared object, or
    /// truncated), cannot be loaded or is too old; or `ort_library` names another file than
    /// the runtime this process already loaded.
    PII_ERR_RUNTIME = 7,
    /// The ONNX model is invalid, a model-directory file does not match its SHA-256 in the
    /// manifest, the model cannot run at the manifest's `max_length`, or inference failed.
    PII_ERR_MODEL = 8,
    /// An argument has an invalid value (including a `len` above `PTRDIFF_MAX`).
    PII_ERR_INVALID_ARGUMENT = 9,
    /// An internal error (a caught panic); the model stays usable.
    PII_ERR_INTERNAL = 10,
}

use pii_status::*;

impl From<&Error> for pii_status {
    fn from(e: &Error) -> Self {
        match e {
            Error::NullArgument(_) => PII_ERR_NULL_ARGUMENT,
            Error::InvalidUtf8 { .. } => PII_ERR_INVALID_UTF8,
            Error::BufferTooSmall { .. } => PII_ERR_BUFFER_TOO_SMALL,
            Error::Io { .. } => PII_ERR_IO,
            Error::Manifest(_) => PII_ERR_MANIFEST,
            Error::Tokenizer(_) => PII_ERR_TOKENIZER,
            Error::Runtime(_) => PII_ERR_RUNTIME,
            Error::Model(_) => PII_ERR_MODEL,
            Error::InvalidArgument(_) => PII_ERR_INVALID_ARGUMENT,
            Error::Panic => PII_ERR_INTERNAL,
        }
    }
}

/// Smallest thread stack, in bytes (as given to `pthread_attr_setstacksize`), on which every
/// call of this library is supported; most of it is ONNX Runtime's. Measured minimums (x86-64,
/// glibc, ONNX Runtime 1.31, fixture and shipped model, any input length): `pii_tag` and
/// `pii_redact` 92 KiB (also when they create a session), the first `pii_load` 100-112 KiB;
/// this leaves more than 2x margin. Default thread stacks (8 MiB with glibc) are far above.
pub const PII_MIN_STACK_SIZE: usize = 256 * 1024;

/// Size of the message buffer in [`pii_error`].
pub const PII_ERROR_MESSAGE_SIZE: usize = 512;

/// Detailed error of a failed call, filled in when the caller passes one (it may be NULL).
/// The message is NUL-terminated UTF-8 and never contains transcript text.
#[repr(C)]
pub struct pii_error {
    /// The status the call returned.
    pub status: pii_status,
    /// Human-readable message.
    pub message: [c_char; PII_ERROR_MESSAGE_SIZE],
}

/// Options for [`pii_load`]; start from [`pii_default_options`].
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct pii_options {
    /// Path of `libonnxruntime.so` to load, or NULL to search the `PII_ORT_LIBRARY`
    /// environment variable, then `libonnxruntime.so.1` beside `libpii.so`. The file is checked
    /// (ELF64 x86-64 shared object, segments inside the file) before it is loaded. A process
    /// loads one ONNX Runtime: once loaded, a non-NULL path must name that same file (through
    /// any symlink) or the load fails with `PII_ERR_RUNTIME`; NULL uses the loaded one.
    pub ort_library: *const c_char,
    /// Spans whose score (mean label probability) is below this are dropped; 0 keeps all.
    pub min_score: f32,
    /// Most sessions (one thread each) for concurrent `pii_tag` calls; 0 = one per CPU.
    pub max_sessions: u32,
    /// ONNX file inside the model directory, or NULL for the manifest's (the int8 model).
    pub model_file: *const c_char,
    /// Per-label lowest span score overriding the manifest's thresholds, as a NUL-terminated
    /// list `"PERSON_NAME=0.7,DATE=0.5"`; NULL or `""` keeps the manifest's. An unknown label
    /// or a value outside 0..1 is `PII_ERR_INVALID_ARGUMENT`.
    pub thresholds: *const c_char,
    /// Bit set of `PII_VALIDATE_*` checks applied to the model's spans; the default is
    /// `PII_VALIDATE_ALL`.
    pub validators: u32,
}

/// PHONE and CREDIT_CARD spans cover one whole spoken or written number of a plausible length.
pub const PII_VALIDATE_NUMBERS: u32 = 1;
/// EMAIL spans contain "at" and a dotted domain.
pub const PII_VALIDATE_EMAIL: u32 = 2;
/// DATE spans contain a month.
pub const PII_VALIDATE_DATE: u32 = 4;
/// PERSON_NAME spans exclude titles, honorifics and function words at their edges.
pub const PII_VALIDATE_NAME: u32 = 8;
/// Every validator (the default).
pub const PII_VALIDATE_ALL: u32 = 15;

/// A span of a tagged text.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct pii_span {
    /// Byte offset of the span's first byte in the caller's text.
    pub start: usize,
    /// Byte offset one past the span's last byte.
    pub end: usize,
    /// Label index; its name is `pii_label_name(model, label)`.
    pub label: u32,
    /// Confidence in 0..1 (mean probability of the label over the span's words).
    pub score: f32,
    /// Nonzero when the label is personal data.
    pub is_pii: bool,
}

/// A span over the words given to `pii_tag_words`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct pii_word_span {
    /// Index of the span's first word.
    pub first: usize,
    /// Index one past the span's last word (exclusive).
    pub last: usize,
    /// Label index; its name is `pii_label_name(model, label)`.
    pub label: u32,
    /// Confidence in 0..1 (mean probability of the label over the span's words).
    pub score: f32,
    /// Nonzero when the label is personal data.
    pub is_pii: bool,
}

/// A loaded model (opaque). Safe to share between threads.
pub struct pii_model {
    model: Model,
    label_cstrs: Vec<std::ffi::CString>,
}

/// `pii_redact` flag: also replace non-PII spans (CITY, LOCATION) by their label.
pub const PII_REDACT_NON_PII: u32 = 1;

fn write_error(err: *mut pii_error, e: &Error) -> pii_status {
    let status = pii_status::from(e);
    if !err.is_null() {
        let msg = e.to_string();
        let mut n = msg.len().min(PII_ERROR_MESSAGE_SIZE - 1);
        while !msg.is_char_boundary(n) {
            n -= 1;
        }
        // SAFETY: the caller passed a writable pii_error (documented contract).
        unsafe {
            (*err).status = status;
            let dst = (*err).message.as_mut_ptr() as *mut u8;
            std::ptr::copy_nonoverlapping(msg.as_ptr(), dst, n);
            *dst.add(n) = 0;
        }
    }
    status
}

fn clear_error(err: *mut pii_error) {
    if !err.is_null() {
        // SAFETY: as in write_error.
        unsafe {
            (*err).status = PII_OK;
            (*err).message[0] = 0;
        }
    }
}

/// Run `f` with panics caught; map errors to statuses and fill `err`.
fn boundary(err: *mut pii_error, f: impl FnOnce() -> Result<(), Error>) -> pii_status {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => {
            clear_error(err);
            PII_OK
        }
        Ok(Err(e)) => write_error(err, &e),
        Err(_) => write_error(err, &Error::Panic),
    }
}

fn non_null<T>(p: *const T, name: &'static str) -> Result<(), Error> {
    if p.is_null() {
        Err(Error::NullArgument(name))
    } else {
        Ok(())
    }
}

/// # Safety
/// `p` non-NULL and NUL-terminated.
unsafe fn c_path(p: *const c_char, name: &'static str) -> Result<PathBuf, Error> {
    let s = CStr::from_ptr(p)
        .to_str()
        .map_err(|_| Error::InvalidArgument(format!("`{name}` is not valid UTF-8")))?;
    Ok(PathBuf::from(s))
}

/// # Safety
/// `text` valid for `len` bytes when `len > 0`.
unsafe fn text_arg<'a>(text: *const c_char, len: usize) -> Result<&'a str, Error> {
    // No object is larger than PTRDIFF_MAX bytes; such a length is a caller bug (a negative
    // value cast to size_t, say). Refuse it before the text is touched.
    if len > isize::MAX as usize {
        return Err(Error::InvalidArgument(format!("len {len} is larger than PTRDIFF_MAX")));
    }
    if len == 0 {
        return Ok("");
    }
    non_null(text, "text")?;
    let bytes = std::slice::from_raw_parts(text as *const u8, len);
    std::str::from_utf8(bytes).map_err(|e| Error::InvalidUtf8 { valid_up_to: e.valid_up_to() })
}

/// Default options: search for ONNX Runtime, keep every span, one session per CPU, int8 model.
#[no_mangle]
pub extern "C" fn pii_default_options() -> pii_options {
    pii_options {
        ort_library: std::ptr::null(),
        min_score: 0.0,
        max_sessions: 0,
        model_file: std::ptr::null(),
        thresholds: std::ptr::null(),
        validators: PII_VALIDATE_ALL,
    }
}

/// Parse `"LABEL=0.7,LABEL=0.5"` (labels are checked against the model at load).
unsafe fn parse_thresholds(p: *const c_char) -> Result<Vec<(String, f32)>, Error> {
    let bad = || Error::InvalidArgument("thresholds must read LABEL=VALUE[,LABEL=VALUE...]".into());
    let s = CStr::from_ptr(p).to_str().map_err(|_| bad())?;
    s.split(',')
        .filter(|x| !x.trim().is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').ok_or_else(bad)?;
            Ok((k.trim().to_string(), v.trim().parse::<f32>().map_err(|_| bad())?))
        })
        .collect()
}

/// Load the model directory `model_dir` (NUL-terminated path). `options` may be NULL for the
/// defaults. On success `*out` receives the model, to be released with `pii_free`.
/// The shipped model is installed in `<prefix>/share/pii/model` (`make install`); a program
/// finds it with `pkg-config --variable=modeldir pii` or CMake's `PII_MODEL_DIR`.
///
/// When the manifest lists SHA-256 hashes (`pii-trainer export` writes them), the tokenizer
/// and the ONNX file are hashed and compared before use; a mismatch, or a used file missing
/// from the list, is `PII_ERR_MODEL`. Manifests without hashes (older exports) load unchecked.
/// Hashing costs about 1 ms per MB (measured: 18 ms for the shipped model's 18.5 MB, beside a
/// load of 110-150 ms, on a busy 2-core x86-64 with SHA-NI); the manifest itself is not
/// covered. The model is also run once at the manifest's `max_length`, so a manifest promising
/// more tokens than the model's position table is refused here (`PII_ERR_MODEL`) rather than
/// failing every long text later.
///
/// # Safety
/// Pointers follow the rules at the top of this header.
#[no_mangle]
pub unsafe extern "C" fn pii_load(
    model_dir: *const c_char,
    options: *const pii_options,
    out: *mut *mut pii_model,
    err: *mut pii_error,
) -> pii_status {
    boundary(err, || {
        non_null(model_dir, "model_dir")?;
        non_null(out, "out")?;
        let dir = c_path(model_dir, "model_dir")?;
        let o = if options.is_null() { pii_default_options() } else { *options };
        let opts = Options {
            ort_library: if o.ort_library.is_null() { None } else { Some(c_path(o.ort_library, "ort_library")?) },
            min_score: o.min_score,
            max_sessions: o.max_sessions as usize,
            model_file: if o.model_file.is_null() {
                None
            } else {
                Some(c_path(o.model_file, "model_file")?.to_string_lossy().into_owned())
            },
            thresholds: if o.thresholds.is_null() { Vec::new() } else { parse_thresholds(o.thresholds)? },
            validators: crate::validate::Validators(o.validators & PII_VALIDATE_ALL),
            constrained: true,
        };
        let model = Model::load(&dir, &opts)?;
        let label_cstrs = model
            .labels()
            .iter()
            .map(|l| std::ffi::CString::new(l.as_str()).expect("manifest labels are validated ASCII"))
            .collect();
        *out = Box::into_raw(Box::new(pii_model { model, label_cstrs }));
        Ok(())
    })
}

/// Tag `len` bytes of UTF-8 at `text` (need not be NUL-terminated; `text` may be NULL when
/// `len` is 0; `len` above `PTRDIFF_MAX` is `PII_ERR_INVALID_ARGUMENT`). Spans are written to `spans[0..cap]` in text order and their count to `*n`.
/// When `cap` is too small, returns `PII_ERR_BUFFER_TOO_SMALL`, writes no span, and sets `*n`
/// to the count needed.
///
/// Any length is accepted: a text is tagged in segments of 4,096 words, each read with 96
/// words of context on both sides, so working memory is bounded (2 MB of text: under 2 MiB
/// above the loaded model's peak) and time is linear in the text (about 70 s per MB of
/// text with the shipped 6-layer model on one AVX2 core; a one-hour call is about 50 KB).
///
/// # Safety
/// Pointers follow the rules at the top of this header.
#[no_mangle]
pub unsafe extern "C" fn pii_tag(
    model: *const pii_model,
    text: *const c_char,
    len: usize,
    spans: *mut pii_span,
    cap: usize,
    n: *mut usize,
    err: *mut pii_error,
) -> pii_status {
    boundary(err, || {
        out_args(model, spans, cap, n)?;
        let text = text_arg(text, len)?;
        let found = (*model).model.tag(text)?;
        write_out(&found, spans, cap, n, |s| pii_span {
            start: s.start,
            end: s.end,
            label: s.label as u32,
            score: s.score,
            is_pii: s.pii,
        })
    })
}

/// The checks shared by calls that fill a caller's array: the model, the count and (when
/// `cap` > 0) the array must not be NULL.
unsafe fn out_args<O>(model: *const pii_model, out: *mut O, cap: usize, n: *mut usize) -> Result<(), Error> {
    non_null(model, "model")?;
    non_null(n, "n")?;
    if cap > 0 {
        non_null(out, "spans")?;
    }
    Ok(())
}

/// Write `found` into `out[0..cap]` through `conv` and its count into `*n`; when it does not
/// fit, only `*n` (the count needed) is written.
unsafe fn write_out<T, O>(found: &[T], out: *mut O, cap: usize, n: *mut usize, conv: impl Fn(&T) -> O) -> Result<(), Error> {
    *n = found.len();
    if found.len() > cap {
        return Err(Error::BufferTooSmall { needed: found.len() });
    }
    for (i, s) in found.iter().enumerate() {
        out.add(i).write(conv(s));
    }
    Ok(())
}

/// Tag a speech engine's words: `words[0..n_words]`, word `i` being `lens[i]` bytes of UTF-8
/// at `words[i]` (or NUL-terminated when `lens` is NULL). The words are tagged as the text
/// they make joined by single spaces (same model, same decoding as `pii_tag`), and each span is
/// returned as a word range `first..last` (last exclusive) into `spans[0..cap]`, so a caller
/// can mute exactly those words' audio by its own word times. An empty word or a word holding
/// a separator (space, tab, newline, zero-width space, ...) is `PII_ERR_INVALID_ARGUMENT`
/// (the message names the word's index); invalid UTF-8 is `PII_ERR_INVALID_UTF8`.
/// `PII_ERR_BUFFER_TOO_SMALL` sets `*n` to the count needed, as `pii_tag` does.
///
/// # Safety
/// Pointers follow the rules at the top of this header; `words` (and `lens` when not NULL)
/// are readable for `n_words` elements.
#[no_mangle]
pub unsafe extern "C" fn pii_tag_words(
    model: *const pii_model,
    words: *const *const c_char,
    lens: *const usize,
    n_words: usize,
    spans: *mut pii_word_span,
    cap: usize,
    n: *mut usize,
    err: *mut pii_error,
) -> pii_status {
    boundary(err, || {
        out_args(model, spans, cap, n)?;
        if n_words > 0 {
            non_null(words, "words")?;
        }
        let mut list: Vec<&str> = Vec::with_capacity(n_words);
        for i in 0..n_words {
            let w = *words.add(i);
            if w.is_null() {
                return Err(Error::NullArgument("words[i]"));
            }
            let word = if lens.is_null() {
                CStr::from_ptr(w).to_str().map_err(|e| Error::InvalidUtf8 { valid_up_to: e.valid_up_to() })?
            } else {
                text_arg(w, *lens.add(i))?
            };
            list.push(word);
        }
        let found = (*model).model.tag_words(&list)?;
        write_out(&found, spans, cap, n, |s| pii_word_span {
            first: s.first,
            last: s.last,
            label: s.label as u32,
            score: s.score,
            is_pii: s.pii,
        })
    })
}

/// Tag `text` and write it with each PII span replaced by `[LABEL]` (also non-PII spans with
/// `PII_REDACT_NON_PII` in `flags`) into `out[0..cap]`, NUL-terminated. On success `*out_len`
/// is the redacted length without the NUL. When `cap` is too small, returns
/// `PII_ERR_BUFFER_TOO_SMALL`, writes nothing to `out`, and sets `*out_len` to the capacity
/// needed (with the NUL).
///
/// # Safety
/// Pointers follow the rules at the top of this header.
#[no_mangle]
pub unsafe extern "C" fn pii_redact(
    model: *const pii_model,
    text: *const c_char,
    len: usize,
    flags: u32,
    out: *mut c_char,
    cap: usize,
    out_len: *mut usize,
    err: *mut pii_error,
) -> pii_status {
    boundary(err, || {
        text_out_args(model, out, cap, out_len)?;
        if flags & !PII_REDACT_NON_PII != 0 {
            return Err(Error::InvalidArgument(format!("unknown flags {flags:#x}")));
        }
        let text = text_arg(text, len)?;
        let red = (*model).model.redact(text, flags & PII_REDACT_NON_PII != 0)?;
        write_text(&red, out, cap, out_len)
    })
}

/// `pii_redaction.style`: a span becomes `[LABEL]`.
pub const PII_STYLE_LABEL: u32 = 0;
/// `pii_redaction.style`: one `*` per character of the span; spaces between its words stay.
pub const PII_STYLE_MASK: u32 = 1;
/// `pii_redaction.style`: CREDIT_CARD and PHONE keep the words that say their last four
/// digits, as spoken (`[CREDIT_CARD] one one two three`); other labels become `[LABEL]`.
pub const PII_STYLE_KEEP_LAST_FOUR: u32 = 2;
/// `pii_redaction.style`: `[LABEL_N]`, the same N for every mention of the same words under
/// the same label, within one `pii_redact_with` call or one stream.
pub const PII_STYLE_PSEUDONYM: u32 = 3;

/// What is redacted and how (for `pii_redact_with` and streams); all zero is the default:
/// every PII label as `[LABEL]`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct pii_redaction {
    /// One of `PII_STYLE_*`.
    pub style: u32,
    /// Bit `i` redacts label `i` (`pii_label_name(model, i)`); 0 redacts every PII label.
    pub labels: u64,
}

/// The Rust redaction of `r` (NULL: the default), checked against the model's labels.
unsafe fn redaction_arg(model: &Model, r: *const pii_redaction) -> Result<Redaction, Error> {
    let r = if r.is_null() { pii_redaction { style: PII_STYLE_LABEL, labels: 0 } } else { *r };
    let style = match r.style {
        PII_STYLE_LABEL => Style::Label,
        PII_STYLE_MASK => Style::Mask,
        PII_STYLE_KEEP_LAST_FOUR => Style::KeepLastFour,
        PII_STYLE_PSEUDONYM => Style::Pseudonym,
        s => return Err(Error::InvalidArgument(format!("unknown redaction style {s}"))),
    };
    let n = model.labels().len();
    if n < 64 && r.labels >> n != 0 {
        return Err(Error::InvalidArgument(format!("redaction labels name a label beyond the model's {n}")));
    }
    Ok(Redaction { style, labels: r.labels })
}

/// `pii_redact` with a choice of labels and replacement style (`redaction` NULL: every PII
/// label as `[LABEL]`). An unknown style or a label bit beyond the model's labels is
/// `PII_ERR_INVALID_ARGUMENT`. Buffers as in `pii_redact`.
///
/// # Safety
/// Pointers follow the rules at the top of this header.
#[no_mangle]
pub unsafe extern "C" fn pii_redact_with(
    model: *const pii_model,
    text: *const c_char,
    len: usize,
    redaction: *const pii_redaction,
    out: *mut c_char,
    cap: usize,
    out_len: *mut usize,
    err: *mut pii_error,
) -> pii_status {
    boundary(err, || {
        text_out_args(model, out, cap, out_len)?;
        let model = &(*model).model;
        let mut redactor = Redactor::new(redaction_arg(model, redaction)?);
        let text = text_arg(text, len)?;
        let red = model.redact_with(text, &mut redactor)?;
        write_text(&red, out, cap, out_len)
    })
}

/// The checks of calls that write a text: model and `out_len` set, `out` set when `cap` > 0.
unsafe fn text_out_args(model: *const pii_model, out: *mut c_char, cap: usize, out_len: *mut usize) -> Result<(), Error> {
    non_null(model, "model")?;
    non_null(out_len, "out_len")?;
    if cap > 0 {
        non_null(out, "out")?;
    }
    Ok(())
}

/// Write `red` NUL-terminated into `out[0..cap]` and its length into `*out_len`; when it does
/// not fit, only `*out_len` (the capacity needed, with the NUL) is written.
unsafe fn write_text(red: &str, out: *mut c_char, cap: usize, out_len: *mut usize) -> Result<(), Error> {
    if red.len() + 1 > cap {
        *out_len = red.len() + 1;
        return Err(Error::BufferTooSmall { needed: red.len() + 1 });
    }
    std::ptr::copy_nonoverlapping(red.as_ptr(), out as *mut u8, red.len());
    *out.add(red.len()) = 0;
    *out_len = red.len();
    Ok(())
}

/// Release a model. NULL is a no-op. No call on the model may be running or follow.
///
/// # Safety
/// `model` is NULL or came from `pii_load` and was not freed.
#[no_mangle]
pub unsafe extern "C" fn pii_free(model: *mut pii_model) {
    if !model.is_null() {
        let _ = catch_unwind(AssertUnwindSafe(|| drop(Box::from_raw(model))));
    }
}

/// Number of labels of the model (0 for NULL).
///
/// # Safety
/// `model` is NULL or a live model.
#[no_mangle]
pub unsafe extern "C" fn pii_label_count(model: *const pii_model) -> usize {
    if model.is_null() {
        return 0;
    }
    let m = &*model;
    m.label_cstrs.len()
}

/// Name of label `index` (static for the model's lifetime), or NULL when out of range or
/// `model` is NULL.
///
/// # Safety
/// `model` is NULL or a live model.
#[no_mangle]
pub unsafe extern "C" fn pii_label_name(model: *const pii_model, index: u32) -> *const c_char {
    if model.is_null() {
        return std::ptr::null();
    }
    let m = &*model;
    match m.label_cstrs.get(index as usize) {
        Some(s) => s.as_ptr(),
        None => std::ptr::null(),
    }
}

/// Whether label `index` is PII (false when out of range or `model` is NULL).
///
/// # Safety
/// `model` is NULL or a live model.
#[no_mangle]
pub unsafe extern "C" fn pii_label_is_pii(model: *const pii_model, index: u32) -> bool {
    if model.is_null() {
        return false;
    }
    let m = &*model;
    m.model.manifest().labels.get(index as usize).map(|l| l.pii).unwrap_or(false)
}

/// Static description of a status code, e.g. "invalid UTF-8"; unknown codes give
/// "unknown status". Takes an `int` so any value a caller holds is safe to pass.
#[no_mangle]
pub extern "C" fn pii_status_str(status: i32) -> *const c_char {
    let s: &'static [u8] = match status {
        0 => b"ok\0",
        1 => b"NULL argument\0",
        2 => b"invalid UTF-8\0",
        3 => b"buffer too small\0",
        4 => b"I/O error\0",
        5 => b"invalid model manifest\0",
        6 => b"invalid tokenizer\0",
        7 => b"ONNX Runtime unavailable\0",
        8 => b"model error\0",
        9 => b"invalid argument\0",
        10 => b"internal error\0",
        _ => b"unknown status\0",
    };
    s.as_ptr() as *const c_char
}

/// Library version, "MAJOR.MINOR.PATCH" (static string).
#[no_mangle]
pub extern "C" fn pii_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr() as *const c_char
}

/// Library version as one number, `(MAJOR << 16) | (MINOR << 8) | PATCH`; compare it with
/// `PII_VERSION_NUMBER` of the header a program was compiled with (`pii_version_compatible()`).
#[no_mangle]
pub extern "C" fn pii_version_number() -> u32 {
    PII_VERSION_NUMBER
}

/// Version of the loaded ONNX Runtime (static string), or NULL before the first `pii_load`.
#[no_mangle]
pub extern "C" fn pii_onnxruntime_version() -> *const c_char {
    static V: once_cell::sync::OnceCell<std::ffi::CString> = once_cell::sync::OnceCell::new();
    match crate::runtime::version() {
        Some(v) => V.get_or_init(|| std::ffi::CString::new(v).unwrap_or_default()).as_ptr(),
        None => std::ptr::null(),
    }
}

/// Major version of this library (as in `pii_version()`).
pub const PII_VERSION_MAJOR: u32 = 0;
/// Minor version of this library.
pub const PII_VERSION_MINOR: u32 = 4;
/// Patch version of this library.
pub const PII_VERSION_PATCH: u32 = 0;
/// This header's version as one number, `(MAJOR << 16) | (MINOR << 8) | PATCH`.
pub const PII_VERSION_NUMBER: u32 = (PII_VERSION_MAJOR << 16) | (PII_VERSION_MINOR << 8) | PII_VERSION_PATCH;
