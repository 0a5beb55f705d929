//! The C ABI of [`crate::stream`]: a stream per call or channel.

use std::ffi::c_char;
use std::panic::{catch_unwind, AssertUnwindSafe};

use super::{boundary, non_null, pii_error, pii_model, pii_redaction, pii_status, redaction_arg, text_arg};
use crate::model::Model;
use crate::stream::{Release, Stream, StreamOptions};

/// Options of `pii_stream_new`; start from `pii_stream_default_options()`. Each count is at
/// most 256 words.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct pii_stream_options {
    /// Most final words held back (default 24); when more wait, the oldest are released,
    /// redacted conservatively (see `pii_stream_push`).
    pub hold_back: u32,
    /// Already released final words kept as left context for the words after them (default 48).
    pub context: u32,
    /// Words that must follow a word before it is released (default 4; partial words count).
    pub settle: u32,
    /// What is redacted, and how (all zero: every PII label as `[LABEL]`).
    pub redaction: pii_redaction,
}

/// One released word.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct pii_released_word {
    /// Index of the word among the stream's final words (0 = the call's first final word), as
    /// the engine split them on whitespace: the key to the engine's own word times.
    pub index: usize,
    /// Byte offset in `pii_release.text` of what stands for the word: the word itself, or the
    /// replacement of the span it belongs to (shared by all of the span's words).
    pub start: usize,
    /// End of those bytes (exclusive).
    pub end: usize,
    /// Label index the word was redacted as, or -1 when it is released as spoken.
    pub label: i32,
}

/// What a push or finish released; owned by the stream, valid until the next call on it.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct pii_release {
    /// The released words, redacted, joined by single spaces, NUL-terminated (no leading or
    /// trailing space: put one between consecutive non-empty releases). Never NULL.
    pub text: *const c_char,
    /// Length of `text` in bytes, without the NUL.
    pub len: usize,
    /// The released words in order (NULL when `n_words` is 0).
    pub words: *const pii_released_word,
    /// Number of released words.
    pub n_words: usize,
    /// Words still held back: final words not yet released, then the current partial's.
    pub held: usize,
}

/// A stream (opaque): one call or channel of live transcript.
pub struct pii_stream {
    stream: Stream<'static>,
    text: Vec<u8>,
    words: Vec<pii_released_word>,
    out: pii_release,
}

impl pii_stream {
    /// Keep `rel` as the stream's current release and point `*out` (when not NULL) at it.
    unsafe fn publish(&mut self, rel: Release, out: *mut *const pii_release) {
        self.text = rel.text.into_bytes();
        self.text.push(0);
        self.words = rel
            .words
            .iter()
            .map(|w| pii_released_word {
                index: w.index,
                start: w.start,
                end: w.end,
                label: w.label.map_or(-1, |l| l as i32),
            })
            .collect();
        self.out = pii_release {
            text: self.text.as_ptr() as *const c_char,
            len: self.text.len() - 1,
            words: if self.words.is_empty() { std::ptr::null() } else { self.words.as_ptr() },
            n_words: self.words.len(),
            held: rel.held,
        };
        if !out.is_null() {
            *out = &self.out;
        }
    }
}

/// Default stream options: hold back at most 24 words, 48 words of left context, 4 words to
/// settle, every PII label as `[LABEL]`.
#[no_mangle]
pub extern "C" fn pii_stream_default_options() -> pii_stream_options {
    let d = StreamOptions::default();
    pii_stream_options {
        hold_back: d.hold_back as u32,
        context: d.context as u32,
        settle: d.settle as u32,
        redaction: pii_redaction { style: super::PII_STYLE_LABEL, labels: 0 },
    }
}

/// Open a stream on `model` (`options` NULL: the defaults). On success `*out` receives it, to
/// be released with `pii_stream_free` before the model is freed. Many streams may share one
/// model from many threads; one stream must not be used by two threads at once.
///
/// # Safety
/// Pointers follow the rules at the top of this header; `model` outlives the stream.
#[no_mangle]
pub unsafe extern "C" fn pii_stream_new(
    model: *const pii_model,
    options: *const pii_stream_options,
    out: *mut *mut pii_stream,
    err: *mut pii_error,
) -> pii_status {
    boundary(err, || {
        non_null(model, "model")?;
        non_null(out, "out")?;
        // SAFETY: the caller keeps the model alive until the stream is freed (documented).
        let m: &'static Model = &*(&(*model).model as *const Model);
        let o = if options.is_null() { pii_stream_default_options() } else { *options };
        let opts = StreamOptions {
            hold_back: o.hold_back as usize,
            context: o.context as usize,
            settle: o.settle as usize,
            redaction: redaction_arg(m, &o.redaction)?,
        };
        let stream = Stream::new(m, opts)?;
        let empty = pii_release { text: std::ptr::null(), len: 0, words: std::ptr::null(), n_words: 0, held: 0 };
        let s = Box::new(pii_stream { stream, text: vec![0], words: Vec::new(), out: empty });
        *out = Box::into_raw(s);
        Ok(())
    })
}

/// Push the engine's current hypothesis of the segment after its last final: `len` bytes of
/// UTF-8 at `text`, split into words on whitespace. A partial (`is_final` false) replaces the
/// previous partial; a final appends its words for good and clears the partial. Only final
/// words are released; partial words are right context.
///
/// On success `*out` (when `out` is not NULL) points to what is now safe to release: the
/// longest run of final words whose redaction the words after them can no longer change (no
/// span, open number or email without its domain crosses its end; `settle` words follow it;
/// no word in it is one the model leaves untagged yet gives a PII probability of 0.05 or more
/// with fewer than 20 words after it). When more than `hold_back` final words wait, the oldest
/// are released anyway, redacted conservatively: the part of a span they hold is replaced, the
/// words of a number still being spoken are replaced as that number's label (PHONE when the
/// model gave it none), and such doubtful words as the label the model finds likeliest.
/// Released text is append-only; it is the same as the one-shot redaction of the final text
/// whenever the settled words' tags are the ones the whole text gives them.
///
/// Errors (`PII_ERR_INVALID_UTF8`, a push after `pii_stream_finish`, inference failures)
/// change nothing in the stream.
///
/// # Safety
/// Pointers follow the rules at the top of this header.
#[no_mangle]
pub unsafe extern "C" fn pii_stream_push(
    stream: *mut pii_stream,
    text: *const c_char,
    len: usize,
    is_final: bool,
    out: *mut *const pii_release,
    err: *mut pii_error,
) -> pii_status {
    boundary(err, || {
        non_null(stream, "stream")?;
        let s = &mut *stream;
        let text = text_arg(text, len)?;
        let rel = s.stream.push(text, is_final)?;
        s.publish(rel, out);
        Ok(())
    })
}

/// End of the call: release every held final word (a partial not sent as a final is
/// dropped). `*out` as in `pii_stream_push`. Further pushes are `PII_ERR_INVALID_ARGUMENT`.
///
/// # Safety
/// Pointers follow the rules at the top of this header.
#[no_mangle]
pub unsafe extern "C" fn pii_stream_finish(
    stream: *mut pii_stream,
    out: *mut *const pii_release,
    err: *mut pii_error,
) -> pii_status {
    boundary(err, || {
        non_null(stream, "stream")?;
        let s = &mut *stream;
        let rel = s.stream.finish()?;
        s.publish(rel, out);
        Ok(())
    })
}

/// Release a stream (finished or not). NULL is a no-op.
///
/// # Safety
/// `stream` is NULL or came from `pii_stream_new` and was not freed.
#[no_mangle]
pub unsafe extern "C" fn pii_stream_free(stream: *mut pii_stream) {
    if !stream.is_null() {
        let _ = catch_unwind(AssertUnwindSafe(|| drop(Box::from_raw(stream))));
    }
}
