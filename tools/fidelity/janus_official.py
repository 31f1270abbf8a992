"""januskit against DeepSeek's own Janus code (github.com/deepseek-ai/Janus, commit 1daa72f), id for id
and pixel for pixel, on a random-weight Janus-Pro in deepseek-ai's own format. docs/fidelity.md has
the set-up; in short:

    git clone https://github.com/deepseek-ai/Janus /tmp/janus-official && git -C /tmp/janus-official checkout 1daa72f
    python3 -m venv /tmp/janus-venv
    .venv/bin/python -c "import site; print(site.getsitepackages()[0])" \
        > /tmp/janus-venv/lib/python3.11/site-packages/zz_project_torch.pth      # torch from januskit's venv
    /tmp/janus-venv/bin/pip install transformers==4.38.2 tokenizers==0.15.2 "huggingface-hub<1.0" \
        accelerate==0.27.2 attrdict einops
    /tmp/janus-venv/bin/pip install --no-deps timm==0.9.16 torchvision==0.26.0
    /tmp/janus-venv/bin/python tools/fidelity/janus_official.py --official /tmp/janus-official --work /tmp/jf

The model: the real SigLIP-L/16 at 384 px (timm, as the official code builds it) and VQ-16, a small
LLaMA language model (2 layers, 256 wide) in place of Janus-Pro's 24 x 2048, random weights drawn with
a fixed seed (the language model and heads wider than the library default, so that greedy choices are
far from ties; max_position_embeddings 2048, because transformers 4.38 rebuilds a causal mask of that
size squared at every step, which at Janus-Pro's 16384 takes the official loop about a second a token
on a CPU), written by the official classes' own save_pretrained (config.json in their layout,
pytorch_model.bin with the original tensor names), with DeepSeek-style tokenizer files (a plain
ByteLevel post-processor, tokenizer_class LlamaTokenizerFast, add_bos_token) and the official ids of
the special tokens. Nothing of the official code is copied: it is imported from --official.

Compared, greedy (the official sampling loop at temperature -> 0 is an argmax), f32 unless stated:
  describe    prompt ids and up to 24 generated ids (both stop at EOS), for a square PNG, a non-square PNG, an EXIF-rotated JPEG
              and an RGBA PNG; and in bf16 (how many leading ids agree)
  generate    the 576 image tokens and every pixel, two prompts, CFG 5; januskit renders both in one
              batch, the official loop one prompt at a time (parallel_size 1)
Prints one line per comparison and writes results.json into --work.
"""
import argparse
import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import torch
from PIL import Image

ROOT = pathlib.Path(__file__).resolve().parents[2]
BOS, EOS, PAD = "<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>", "<｜▁pad▁｜>"
SPECIAL = [BOS, EOS, PAD, "<image_placeholder>", "<begin_of_image>", "<end_of_image>", "<|User|>", "<|Assistant|>"]
CORPUS = ["a red circle on a white background", "a small blue square in the top left corner", "Describe this image.",
          "What colour is the shape?", "You are a helpful language and vision assistant."] * 20
PROMPTS = ["a red circle on a white background", "a small blue square"]
QUESTION = "Describe this image."
HIDDEN = 256


def tokenizer_files(folder: pathlib.Path) -> None:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=SPECIAL, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(CORPUS, trainer)
    tok.post_processor = processors.ByteLevel(trim_offsets=False)  # DeepSeek's files: no BOS here
    tok.save(str(folder / "tokenizer.json"))
    (folder / "tokenizer_config.json").write_text(json.dumps({
        "add_bos_token": True, "add_eos_token": False, "bos_token": BOS, "eos_token": EOS, "pad_token": PAD,
        "clean_up_tokenization_spaces": False, "legacy": True, "model_max_length": 16384,
        "tokenizer_class": "LlamaTokenizerFast", "unk_token": None}, ensure_ascii=False, indent=2))
    (folder / "special_tokens_map.json").write_text(json.dumps({
        "bos_token": BOS, "eos_token": EOS, "pad_token": PAD, "additional_special_tokens": SPECIAL[3:]},
        ensure_ascii=False, indent=2))
    (folder / "processor_config.json").write_text(json.dumps({
        "add_special_token": False, "ignore_id": -100, "image_tag": "<image_placeholder>", "mask_prompt": True,
        "num_image_tokens": 576, "processor_class": "VLChatProcessor", "sft_format": "deepseek"}, indent=2))
    (folder / "preprocessor_config.json").write_text(json.dumps({
        "background_color": [127, 127, 127], "do_normalize": True, "image_mean": [0.5, 0.5, 0.5],
        "image_processor_type": "VLMImageProcessor", "image_size": 384, "image_std": [0.5, 0.5, 0.5],
        "min_size": 14, "processor_class": "VLChatProcessor", "rescale_factor": 0.00392156862745098}, indent=2))


def build(folder: pathlib.Path) -> None:
    from janus.models import MultiModalityCausalLM
    from janus.models.modeling_vlm import MultiModalityConfig
    folder.mkdir(parents=True, exist_ok=True)
    tokenizer_files(folder)
    vocab = json.loads((folder / "tokenizer.json").read_text())
    vocab_size = max(vocab["model"]["vocab"].values()) + 1
    config = MultiModalityConfig(
        vision_config={"cls": "CLIPVisionTower", "model_type": "vision",
                       "params": {"image_size": 384, "model_name": "siglip_large_patch16_384",
                                  "select_feature": "same", "select_layer": -1}},
        aligner_config={"cls": "MlpProjector", "model_type": "aligner",
                        "params": {"depth": 2, "input_dim": 1024, "n_embed": HIDDEN, "projector_type": "mlp_gelu"}},
        gen_vision_config={"cls": "VQ-16", "model_type": "gen_vision", "params": {"image_token_size": 16384, "n_embed": 8}},
        gen_aligner_config={"cls": "MlpProjector", "model_type": "gen_aligner",
                            "params": {"depth": 2, "input_dim": 8, "n_embed": HIDDEN, "projector_type": "mlp_gelu"}},
        gen_head_config={"cls": "vision_head", "model_type": "gen_head",
                         "params": {"image_token_embed": HIDDEN, "image_token_size": 16384, "n_embed": HIDDEN}},
        language_config={"hidden_size": HIDDEN, "intermediate_size": 512, "max_position_embeddings": 2048,
                         "model_type": "llama", "num_attention_heads": 4, "num_hidden_layers": 2,
                         "num_key_value_heads": 4, "torch_dtype": "bfloat16", "vocab_size": vocab_size},
        architectures=["MultiModalityCausalLM"], torch_dtype="bfloat16")
    torch.manual_seed(2025)
    model = MultiModalityCausalLM(config).eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.startswith(("language_model", "gen_head", "gen_aligner", "aligner", "gen_embed")):
                if "norm" in name:
                    p.normal_(1.0, 0.1)
                elif name.endswith("bias"):
                    p.normal_(0.0, 0.1)
                else:
                    p.normal_(0.0, 0.15)
    model.to(torch.bfloat16).save_pretrained(folder, safe_serialization=False)  # bf16, as published


def official(src: pathlib.Path, folder: pathlib.Path, images: dict, dtype: torch.dtype) -> dict:
    sys.path.insert(0, str(src))
    from janus.models import MultiModalityCausalLM, VLChatProcessor
    from transformers import AutoModelForCausalLM
    processor = VLChatProcessor.from_pretrained(str(folder))
    tok = processor.tokenizer
    model: MultiModalityCausalLM = AutoModelForCausalLM.from_pretrained(str(folder), trust_remote_code=True)
    model = model.to(dtype).eval()
    out = {"describe": {}, "generate": []}
    with torch.inference_mode():
        for name, path in images.items():
            # Janus-Pro's README spells the roles "<|User|>" / "<|Assistant|>" (Janus-1.3B's scripts "User").
            conversation = [{"role": "<|User|>", "content": f"<image_placeholder>\n{QUESTION}", "images": [str(path)]},
                            {"role": "<|Assistant|>", "content": ""}]
            from janus.utils.io import load_pil_images
            inputs = processor(conversations=conversation, images=load_pil_images(conversation), force_batchify=True)
            inputs.pixel_values = inputs.pixel_values.to(dtype)
            embeds = model.prepare_inputs_embeds(**inputs)
            ids = model.language_model.generate(inputs_embeds=embeds, attention_mask=inputs.attention_mask,
                                                pad_token_id=tok.eos_token_id, bos_token_id=tok.bos_token_id,
                                                eos_token_id=tok.eos_token_id, max_new_tokens=24,
                                                do_sample=False, use_cache=True)
            out["describe"][name] = {"prompt_ids": inputs.input_ids[0].tolist(), "output_ids": ids[0].tolist()}
        for prompt in PROMPTS:
            sft = processor.apply_sft_template_for_multi_turn_prompts(
                conversations=[{"role": "<|User|>", "content": prompt}, {"role": "<|Assistant|>", "content": ""}],
                sft_format=processor.sft_format, system_prompt="")
            ids = torch.LongTensor(tok.encode(sft + processor.image_start_tag))
            rows = torch.stack([ids, ids])
            rows[1, 1:-1] = processor.pad_id
            embeds = model.language_model.get_input_embeddings()(rows)
            tokens, past = [], None
            for _ in range(576):
                o = model.language_model.model(inputs_embeds=embeds, use_cache=True, past_key_values=past)
                past = o.past_key_values
                logits = model.gen_head(o.last_hidden_state[:, -1, :])
                guided = logits[1::2] + 5.0 * (logits[0::2] - logits[1::2])
                nxt = guided.float().argmax(-1)  # the official multinomial as temperature -> 0
                tokens.append(int(nxt[0]))
                embeds = model.prepare_gen_img_embeds(torch.cat([nxt, nxt])).unsqueeze(1)
            dec = model.gen_vision_model.decode_code(torch.tensor([tokens], dtype=torch.int), shape=[1, 8, 24, 24])
            pixels = np.clip((dec.float().numpy().transpose(0, 2, 3, 1) + 1) / 2 * 255, 0, 255).astype(np.uint8)[0]
            out["generate"].append({"prompt_ids": ids.tolist(), "tokens": tokens, "pixels": pixels})
    return out


def januskit(binary: str, folder: pathlib.Path, images: dict, dtype: str, work: pathlib.Path) -> dict:
    def run(*args):
        r = subprocess.run([binary, "-q", *args], capture_output=True, text=True, timeout=3600)
        if r.returncode != 0:
            raise SystemExit(f"januskit {' '.join(args)} failed:\n{r.stderr}")
        return json.loads(r.stdout)
    out = {"describe": {}, "generate": []}
    for name, path in images.items():
        j = run("describe", "-m", str(folder), str(path), QUESTION, "--max-tokens", "24", "--temperature", "0",
                "--dtype", dtype, "--json")
        out["describe"][name] = {"prompt_ids": j["prompt_ids"], "output_ids": j["output_ids"]}
    pattern = work / f"januskit-{dtype}-%d.png"
    j = run("generate", *PROMPTS, "-m", str(folder), "--temperature", "0", "--cfg", "5", "--dtype", dtype,
            "-o", str(pattern), "--json")
    for im in j["images"]:
        out["generate"].append({"prompt_ids": im["prompt_ids"], "tokens": im["tokens"],
                                "pixels": np.asarray(Image.open(im["file"]).convert("RGB"))})
    return out


def test_images(work: pathlib.Path) -> dict:
    rng = np.random.default_rng(7)
    square = (rng.random((300, 300, 3)) * 255).astype(np.uint8)
    wide = np.zeros((180, 420, 3), np.uint8)
    wide[:, :, 0] = np.linspace(0, 255, 420)[None, :]
    wide[40:140, 100:220] = (20, 200, 40)
    paths = {"square.png": square, "wide.png": wide}
    out = {}
    for name, arr in paths.items():
        Image.fromarray(arr).save(work / name)
        out[name] = work / name
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90 CW to display
    Image.fromarray(wide).save(work / "rotated.jpg", exif=exif.tobytes(), quality=95)
    out["rotated.jpg"] = work / "rotated.jpg"
    rgba = np.concatenate([wide, np.linspace(0, 255, 420, dtype=np.uint8)[None, :, None].repeat(180, 0)], -1)
    Image.fromarray(rgba, "RGBA").save(work / "alpha.png")
    out["alpha.png"] = work / "alpha.png"
    return out


def leading_agreement(a: list, b: list) -> int:
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return n


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--official", required=True, help="a checkout of deepseek-ai/Janus at 1daa72f")
    ap.add_argument("--work", required=True)
    ap.add_argument("--januskit", default=str(ROOT / "build" / "januskit"))
    args = ap.parse_args()
    work = pathlib.Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    folder = work / "janus-pro-official-format"
    sys.path.insert(0, args.official)
    if not (folder / "pytorch_model.bin").exists():
        build(folder)
    images = test_images(work)
    results, f32 = {}, None
    for dtype, torch_dtype in (("f32", torch.float32), ("bf16", torch.bfloat16)):
        ref = official(pathlib.Path(args.official), folder, images, torch_dtype)
        ours = januskit(args.januskit, folder, images, dtype, work)
        if f32 is None:
            f32 = ref
        else:
            # bf16 rounding moves a random model's greedy path early on both sides: how far each bf16
            # run follows the official f32 one says whether januskit's bf16 strays further.
            for name in images:
                a, b, c = (x["describe"][name]["output_ids"] for x in (f32, ref, ours))
                results[f"describe {name} bf16 vs official f32"] = {"official": leading_agreement(a, b),
                                                                    "januskit": leading_agreement(a, c)}
                print(f"describe {name:12s} bf16 vs the official f32 ids: official bf16 follows "
                      f"{leading_agreement(a, b)}, januskit bf16 {leading_agreement(a, c)}")
            for i in range(len(PROMPTS)):
                a, b, c = (x["generate"][i]["tokens"] for x in (f32, ref, ours))
                results[f"generate {i} bf16 vs official f32"] = {"official": leading_agreement(a, b),
                                                                 "januskit": leading_agreement(a, c)}
                print(f"generate {PROMPTS[i]!r} bf16 vs the official f32 tokens: official bf16 follows "
                      f"{leading_agreement(a, b)}, januskit bf16 {leading_agreement(a, c)}")
        for name in images:
            r, o = ref["describe"][name], ours["describe"][name]
            row = {"prompt_ids_equal": r["prompt_ids"] == o["prompt_ids"], "prompt_tokens": len(r["prompt_ids"]),
                   "leading_ids_equal": leading_agreement(r["output_ids"], o["output_ids"]),
                   "of": max(len(r["output_ids"]), len(o["output_ids"]))}
            row.update(official_ids=r["output_ids"], januskit_ids=o["output_ids"])
            if not row["prompt_ids_equal"]:
                row.update(official_prompt=r["prompt_ids"], januskit_prompt=o["prompt_ids"])
            results[f"describe {name} {dtype}"] = row
            print(f"describe {name:12s} {dtype}: prompt ids {'equal' if row['prompt_ids_equal'] else 'DIFFER'} "
                  f"({row['prompt_tokens']}), generated ids equal for the first {row['leading_ids_equal']}/{row['of']}")
        for i, (r, o) in enumerate(zip(ref["generate"], ours["generate"])):
            diff = np.abs(r["pixels"].astype(int) - o["pixels"].astype(int))
            row = {"prompt_ids_equal": r["prompt_ids"] == o["prompt_ids"],
                   "leading_tokens_equal": leading_agreement(r["tokens"], o["tokens"]), "of": len(r["tokens"]),
                   "pixels_max_diff": int(diff.max()), "pixels_differing": int((diff > 0).any(-1).sum())}
            results[f"generate {i} {dtype}"] = row
            print(f"generate {PROMPTS[i]!r} {dtype}: prompt ids {'equal' if row['prompt_ids_equal'] else 'DIFFER'}, "
                  f"tokens equal for the first {row['leading_tokens_equal']}/576, pixels differing "
                  f"{row['pixels_differing']}/{384 * 384} (max {row['pixels_max_diff']} levels)")
    (work / "results.json").write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
