//! `pii`: an embeddable PII tagger for speech-to-text transcripts.
//!
//! A small transformer token classifier runs through ONNX Runtime on one thread per call.
//! The C ABI in [`ffi`] is a thin shell over the safe Rust API in this crate.

pub mod encode;
pub mod error;
pub mod manifest;

pub use error::{Error, Result};
pub mod decode;
pub mod elf;
pub mod validate;
pub mod ffi;
pub mod model;
pub mod runtime;
pub mod redact;
pub mod segment;
pub mod stream;
pub mod words;
pub mod wordpiece;

pub use decode::Span;
pub use model::{Model, Options};
pub use redact::{Redaction, Redactor, Style};
pub use stream::{Release, ReleasedWord, Stream, StreamOptions};
pub use validate::Validators;
pub use words::WordRange;
