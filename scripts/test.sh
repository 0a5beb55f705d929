#!/usr/bin/env bash
# Every test: Rust unit and integration tests (library and trainer), the header check, the C,
# C++ and Go callers (with ASan/UBSan and valgrind), the installed copy (scripts/test-install.sh),
# and a fuzz smoke run. Installs what it
# needs via scripts/setup.sh. Ends with one line: "tests: N passed, M failed".
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
export PII_ORT_LIBRARY="$PWD/.deps/onnxruntime/libonnxruntime.so.1"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
count() { # sum "N passed" / "N failed" over the lines of the log so far
    python3 - "$log" <<'PY'
import re, sys
p = f = 0
for line in open(sys.argv[1], errors="replace"):
    m = re.search(r"test result: \w+\. (\d+) passed; (\d+) failed", line) or re.match(r"^(\d+) passed, (\d+) failed", line)
    if m:
        p += int(m.group(1)); f += int(m.group(2))
    elif re.match(r"^(--- PASS|--- FAIL)", line):
        p += line.startswith("--- PASS"); f += line.startswith("--- FAIL")
print(p, f)
PY
}
echo "== cargo test (workspace)"
cargo test --workspace 2>&1 | tee -a "$log"
echo "== C, C++ and Go callers"
GO_TEST_FLAGS=-v ./scripts/test-callers.sh 2>&1 | tee -a "$log"
echo "== installed copy: make install, pkg-config, CMake, Go, release archive, ABI record"
./scripts/test-install.sh 2>&1 | tee -a "$log"
echo "== fuzz smoke (libFuzzer, ~20 s per target)"
./scripts/fuzz.sh --smoke
read -r passed failed < <(count)
echo "tests: $passed passed, $failed failed"
