#!/usr/bin/env python3
"""Tokenizer encode throughput: januskit (C++) versus the Rust `tokenizers` package, one thread each.

    .venv/bin/python bench/tokenizer_throughput.py [--build build] [--mb 10] [--repeat 3] [NAME ...]

NAME is a folder of ../shared/fixtures/tokenizers (default: qwen3 deepseek_v3). For each, the script
builds a ~10 MB mixed-language corpus deterministically (no downloads): the texts of both fixture
vector files (English prose, code, CJK, Cyrillic, Arabic, Hindi, Korean, emoji, numbers, whitespace
runs, literal special tokens) shuffled with a fixed seed and repeated, one document per line. Then:

  * januskit: build/bench/tokenizer_bench loads tokenizer.json (load time reported on its own, best
    of --repeat loads) and
    encodes every document with add_special_tokens=false; best of --repeat passes, timed inside
    the process, so process start and file loading are excluded;
  * Rust: tokenizers.Tokenizer.from_file (timed, best of --repeat), then encode_batch over the same documents with
    TOKENIZERS_PARALLELISM=false and RAYON_NUM_THREADS=1 (one thread; checked from CPU time);
    best of --repeat passes.

Both must produce identical ids for the whole corpus (checked: a 10 MB differential test). Prints
MB/s for both and the ratio januskit / Rust.
"""
import argparse
import json
import os
import pathlib
import random
import resource
import subprocess
import sys
import time

os.environ["TOKENIZERS_PARALLELISM"] = "false"
os.environ["RAYON_NUM_THREADS"] = "1"

import numpy as np  # noqa: E402
import tokenizers  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "fixtures" / "tokenizers"


def build_corpus(target_bytes: int, seed: int = 2026, max_chars: int = 0) -> list[str]:
    texts = []
    for name in ("deepseek_v3", "qwen3"):
        for line in (SHARED / name / "vectors.jsonl").read_text(encoding="utf-8").split("\n"):
            if not line:
                continue
            t = json.loads(line)["text"]
            if t and (max_chars <= 0 or len(t) <= max_chars):
                texts.append(t)
    rng = random.Random(seed)
    docs, size = [], 0
    while size < target_bytes:
        batch = texts[:]
        rng.shuffle(batch)
        # Documents of 1-8 fixture texts joined by a newline or a space, like paragraphs.
        i = 0
        while i < len(batch) and size < target_bytes:
            k = rng.randint(1, 8)
            doc = rng.choice(["\n", " ", "\n\n"]).join(batch[i:i + k])
            docs.append(doc)
            size += len(doc.encode("utf-8"))
            i += k
    return docs


def write_corpus(docs: list[str], path: pathlib.Path) -> None:
    # One document per line; backslash and newline escaped (tokenizer_bench restores them).
    with path.open("w", encoding="utf-8", newline="\n") as f:
        for d in docs:
            f.write(d.replace("\\", "\\\\").replace("\n", "\\n") + "\n")


def time_rust(tokenizer_json: pathlib.Path, docs: list[str], repeat: int):
    load_s = 1e300
    for _ in range(repeat):
        tok = None
        t0 = time.perf_counter()
        tok = tokenizers.Tokenizer.from_file(str(tokenizer_json))
        load_s = min(load_s, time.perf_counter() - t0)
    best, cpu_ratio, ids = 1e300, 0.0, None
    for _ in range(repeat):
        c0 = resource.getrusage(resource.RUSAGE_SELF)
        t0 = time.perf_counter()
        encs = tok.encode_batch(docs, add_special_tokens=False)
        dt = time.perf_counter() - t0
        c1 = resource.getrusage(resource.RUSAGE_SELF)
        cpu = (c1.ru_utime - c0.ru_utime) + (c1.ru_stime - c0.ru_stime)
        if dt < best:
            best, cpu_ratio = dt, cpu / dt
        ids = encs
    flat = np.fromiter((i for e in ids for i in e.ids), dtype=np.int32)
    return load_s, best, cpu_ratio, flat


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("names", nargs="*", default=["qwen3", "deepseek_v3"])
    ap.add_argument("--build", default=str(ROOT / "build"))
    ap.add_argument("--mb", type=float, default=10.0)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--max-chars", type=int, default=0,
                    help="leave out fixture texts longer than this (e.g. 500 drops the 1,000-2,000 character "
                         "stress strings); 0 keeps all")
    args = ap.parse_args()

    bench = pathlib.Path(args.build) / "bench" / "tokenizer_bench"
    if not bench.exists():
        print(f"error: {bench} not found; build it with: cmake --build {args.build} --target tokenizer_bench",
              file=sys.stderr)
        return 1
    if not SHARED.is_dir():
        print(f"error: {SHARED} not found (the shared tokenizer fixtures)", file=sys.stderr)
        return 1
    work = pathlib.Path(args.build) / "bench"
    docs = build_corpus(int(args.mb * 1e6), max_chars=args.max_chars)
    corpus = work / "tokenizer_corpus.txt"
    write_corpus(docs, corpus)
    total = sum(len(d.encode("utf-8")) for d in docs)
    print(f"corpus: {total / 1e6:.2f} MB, {len(docs)} documents; tokenizers {tokenizers.__version__}; one thread")
    print(f"{'tokenizer':<12} {'januskit MB/s':>14} {'Rust MB/s':>10} {'ratio':>6} {'load januskit':>14} "
          f"{'load Rust':>10} {'tokens':>10}  ids")
    ok = True
    for name in args.names:
        tj = SHARED / name / "tokenizer.json"
        ids_file = work / f"tokenizer_ids_{name}.bin"
        r = subprocess.run([str(bench), str(tj), str(corpus), "--repeat", str(args.repeat), "--ids-out", str(ids_file)],
                           capture_output=True, text=True)
        if r.returncode != 0:
            print(r.stderr, file=sys.stderr)
            return 1
        ours = json.loads(r.stdout)
        our_ids = np.fromfile(ids_file, dtype=np.int32)
        load_rust, enc_rust, cpu_ratio, rust_ids = time_rust(tj, docs, args.repeat)
        same = our_ids.shape == rust_ids.shape and bool((our_ids == rust_ids).all())
        ok &= same
        mbs_ours = ours["bytes"] / 1e6 / ours["encode_s"]
        mbs_rust = total / 1e6 / enc_rust
        print(f"{name:<12} {mbs_ours:>14.2f} {mbs_rust:>10.2f} {mbs_ours / mbs_rust:>6.2f} "
              f"{ours['load_s'] * 1e3:>11.0f} ms {load_rust * 1e3:>7.0f} ms {ours['tokens']:>10}  "
              f"{'identical' if same else 'DIFFERENT'} (Rust CPU/wall {cpu_ratio:.2f})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
