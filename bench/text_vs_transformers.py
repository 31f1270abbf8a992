"""Text decoding: januskit versus transformers on the same random weights (issue 5 / issue 7).

    .venv/bin/python bench/text_vs_transformers.py [--shape r1-distill-qwen-1.5b] [--layers 2]
        [--device cpu|cuda] [--dtype auto|f32|bf16] [--prompt-tokens 128] [--new-tokens 32]
        [--batch 1 --batch 8] [--warmup 1] [--januskit build/januskit] [--json OUT.json]

Builds the named R1-Distill shape in transformers with random weights (normal, std 0.02, as
transformers initialises), truncated to --layers decoder layers (0 = all), saves it as a model folder,
then runs the same workload through `januskit bench text -m FOLDER` and through transformers'
generate(): each of B rows prefills N random prompt tokens and then samples M new tokens with R1's
settings (temperature 0.6, top-p 0.95, no top-k, no end-of-sequence stop).

transformers has no separate prefill timer, so its prefill time is that of generate() with one new
token (prefill + one sample), and its decode rate is B · (M − 1) / (time(M) − time(1)). januskit's
are its own timers (engine::GenerationStats): prefill, then M samples. Both sides run warm-up
generations first; with --runs R each side reports its median run. Ratios above 1 mean januskit is
faster.
"""
import argparse
import json
import shutil
import statistics
import sys

import torch
from transformers import AutoModelForCausalLM, LlamaConfig, Qwen2Config

from compare_util import (add_run_arguments, dtype_name, dtype_of, machine_note, markdown, parameter_bytes,
                          run_januskit, timed, workdir)

# docs: ../shared/docs/r1.md §1.2
SHAPES = {
    "r1-distill-qwen-1.5b": ("qwen2", dict(vocab_size=151936, hidden_size=1536, intermediate_size=8960,
                                           num_hidden_layers=28, num_attention_heads=12, num_key_value_heads=2,
                                           rope_theta=10000.0, rms_norm_eps=1e-6)),
    "r1-distill-qwen-7b": ("qwen2", dict(vocab_size=152064, hidden_size=3584, intermediate_size=18944,
                                         num_hidden_layers=28, num_attention_heads=28, num_key_value_heads=4,
                                         rope_theta=10000.0, rms_norm_eps=1e-6)),
    "r1-distill-llama-8b": ("llama", dict(vocab_size=128256, hidden_size=4096, intermediate_size=14336,
                                          num_hidden_layers=32, num_attention_heads=32, num_key_value_heads=8,
                                          rope_theta=500000.0, rms_norm_eps=1e-5,
                                          rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                                                        "high_freq_factor": 4.0,
                                                        "original_max_position_embeddings": 8192})),
}


def build(shape: str, layers: int, dtype: torch.dtype, device: str, seed: int):
    kind, kw = SHAPES[shape]
    kw = dict(kw)
    if layers > 0:
        kw["num_hidden_layers"] = min(layers, kw["num_hidden_layers"])
    common = dict(max_position_embeddings=131072, tie_word_embeddings=False, bos_token_id=None, eos_token_id=None)
    config = Qwen2Config(**kw, **common, use_sliding_window=False) if kind == "qwen2" else LlamaConfig(**kw, **common)
    torch.manual_seed(seed)
    with torch.device(device):
        model = AutoModelForCausalLM.from_config(config, dtype=dtype)
    return model.eval()


def transformers_run(model, batch: int, n: int, m: int, warmup: int, runs: int, device: str) -> dict:
    g = torch.Generator().manual_seed(1000 + batch)
    ids = torch.randint(0, min(model.config.vocab_size, 100000), (batch, n), generator=g).to(device)
    kw = dict(attention_mask=torch.ones_like(ids), do_sample=True, temperature=0.6, top_p=0.95, top_k=0,
              eos_token_id=None, pad_token_id=0)

    def generate(new):
        with torch.inference_mode():
            return model.generate(ids, max_new_tokens=new, min_new_tokens=new, **kw)

    for _ in range(warmup):
        generate(m)
    t1 = statistics.median(timed(device, lambda: generate(1))[0] for _ in range(runs))
    tms = []
    for _ in range(runs):
        tm, out = timed(device, lambda: generate(m))
        if out.shape[1] != n + m:
            raise SystemExit(f"transformers generated {out.shape[1] - n} tokens instead of {m}")
        tms.append(tm)
    tm = statistics.median(tms)
    return {"prefill_tokens_per_second": batch * n / t1, "decode_tokens_per_second": batch * (m - 1) / (tm - t1),
            "seconds": tm}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shape", default="r1-distill-qwen-1.5b", choices=sorted(SHAPES))
    ap.add_argument("--layers", type=int, default=2, help="decoder layers kept (0 = all)")
    ap.add_argument("--prompt-tokens", type=int, default=128)
    ap.add_argument("--new-tokens", type=int, default=32)
    ap.add_argument("--batch", type=int, action="append", help="batch size; repeat (default 1 and 8)")
    add_run_arguments(ap)
    args = ap.parse_args()
    batches = args.batch or [1, 8]
    dtype = dtype_of(args.dtype, args.device)

    model = build(args.shape, args.layers, dtype, args.device, args.seed)
    layers = model.config.num_hidden_layers
    folder = workdir("januskit-text-", parameter_bytes(model))
    try:
        model.save_pretrained(folder, safe_serialization=True)
        jk = run_januskit(args.januskit, ["bench", "text", "-m", folder, "--device", args.device, "--dtype",
                                          dtype_name(dtype), "--prompt-tokens", args.prompt_tokens, "--new-tokens",
                                          args.new_tokens, "--warmup", args.warmup, "--runs", args.runs,
                                          *sum((["--batch", b] for b in batches), [])], args.timeout)
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    results = []
    for row in jk["rows"]:
        b = row["batch"]
        hf = transformers_run(model, b, args.prompt_tokens, args.new_tokens, args.warmup, args.runs, args.device)
        results.append({"batch": b, "januskit": row, "transformers": hf})
        print(f"batch {b}: done", file=sys.stderr, flush=True)

    print(f"{args.shape}, {layers} layers, {dtype_name(dtype)}, {machine_note(args.device)}; "
          f"prompt {args.prompt_tokens} + {args.new_tokens} new tokens per row; januskit {jk['loop']} loop, "
          f"copy bandwidth {jk['copy_gbps']:.0f} GB/s\n")
    rows = []
    for r in results:
        j, h = r["januskit"], r["transformers"]
        rows.append([str(r["batch"]),
                     f"{j['prefill_tokens_per_second']:.1f}", f"{h['prefill_tokens_per_second']:.1f}",
                     f"{j['prefill_tokens_per_second'] / h['prefill_tokens_per_second']:.2f}",
                     f"{j['decode_tokens_per_second']:.2f}", f"{h['decode_tokens_per_second']:.2f}",
                     f"{j['decode_tokens_per_second'] / h['decode_tokens_per_second']:.2f}",
                     f"{j['achieved_gbps']:.1f}", f"{j['percent_of_bandwidth']:.1f}"])
    print(markdown(["batch", "prefill tok/s januskit", "transformers", "ratio", "decode tok/s januskit",
                    "transformers", "ratio", "januskit GB/s", "% of copy"], rows))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"shape": args.shape, "layers": layers, "dtype": dtype_name(dtype), "device": args.device,
                       "machine": machine_note(args.device), "copy_gbps": jk["copy_gbps"], "results": results}, f,
                      indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
