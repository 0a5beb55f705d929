//! A host's own `ORT_DISABLE_TELEMETRY` is never overridden (its own test process: the
//! variable is read when ONNX Runtime first starts). `HOME` and the XDG directories point at a
//! temporary directory first, since a host value of `0` lets ONNX Runtime write its cache.

mod common;
use common::*;

#[test]
fn host_value_of_the_telemetry_variable_is_kept() {
    let home = tempfile::tempdir().unwrap();
    std::env::set_var("HOME", home.path());
    std::env::set_var("XDG_CACHE_HOME", home.path().join(".cache"));
    std::env::set_var("ORT_DISABLE_TELEMETRY", "0");
    let m = fixture();
    m.tag("call me on nine eight seven six five four three two one zero").unwrap();
    assert_eq!(std::env::var("ORT_DISABLE_TELEMETRY").as_deref(), Ok("0"), "the host's value stays");
    // A later load changes nothing either.
    drop(fixture());
    assert_eq!(std::env::var("ORT_DISABLE_TELEMETRY").as_deref(), Ok("0"));
}
