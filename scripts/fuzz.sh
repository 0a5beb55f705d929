#!/usr/bin/env bash
# Run the cargo-fuzz targets in fuzz/ (tag: bytes through pii_tag/pii_redact; manifest: bytes as
# pii_model.json through Manifest::from_json and Model::load) and print executions and crashes.
#
#   scripts/fuzz.sh [SECONDS]   each target for SECONDS (default 60)
#   scripts/fuzz.sh --smoke     each target for 20 s (CI)
#
# Needs cargo-fuzz (`cargo install cargo-fuzz --locked`); on a stable toolchain the nightly
# flags it passes are allowed with RUSTC_BOOTSTRAP=1. Seeds are in fuzz/seeds/<target>; new
# corpus entries go to fuzz/corpus/<target>, crashes to fuzz/artifacts/<target>, logs to
# fuzz/target/logs. Runs at the lowest CPU priority. Exits nonzero when a target crashed.
set -euo pipefail
cd "$(dirname "$0")/.."

secs=60
case "${1:-}" in
    --smoke) secs=20 ;;
    "") ;;
    *[!0-9]*) echo "usage: $0 [SECONDS | --smoke]" >&2; exit 2 ;;
    *) secs=$1 ;;
esac
targets=(${PII_FUZZ_TARGETS:-tag manifest})

export RUSTC_BOOTSTRAP=1
export PII_ORT_LIBRARY="${PII_ORT_LIBRARY:-$PWD/.deps/onnxruntime/libonnxruntime.so.1}"
[ -e "$PII_ORT_LIBRARY" ] || { echo "ONNX Runtime not found at $PII_ORT_LIBRARY: run scripts/setup.sh" >&2; exit 1; }
command -v cargo-fuzz >/dev/null || { echo "fuzz: installing cargo-fuzz from crates.io"; cargo install cargo-fuzz --locked --version 0.13.2; }

nice -n 19 cargo fuzz build
mkdir -p fuzz/target/logs
summary=()
failed=0
for t in "${targets[@]}"; do
    mkdir -p "fuzz/corpus/$t" "fuzz/artifacts/$t"
    # Crashes, leaks, timeouts and out-of-memory inputs; not slow units.
    count() { find "fuzz/artifacts/$t" -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) | wc -l; }
    before=$(count)
    log="fuzz/target/logs/$t.log"
    echo "== $t for ${secs}s (log: $log)"
    rc=0
    nice -n 19 cargo fuzz run "$t" "fuzz/corpus/$t" "fuzz/seeds/$t" -- \
        -max_total_time="$secs" -max_len=4096 -timeout=120 -rss_limit_mb=4096 \
        -report_slow_units=60 -print_final_stats=1 >"$log" 2>&1 || rc=$?
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
    if [ -z "$execs" ]; then  # killed before the final stats: last status line
        execs=$(grep -o '^#[0-9]*' "$log" | tail -1 | tr -d '#')
    fi
    rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
    corpus=$(find "fuzz/corpus/$t" -type f | wc -l)
    crashes=$(( $(count) - before ))
    if [ "$rc" -ne 0 ] || [ "$crashes" -gt 0 ]; then
        failed=1
        echo "!! $t: exit $rc, $crashes new artifacts in fuzz/artifacts/$t; end of log:"
        tail -40 "$log"
    fi
    summary+=("$t | ${secs} | ${execs:-?} | ${rate:-?} | $corpus | $crashes | $rc")
    rm -rf "${TMPDIR:-/tmp}"/pii-fuzz-manifest-* 2>/dev/null || true
done

echo
echo "target | seconds | executions | exec/s | corpus | crashes | exit"
printf '%s\n' "${summary[@]}"
exit $failed
