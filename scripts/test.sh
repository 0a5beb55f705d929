#!/usr/bin/env bash
# Every test: Rust unit and integration tests (library and trainer), the header check, the C,
# C++ and Go callers (with ASan/UBSan and valgrind). Installs what it needs via scripts/setup.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
export PII_ORT_LIBRARY="$PWD/.deps/onnxruntime/libonnxruntime.so.1"
echo "== cargo test (workspace)"
cargo test --workspace
echo "== C, C++ and Go callers"
./scripts/test-callers.sh
echo "== fuzz smoke (libFuzzer, ~20 s per target)"
./scripts/fuzz.sh --smoke
echo "== all tests passed"
