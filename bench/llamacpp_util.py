"""llama.cpp for the januskit benchmarks (bench/quant_vs_llamacpp.py), from the llama-cpp-python sdist.

Two roles, so this file imports only the standard library at module level:

- imported by a benchmark script (the project venv, which has no llama_cpp): `ensure()` builds and
  caches llama.cpp, `convert()` runs llama.cpp's own convert_hf_to_gguf.py on a transformers model
  folder, `quantize()` and `bench()` run the steps below in a child process of the llama.cpp venv;
- run as a script by that venv's python (which has no torch):
      python llamacpp_util.py quantize IN.gguf OUT.gguf FTYPE [--threads T]
      python llamacpp_util.py bench MODEL.gguf --batch B --prompt-tokens N --new-tokens M --threads T
          [--warmup W] [--runs R] [--seed S]
  each printing one JSON object on stdout.

The cache: $JANUSKIT_CACHE (default ~/.cache/januskit, as tools/setup.sh) / llamacpp-VERSION/ holds the
unpacked sdist (llama.cpp's sources, convert_hf_to_gguf.py, gguf-py), a venv with llama-cpp-python
built from it with -DGGML_NATIVE=ON (this CPU's AVX-512/VNNI), the build log and build.json (the
build's settings and seconds). A second call finds build.json and an importable llama_cpp and
returns at once.

The bench workload (one llama.cpp context, B sequences decoded together, the low-level API):
  prefill  one llama_decode of a llama_batch holding all B prompts (B * N random ids < 100000, each
           row its own seq_id, logits for each row's last token only): n_batch = B * N, n_ubatch =
           max(512, N) (capped at B * N), n_seq_max = B, n_ctx = B * (N + M) rounded up to 256 per row;
  decode   M samples per row (temperature 0.6, then top-p 0.95, then a seeded draw: R1's settings,
           no top-k, no end-of-sequence stop) and the M - 1 llama_decode calls of B tokens between
           them, as januskit's TextGenerator (its prefill ends with the last hidden states, its
           decode starts with the first sample).
  prefill tok/s = B * N / prefill seconds, decode tok/s = B * M / decode seconds; the reported run is
  the one with the median prefill + decode time (januskit bench's rule). Everything else is
  llama.cpp's default (mmap'd weights, F16 KV cache, flash attention "auto", its thread pool with
  n_threads = n_threads_batch = T).
"""
import argparse
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tarfile
import tempfile
import threading
import time

VERSION = "0.3.36"  # llama-cpp-python; pinned: its llama.cpp is vendor/llama.cpp of this sdist
# llama_ftype values (llama.h; checked against llama_cpp.LLAMA_FTYPE_* in the worker).
FTYPES = {"F32": 0, "BF16": 32, "Q8_0": 7, "Q4_K_M": 15}
FTYPE_NAMES = {"F32": "LLAMA_FTYPE_ALL_F32", "BF16": "LLAMA_FTYPE_MOSTLY_BF16", "Q8_0": "LLAMA_FTYPE_MOSTLY_Q8_0",
               "Q4_K_M": "LLAMA_FTYPE_MOSTLY_Q4_K_M"}
# convert_hf_to_gguf.py imports sentencepiece even for a BPE tokenizer (Qwen2Model.set_vocab tries the
# SentencePiece vocab first); the version its requirements file allows (>=0.1.98,<0.3.0).
CONVERT_DEPS = ["sentencepiece==0.2.1"]
CMAKE_ARGS = ("-DGGML_NATIVE=ON -DLLAVA_BUILD=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF "
              "-DLLAMA_BUILD_TOOLS=OFF -DLLAMA_BUILD_SERVER=OFF")


def cache_root() -> pathlib.Path:
    return pathlib.Path(os.environ.get("JANUSKIT_CACHE") or pathlib.Path.home() / ".cache" / "januskit")


class LlamaCpp:
    """Paths of one cached llama-cpp-python build."""

    def __init__(self, version: str = VERSION):
        self.version = version
        self.base = cache_root() / f"llamacpp-{version}"
        self.src = self.base / f"llama_cpp_python-{version}"
        self.venv = self.base / "venv"
        self.python = self.venv / "bin" / "python"
        self.llama = self.src / "vendor" / "llama.cpp"
        self.converter = self.llama / "convert_hf_to_gguf.py"
        self.gguf_py = self.llama / "gguf-py"
        self.marker = self.base / "build.json"
        # packages the converter imports that the project venv lacks (sentencepiece), for its python
        self.convert_deps = self.base / f"convert-deps-py{sys.version_info.major}{sys.version_info.minor}"

    def build_info(self) -> dict:
        return json.loads(self.marker.read_text()) if self.marker.exists() else {}


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def ensure(version: str = VERSION, jobs: int = 0) -> LlamaCpp:
    """The cached build of llama-cpp-python VERSION, building it first when needed (minutes)."""
    lc = LlamaCpp(version)
    if lc.marker.exists() and lc.python.exists() and lc.converter.exists():
        ok = subprocess.run([str(lc.python), "-c", "import llama_cpp"], capture_output=True).returncode == 0
        if ok and lc.build_info().get("cmake_args") == CMAKE_ARGS:
            return lc
    lc.base.mkdir(parents=True, exist_ok=True)
    pip_env = dict(os.environ, PIP_CACHE_DIR=str(cache_root() / "pip"), PIP_DISABLE_PIP_VERSION_CHECK="1")
    if not lc.converter.exists():
        _log(f"llama.cpp: downloading the llama-cpp-python {version} sdist")
        with tempfile.TemporaryDirectory(dir=lc.base) as dl:
            host = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
            subprocess.run([host, "-m", "pip", "download", f"llama-cpp-python=={version}", "--no-deps",
                            "--no-binary", "llama-cpp-python", "-d", dl], check=True, env=pip_env, stdout=sys.stderr)
            (sdist,) = pathlib.Path(dl).glob("*.tar.gz")
            shutil.rmtree(lc.src, ignore_errors=True)
            with tarfile.open(sdist) as t:
                t.extractall(lc.base, filter="data") if hasattr(tarfile, "data_filter") else t.extractall(lc.base)
    if not lc.python.exists():
        host = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
        subprocess.run([host, "-m", "venv", str(lc.venv)], check=True)
    jobs = jobs or os.cpu_count() or 1
    env = dict(pip_env, CMAKE_ARGS=CMAKE_ARGS, CMAKE_BUILD_PARALLEL_LEVEL=str(jobs),
               FORCE_CMAKE="1", CCACHE_DIR=str(cache_root() / "ccache"))
    log = lc.base / "build.log"
    _log(f"llama.cpp: building llama-cpp-python {version} ({CMAKE_ARGS}, {jobs} jobs; log {log})")
    start = time.monotonic()
    with open(log, "w") as f:
        r = subprocess.run([str(lc.python), "-m", "pip", "install", "-v", "--no-cache-dir", str(lc.src)],
                           env=env, stdout=f, stderr=subprocess.STDOUT)
    seconds = time.monotonic() - start
    if r.returncode != 0:
        raise SystemExit(f"building llama-cpp-python failed ({r.returncode}); see {log}")
    lc.marker.write_text(json.dumps({"version": version, "cmake_args": CMAKE_ARGS, "jobs": jobs,
                                     "build_seconds": round(seconds, 1),
                                     "built": time.strftime("%Y-%m-%d %H:%M:%S")}, indent=2))
    _log(f"llama.cpp: built in {seconds:.0f} s")
    return lc


def convert(lc: LlamaCpp, folder, out, outtype: str = "bf16", python: str = sys.executable) -> None:
    """llama.cpp's convert_hf_to_gguf.py on a transformers model folder, with `python` (it needs torch,
    numpy and transformers: the project venv's), the sdist's gguf-py and CONVERT_DEPS (installed with
    pip --target into the cache, not into that venv) on PYTHONPATH."""
    stamp = lc.convert_deps / "deps.txt"
    if not stamp.exists() or stamp.read_text() != " ".join(CONVERT_DEPS):
        shutil.rmtree(lc.convert_deps, ignore_errors=True)
        subprocess.run([python, "-m", "pip", "install", "-q", "--no-deps", "--target", str(lc.convert_deps),
                        *CONVERT_DEPS], check=True, stdout=sys.stderr,
                       env=dict(os.environ, PIP_CACHE_DIR=str(cache_root() / "pip"), PIP_DISABLE_PIP_VERSION_CHECK="1"))
        stamp.write_text(" ".join(CONVERT_DEPS))
    path = [str(lc.gguf_py), str(lc.llama), str(lc.convert_deps)]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(path), NO_LOCAL_GGUF="")
    cmd = [python, str(lc.converter), str(folder), "--outfile", str(out), "--outtype", outtype]
    _log("$ " + " ".join(cmd))
    r = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"convert_hf_to_gguf.py failed ({r.returncode}):\n{r.stderr[-4000:]}")


# A child's ru_maxrss starts at its parent's resident size at fork (Linux keeps the high-water mark
# across exec), and this script holds a whole model in memory by then. So the measured command is
# started by a small launcher (a fresh interpreter, a few MB) whose wait4 reports the command alone.
_LAUNCHER = """
import os, subprocess, sys
p = subprocess.Popen(sys.argv[2:])
_, status, usage = os.wait4(p.pid, 0)
with open(sys.argv[1], "w") as f:
    f.write(str(usage.ru_maxrss))
sys.exit(os.waitstatus_to_exitcode(status))
"""


def run_measured(cmd: list, env: dict = None, timeout: float = 3600) -> tuple:
    """Runs cmd; returns (stdout, stderr, peak RSS bytes of that process alone, from wait4's ru_maxrss).
    Stops the script on failure."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err, \
            tempfile.NamedTemporaryFile("r", suffix=".rss") as rss:
        p = subprocess.Popen([sys.executable, "-c", _LAUNCHER, rss.name, *map(str, cmd)], stdout=out, stderr=err,
                             env=env, text=True, start_new_session=True)
        timer = threading.Timer(timeout, lambda: os.killpg(p.pid, 9))  # the launcher and the command
        timer.start()
        try:
            p.wait()
        finally:
            timer.cancel()
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
        peak_kb = int(open(rss.name).read() or 0)
    if p.returncode != 0:
        raise SystemExit(f"failed ({p.returncode}): {' '.join(map(str, cmd))}\n{stderr[-4000:]}")
    return stdout, stderr, peak_kb * 1024


def quantize(lc: LlamaCpp, src, dst, ftype: str, threads: int) -> float:
    """Writes dst from src with llama_model_quantize; returns the seconds it took."""
    cmd = [str(lc.python), __file__, "quantize", str(src), str(dst), ftype, "--threads", str(threads)]
    _log("$ " + " ".join(cmd))
    start = time.monotonic()
    run_measured(cmd)
    return time.monotonic() - start


def bench(lc: LlamaCpp, gguf, batch: int, prompt_tokens: int, new_tokens: int, threads: int, warmup: int,
          runs: int, seed: int, timeout: float) -> dict:
    """One bench row in its own process; the worker's JSON plus its peak RSS."""
    cmd = [str(lc.python), __file__, "bench", str(gguf), "--batch", str(batch), "--prompt-tokens", str(prompt_tokens),
           "--new-tokens", str(new_tokens), "--threads", str(threads), "--warmup", str(warmup), "--runs", str(runs),
           "--seed", str(seed)]
    _log("$ " + " ".join(cmd))
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    stdout, _, rss = run_measured(cmd, env, timeout)
    out = json.loads(stdout)
    out["peak_rss_bytes"] = rss
    return out


# ---------------------------------------------------------------------------------------------------
# The worker side: runs in the llama.cpp venv.

def _worker_quantize(a) -> dict:
    import ctypes

    import llama_cpp as L
    for name, value in FTYPES.items():
        if getattr(L, FTYPE_NAMES[name]) != value:
            raise SystemExit(f"{FTYPE_NAMES[name]} is {getattr(L, FTYPE_NAMES[name])} in this llama_cpp, not {value}")
    L.llama_backend_init()
    params = L.llama_model_quantize_default_params()
    params.ftype = FTYPES[a.ftype]
    params.nthread = a.threads
    rc = L.llama_model_quantize(a.src.encode(), a.dst.encode(), ctypes.byref(params))
    if rc != 0:
        raise SystemExit(f"llama_model_quantize returned {rc}")
    return {"ftype": a.ftype, "bytes": os.path.getsize(a.dst)}


def _worker_bench(a) -> dict:
    import ctypes
    import random
    import statistics

    import llama_cpp as L
    L.llama_backend_init()
    mp = L.llama_model_default_params()
    mp.n_gpu_layers = 0
    start = time.perf_counter()
    model = L.llama_model_load_from_file(a.model.encode(), mp)
    if not model:
        raise SystemExit(f"cannot load {a.model}")
    B, N, M = a.batch, a.prompt_tokens, a.new_tokens
    cp = L.llama_context_default_params()
    cp.n_seq_max = B
    cp.n_ctx = B * ((N + M + 255) // 256 * 256)
    cp.n_batch = B * N
    cp.n_ubatch = min(B * N, max(512, N))
    cp.n_threads = cp.n_threads_batch = a.threads
    ctx = L.llama_init_from_model(model, cp)
    if not ctx:
        raise SystemExit("llama_init_from_model failed")
    load_seconds = time.perf_counter() - start
    n_vocab = L.llama_vocab_n_tokens(L.llama_model_get_vocab(model))
    rng = random.Random(a.seed + B)
    prompts = [[rng.randrange(min(n_vocab, 100000)) for _ in range(N)] for _ in range(B)]

    pre = L.llama_batch_init(B * N, 0, 1)
    for b, p in enumerate(prompts):
        for t, tok in enumerate(p):
            i = b * N + t
            pre.token[i], pre.pos[i], pre.n_seq_id[i] = tok, t, 1
            pre.seq_id[i][0] = b
            pre.logits[i] = 1 if t == N - 1 else 0
    pre.n_tokens = B * N
    step_batch = L.llama_batch_init(B, 0, 1)
    for b in range(B):
        step_batch.n_seq_id[b], step_batch.logits[b] = 1, 1
        step_batch.seq_id[b][0] = b
    step_batch.n_tokens = B

    chain = L.llama_sampler_chain_init(L.llama_sampler_chain_default_params())
    L.llama_sampler_chain_add(chain, L.llama_sampler_init_temp(0.6))
    L.llama_sampler_chain_add(chain, L.llama_sampler_init_top_p(0.95, 1))
    L.llama_sampler_chain_add(chain, L.llama_sampler_init_dist(a.seed))
    memory = L.llama_get_memory(ctx)

    def one_run() -> dict:
        L.llama_memory_clear(memory, True)
        t0 = time.perf_counter()
        if L.llama_decode(ctx, pre) != 0:
            raise SystemExit("llama_decode (prefill) failed")
        L.llama_synchronize(ctx)
        t1 = time.perf_counter()
        rows = [b * N + N - 1 for b in range(B)]  # logits of each row's last prompt token
        for step in range(M):
            chosen = [L.llama_sampler_sample(chain, ctx, i) for i in rows]
            if step == M - 1:
                break
            for b, tok in enumerate(chosen):
                step_batch.token[b], step_batch.pos[b] = tok, N + step
            if L.llama_decode(ctx, step_batch) != 0:
                raise SystemExit(f"llama_decode (step {step}) failed")
            rows = range(B)
        L.llama_synchronize(ctx)
        t2 = time.perf_counter()
        return {"prefill_seconds": t1 - t0, "decode_seconds": t2 - t1}

    for _ in range(a.warmup):
        one_run()
    timed = [one_run() for _ in range(a.runs)]
    med = sorted(timed, key=lambda r: r["prefill_seconds"] + r["decode_seconds"])[len(timed) // 2]
    desc = ctypes.create_string_buffer(256)
    L.llama_model_desc(model, desc, len(desc))
    meta = {}
    for key in ("general.file_type", "tokenizer.ggml.model", "tokenizer.ggml.pre"):
        buf = ctypes.create_string_buffer(256)
        if L.llama_model_meta_val_str(model, key.encode(), buf, len(buf)) >= 0:
            meta[key] = buf.value.decode()
    out = {"batch": B, "prompt_tokens": N, "steps": M, "threads": a.threads, **med,
           "prefill_tokens_per_second": B * N / med["prefill_seconds"],
           "decode_tokens_per_second": B * M / med["decode_seconds"],
           "ms_per_step": med["decode_seconds"] * 1e3 / M, "runs": timed, "load_seconds": load_seconds,
           "model": desc.value.decode(), "metadata": meta, "model_bytes": L.llama_model_size(model),
           "parameters": L.llama_model_n_params(model), "n_ctx": L.llama_n_ctx(ctx), "n_batch": cp.n_batch,
           "n_ubatch": cp.n_ubatch, "n_seq_max": B,
           "llama_cpp_python": L.__version__, "system_info": L.llama_print_system_info().decode().strip()}
    L.llama_sampler_free(chain)
    L.llama_batch_free(pre)
    L.llama_batch_free(step_batch)
    L.llama_free(ctx)
    L.llama_model_free(model)
    return out


def _worker_main() -> int:
    ap = argparse.ArgumentParser(description="llama.cpp worker of the januskit benchmarks")
    sub = ap.add_subparsers(dest="cmd", required=True)
    q = sub.add_parser("quantize")
    q.add_argument("src")
    q.add_argument("dst")
    q.add_argument("ftype", choices=sorted(FTYPES))
    q.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    b = sub.add_parser("bench")
    b.add_argument("model")
    b.add_argument("--batch", type=int, default=1)
    b.add_argument("--prompt-tokens", type=int, default=64)
    b.add_argument("--new-tokens", type=int, default=64)
    b.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    b.add_argument("--warmup", type=int, default=1)
    b.add_argument("--runs", type=int, default=1)
    b.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    if a.cmd == "bench" and (a.new_tokens < 1 or a.prompt_tokens < 1 or a.batch < 1 or a.runs < 1):
        raise SystemExit("batch, prompt tokens, new tokens and runs must be >= 1")
    out = _worker_quantize(a) if a.cmd == "quantize" else _worker_bench(a)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(_worker_main())
