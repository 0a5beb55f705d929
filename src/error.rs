//! The library's error type; each variant maps to one C status code.

use std::fmt;

/// Everything that can go wrong in the library. Messages name files, positions and sizes,
/// never transcript text.
#[derive(Debug)]
pub enum Error {
    /// A required pointer argument was NULL (C ABI only).
    NullArgument(&'static str),
    /// The input text is not valid UTF-8; `valid_up_to` is the byte offset of the first bad byte.
    InvalidUtf8 { valid_up_to: usize },
    /// An output buffer is too small; `needed` elements (or bytes) are required.
    BufferTooSmall { needed: usize },
    /// A file could not be read or written.
    Io { what: String, source: std::io::Error },
    /// The manifest is missing fields or inconsistent.
    Manifest(String),
    /// The tokenizer file could not be loaded or used.
    Tokenizer(String),
    /// The ONNX Runtime shared library could not be found, loaded or is too old.
    Runtime(String),
    /// The ONNX model could not be loaded or run.
    Model(String),
    /// An argument had an invalid value.
    InvalidArgument(String),
    /// A Rust panic was caught at the C boundary.
    Panic,
}

/// Result alias for the library.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub(crate) fn io(what: String, source: std::io::Error) -> Self {
        Error::Io { what, source }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NullArgument(name) => write!(f, "argument `{name}` is NULL"),
            Error::InvalidUtf8 { valid_up_to } => {
                write!(f, "text is not valid UTF-8 (first invalid byte at offset {valid_up_to})")
            }
            Error::BufferTooSmall { needed } => write!(f, "output buffer too small: {needed} needed"),
            Error::Io { what, source } => write!(f, "{what}: {source}"),
            Error::Manifest(m) => write!(f, "model manifest: {m}"),
            Error::Tokenizer(m) => write!(f, "tokenizer: {m}"),
            Error::Runtime(m) => write!(f, "ONNX Runtime: {m}"),
            Error::Model(m) => write!(f, "model: {m}"),
            Error::InvalidArgument(m) => write!(f, "invalid argument: {m}"),
            Error::Panic => write!(f, "internal error: a panic was caught at the C boundary"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}
