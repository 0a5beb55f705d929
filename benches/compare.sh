#!/usr/bin/env bash
# Latency of libpii (C latency program, shipped model) against the pipeline a user would
# otherwise deploy: Python onnxruntime + Hugging Face tokenizers running the fp32
# all-MiniLM-L6 export, one thread, batch size 1, on the same transcripts, in one run.
# Usage: benches/compare.sh [TEXT_FILE] [RUNS]   (default: the medium bucket of benches/buckets.py, 2000 runs)
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh --base-model
texts=${1:-}
runs=${2:-2000}
work=target/bench
mkdir -p "$work"
if [ -z "$texts" ]; then
  python3 benches/buckets.py >/dev/null; texts=$work/medium.txt
fi
# Python side: a venv with onnxruntime and tokenizers from PyPI.
if [ ! -x .deps/bench-venv/bin/python ]; then
  python3 -m venv .deps/bench-venv
  .deps/bench-venv/bin/pip install --quiet "onnxruntime==1.31.1" tokenizers numpy
fi
cargo build --release -p pii-trainer --quiet
make -s lib
make -s -C examples/c build/latency
# The L6 fp32 baseline model: MiniLM-L6 with a token-classification head (one training step;
# the head's values do not change the cost).
if [ ! -f "$work/l6/model.fp32.onnx" ]; then
  target/release/pii-trainer train --init .deps/minilm --out "$work/l6-ckpt" --dev data/dev.jsonl --dev-limit 16 --limit 16 --max-steps 1 --epochs 1 >/dev/null
  target/release/pii-trainer export --checkpoint "$work/l6-ckpt" --out "$work/l6" --fp32-only >/dev/null
fi
echo "== libpii (C latency program, data/model)"
ours=$(examples/c/build/latency data/model "$texts" --runs "$runs" --warmup 100 | tee /dev/stderr | tail -1)
echo "== Python onnxruntime + tokenizers, fp32 L6"
theirs=$(.deps/bench-venv/bin/python benches/python_pipeline.py "$work/l6/model.fp32.onnx" "$work/l6/tokenizer.json" "$texts" --runs "$runs" --warmup 100 | tee /dev/stderr | tail -1)
python3 - "$ours" "$theirs" <<'PY'
import sys
def parse(s): return {k: float(v) for k, v in (f.split("=") for f in s.split())}
a, b = parse(sys.argv[1]), parse(sys.argv[2])
for k in ("p50_ms", "p95_ms", "p99_ms", "mean_ms"):
    print(f"{k}: libpii {a[k]:.3f}  python-fp32-L6 {b[k]:.3f}  speedup {b[k]/a[k]:.2f}x")
PY
