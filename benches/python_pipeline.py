"""The pipeline a user would otherwise deploy: Python onnxruntime + Hugging Face tokenizers,
one thread, batch size 1. Times tokenize + run + argmax per utterance and prints
`p50_ms=.. p95_ms=.. p99_ms=.. mean_ms=.. n=..` as its last line. Calls take the utterances
in file order from --start (cycling), warm-up first, as examples/c/latency does; --raw writes
each timed call's milliseconds to a file, one per line.

usage: python3 benches/python_pipeline.py MODEL.onnx TOKENIZER.json TEXT_FILE [--runs N] [--warmup N]
       [--start K] [--raw OUT_FILE]
"""
import argparse
import time

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("tokenizer")
    ap.add_argument("texts")
    ap.add_argument("--runs", type=int, default=1000)
    ap.add_argument("--warmup", type=int, default=50)
    ap.add_argument("--start", type=int, default=0)
    ap.add_argument("--raw")
    a = ap.parse_args()

    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    sess = ort.InferenceSession(a.model, so, providers=["CPUExecutionProvider"])
    tok = Tokenizer.from_file(a.tokenizer)
    tok.no_padding()
    tok.enable_truncation(128)
    names = [i.name for i in sess.get_inputs()]
    lines = [l.strip() for l in open(a.texts, encoding="utf-8") if l.strip()]

    def one(text):
        enc = tok.encode(text)
        ids = np.asarray([enc.ids], dtype=np.int64)
        feed = {"input_ids": ids, "attention_mask": np.ones_like(ids)}
        if "token_type_ids" in names:
            feed["token_type_ids"] = np.zeros_like(ids)
        logits = sess.run(None, feed)[0]
        return logits[0].argmax(-1)

    for i in range(a.warmup):
        one(lines[(a.start + i) % len(lines)])
    times = []
    for i in range(a.runs):
        text = lines[(a.start + a.warmup + i) % len(lines)]
        t0 = time.perf_counter()
        one(text)
        times.append((time.perf_counter() - t0) * 1000.0)
    if a.raw:
        with open(a.raw, "w") as out:
            out.write("".join(f"{v:.6f}\n" for v in times))
    t = np.asarray(times)
    print(f"onnxruntime {ort.__version__} python, threads=1, model={a.model}, utterances={len(lines)}")
    print(
        f"p50_ms={np.percentile(t, 50):.3f} p95_ms={np.percentile(t, 95):.3f} "
        f"p99_ms={np.percentile(t, 99):.3f} mean_ms={t.mean():.3f} n={len(t)}"
    )


if __name__ == "__main__":
    main()
