"""What a model folder's own processor encodes, for every combination of the settings that decide it,
from transformers 4.38.2 itself (the version the official DeepSeek Janus code pins).

One small byte-level BPE (trained here, saved in the layout of DeepSeek's files: merges as "a b"
strings), written into one folder per combination of
  tokenizer.json's post-processor    plain ByteLevel (DeepSeek's files) | a BOS template
  add_bos_token                      absent | true | false
  add_eos_token                      absent | true
  tokenizer_class                    absent | LlamaTokenizerFast | LlamaTokenizer | Qwen2TokenizerFast |
                                     PreTrainedTokenizerFast
plus DeepSeek-V3's real tokenizer files from ../shared/fixtures/tokenizers, when present (Qwen3's
tokenizer.json is in the newer merges layout, which tokenizers 0.15 cannot read; the official DeepSeek
code never reads it either).
Each folder's texts are encoded twice in the transformers 4.x venv: by AutoTokenizer (what the folder
says) and by LlamaTokenizerFast directly (what Janus's VLChatProcessor instantiates). index.json lists
{"folder", "texts", "auto": result, "llama": result}, a result being {"class", "ids"} or {"error"}.
The C++ test (tests/reference/test_tokenizer_processor.cpp) must give the same ids with
SpecialTokens::processor, and refuse where transformers refuses.
"""
import itertools
import json
import os
import pathlib
import shutil

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

import processor_reference

ROOT = pathlib.Path(__file__).resolve().parents[2]
SHARED = pathlib.Path(os.environ.get("JANUSKIT_SHARED_DIR", ROOT.parent / "shared")) / "fixtures" / "tokenizers"
BOS, EOS = "<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>"
TEXTS = ["a red circle", "Describe this image.", "", "<｜end▁of▁sentence｜> twice <｜begin▁of▁sentence｜>"]
CLASSES = [None, "LlamaTokenizerFast", "LlamaTokenizer", "Qwen2TokenizerFast", "PreTrainedTokenizerFast"]


def train() -> Tokenizer:
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=300, special_tokens=[BOS, EOS], show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(["a red circle", "Describe this image.", "a small blue square"] * 20, trainer)
    return tok


def save(tok: Tokenizer, post_bos: bool, path: pathlib.Path) -> None:
    if post_bos:
        tok.post_processor = processors.TemplateProcessing(single=f"{BOS} $A", pair=f"{BOS} $A {BOS} $B",
                                                           special_tokens=[(BOS, tok.token_to_id(BOS))])
    else:
        tok.post_processor = processors.ByteLevel(trim_offsets=False)
    processor_reference.save_deepseek_layout(tok, path)


def make(out_dir: pathlib.Path) -> None:
    tok = train()
    folders = []
    for post_bos, add_bos, add_eos, cls in itertools.product([False, True], [None, True, False], [None, True], CLASSES):
        name = f"post{'bos' if post_bos else 'plain'}_bos{add_bos}_eos{add_eos}_{cls}"
        folder = out_dir / name
        folder.mkdir()
        save(tok, post_bos, folder / "tokenizer.json")
        config = {"bos_token": BOS, "eos_token": EOS, "clean_up_tokenization_spaces": False}
        for key, value in (("add_bos_token", add_bos), ("add_eos_token", add_eos), ("tokenizer_class", cls)):
            if value is not None:
                config[key] = value
        (folder / "tokenizer_config.json").write_text(json.dumps(config, ensure_ascii=False), encoding="utf-8")
        folders.append(folder)
    # LlamaTokenizerFast with no bos_token named: transformers 4.x falls back to "<s>", which this
    # vocabulary lacks; januskit refuses (the C++ test checks both refuse or both agree).
    for name in ("no_bos_named",):
        folder = out_dir / name
        folder.mkdir()
        save(tok, False, folder / "tokenizer.json")
        (folder / "tokenizer_config.json").write_text(json.dumps({"tokenizer_class": "LlamaTokenizerFast"}))
        folders.append(folder)
    for real in ("deepseek_v3",):
        if (SHARED / real / "tokenizer_config.json").exists():
            folder = out_dir / f"real_{real}"
            folder.mkdir()
            for f in ("tokenizer.json", "tokenizer_config.json"):
                shutil.copy(SHARED / real / f, folder / f)
            folders.append(folder)
    jobs = [{"folder": f, "texts": TEXTS, **({"class": c} if c else {})} for f in folders for c in (None, "LlamaTokenizerFast")]
    results = processor_reference.encode(jobs)
    index = [{"folder": f.name, "texts": TEXTS, "auto": results[2 * i], "llama": results[2 * i + 1]}
             for i, f in enumerate(folders)]
    (out_dir / "index.json").write_text(json.dumps(index, ensure_ascii=False, indent=1), encoding="utf-8")
