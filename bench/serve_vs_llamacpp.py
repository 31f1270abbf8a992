"""`januskit serve` versus llama-cpp-python's OpenAI server (`llama_cpp.server`) on the same weights,
under 1, 4 and 16 concurrent clients.

    .venv/bin/python bench/serve_vs_llamacpp.py [--shape r1-distill-qwen-1.5b] [--layers 2]
        [--clients 1,4,16] [--requests 2] [--max-tokens 48] [--threads 2] [--json OUT.json]

The model is bench/quant_vs_llamacpp.py's: the named R1-Distill shape with random weights (--seed),
--layers decoder layers, saved as a bf16 safetensors folder with the real Qwen3 tokenizer; llama.cpp's
own convert_hf_to_gguf.py makes the BF16 GGUF (lossless), so both servers hold the same tensors.
llama.cpp is llama-cpp-python (bench/llamacpp_util.py: VERSION, built once and cached), its server
extras installed into that venv.

Each server is started alone on a free loopback port with --threads T (januskit: `serve --device cpu
--dtype bf16 --threads T --max-batch 16`, OMP_NUM_THREADS=T; llama.cpp: n_threads = n_threads_batch =
T, n_ctx 4096, interrupt_requests off: by default a new request there cuts off the one streaming,
so concurrent clients would get truncated answers). For every client count C, C threads each send --requests streamed /v1/completions
requests (a fixed prompt, temperature 0.6, top-p 0.95, a seed per request, max_tokens M) one after
the other; a warm-up request runs first. Reported per C:
    aggregate tok/s   generated tokens of all requests / wall time of the whole pass; tokens are
                      the streamed chunks that carry text (both servers send one per generated
                      token, bar tokens that end mid UTF-8 sequence)
    TTFT              median time from sending a request to its first text chunk
Ratios above 1 mean januskit is faster. llama_cpp.server runs one request at a time (its model
lock), januskit batches concurrent requests into one decode step; that difference is what this
measures. Not a test: no thresholds.
"""
import argparse
import json
import os
import pathlib
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

import llamacpp_util as lcu
from compare_util import ROOT, markdown

SERVER_DEPS = ["fastapi==0.118.0", "uvicorn==0.37.0", "sse-starlette==3.0.2", "starlette-context==0.4.0",
               "pydantic-settings==2.11.0", "PyYAML==6.0.3"]
PROMPT = "Question: what is the sum of 347 and 586? Think step by step, then answer.\nAnswer:"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(url: str, proc, seconds: float = 300) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}")
        try:
            urllib.request.urlopen(url + "/v1/models", timeout=2).read()
            return
        except OSError:
            time.sleep(0.5)
    raise SystemExit("server did not come up")


def stream_completion(url: str, model: str, seed: int, max_tokens: int) -> dict:
    body = json.dumps({"model": model, "prompt": PROMPT, "max_tokens": max_tokens, "temperature": 0.6,
                       "top_p": 0.95, "seed": seed, "stream": True}).encode()
    req = urllib.request.Request(url + "/v1/completions", data=body, headers={"Content-Type": "application/json"})
    start = time.perf_counter()
    first, tokens = None, 0
    with urllib.request.urlopen(req, timeout=600) as r:
        for raw in r:
            line = raw.decode().strip()
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            chunk = json.loads(line[6:])
            for c in chunk.get("choices", []):
                if c.get("text"):
                    tokens += 1
                    if first is None:
                        first = time.perf_counter() - start
    return {"ttft": first if first is not None else float("nan"), "tokens": tokens}


def load_pass(url: str, model: str, clients: int, requests: int, max_tokens: int) -> dict:
    results, lock = [], threading.Lock()

    def client(k: int) -> None:
        for j in range(requests):
            r = stream_completion(url, model, 1000 * k + j, max_tokens)
            with lock:
                results.append(r)

    start = time.perf_counter()
    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    tokens = sum(r["tokens"] for r in results)
    short = sum(1 for r in results if r["tokens"] < max_tokens)
    return {"clients": clients, "requests": len(results), "tokens": tokens, "short_requests": short, "seconds": wall,
            "tokens_per_second": tokens / wall, "ttft_median": statistics.median(r["ttft"] for r in results)}


def run_server(cmd, env, url, model, args) -> list:
    print("$ " + " ".join(cmd), file=sys.stderr, flush=True)
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_ready(url, proc)
        stream_completion(url, model, 1, 8)  # warm-up
        return [load_pass(url, model, c, args.requests, args.max_tokens) for c in args.clients]
    finally:
        proc.terminate()
        proc.wait(timeout=60)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shape", default="r1-distill-qwen-1.5b")
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--clients", default="1,4,16")
    ap.add_argument("--requests", type=int, default=2, help="streamed requests per client")
    ap.add_argument("--max-tokens", type=int, default=48)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--januskit", default=str(ROOT / "build" / "januskit"))
    ap.add_argument("--json", help="write the results here too")
    args = ap.parse_args()
    args.clients = [int(c) for c in args.clients.split(",")]

    import quant_vs_llamacpp as q
    lc = lcu.ensure()
    subprocess.run([str(lc.python), "-m", "pip", "install", "-q", *SERVER_DEPS], check=True, stdout=sys.stderr,
                   env=dict(os.environ, PIP_CACHE_DIR=str(lcu.cache_root() / "pip")))
    work = pathlib.Path(tempfile.mkdtemp(prefix="jk-serve-bench-"))
    folder = work / "model"
    info = q.save_model(argparse.Namespace(shape=args.shape, layers=args.layers, seed=args.seed), folder)
    gguf = work / "model-bf16.gguf"
    lcu.convert(lc, folder, gguf, "bf16")

    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), MKL_NUM_THREADS=str(args.threads))
    port = free_port()
    januskit = run_server([args.januskit, "-q", "serve", "-m", str(folder), "--device", "cpu", "--dtype", "bf16",
                           "--threads", str(args.threads), "--max-batch", "16", "--ctx", "4096", "--port", str(port)],
                          env, f"http://127.0.0.1:{port}", "model", args)
    port = free_port()
    llama = run_server([str(lc.python), "-m", "llama_cpp.server", "--model", str(gguf), "--host", "127.0.0.1",
                        "--port", str(port), "--n_ctx", "4096", "--n_threads", str(args.threads),
                        "--n_threads_batch", str(args.threads), "--interrupt_requests", "False"],
                       env, f"http://127.0.0.1:{port}", str(gguf), args)

    rows = []
    for j, l in zip(januskit, llama):
        for side, r in (("januskit", j), ("llama.cpp", l)):
            if r["short_requests"]:
                print(f"warning: {side}, {r['clients']} clients: {r['short_requests']} of {r['requests']} requests "
                      f"ended before max_tokens", file=sys.stderr)
        rows.append([str(j["clients"]), f"{j['tokens_per_second']:.1f}", f"{l['tokens_per_second']:.1f}",
                     f"{j['tokens_per_second'] / l['tokens_per_second']:.2f}",
                     f"{j['ttft_median'] * 1e3:.0f}", f"{l['ttft_median'] * 1e3:.0f}"])
    print(f"{args.shape}, {info['layers']} layers ({info['parameters'] / 1e9:.2f} B parameters), bf16, random weights; "
          f"{args.threads} threads; {args.requests} streamed requests per client, max_tokens {args.max_tokens}; "
          f"llama-cpp-python {lcu.VERSION}")
    print(markdown(["clients", "januskit tok/s", "llama.cpp tok/s", "ratio", "januskit TTFT ms", "llama.cpp TTFT ms"], rows))
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps({"januskit": januskit, "llamacpp": llama, "model": info}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
