"""CPU decoding: januskit versus llama.cpp on the same random weights, unquantized and quantized.

    .venv/bin/python bench/quant_vs_llamacpp.py [--shape r1-distill-qwen-1.5b] [--layers 0]
        [--weights f32,bf16,int8,int4] [--engines januskit,llamacpp] [--batch 1 --batch 8]
        [--threads 2 --threads 1] [--prompt-tokens 64 --prompt-tokens 512] [--new-tokens 64]
        [--group-size 32] [--warmup 1] [--runs 1] [--json OUT.json]

    e.g. a quick check:  ... --layers 2 --new-tokens 16 --weights bf16,int4
         llama.cpp only: ... --engines llamacpp --weights int4,int8 --batch 1 --threads 2 --prompt-tokens 64

Builds the named R1-Distill shape (bench/text_vs_transformers.py's SHAPES; default the real
R1-Distill-Qwen-1.5B: Qwen2ForCausalLM, vocab 151936, hidden 1536, intermediate 8960, 28 layers, 12
heads, 2 KV heads, untied head) in transformers with random weights (normal, std 0.02, as transformers
initialises; --seed), truncated to --layers decoder layers (0 = all), and saves it as a bf16
safetensors model folder with the Qwen3 tokenizer files of /work/shared/fixtures/tokenizers/qwen3
(Qwen2's byte-level BPE family, which llama.cpp's converter needs). llama.cpp's own
convert_hf_to_gguf.py turns the folder into a BF16 GGUF (lossless: the weights are bf16), and
llama_model_quantize makes the F32, Q8_0 and Q4_K_M files from it. So both engines run the same
tensors; the weight pairs compared are
    f32   januskit --dtype f32                           llama.cpp F32
    bf16  januskit --dtype bf16                          llama.cpp BF16
    int8  januskit --dtype bf16 --quant int8             llama.cpp Q8_0   (blocks of 32, scale per block)
    int4  januskit --dtype bf16 --quant int4 --group-size G (default 32)
                                                         llama.cpp Q4_K_M (Q4_K/Q6_K super-blocks)
(the activation dtype of the quantized januskit runs is --quant-dtype, default bf16).

llama.cpp is llama-cpp-python (bench/llamacpp_util.py: VERSION), built from its sdist with
-DGGML_NATIVE=ON into a venv cached under $JANUSKIT_CACHE (default ~/.cache/januskit)/llamacpp-VERSION/;
the first run builds it (minutes), later runs find it. Its side runs in that venv's python, through
the low-level API: B sequences in one llama_batch per step (n_seq_max = B).

Workload, for every (weights, batch B, threads T, prompt N): each of B rows prefills N random prompt
ids (< 100000) and then samples M = --new-tokens tokens with R1's settings (temperature 0.6, top-p
0.95, no top-k, no end-of-sequence stop). Each row of the table is one januskit process (`januskit
bench text -m FOLDER --device cpu --threads T ...`, OMP_NUM_THREADS=T) and then one llama.cpp process
on the same configuration (n_threads = n_threads_batch = T), so drift affects both; each process runs
--warmup untimed generations, then --runs timed ones and reports the one with the median prefill +
decode time. The numbers mean the same on both sides (januskit: engine::GenerationStats):
    prefill tok/s  B * N / prefill seconds: all rows' prompts through the model
    decode tok/s   B * M / decode seconds: the M samples per row and the M - 1 forward steps between
                   them (B tokens each)
    peak RSS       ru_maxrss of the process (os.wait4), mapped file pages included (llama.cpp mmaps
                   its GGUF; the llama.cpp figure includes ~30 MB of Python)
llama.cpp's prefill also computes the B logits rows of the last prompt tokens, which januskit counts
in its first decode step (one head matmul per row; under 1% of either figure at these sizes). Ratios
above 1 mean januskit is faster (for RSS: uses more). The model files go to /dev/shm when it and the
RAM have room for them next to the processes (else the temp folder; --workdir overrides), and each
GGUF is deleted once its pair has run.

--no-threads-flag leaves out januskit's --threads (OMP_NUM_THREADS still applies), for binaries older
than that flag.
"""
import argparse
import gc
import json
import os
import pathlib
import platform
import shutil
import subprocess
import sys
import tempfile

import llamacpp_util as lcu
from compare_util import ROOT, markdown

TOKENIZER = pathlib.Path("/work/shared/fixtures/tokenizers/qwen3")
# name: (januskit flags builder, GGUF type, label)
PAIRS = {
    "f32": ("F32", "f32 / F32"),
    "bf16": ("BF16", "bf16 / BF16"),
    "int8": ("Q8_0", "int8 / Q8_0"),
    "int4": ("Q4_K_M", "int4 g{g} / Q4_K_M"),
}
DISPLAY_ORDER = ["f32", "bf16", "int8", "int4"]
# Run order: the BF16 GGUF (the source of the others) first, F32 (the largest) last, so at most
# HF folder + BF16 + one other GGUF exist at a time, and the F32 file only once BF16 is gone.
RUN_ORDER = ["bf16", "int8", "int4", "f32"]
GGUF_BYTES_PER_PARAM = {"F32": 4.0, "BF16": 2.0, "Q8_0": 1.07, "Q4_K_M": 0.62}
GIB = 1024 ** 3


def csv_list(value: str, allowed) -> list:
    out = [v.strip() for v in value.split(",") if v.strip()]
    bad = [v for v in out if v not in allowed]
    if bad or not out:
        raise argparse.ArgumentTypeError(f"{value!r}: expected a comma-separated subset of {', '.join(allowed)}")
    return out


def januskit_flags(pair: str, args) -> list:
    if pair in ("f32", "bf16"):
        return ["--dtype", pair]
    flags = ["--dtype", args.quant_dtype, "--quant", pair]
    if pair == "int4":
        flags += ["--group-size", str(args.group_size)]
    return flags


def mem_available() -> int:
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def choose_workdir(args, params: int) -> pathlib.Path:
    """/dev/shm when it and the RAM hold the largest set of files alive at once plus the largest
    process next to them (with 3 GiB to spare), else the temp folder (files in the page cache)."""
    if args.workdir:
        pathlib.Path(args.workdir).mkdir(parents=True, exist_ok=True)
        return pathlib.Path(tempfile.mkdtemp(prefix="januskit-quant-", dir=args.workdir))
    hf = 2.0 * params
    lw = [PAIRS[w][0] for w in args.weights] if "llamacpp" in args.engines else []
    files, process = hf, 0.0
    if lw:
        others = [GGUF_BYTES_PER_PARAM[t] * params for t in lw if t != "BF16"]
        files = hf + 2.0 * params + max(others, default=0.0)     # while quantizing from the BF16 GGUF
        # running the f32 pair: the HF folder, the F32 GGUF, januskit's f32 copy of the weights
        if "F32" in lw:
            files = max(files, hf + 4.0 * params + 4.5 * params)
    process = (4.5 if "f32" in args.weights else 2.5) * params
    need = files + process + 3 * GIB
    shm = pathlib.Path("/dev/shm")
    if (shm.is_dir() and os.access(shm, os.W_OK) and shutil.disk_usage(shm).free > 1.1 * files
            and mem_available() > need):
        return pathlib.Path(tempfile.mkdtemp(prefix="januskit-quant-", dir=shm))
    print(f"model files on disk ({tempfile.gettempdir()}): /dev/shm and RAM lack the ~{need / GIB:.0f} GiB "
          "they would need", file=sys.stderr)
    return pathlib.Path(tempfile.mkdtemp(prefix="januskit-quant-"))


def save_model(args, folder: pathlib.Path) -> dict:
    """The random-weight model as a bf16 safetensors folder with the Qwen3 tokenizer; its config."""
    import torch
    from text_vs_transformers import build
    model = build(args.shape, args.layers, torch.bfloat16, "cpu", args.seed)
    info = {"layers": model.config.num_hidden_layers, "parameters": sum(p.numel() for p in model.parameters()),
            "architecture": type(model).__name__}
    model.save_pretrained(folder, safe_serialization=True)
    del model
    gc.collect()
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(TOKENIZER / name, folder / name)
    return info


def run_januskit(args, folder, pair: str, batch: int, threads: int, prompt: int) -> dict:
    cmd = [args.januskit, "-q", "bench", "text", "-m", str(folder), "--device", "cpu", *januskit_flags(pair, args)]
    if not args.no_threads_flag:
        cmd += ["--threads", str(threads)]
    cmd += ["--batch", str(batch), "--prompt-tokens", str(prompt), "--new-tokens", str(args.new_tokens),
            "--warmup", str(args.warmup), "--runs", str(args.runs), "--seed", str(args.seed), "--json"]
    print("$ OMP_NUM_THREADS=%d " % threads + " ".join(cmd), file=sys.stderr, flush=True)
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    stdout, _, rss = lcu.run_measured(cmd, env, args.timeout)
    out = json.loads(stdout)
    (row,) = out["rows"]
    return {**row, "peak_rss_bytes": rss, "dtype": out.get("dtype"), "weight_bytes": out.get("weight_bytes"),
            "copy_gbps": out.get("copy_gbps"), "loop": out.get("loop"),
            "parameters": out.get("parameters")}


def cpu_model() -> str:
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def cpu_flags() -> str:
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("flags"):
                have = set(line.split(":", 1)[1].split())
                return " ".join(f for f in ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_int8",
                                            "amx_bf16") if f in have)
    except OSError:
        pass
    return ""


def januskit_version(binary: str) -> str:
    try:
        r = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=60)
        return r.stdout.splitlines()[0].strip() if r.returncode == 0 and r.stdout else "unknown"
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"


def llamacpp_commit(lc) -> str:
    r = subprocess.run(["git", "-C", str(lc.llama), "log", "-1", "--format=%h %cs"], capture_output=True, text=True)
    return r.stdout.strip() if r.returncode == 0 and r.stdout.strip() else "unknown commit"


def fmt(v, spec: str) -> str:
    return "–" if v is None else format(v, spec)


def ratio(a, b) -> str:
    return "–" if a is None or b is None or b == 0 else f"{a / b:.2f}"


def main() -> int:
    from text_vs_transformers import SHAPES
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shape", default="r1-distill-qwen-1.5b", choices=sorted(SHAPES))
    ap.add_argument("--layers", type=int, default=0, help="decoder layers kept (0 = all)")
    ap.add_argument("--weights", type=lambda v: csv_list(v, DISPLAY_ORDER), default=list(DISPLAY_ORDER),
                    help="weight pairs, comma-separated: f32,bf16,int8,int4 (default all)")
    ap.add_argument("--engines", type=lambda v: csv_list(v, ["januskit", "llamacpp"]), default=["januskit", "llamacpp"],
                    help="januskit,llamacpp (default both)")
    ap.add_argument("--batch", type=int, action="append", help="batch size; repeat (default 1 and 8)")
    ap.add_argument("--threads", type=int, action="append", help="threads; repeat (default 2 and 1)")
    ap.add_argument("--prompt-tokens", type=int, action="append", help="prompt tokens per row; repeat (default 64, 512)")
    ap.add_argument("--new-tokens", type=int, default=64)
    ap.add_argument("--group-size", type=int, default=32, help="januskit int4 group size")
    ap.add_argument("--quant-dtype", default="bf16", choices=["bf16", "f32"],
                    help="januskit's activation dtype with --quant")
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--runs", type=int, default=1, help="timed runs per process; the median one is reported")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--januskit", default=str(ROOT / "build" / "januskit"))
    ap.add_argument("--no-threads-flag", action="store_true",
                    help="do not pass --threads to januskit (binaries without it); OMP_NUM_THREADS still set")
    ap.add_argument("--llamacpp-version", default=lcu.VERSION, help="llama-cpp-python version to build and use")
    ap.add_argument("--build-jobs", type=int, default=0, help="parallel jobs of the llama.cpp build (0 = all cores)")
    ap.add_argument("--workdir", help="put the model files in a new folder under this one")
    ap.add_argument("--timeout", type=float, default=7200, help="seconds for one process")
    ap.add_argument("--json", help="also write the results to this file")
    args = ap.parse_args()
    batches, threads = args.batch or [1, 8], args.threads or [2, 1]
    prompts = args.prompt_tokens or [64, 512]
    if min(batches + threads + prompts) < 1 or args.new_tokens < 2 or args.runs < 1 or args.warmup < 0:
        ap.error("batch, threads and prompt tokens must be >= 1, --new-tokens >= 2, --runs >= 1")
    want_jk, want_lc = "januskit" in args.engines, "llamacpp" in args.engines
    if want_jk and not os.access(args.januskit, os.X_OK):
        ap.error(f"no januskit binary at {args.januskit}")
    PAIRS["int4"] = ("Q4_K_M", f"int4 g{args.group_size} / Q4_K_M")

    lc = lcu.ensure(args.llamacpp_version, args.build_jobs) if want_lc else None
    _, kw = SHAPES[args.shape]
    layers = min(args.layers, kw["num_hidden_layers"]) if args.layers > 0 else kw["num_hidden_layers"]
    per_layer = (2 * kw["hidden_size"] ** 2 + 2 * kw["hidden_size"] * kw["hidden_size"] // kw["num_attention_heads"]
                 * kw["num_key_value_heads"] + 3 * kw["hidden_size"] * kw["intermediate_size"])
    params = 2 * kw["vocab_size"] * kw["hidden_size"] + layers * per_layer
    root = choose_workdir(args, params)
    hf = root / "hf"
    configs = [(b, t, n) for b in batches for t in threads for n in prompts]
    results, ggufs, gguf_info = [], {}, {}
    try:
        print(f"saving the random {args.shape} ({layers} layers) to {hf}", file=sys.stderr, flush=True)
        model_info = save_model(args, hf)
        run_pairs = [p for p in RUN_ORDER if p in args.weights]
        if want_lc:
            bf16 = root / "model-BF16.gguf"
            lcu.convert(lc, hf, bf16, "bf16")
            ggufs["BF16"] = bf16
            gguf_info["BF16"] = {"bytes": bf16.stat().st_size}
            if not want_jk:
                shutil.rmtree(hf)
        def bf16_needed_after(i: int) -> bool:  # as a pair of its own or as the source of a later GGUF
            return any(PAIRS[p][0] == "BF16" or PAIRS[p][0] not in ggufs for p in run_pairs[i + 1:])

        for i, pair in enumerate(run_pairs):
            gtype = PAIRS[pair][0]
            if want_lc and gtype not in ggufs:
                out = root / f"model-{gtype}.gguf"
                secs = lcu.quantize(lc, ggufs["BF16"], out, gtype, max(threads))
                ggufs[gtype] = out
                gguf_info[gtype] = {"bytes": out.stat().st_size, "quantize_seconds": round(secs, 1)}
                print(f"quantized {gtype} in {secs:.0f} s ({out.stat().st_size / 1e9:.2f} GB)", file=sys.stderr)
                if not bf16_needed_after(i):
                    ggufs.pop("BF16").unlink()
            for b, t, n in configs:
                row = {"weights": pair, "gguf": gtype, "batch": b, "threads": t, "prompt_tokens": n,
                       "new_tokens": args.new_tokens}
                if want_jk:
                    row["januskit"] = run_januskit(args, hf, pair, b, t, n)
                if want_lc:
                    row["llamacpp"] = lcu.bench(lc, ggufs[gtype], b, n, args.new_tokens, t, args.warmup, args.runs,
                                                args.seed, args.timeout)
                results.append(row)
                j, l = row.get("januskit", {}), row.get("llamacpp", {})
                print(f"{pair} batch {b} threads {t} prompt {n}: decode tok/s januskit "
                      f"{fmt(j.get('decode_tokens_per_second'), '.2f')}, llama.cpp "
                      f"{fmt(l.get('decode_tokens_per_second'), '.2f')}", file=sys.stderr, flush=True)
            if want_lc and (gtype != "BF16" or not bf16_needed_after(i)):
                ggufs.pop(gtype).unlink()
    finally:
        shutil.rmtree(root, ignore_errors=True)

    machine = {"cpu": cpu_model(), "cores": os.cpu_count(), "cpu_flags": cpu_flags(),
               "januskit": januskit_version(args.januskit) if want_jk else None}
    if lc:
        sysinfo = next((r["llamacpp"]["system_info"] for r in results if "llamacpp" in r), "")
        machine.update({"llama_cpp_python": lc.version, "llama_cpp": llamacpp_commit(lc),
                        "llama_cpp_build": lc.build_info(), "llama_cpp_system_info": sysinfo})
    note = (f"{args.shape}, {layers} layers ({model_info['parameters'] / 1e9:.2f} B parameters), random weights (seed {args.seed}); "
            f"{machine['cpu']}, {machine['cores']} cores ({machine['cpu_flags']}); prompt N random ids + "
            f"{args.new_tokens} new tokens per row, T 0.6, top-p 0.95; warm-up {args.warmup}, median of {args.runs} "
            f"run{'s' if args.runs != 1 else ''}")
    if want_jk:
        note += f"; {machine['januskit']}" + (" (without --threads, OMP_NUM_THREADS only)" if args.no_threads_flag else "")
    if lc:
        note += (f"; llama-cpp-python {lc.version} (llama.cpp {machine['llama_cpp']}, "
                 f"CMAKE_ARGS {lcu.CMAKE_ARGS.split()[0]})")
    print(note + "\n")
    table = []
    for pair in DISPLAY_ORDER:
        for r in (r for r in results if r["weights"] == pair):
            j, l = r.get("januskit"), r.get("llamacpp")
            jp = j and j["prefill_tokens_per_second"]
            lp = l and l["prefill_tokens_per_second"]
            jd = j and j["decode_tokens_per_second"]
            ld = l and l["decode_tokens_per_second"]
            table.append([PAIRS[pair][1], str(r["batch"]), str(r["threads"]), str(r["prompt_tokens"]),
                          fmt(jp, ".1f"), fmt(lp, ".1f"), ratio(jp, lp), fmt(jd, ".2f"), fmt(ld, ".2f"), ratio(jd, ld),
                          fmt(j and j["peak_rss_bytes"] / 1e9, ".2f"), fmt(l and l["peak_rss_bytes"] / 1e9, ".2f")])
    print(markdown(["weights (januskit / llama.cpp)", "batch", "threads", "prompt", "prefill tok/s januskit",
                    "llama.cpp", "ratio", "decode tok/s januskit", "llama.cpp", "ratio", "januskit peak RSS GB",
                    "llama.cpp peak RSS GB"], table))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"shape": args.shape, "layers": layers, "model": model_info,
                       "new_tokens": args.new_tokens, "warmup": args.warmup, "runs": args.runs, "seed": args.seed,
                       "group_size": args.group_size, "quant_dtype": args.quant_dtype,
                       "no_threads_flag": args.no_threads_flag, "gguf": gguf_info, "machine": machine,
                       "note": note, "results": results}, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
