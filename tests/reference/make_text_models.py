"""Tiny random Qwen2, Qwen3 and Llama decoders with transformers, and what transformers computes with them.

Folders written (each a real model folder: config.json, model.safetensors, tokenizer.json,
tokenizer_config.json, generation_config.json):
  qwen2/          Qwen2ForCausalLM: q/k/v biases, GQA (4 heads, 2 KV heads), untied head
  llama3/         LlamaForCausalLM: GQA, llama3 RoPE frequency scaling, untied head
  llama3_tied/    the same architecture with tie_word_embeddings
  qwen3/          Qwen3ForCausalLM: no biases, q/k RMSNorm per head, head_dim 32 apart from
                  hidden_size / heads (16), GQA, untied head
  qwen3_tied/     the same with tie_word_embeddings (as Qwen3-0.6B to 4B ship)
and per folder expected.safetensors + expected.json:
  logits_f32      [1, T, V] full-sequence logits of `sequence` (f32)
  logits_bf16     the same with the model cast to bfloat16 (compared with a bf16 tolerance)
  greedy          64 greedy tokens after `prompt` (generate, do_sample=False, no EOS stop)
  batch_greedy    for each of three prompts of different lengths, 24 greedy tokens when run alone

Random tiny models have nearly uniform logits, so argmax ties would make greedy decoding fragile:
the weights are drawn wider than transformers' default (normal, std 0.15; norm weights 1 ± 0.1;
biases std 0.1), which keeps decisions far from ties.
"""
import pathlib

import torch
from safetensors.torch import save_file
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import LlamaConfig, LlamaForCausalLM, Qwen2Config, Qwen2ForCausalLM, Qwen3Config, Qwen3ForCausalLM

from fixture_util import seed_everything, write_json

BOS, EOS = "<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>"
SPECIAL = [BOS, EOS, "<｜User｜>", "<｜Assistant｜>", "<think>", "</think>"]
VOCAB = 352  # model rows; more than the tokenizer's entries, as in the real distills

CORPUS = [
    "What is 12 + 30? Let me add the numbers digit by digit.",
    "The answer is \\boxed{42}. Reasoning about sums, differences and products.",
    "Okay, so I need to figure out the result. First, 2 plus 3 is 5.",
    "Hello world! How are you today? The quick brown fox jumps over the lazy dog.",
] * 20


def make_tokenizer() -> Tokenizer:
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=300, special_tokens=SPECIAL[:2],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(CORPUS, trainer)
    # As in the R1 distills: the chat markers and think tags are added tokens that are not special.
    tok.add_tokens(SPECIAL[2:])
    bos_id = tok.token_to_id(BOS)
    tok.post_processor = processors.TemplateProcessing(single=f"{BOS} $A", pair=f"{BOS} $A {BOS} $B",
                                                       special_tokens=[(BOS, bos_id)])
    return tok


def widen(model: torch.nn.Module) -> None:
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("norm.weight"):
                p.copy_(1 + 0.1 * torch.randn_like(p))
            elif name.endswith(".bias"):
                p.normal_(0, 0.1)
            else:
                p.normal_(0, 0.15)


def greedy(model, ids: list[int], n: int) -> list[int]:
    # An explicit mask: BOS may share its id with the pad id, and generate() would mask it otherwise.
    out = model.generate(torch.tensor([ids]), attention_mask=torch.ones(1, len(ids), dtype=torch.long),
                         max_new_tokens=n, min_new_tokens=n, do_sample=False, eos_token_id=None,
                         pad_token_id=0)
    return out[0, len(ids):].tolist()


def write_folder(out: pathlib.Path, model, tok: Tokenizer) -> None:
    out.mkdir(parents=True)
    model.save_pretrained(out, safe_serialization=True)
    tok.save(str(out / "tokenizer.json"))
    write_json(out / "tokenizer_config.json", {
        "bos_token": BOS, "eos_token": EOS, "pad_token": EOS, "add_bos_token": True,
        "tokenizer_class": "LlamaTokenizerFast", "model_max_length": 16384,
        "clean_up_tokenization_spaces": False})
    eos_id = tok.token_to_id(EOS)
    write_json(out / "generation_config.json", {"bos_token_id": tok.token_to_id(BOS), "eos_token_id": eos_id,
                                                "do_sample": True, "temperature": 0.6, "top_p": 0.95})


def make_one(out: pathlib.Path, model, tok: Tokenizer) -> None:
    widen(model)
    model.eval()
    write_folder(out, model, tok)
    g = torch.Generator().manual_seed(7)
    sequence = torch.randint(0, VOCAB, (20,), generator=g).tolist()
    prompt = tok.encode("What is 12 + 30?").ids
    prompts = [tok.encode(t).ids for t in ("Hello", "The quick brown fox jumps over", "What is 2 plus 3? Let me")]
    with torch.no_grad():
        logits = model(torch.tensor([sequence])).logits.float()
        tensors = {"logits_f32": logits.contiguous()}
        expected = {
            "sequence": sequence,
            "prompt": prompt,
            "greedy": greedy(model, prompt, 64),
            "batch_prompts": prompts,
            "batch_greedy": [greedy(model, p, 24) for p in prompts],
        }
        # Loaded as a user would (from_pretrained with dtype=bfloat16). model.to(bfloat16) would also
        # round the f32 RoPE inverse-frequency buffer to bf16, which transformers itself avoids on load.
        model_bf16 = type(model).from_pretrained(out, dtype=torch.bfloat16).eval()
        tensors["logits_bf16"] = model_bf16(torch.tensor([sequence])).logits.float().contiguous()
    save_file(tensors, str(out / "expected.safetensors"))
    write_json(out / "expected.json", expected)


def tiny_config_args(tok: Tokenizer) -> tuple[dict, dict]:
    """The config keywords every tiny decoder shares, and Llama-3's RoPE on top of them."""
    common = dict(vocab_size=VOCAB, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                  num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512, rms_norm_eps=1e-6,
                  bos_token_id=tok.token_to_id(BOS), eos_token_id=tok.token_to_id(EOS))
    llama3 = dict(rope_theta=500000.0, rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                                                     "high_freq_factor": 4.0, "original_max_position_embeddings": 64})
    return common, llama3


def make(out_dir: pathlib.Path) -> None:
    seed_everything(1234)
    tok = make_tokenizer()
    common, llama3 = tiny_config_args(tok)
    seed_everything(1)
    make_one(out_dir / "qwen2", Qwen2ForCausalLM(Qwen2Config(**common, rope_theta=10000.0, tie_word_embeddings=False)), tok)
    seed_everything(2)
    make_one(out_dir / "llama3", LlamaForCausalLM(LlamaConfig(**common, **llama3, tie_word_embeddings=False)), tok)
    seed_everything(3)
    make_one(out_dir / "llama3_tied", LlamaForCausalLM(LlamaConfig(**common, **llama3, tie_word_embeddings=True)), tok)
    qwen3 = dict(common, head_dim=32, rope_theta=1000000.0)
    seed_everything(4)
    make_one(out_dir / "qwen3", Qwen3ForCausalLM(Qwen3Config(**qwen3, tie_word_embeddings=False)), tok)
    seed_everything(5)
    make_one(out_dir / "qwen3_tied", Qwen3ForCausalLM(Qwen3Config(**qwen3, tie_word_embeddings=True)), tok)
