"""A GPTQ-quantized tiny Janus (transformers' JanusForConditionalGeneration), and what transformers
computes with its dequantized weights.

The language model's projections and head, both aligners and the generation head are quantized
int4, group 32, with make_quantized_models.py's independent numpy quantizer and GPTQ packing, where
docs/quantization.md's rule allows it (at least 64 inputs, both sizes multiples of 8: here the
aligners' first layers, 32 and 8 inputs wide, stay dense). SigLIP, the VQ model and the embeddings
stay f16, as januskit keeps them dense; every other tensor is f16, as in published GPTQ folders.

Folders written:
  dense/   the f16 model (make_janus_models.py's config, tokenizer files and transformers names)
  gptq/    the same model quantized, GPTQ layout, quantization_config in config.json
  expected.safetensors + expected.json, each with the dequantized weights and (suffix _dense) the
  f16 weights:
    understanding_logits  [1, T, V] logits of the SFT prompt with one image (understanding_pixels)
    generation_logits     [2, K] image-token logits after prompt 0's (cond, uncond) rows
    generation_tokens     16 greedy CFG image tokens for each generation prompt (the original loop)
"""
import pathlib

import numpy as np
import torch
from PIL import Image
from safetensors.torch import load_file, save_file
from transformers import JanusForConditionalGeneration

from fixture_util import seed_everything, write_json
from make_janus_models import (CFG, GRID, PAD, make_config, make_tokenizer, normalize, preprocess, processor_ids,
                               reference_image_generation, understanding_prompt, widen, write_folder)
from make_quantized_models import dequantize, gptq_tensors, quantize, write_gptq_folder

BITS, GROUP = 4, 32
PROMPTS = ["a red circle on a white background", "a small blue square"]


def quantized_names(state: dict) -> list[str]:
    """The linear layers januskit quantizes in a Janus model (docs/quantization.md), by their roles."""
    linear = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
    out = [n for n in state if n.startswith("model.language_model.layers.") and n.endswith(".weight")
           and n.split(".")[-2] in linear]
    out.append("lm_head.weight")
    for mlp in ("model.aligner", "model.generation_aligner"):
        out += [n for n in state if n.startswith(mlp + ".") and n.endswith(".weight")]
    out += ["model.generation_head.proj_out.weight", "model.generation_head.vision_head.weight"]
    per_word = 32 // BITS
    return [n for n in out if state[n].shape[1] >= 64 and state[n].shape[1] % per_word == 0
            and state[n].shape[0] % per_word == 0]


def outputs(model, folder, tok, pixels) -> dict:
    conds = processor_ids(folder, tok, [f"<|User|>: {p}\n\n<|Assistant|>:<begin_of_image>" for p in PROMPTS])
    with torch.no_grad():
        ids = torch.tensor([understanding_prompt(folder, tok, "Describe this image.")])
        out = {"understanding_logits": model(input_ids=ids, pixel_values=pixels).logits.float().contiguous()}
        rows = torch.tensor([conds[0], conds[0]])
        rows[1, 1:-1] = tok.token_to_id(PAD)
        hidden = model.model.language_model(inputs_embeds=model.get_input_embeddings()(rows)).last_hidden_state
        out["generation_logits"] = model.model.generation_head(hidden[:, -1, :]).float().contiguous()
        tokens = []
        for c in conds:
            tokens.append(reference_image_generation(model, c, tok.token_to_id(PAD), GRID * GRID))
        return out, tokens


def make(out_dir: pathlib.Path) -> None:
    seed_everything(2024)
    tok = make_tokenizer()
    seed_everything(31)
    # The three-level VQ of the draw test_quantized_janus.cpp's int4 tolerances were measured on (the VQ is not
    # quantized; its size only changes which random weights the language model gets).
    model = JanusForConditionalGeneration(make_config(tok, vq_levels=(1, 1, 2))).eval()
    widen(model)
    model = model.half().float()  # f16-valued weights: what both folders store
    dense_dir = out_dir / "dense"
    write_folder(dense_dir, model.half(), tok)
    model = model.float()

    x = np.linspace(0, 255, 90)
    picture = np.stack([np.tile(x, (60, 1)), np.tile(x[::-1], (60, 1)), np.full((60, 90), 200.0)], -1)
    pixels = normalize(preprocess(Image.fromarray(picture.astype(np.uint8)), 64))
    dense, tokens_dense = outputs(model, dense_dir, tok, pixels)

    state = {k: v.numpy() for k, v in load_file(str(dense_dir / "model.safetensors")).items()}
    gptq_state = {}
    with torch.no_grad():
        params = dict(model.named_parameters())
        for name in quantized_names(state):
            w = state.pop(name).astype(np.float32)
            codes, scales, zeros = quantize(w, BITS, GROUP)
            gptq_state.update(gptq_tensors(name[:-len(".weight")], codes, scales, zeros, BITS, GROUP))
            params[name].copy_(torch.from_numpy(dequantize(codes, scales, zeros, GROUP)))
    gptq_state.update(state)
    quantized, tokens = outputs(model, dense_dir, tok, pixels)

    write_gptq_folder(out_dir / "gptq", dense_dir, gptq_state, BITS, GROUP, lm_head=True)

    tensors = {"understanding_pixels": pixels.contiguous(), **quantized,
               **{k + "_dense": v for k, v in dense.items()}}
    save_file(tensors, str(out_dir / "expected.safetensors"))
    write_json(out_dir / "expected.json", {
        "cfg": CFG, "generation_prompts": PROMPTS, "generation_tokens": tokens, "generation_tokens_dense": tokens_dense,
        "understanding_prompt_ids": understanding_prompt(dense_dir, tok, "Describe this image."), "bits": BITS,
        "group_size": GROUP})
