//! Finding and loading the ONNX Runtime shared library once per process.
//!
//! Search order: the path given in the options, the `PII_ORT_LIBRARY` environment variable,
//! then `libonnxruntime.so.1` beside the binary that holds this library (`libpii.so`, or the
//! executable when linked statically). Each candidate is checked as an ELF shared object
//! before `dlopen` maps it ([`crate::elf`]), so a damaged file is an error, not a SIGBUS.
//! Telemetry is switched off before the runtime starts (see [`ensure`]).

use once_cell::sync::OnceCell;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::error::{Error, Result};

/// Environment variable naming the ONNX Runtime library to load.
pub const ORT_LIBRARY_ENV: &str = "PII_ORT_LIBRARY";
/// File name looked for beside the library.
pub const ORT_LIBRARY_NAME: &str = "libonnxruntime.so.1";

struct Runtime {
    _env: ort::environment::Environment,
    path: PathBuf,
    version: String,
}

static RUNTIME: OnceCell<Runtime> = OnceCell::new();
static INIT_LOCK: Mutex<()> = Mutex::new(());

/// Candidate library paths in search order.
fn candidates(explicit: Option<&Path>) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Some(p) = explicit {
        out.push(p.to_path_buf());
        return out;
    }
    if let Some(p) = std::env::var_os(ORT_LIBRARY_ENV) {
        if !p.is_empty() {
            out.push(PathBuf::from(p));
            return out;
        }
    }
    if let Some(dir) = own_dir() {
        out.push(dir.join(ORT_LIBRARY_NAME));
    }
    out
}

/// Directory of the binary that contains this code (`libpii.so` or the executable).
fn own_dir() -> Option<PathBuf> {
    // SAFETY: dladdr only reads loader tables; `info` is a plain out-struct.
    unsafe {
        let mut info: libc::Dl_info = std::mem::zeroed();
        let addr = own_dir as *const libc::c_void;
        if libc::dladdr(addr, &mut info) == 0 || info.dli_fname.is_null() {
            return None;
        }
        let name = std::ffi::CStr::from_ptr(info.dli_fname).to_str().ok()?;
        let mut p = PathBuf::from(name);
        if p.is_relative() {
            p = std::env::current_dir().ok()?.join(p);
        }
        let p = p.canonicalize().unwrap_or(p);
        p.parent().map(Path::to_path_buf)
    }
}

/// Name of the ONNX Runtime variable that switches its telemetry off.
pub const TELEMETRY_ENV: &str = "ORT_DISABLE_TELEMETRY";

/// Load ONNX Runtime (once per process) and return its version string.
///
/// A process holds one ONNX Runtime. After the first success, a call without an explicit
/// path returns the loaded runtime; a call naming a path must name the same file (the same
/// device and inode, through any symlink), otherwise it fails with [`Error::Runtime`]: a
/// second library would not be loaded, and silently using the first hides a deployment
/// mistake.
///
/// Telemetry: when `ORT_DISABLE_TELEMETRY` is unset, it is set to `1` just before ONNX
/// Runtime is first started, and removed again when that start fails; a value the host set
/// itself (`0` included) is never changed.
pub fn ensure(explicit: Option<&Path>) -> Result<&'static str> {
    if let Some(rt) = RUNTIME.get() {
        return loaded(rt, explicit);
    }
    let _guard = INIT_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(rt) = RUNTIME.get() {
        return loaded(rt, explicit);
    }
    let cands = candidates(explicit);
    if cands.is_empty() {
        return Err(Error::Runtime(format!(
            "no library to load: set options.ort_library or {ORT_LIBRARY_ENV}, or put {ORT_LIBRARY_NAME} beside libpii.so"
        )));
    }
    // ONNX Runtime writes a device id and telemetry state under ~/.cache unless this is set
    // before it starts; a PII library must leave no traces.
    let set_telemetry = std::env::var_os(TELEMETRY_ENV).is_none();
    let mut errors = Vec::new();
    for path in &cands {
        if !path.exists() {
            errors.push(format!("{} does not exist", path.display()));
            continue;
        }
        let path = path.canonicalize().unwrap_or_else(|_| path.clone());
        if let Err(e) = crate::elf::check_shared_object(&path) {
            errors.push(format!("{}: {e}", path.display()));
            continue;
        }
        if set_telemetry {
            std::env::set_var(TELEMETRY_ENV, "1");
        }
        match start(&path) {
            Ok(env) => {
                let version = runtime_version(&path);
                let rt = RUNTIME.get_or_init(|| Runtime { _env: env, path, version });
                return Ok(&rt.version);
            }
            Err(e) => errors.push(e),
        }
    }
    if set_telemetry {
        std::env::remove_var(TELEMETRY_ENV);
    }
    Err(Error::Runtime(format!(
        "cannot load the ONNX Runtime library (needs 1.{}+): {}",
        ort::MINOR_VERSION,
        errors.join("; ")
    )))
}

/// Load the library at `path` and create the process's environment.
fn start(path: &Path) -> std::result::Result<ort::environment::Environment, String> {
    let builder = ort::init_from(path).map_err(|e| e.to_string())?;
    builder
        .with_name("pii")
        .with_telemetry(false)
        // ONNX Runtime's own log lines can carry values derived from the input (token ids in
        // a failed Gather, say) and would land on the host's stderr: drop them.
        .with_logger(std::sync::Arc::new(|_, _, _, _, _| {}))
        .build()
        .map_err(|e| format!("cannot create environment: {e}"))
}

/// The loaded runtime's version, when `explicit` is `None` or names the loaded file.
fn loaded(rt: &'static Runtime, explicit: Option<&Path>) -> Result<&'static str> {
    let Some(p) = explicit else { return Ok(&rt.version) };
    if same_file(p, &rt.path) {
        return Ok(&rt.version);
    }
    let why = if p.exists() { "is a different file" } else { "does not exist" };
    Err(Error::Runtime(format!(
        "{} {why}, but this process already loaded ONNX Runtime from {} (one runtime per process: \
         name the same file, or leave ort_library NULL)",
        p.display(),
        rt.path.display()
    )))
}

/// True when `a` and `b` are the same file (same device and inode, or the same canonical path).
fn same_file(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(x), Ok(y)) => x.dev() == y.dev() && x.ino() == y.ino(),
        _ => matches!((a.canonicalize(), b.canonicalize()), (Ok(x), Ok(y)) if x == y),
    }
}

/// The version string of the ONNX Runtime library at `path` (already loaded by ort).
fn runtime_version(path: &Path) -> String {
    use std::os::unix::ffi::OsStrExt;
    let Ok(c) = std::ffi::CString::new(path.as_os_str().as_bytes()) else {
        return "unknown".into();
    };
    // SAFETY: RTLD_NOLOAD only returns a handle to a library that is already mapped (ort loaded
    // it); OrtGetApiBase and GetVersionString have the C signatures declared in ort-sys.
    unsafe {
        let h = libc::dlopen(c.as_ptr(), libc::RTLD_NOW | libc::RTLD_NOLOAD);
        if h.is_null() {
            return "unknown".into();
        }
        let sym = libc::dlsym(h, c"OrtGetApiBase".as_ptr());
        let v = if sym.is_null() {
            "unknown".to_string()
        } else {
            let get: unsafe extern "C" fn() -> *const ort::sys::OrtApiBase = std::mem::transmute(sym);
            let base = get();
            if base.is_null() {
                "unknown".to_string()
            } else {
                let s = ((*base).GetVersionString)();
                std::ffi::CStr::from_ptr(s).to_string_lossy().into_owned()
            }
        };
        libc::dlclose(h);
        v
    }
}

/// The process-wide ONNX Runtime environment, once loaded (for Rust callers that create
/// their own sessions, such as the trainer: a process may hold only one environment).
pub fn environment() -> Option<&'static ort::environment::Environment> {
    RUNTIME.get().map(|r| &r._env)
}

/// Version of the loaded ONNX Runtime, if loaded.
pub fn version() -> Option<&'static str> {
    RUNTIME.get().map(|r| r.version.as_str())
}

/// Path of the loaded ONNX Runtime library, if loaded.
pub fn library_path() -> Option<&'static Path> {
    RUNTIME.get().map(|r| r.path.as_path())
}
