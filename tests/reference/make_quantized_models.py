"""GPTQ-quantized tiny Qwen2/Llama decoders, and what transformers computes with their dequantized weights.

The quantizer here is an independent numpy implementation of docs/quantization.md's formula (GPTQ's
round-to-nearest, symmetric: scale = fp16(2·max|w| / (2^b − 1)), zero = 2^(b−1), code = clamp(rint(w /
scale) + zero)), packed the way AutoGPTQ/GPTQModel write "gptq" (v1) checkpoints: qweight int32
[K / (32 / b), N], qzeros int32 [G, N / (32 / b)] holding zero − 1, scales f16 [G, N], g_idx int32 [K],
and a quantization_config in config.json as GPTQModel writes it. Every other tensor is f16, as in
published GPTQ folders.

Folders written:
  <name>/dense/   the f16 model (tokenizer as make_text_models.py writes it)
  <name>/gptq/    the same model quantized, GPTQ layout
  <name>/expected.safetensors + expected.json:
    logits        [1, T, V] f32 logits of `sequence` from transformers running the dequantized weights
    logits_dense  the same with the unquantized (f16-valued) weights: the error quantization adds
    greedy        32 greedy tokens after `prompt` with the dequantized weights
    greedy_dense  the same with the unquantized weights
Models: qwen2_int4_g32 (Qwen2, untied head), llama3_int8 (per channel, group_size -1), llama3_tied_int4_g64
(tied head: the head stays the dense embedding).
"""
import json
import pathlib
import shutil

import numpy as np
import torch
from safetensors.numpy import save_file as save_numpy
from safetensors.torch import load_file, save_file
from transformers import LlamaConfig, LlamaForCausalLM, Qwen2Config, Qwen2ForCausalLM

from fixture_util import seed_everything, write_json
from make_text_models import VOCAB, greedy, make_tokenizer, tiny_config_args, widen, write_folder

LINEAR = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


def quantize(w: np.ndarray, bits: int, group: int):
    """w f32 [N, K] -> codes u8 [N, K], scales f16 [N, G], zeros u8 [N, G]."""
    n, k = w.shape
    group = k if group <= 0 else group
    g = (k + group - 1) // group
    codes = np.zeros((n, k), np.uint8)
    scales = np.zeros((n, g), np.float16)
    qmax = 2 ** bits - 1
    zero = 2 ** (bits - 1)
    for j in range(g):
        block = w[:, j * group:(j + 1) * group]
        amax = np.abs(block).max(axis=1)
        amax[amax == 0] = 1.0
        s = (np.float32(2.0) * amax.astype(np.float32) / np.float32(qmax)).astype(np.float16)
        scales[:, j] = s
        q = np.rint(block / s.astype(np.float32)[:, None]) + zero
        codes[:, j * group:(j + 1) * group] = np.clip(q, 0, qmax).astype(np.uint8)
    return codes, scales, np.full((n, g), zero, np.uint8)


def dequantize(codes, scales, zeros, group: int) -> np.ndarray:
    k = codes.shape[1]
    group = k if group <= 0 else group
    col = np.arange(k) // group
    return scales.astype(np.float32)[:, col] * (codes.astype(np.float32) - zeros.astype(np.float32)[:, col])


def pack_rows(values: np.ndarray, bits: int) -> np.ndarray:
    """values u32 [R, C] -> int32 [R / per, C]: bits b·j.. of word i hold row i·per + j."""
    per = 32 // bits
    r, c = values.shape
    words = np.zeros((r // per, c), np.uint32)
    for j in range(per):
        words |= values[j::per].astype(np.uint32) << np.uint32(bits * j)
    return words.view(np.int32)


def gptq_tensors(prefix: str, codes, scales, zeros, bits: int, group: int) -> dict:
    k = codes.shape[1]
    g_idx = (np.arange(k) // (k if group <= 0 else group)).astype(np.int32)
    return {
        prefix + ".qweight": pack_rows(codes.T.astype(np.uint32), bits),
        prefix + ".qzeros": pack_rows((zeros.astype(np.int64) - 1).astype(np.uint32), bits).T.copy(),
        prefix + ".scales": np.ascontiguousarray(scales.T),
        prefix + ".g_idx": g_idx,
    }


def write_gptq_folder(gptq_dir: pathlib.Path, dense_dir: pathlib.Path, tensors: dict, bits: int, group: int,
                      lm_head: bool) -> None:
    """`tensors` as model.safetensors, the dense folder's other files, and the quantization_config
    GPTQModel writes."""
    gptq_dir.mkdir()
    save_numpy(tensors, str(gptq_dir / "model.safetensors"), metadata={"format": "pt"})
    for f in dense_dir.iterdir():
        if f.name != "model.safetensors":
            shutil.copy(f, gptq_dir / f.name)
    config = json.loads((dense_dir / "config.json").read_text())
    config["quantization_config"] = {
        "bits": bits, "group_size": group if group > 0 else -1, "desc_act": False, "sym": True, "lm_head": lm_head,
        "quant_method": "gptq", "checkpoint_format": "gptq", "damp_percent": 0.01, "static_groups": False,
        "true_sequential": True, "meta": {"quantizer": ["gptqmodel:2.2.0"], "damp_auto_increment": 0.0025}}
    write_json(gptq_dir / "config.json", config)


def logits_and_greedy(model, sequence, prompt):
    with torch.no_grad():
        return model(torch.tensor([sequence])).logits.float().contiguous(), greedy(model, prompt, 32)


def make_one(out: pathlib.Path, model, tok, bits: int, group: int) -> None:
    widen(model)
    model = model.half().float().eval()  # f16-valued weights: what both folders store
    dense_dir = out / "dense"
    write_folder(dense_dir, model.half(), tok)
    model = model.float()
    g = torch.Generator().manual_seed(7)
    sequence = torch.randint(0, VOCAB, (20,), generator=g).tolist()
    prompt = tok.encode("What is 12 + 30?").ids
    logits_dense, greedy_dense = logits_and_greedy(model, sequence, prompt)

    # Quantize the projections (and an untied head), replace them by their dequantized values.
    state = {k: v.numpy() for k, v in load_file(str(dense_dir / "model.safetensors")).items()}
    tied = model.config.tie_word_embeddings
    targets = [n for n in state if n.endswith(".weight") and n.split(".")[-2] in LINEAR]
    if not tied:
        targets.append("lm_head.weight")
    gptq_state = {}
    with torch.no_grad():
        params = dict(model.named_parameters())
        for name in targets:
            w = state.pop(name).astype(np.float32)
            codes, scales, zeros = quantize(w, bits, group)
            gptq_state.update(gptq_tensors(name[:-len(".weight")], codes, scales, zeros, bits, group))
            params[name].copy_(torch.from_numpy(dequantize(codes, scales, zeros, group)))
    gptq_state.update(state)  # norms, embeddings, biases: f16 as stored
    logits, greedy_q = logits_and_greedy(model, sequence, prompt)

    write_gptq_folder(out / "gptq", dense_dir, gptq_state, bits, group, lm_head=not tied)
    save_file({"logits": logits, "logits_dense": logits_dense}, str(out / "expected.safetensors"))
    write_json(out / "expected.json", {"sequence": sequence, "prompt": prompt, "greedy": greedy_q,
                                       "greedy_dense": greedy_dense, "bits": bits, "group_size": group})


def make(out_dir: pathlib.Path) -> None:
    seed_everything(1234)
    tok = make_tokenizer()
    common, llama3 = tiny_config_args(tok)
    seed_everything(11)
    make_one(out_dir / "qwen2_int4_g32",
             Qwen2ForCausalLM(Qwen2Config(**common, rope_theta=10000.0, tie_word_embeddings=False)), tok, 4, 32)
    seed_everything(12)
    make_one(out_dir / "llama3_int8", LlamaForCausalLM(LlamaConfig(**common, **llama3, tie_word_embeddings=False)),
             tok, 8, -1)
    seed_everything(13)
    make_one(out_dir / "llama3_tied_int4_g64",
             LlamaForCausalLM(LlamaConfig(**common, **llama3, tie_word_embeddings=True)), tok, 4, 64)
