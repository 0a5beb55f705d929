//! The checked-in C header must equal what cbindgen generates from the source.

#[test]
fn checked_in_header_matches_generated() {
    let generated = include_str!(concat!(env!("OUT_DIR"), "/pii.h"));
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/include/pii.h");
    let checked_in = std::fs::read_to_string(path).expect("include/pii.h exists");
    assert!(
        generated == checked_in,
        "include/pii.h is stale: regenerate it with `PII_WRITE_HEADER=1 cargo build -p pii`"
    );
}

#[test]
fn version_macros_match_cargo_version() {
    let v = env!("CARGO_PKG_VERSION");
    let want = format!(
        "{}.{}.{}",
        pii::ffi::PII_VERSION_MAJOR,
        pii::ffi::PII_VERSION_MINOR,
        pii::ffi::PII_VERSION_PATCH
    );
    assert_eq!(v, want);
    let c = unsafe { std::ffi::CStr::from_ptr(pii::ffi::pii_version()) };
    assert_eq!(c.to_str().unwrap(), v);
    let h = include_str!(concat!(env!("OUT_DIR"), "/pii.h"));
    assert!(h.contains(&format!("#define PII_VERSION_MAJOR {}", pii::ffi::PII_VERSION_MAJOR)));
    let parts: Vec<u32> = v.split('.').map(|p| p.parse().unwrap()).collect();
    let number = (parts[0] << 16) | (parts[1] << 8) | parts[2];
    assert_eq!(pii::ffi::pii_version_number(), number);
    assert_eq!(pii::ffi::PII_VERSION_NUMBER, number);
}
