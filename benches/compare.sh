#!/usr/bin/env bash
# End-to-end latency of libpii (examples/c/latency, pii_tag, max_sessions 1) with each model
# directory given, against the pipeline a user would otherwise deploy: Python onnxruntime +
# Hugging Face tokenizers on the fp32 all-MiniLM-L6 export. One thread, batch 1, the same
# utterances for every variant, in interleaved rounds: each round runs every variant once
# (a fresh process: load, warm-up, then CALLS timed calls on the round's utterances), the
# variant order rotating from round to round, so machine noise falls on all variants alike.
# Each variant's per-call times are pooled over the rounds; printed per bucket: p50/p95/p99
# (nearest rank), mean, and the ratios python / variant and REF / variant.
#
# Usage: benches/compare.sh [--rounds N] [--calls N] [--warmup N] [--buckets "medium long"]
#                           [--ref DIR] [MODEL_DIR...]
#   defaults: 10 rounds x 200 calls (warm-up 50) per variant, buckets medium and long
#   (benches/buckets.py), model dirs data/model and target/bench/l3, REF target/bench/l3.
#   target/bench/l3 is the earlier 3-layer hidden-384 int8 model, written from git
#   (commit f0673a9) when missing; the fp32 L6 export is built into target/bench/l6.
# Raw times and logs: target/bench/compare/<bucket>/<variant>.<round>.txt
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=10 calls=200 warmup=50 buckets="medium long" ref=target/bench/l3
dirs=()
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds=$2; shift 2 ;;
    --calls) calls=$2; shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    --buckets) buckets=$2; shift 2 ;;
    --ref) ref=$2; shift 2 ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    -*) echo "compare: unknown option $1" >&2; exit 2 ;;
    *) dirs+=("${1%/}"); shift ;;
  esac
done
[ ${#dirs[@]} -gt 0 ] || dirs=(data/model target/bench/l3)
ref=${ref%/}
# make and the programs below use target/release (the Makefile's layout).
unset CARGO_TARGET_DIR
work=target/bench
mkdir -p "$work"

./scripts/setup.sh --base-model >/dev/null
python3 benches/buckets.py >/dev/null
# The earlier 3-layer hidden-384 int8 model (never committed: model files stay out of git).
if [ ! -f "$work/l3/pii_model.json" ]; then
  mkdir -p "$work/l3"
  for f in model.onnx tokenizer.json pii_model.json; do git show "f0673a9:data/model/$f" > "$work/l3/$f"; done
fi
for d in "${dirs[@]}"; do
  [ -f "$d/pii_model.json" ] || { echo "compare: $d is not a model directory" >&2; exit 2; }
done
# Python side: a venv with onnxruntime and tokenizers from PyPI.
if [ ! -x .deps/bench-venv/bin/python ]; then
  python3 -m venv .deps/bench-venv
  .deps/bench-venv/bin/pip install --quiet "onnxruntime==1.31.1" tokenizers numpy
fi
make -s lib >/dev/null
make -s -C examples/c build/latency >/dev/null
# The L6 fp32 baseline model: MiniLM-L6 with a token-classification head (one training step;
# the head's values do not change the cost).
if [ ! -f "$work/l6/model.fp32.onnx" ]; then
  cargo build --release -p pii-trainer --quiet
  target/release/pii-trainer train --init .deps/minilm --out "$work/l6-ckpt" --dev data/dev.jsonl --dev-limit 16 --limit 16 --max-steps 1 --epochs 1 >/dev/null
  target/release/pii-trainer export --checkpoint "$work/l6-ckpt" --out "$work/l6" --fp32-only >/dev/null
fi

echo "cpu: $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) cpus online"
flags=$(grep -m1 '^flags' /proc/cpuinfo || true)
has() { case " $flags " in *" $1 "*) echo yes ;; *) echo no ;; esac; }
echo "cpu flags: avx2 $(has avx2), avx512f $(has avx512f), avx512_vnni $(has avx512_vnni), avx_vnni $(has avx_vnni)"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "rounds $rounds x $calls timed calls per variant (warm-up $warmup each), one thread, batch 1"

variants=(python "${dirs[@]}")
label() { if [ "$1" = python ]; then echo "python-fp32-L6"; else echo "$1"; fi; }
file_of() { echo "$1" | tr '/' '_'; }
for bucket in $buckets; do
  texts=$work/$bucket.txt
  out=$work/compare/$bucket
  rm -rf "$out" && mkdir -p "$out"
  n=${#variants[@]}
  for ((r = 0; r < rounds; r++)); do
    # Every variant times the same utterances in round r; the order rotates by one each round.
    start=$((r * (calls + warmup)))
    for ((k = 0; k < n; k++)); do
      v=${variants[$(((k + r) % n))]}
      raw=$out/$(file_of "$v").$r.txt
      if [ "$v" = python ]; then
        .deps/bench-venv/bin/python benches/python_pipeline.py "$work/l6/model.fp32.onnx" "$work/l6/tokenizer.json" \
          "$texts" --runs "$calls" --warmup "$warmup" --start "$start" --raw "$raw" >"$raw.log"
      else
        examples/c/build/latency "$v" "$texts" --runs "$calls" --warmup "$warmup" --start "$start" --raw "$raw" >"$raw.log"
      fi
    done
    printf '\r%s: round %d/%d' "$bucket" $((r + 1)) "$rounds" >&2
  done
  echo >&2
  echo "== $bucket bucket ($(grep -c . "$texts") utterances in $texts)"
  args=()
  for v in "${variants[@]}"; do args+=("$(label "$v")=$out/$(file_of "$v")"); done
  python3 - "$rounds" "$(label "$ref")" "${args[@]}" <<'PY'
import math, sys
rounds, ref, specs = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
def pct(v, q):  # nearest rank, as examples/c/latency
    return v[min(len(v), max(1, math.ceil(q * len(v)))) - 1]
stats = {}
for spec in specs:
    name, prefix = spec.split("=", 1)
    t = sorted(float(x) for r in range(rounds) for x in open(f"{prefix}.{r}.txt") if x.strip())
    stats[name] = {"p50": pct(t, .50), "p95": pct(t, .95), "p99": pct(t, .99), "mean": sum(t) / len(t), "n": len(t)}
py = "python-fp32-L6"
w = max(len(n) for n in stats)
print(f"{'variant':<{w}}  {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'mean':>7} {'n':>6}   python/variant p50 p95 p99   {ref}/variant p50 p95 p99")
for name, s in stats.items():
    ratio = lambda base: " ".join(f"{stats[base][k] / s[k]:5.2f}x" for k in ("p50", "p95", "p99")) if base in stats else "  -"
    print(f"{name:<{w}}  {s['p50']:7.3f} {s['p95']:7.3f} {s['p99']:7.3f} {s['mean']:7.3f} {s['n']:6d}   {ratio(py)}   {ratio(ref)}")
PY
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
