//! Arbitrary bytes as a model manifest: `Manifest::from_json`, then as `pii_model.json` in a
//! model directory with the fixture's tokenizer and ONNX model, `Model::load` (and a tag when
//! it loads). Every outcome must be `Ok` or `Err`, never a panic.

#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::PathBuf;
use std::sync::OnceLock;

mod common;

/// A model directory whose tokenizer and ONNX files link to the fixture's (made once).
fn model_dir() -> &'static PathBuf {
    static D: OnceLock<PathBuf> = OnceLock::new();
    D.get_or_init(|| {
        let d = std::env::temp_dir().join(format!("pii-fuzz-manifest-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        for f in ["tokenizer.json", "model.onnx"] {
            let _ = std::fs::remove_file(d.join(f));
            std::os::unix::fs::symlink(common::fixture_dir().join(f).canonicalize().unwrap(), d.join(f)).unwrap();
        }
        d
    })
}

fn options() -> pii::Options {
    pii::Options { ort_library: Some(common::ort_library()), max_sessions: 1, ..Default::default() }
}

fuzz_target!(|data: &[u8]| {
    let s = String::from_utf8_lossy(data);
    let parsed = pii::manifest::Manifest::from_json(&s);
    if let Ok(m) = &parsed {
        assert!(m.validate().is_ok());
        assert_eq!(m.tag_names().len(), m.num_tags());
    }
    let dir = model_dir();
    std::fs::write(dir.join("pii_model.json"), data).unwrap();
    match pii::Model::load(dir, &options()) {
        Ok(model) => {
            assert!(parsed.is_ok(), "a manifest from_json rejects must not load");
            let text = "my name is priya sharma and my number is nine eight seven six ".repeat(20);
            let _ = model.tag(&text);
            let _ = model.redact("call rahul on two two", true);
        }
        Err(e) => {
            assert!(!e.to_string().is_empty());
        }
    }
});
