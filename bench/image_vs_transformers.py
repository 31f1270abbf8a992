"""Janus-Pro image generation: januskit versus transformers on the same random weights (issue 6 / 7).

    .venv/bin/python bench/image_vs_transformers.py [--shape janus-pro-1b|janus-pro-7b|tiny] [--layers 2]
        [--device cpu|cuda] [--dtype auto|f32|bf16] [--images 2] [--prompt-tokens 32] [--warmup 1]
        [--januskit build/januskit] [--json OUT.json]

Builds transformers' JanusForConditionalGeneration with random weights: the language model of the
named shape (truncated to --layers, 0 = all; docs janus-pro.md §3) with the real generation path
(VQ-16: 16384 codes, 24 × 24 = 576 tokens per image; gen_head and gen_aligner of the model's width),
or `tiny`, a complete small Janus (2 layers of width 64, 16 tokens per image, as the reference
fixture). The SigLIP understanding tower is kept minimal: image generation never runs it. Then one
generation of K images from K prompts of P tokens runs through `januskit bench image -m FOLDER` and
through transformers' generate(generation_mode="image") with the reference settings (CFG 5,
temperature 1, no top-k, sampling). Both sides are timed over the whole generation (prefill and every
image token; VQ decoding excluded, as it is under 1% of the time), after warm-up runs; with --runs R
each side reports its median run.
Ratios above 1 mean januskit is faster.
"""
import argparse
import json
import shutil
import statistics
import sys

import torch
from transformers import DynamicCache, JanusConfig, JanusForConditionalGeneration

from compare_util import (add_run_arguments, dtype_name, dtype_of, machine_note, markdown, parameter_bytes,
                          run_januskit, timed, workdir)

BOS, PAD, BOI = 100000, 100015, 100016  # Janus-Pro's <｜begin▁of▁sentence｜>, <｜▁pad▁｜>, <begin_of_image>

SHAPES = {
    "janus-pro-1b": dict(hidden_size=2048, intermediate_size=5632, num_hidden_layers=24, num_attention_heads=16),
    "janus-pro-7b": dict(hidden_size=4096, intermediate_size=11008, num_hidden_layers=30, num_attention_heads=32),
}


def build(shape: str, layers: int, dtype: torch.dtype, device: str, seed: int):
    if shape == "tiny":
        text = dict(vocab_size=102400, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                    num_attention_heads=4)
        grid, vq = 4, dict(embed_dim=8, num_embeddings=64, latent_channels=32, base_channels=32,
                           channel_multiplier=[1, 1, 2], num_res_blocks=1)
    else:
        text = dict(SHAPES[shape], vocab_size=102400)
        grid, vq = 24, {}  # VQ-16 defaults
        if layers > 0:
            text["num_hidden_layers"] = min(layers, text["num_hidden_layers"])
    d = text["hidden_size"]
    text.update(model_type="llama", num_key_value_heads=text["num_attention_heads"], max_position_embeddings=16384,
                rms_norm_eps=1e-6, rope_theta=10000.0, tie_word_embeddings=False)
    config = JanusConfig(
        text_config=text,
        vision_config=dict(hidden_size=64, num_hidden_layers=1, num_attention_heads=2, image_size=16 * grid,
                           patch_size=16, mlp_ratio=2.0, projection_dim=d, depth=2, num_image_tokens=grid * grid),
        vq_config=dict(vq, projection_dim=d, image_token_embed_dim=d, num_patches=grid),
        image_token_id=100581, tie_word_embeddings=False, pad_token_id=PAD, bos_token_id=BOS)
    torch.manual_seed(seed)
    with torch.device(device):
        model = JanusForConditionalGeneration._from_config(config, dtype=dtype)
    return model.eval(), grid * grid


def transformers_run(model, images: int, prompt: int, warmup: int, runs: int, device: str) -> dict:
    g = torch.Generator().manual_seed(7)
    ids = torch.randint(0, 100000, (images, prompt), generator=g)
    ids[:, 0], ids[:, -1] = BOS, BOI
    ids = ids.to(device)

    # As transformers' Janus converter sets them up.
    model.generation_config.bos_token_id = BOS
    model.generation_config.pad_token_id = PAD
    model.generation_config.generation_kwargs = {"boi_token_id": BOI}

    def generate():
        # transformers 5.17's image generate() fails building its default static cache
        # (_prepare_static_cache() lacks prefill_chunk_size), so it gets a dynamic cache, as the
        # reference fixture (tests/reference/make_janus_models.py) does.
        with torch.inference_mode():
            return model.generate(ids, attention_mask=torch.ones_like(ids), generation_mode="image", do_sample=True,
                                  temperature=1.0, top_k=0, guidance_scale=5.0,
                                  past_key_values=DynamicCache(config=model.config.text_config))

    for _ in range(warmup):
        generate()
    results = [timed(device, generate) for _ in range(runs)]
    return {"seconds": statistics.median(t for t, _ in results), "tokens": int(results[0][1].shape[1])}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shape", default="janus-pro-1b", choices=sorted(SHAPES) + ["tiny"])
    ap.add_argument("--layers", type=int, default=2, help="language-model layers kept (0 = all; not for tiny)")
    ap.add_argument("--images", type=int, default=2)
    ap.add_argument("--prompt-tokens", type=int, default=32)
    add_run_arguments(ap)
    args = ap.parse_args()
    dtype = dtype_of(args.dtype, args.device)

    model, steps = build(args.shape, args.layers, dtype, args.device, args.seed)
    layers = model.config.text_config.num_hidden_layers
    folder = workdir("januskit-janus-", parameter_bytes(model))
    try:
        model.save_pretrained(folder, safe_serialization=True)
        jk = run_januskit(args.januskit, ["bench", "image", "-m", folder, "--device", args.device, "--dtype",
                                          dtype_name(dtype), "--images", args.images, "--prompt-tokens",
                                          args.prompt_tokens, "--warmup", args.warmup, "--runs", args.runs],
                     args.timeout)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    hf = transformers_run(model, args.images, args.prompt_tokens, args.warmup, args.runs, args.device)
    if hf["tokens"] != steps:
        raise SystemExit(f"transformers generated {hf['tokens']} tokens per image, expected {steps}")

    row = jk["rows"][0]
    jk_seconds = row["prefill_seconds"] + row["decode_seconds"]
    tokens = args.images * steps
    print(f"{args.shape}, {layers} layers, {dtype_name(dtype)}, {machine_note(args.device)}; {args.images} images "
          f"x {steps} tokens, {args.prompt_tokens}-token prompts, CFG 5; januskit {jk['loop']} loop, copy bandwidth "
          f"{jk['copy_gbps']:.0f} GB/s\n")
    print(markdown(["", "januskit", "transformers", "ratio"], [
        ["seconds", f"{jk_seconds:.3f}", f"{hf['seconds']:.3f}", f"{hf['seconds'] / jk_seconds:.2f}"],
        ["images/min", f"{60 * args.images / jk_seconds:.2f}", f"{60 * args.images / hf['seconds']:.2f}",
         f"{hf['seconds'] / jk_seconds:.2f}"],
        ["image tokens/s (whole run)", f"{tokens / jk_seconds:.1f}", f"{tokens / hf['seconds']:.1f}",
         f"{hf['seconds'] / jk_seconds:.2f}"],
        ["januskit decode tokens/s, GB/s, % of copy",
         f"{row['decode_tokens_per_second']:.1f}, {row['achieved_gbps']:.1f}, {row['percent_of_bandwidth']:.1f}",
         "", ""],
    ]))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"shape": args.shape, "layers": layers, "dtype": dtype_name(dtype), "device": args.device,
                       "machine": machine_note(args.device), "images": args.images, "steps": steps,
                       "januskit": jk, "januskit_seconds": jk_seconds, "transformers": hf}, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
