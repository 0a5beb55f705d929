#!/usr/bin/env bash
# The main job: set up, build libpii.so and the C example, and tag sample transcripts with the
# shipped model (data/model/, or the test fixture if no trained model is present).
# Usage: scripts/run.sh [MODEL_DIR] [TRANSCRIPTS_FILE]
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
model=${1:-data/model}
[ -f "$model/pii_model.json" ] || { echo "run: no model in $model, using tests/fixtures/tiny"; model=tests/fixtures/tiny; }
input=${2:-data/samples.txt}
make -s lib CARGO="cargo --quiet"    # libpii.so (+ .so.0 link, ONNX Runtime beside it) in target/release
make -s -C examples/c build/tag
echo "run: tagging $input with $model"
examples/c/build/tag "$model" < "$input"
