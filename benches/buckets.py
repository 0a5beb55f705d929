"""Split the dev and held-out texts into length buckets for the latency benchmarks:
target/bench/{short,medium,long,all}.txt (short < 20 words, medium 20-44, long >= 45).
With the shipped tokenizer these average about 20, 42 (p95 60) and 72 word pieces.

usage: python3 benches/buckets.py
"""
import json
import os

rows = []
for f in ("data/heldout.jsonl", "data/dev.jsonl"):
    rows += [json.loads(l)["text"] for l in open(f, encoding="utf-8") if l.strip()]
buckets = {"short": [], "medium": [], "long": [], "all": rows}
for t in rows:
    n = len(t.split())
    buckets["short" if n < 20 else "medium" if n < 45 else "long"].append(t)
os.makedirs("target/bench", exist_ok=True)
for name, texts in buckets.items():
    with open(f"target/bench/{name}.txt", "w", encoding="utf-8") as out:
        out.write("\n".join(texts) + "\n")
    print(f"target/bench/{name}.txt: {len(texts)} utterances")
