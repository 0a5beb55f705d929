#!/usr/bin/env bash
# Build libpii.so and test it from its callers: C (tests, ASan/UBSan, valgrind), C++ and Go.
#
#   scripts/test-callers.sh            everything (a few minutes on 2 cores; valgrind ~40 s)
#   SKIP_VALGRIND=1 SKIP_ASAN=1 ...    skip the slow checkers
#   MODEL=path/to/model ...            another model dir (default tests/fixtures/tiny)
#
# Layout, as installed (`make` at the root): libpii.so.0 and libonnxruntime.so.1 beside
# target/release/libpii.so, which finds ONNX Runtime there (rpath $ORIGIN + its own search);
# the programs link with an rpath to target/release, Go through target/release/pkgconfig/pii.pc.
# Against an installed copy: scripts/test-install.sh. Exits nonzero when any step fails,
# after running them all.
set -uo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
MODEL=${MODEL:-$ROOT/tests/fixtures/tiny}
LIBDIR=$ROOT/target/release
failures=()

step() {
    local name=$1
    shift
    echo "==> $name"
    local t0=$SECONDS
    if "$@"; then
        echo "--> $name: ok ($((SECONDS - t0)) s)"
    else
        echo "--> $name: FAILED ($((SECONDS - t0)) s)"
        failures+=("$name")
    fi
}

# `make` (repository root): the cargo build plus the installed layout in target/release
# (libpii.so.0, ONNX Runtime beside it, pkgconfig/pii.pc for this checkout).
if ! make -s -C "$ROOT" lib; then
    echo "make lib failed" >&2
    exit 1
fi
export PKG_CONFIG_PATH=$LIBDIR/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}
if [ ! -e "$MODEL/pii_model.json" ]; then
    echo "no model at $MODEL" >&2
    exit 1
fi

step "C test_capi + tag + latency" make -s -C examples/c test MODEL="$MODEL" LIBDIR="$LIBDIR"
[ -n "${SKIP_ASAN:-}" ] || step "C ASan/UBSan" make -s -C examples/c asan MODEL="$MODEL" LIBDIR="$LIBDIR"
if [ -z "${SKIP_VALGRIND:-}" ]; then
    if command -v valgrind >/dev/null; then
        step "C valgrind" make -s -C examples/c valgrind MODEL="$MODEL" LIBDIR="$LIBDIR"
    else
        echo "valgrind not installed: skipped"
    fi
fi
step "C++ wrapper" make -s -C examples/cpp test MODEL="$MODEL" LIBDIR="$LIBDIR"

go_test() {
    cd "$ROOT/go" || return 1
    go vet ./... || return 1
    # -race needs cgo and a C compiler, both present where this runs; fall back if the race
    # runtime is unavailable on this platform.
    if go test -race -count=1 -run '^$' ./... >/dev/null 2>&1; then
        go test -race -count=1 ${GO_TEST_FLAGS:-} ./...
    else
        echo "(race detector unavailable: plain go test)"
        go test -count=1 ${GO_TEST_FLAGS:-} ./...
    fi
}
if command -v go >/dev/null; then
    step "Go vet + test" go_test
else
    echo "go not installed: skipped"
fi

if [ ${#failures[@]} -gt 0 ]; then
    printf 'FAILED: %s\n' "${failures[@]}"
    exit 1
fi
echo "all caller tests passed"
