"""Differential tokenizer cases: seeded random strings encoded by the Rust `tokenizers` crate.

Writes into out_dir, one folder per tokenizer, each holding `tokenizer.json` and `cases.jsonl`
(`{"text", "ids", "ids_special", "decoded", "decoded_skip"}`: ids without and with the
post-processor's special tokens, decode without and with skip_special_tokens, no clean-up), plus
`index.json` listing the folders. The C++ test (tests/reference/test_tokenizer_cases.cpp) loads
each tokenizer.json through januskit and must reproduce every field exactly.

Tokenizers:
  qwen3, deepseek_v3   the real files of ../shared/fixtures/tokenizers (copied)
  r1                   DeepSeek-V3's file with ids 128798/128799 turned into the added tokens
                       <think> / </think> (as DeepSeek-R1 has them; kept special like the
                       placeholders they replace)
  llama3_style         built here: BPE trained on generated text, ignore_merges=true, plus
                       whole-word vocabulary entries that the merges cannot reach (so
                       ignore_merges changes ids), Llama-3's split regex (digits in runs of 1-3,
                       (?i:...) contractions), ByteLevel(use_regex=false), a BOS template, special
                       tokens
  gpt2_style           the same vocabulary with ByteLevel(add_prefix_space, use_regex) alone
  split_variants       Digits, and Split with every behaviour, invert and a literal pattern
  added_variants       NFC normaliser and added tokens with lstrip, rstrip, single_word,
                       normalized (content in decomposed form) and non-special flags
  char_bpe_fallback    a character-level (not byte-level) BPE with unk_token and byte_fallback
                       (only some <0xXX> tokens exist, so both paths are taken), no decoder
  char_bpe_affixes     a character-level BPE with continuing_subword_prefix "##",
                       end_of_word_suffix "</w>", fuse_unk
  model_folder         a model folder (tokenizer.json + tokenizer_config.json +
                       special_tokens_map.json declaring special tokens tokenizer.json lacks);
                       expected ids from transformers' AutoTokenizer, which appends them
At least 2,000 strings for each of the first four, 500 for the variants. Without the shared
fixtures folder the first three are skipped (with a note in index.json) and the rest are still made.

The maker also re-encodes every vector of the shared fixtures with the crate and records any
disagreement in shared_vector_check.json (the C++ tests trust the crate where they differ).
"""
import json
import os
import pathlib
import random
import shutil

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, pre_tokenizers, processors, trainers  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[2]
SHARED = pathlib.Path(os.environ.get("JANUSKIT_SHARED_DIR", ROOT.parent / "shared")) / "fixtures" / "tokenizers"

LLAMA3_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
                r"|\s*[\r\n]+|\s+(?!\S)|\s+")

# ---- random text --------------------------------------------------------------------------------

WORDS = ("the quick brown fox jumps over lazy dog hello world tokenizer model reason answer think step "
         "sum integers positive first please final box because therefore DeepSeek Janus image generate "
         "describe question The HELLO World camelCase snake_case kebab-case URL http https www example "
         "com naïve café résumé Straße Œuvre façade coöperate").split()
CONTRACTIONS = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'T", "'RE", "'Ll", "'ſ", "'K", "'\u212a", "'x"]
SCRIPTS = {
    "cjk": (0x4E00, 0x9FA5), "cjk_ext": (0x9FA6, 0x9FEF), "hiragana": (0x3041, 0x3096), "katakana": (0x30A1, 0x30FA),
    "hangul": (0xAC00, 0xD7A3), "cyrillic": (0x0410, 0x044F), "arabic": (0x0621, 0x064A), "hindi": (0x0905, 0x0939),
    "greek": (0x03B1, 0x03C9), "thai": (0x0E01, 0x0E2E), "hebrew": (0x05D0, 0x05EA), "latin_ext": (0x0100, 0x017F),
}
COMBINING = ["\u0301", "\u0300", "\u0308", "\u0303", "\u0327", "\u030a", "\u0323", "\u3099", "\u309a", "\u093f",
             "\u0947", "\u064b", "\u0651", "\u20dd", "\u0489"]
DECOMPOSED = ["e\u0301", "a\u0308", "n\u0303", "c\u0327", "A\u030a", "\u304b\u3099", "\u30cf\u309a", "\u1100\u1161",
              "\u1100\u1161\u11a8", "o\u0308\u0301", "\u0227\u0304", "e\u0323\u0302"]
WHITESPACE = [" ", "  ", "   ", "\t", "\n", "\n\n", "\r\n", "\r", "\x0b", "\x0c", "\u0085", "\ufeff", "\u00a0",
              "\u3000", "\u2000", "\u2003", "\u2009", "\u200b", "\u2028", "\u2029", "\u202f", "\u205f", "\u1680",
              " \u0085 ", "\t \n", " \ufeff "]
EMOJI = ["😀", "🚀", "👍", "👍🏽", "👍🏿", "👨‍👩‍👧‍👦", "👩🏽‍💻", "🏳️‍🌈", "❤️", "✨", "🇯🇵", "🇺🇸", "1️⃣", "🙏🏻", "🤖",
         "🧠", "🎉", "☕", "⚡", "🐍"]
PUNCT = list("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~") + ["...", "?!", "--", "—", "–", "«", "»", "“", "”", "‘", "’", "、",
                                                       "。", "，", "！", "？", "¿", "¡", "€", "£", "¥", "∑", "∞", "±",
                                                       "→", "★", "©", "®", "™", "§", "¶", "•", "‰", "\\boxed{", "}",
                                                       "```", "**", "##", "<", ">", "</", "/>", "<<", ">>"]
DIGITS = ["0", "7", "42", "123", "2026", "1234567", "3.14159", "1,000,000", "٣٤٥", "१२३", "１２３", "①②", "Ⅻ",
          "²³", "½", "0x1F", "1e-9", "-17", "+3", "00012"]
# Characters assigned in Unicode 15.0-16.0, which this machine's PCRE2 (Unicode 14) does not know but
# the reference does: emoji (U+1FABF goose, U+1FACE moose, U+1FAE9), letters (Kawi, Garay, CJK
# Extension I, Cyrillic Extended-D, Todhri), marks, digits (Sunuwar, Kaktovik numerals), symbols.
RECENT = [(0x1FA75, 0x1FA77), (0x1FA87, 0x1FA89), (0x1FAAD, 0x1FAAF), (0x1FABB, 0x1FABF), (0x1FACE, 0x1FACF),
          (0x1FADA, 0x1FADC), (0x1FAE8, 0x1FAE9), (0x1FAF7, 0x1FAF8), (0x11F04, 0x11F10), (0x11F34, 0x11F3A),
          (0x11F50, 0x11F59), (0x10D4A, 0x10D65), (0x10D40, 0x10D49), (0x2EBF0, 0x2EC20), (0x1E030, 0x1E06D),
          (0x105C0, 0x105F3), (0x11BC0, 0x11BE0), (0x11BF0, 0x11BF9), (0x1D2C0, 0x1D2D3), (0x1CC00, 0x1CC20),
          (0x31EF, 0x31EF), (0x1E4D0, 0x1E4F9)]
CONTROLS = ["\x00", "\x01", "\x07", "\x1b", "\x1f", "\x7f", "\x80", "\x9f", "\u00ad", "\u200d", "\u200c", "\u2060",
            "\ue000", "\U000F0000"]


def random_segment(rng: random.Random, special: list[str]) -> str:
    kind = rng.choices(
        ["word", "contraction", "script", "combining", "decomposed", "ws", "emoji", "punct", "digits", "control",
         "special", "special_partial", "code", "recent"],
        weights=[20, 4, 14, 3, 3, 12, 5, 8, 7, 2, 6 if special else 0, 2 if special else 0, 3, 3])[0]
    if kind == "word":
        w = rng.choice(WORDS)
        return rng.choice([w, w.upper(), w.capitalize(), " " + w])
    if kind == "contraction":
        return rng.choice(WORDS) + rng.choice(CONTRACTIONS)
    if kind == "script":
        lo, hi = SCRIPTS[rng.choice(list(SCRIPTS))]
        return "".join(chr(rng.randint(lo, hi)) for _ in range(rng.randint(1, 12)))
    if kind == "combining":
        return rng.choice("aeiouxyzAOU\u0905\u30ab") + "".join(rng.choice(COMBINING) for _ in range(rng.randint(1, 3)))
    if kind == "decomposed":
        return rng.choice(DECOMPOSED)
    if kind == "ws":
        return "".join(rng.choice(WHITESPACE) for _ in range(rng.randint(1, 3)))
    if kind == "emoji":
        return "".join(rng.choice(EMOJI) for _ in range(rng.randint(1, 3)))
    if kind == "punct":
        return "".join(rng.choice(PUNCT) for _ in range(rng.randint(1, 4)))
    if kind == "digits":
        return rng.choice(DIGITS) if rng.random() < 0.6 else str(rng.randint(0, 10 ** rng.randint(1, 12)))
    if kind == "control":
        return rng.choice(CONTROLS)
    if kind == "special":
        s = rng.choice(special)
        return rng.choice([s, " " + s, s + " ", "  " + s + "\n", "x" + s + "y"])
    if kind == "recent":
        lo, hi = rng.choice(RECENT)
        return "".join(chr(rng.randint(lo, hi)) for _ in range(rng.randint(1, 4))) + rng.choice(["", " ", "\n", "7", "a"])
    if kind == "special_partial":
        s = rng.choice(special)
        return s[: rng.randint(1, max(1, len(s) - 1))]
    return rng.choice(["def f(x):\n    return x**2\n", "for (int i = 0; i < n; ++i) {", "  if a != b:\n\t\tpass",
                       "SELECT * FROM t WHERE id=3;", "{\"k\": [1, 2, 3]}", "<div class=\"a\">x</div>",
                       "#include <vector>", "$ ls -la ~/dir", "x = y /* c */ + 1;"])


def random_strings(seed: int, count: int, special: list[str]) -> list[str]:
    rng = random.Random(seed)
    out = ["", " ", "\n", "a", "  \ufeff", "x  \u0085", "\u0085\u0085 x", "\ufeff\ufeff"]
    while len(out) < count:
        out.append("".join(random_segment(rng, special) for _ in range(rng.randint(1, 14))))
    return out


# ---- reference encoding ---------------------------------------------------------------------------

def write_cases(folder: pathlib.Path, tok: Tokenizer, texts: list[str]) -> int:
    with (folder / "cases.jsonl").open("w", encoding="utf-8") as f:
        for t in texts:
            ids = tok.encode(t, add_special_tokens=False).ids
            row = {
                "text": t,
                "ids": ids,
                "ids_special": tok.encode(t, add_special_tokens=True).ids,
                "decoded": tok.decode(ids, skip_special_tokens=False),
                "decoded_skip": tok.decode(ids, skip_special_tokens=True),
            }
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    return len(texts)


def added_contents(tj: dict) -> list[str]:
    return [a["content"] for a in tj.get("added_tokens", [])]


def sample_specials(tj: dict, rng: random.Random, extra: list[str] = ()) -> list[str]:
    contents = added_contents(tj)
    chosen = rng.sample(contents, min(40, len(contents))) if contents else []
    return chosen + list(extra)


# ---- built tokenizers -----------------------------------------------------------------------------

def training_corpus() -> list[str]:
    rng = random.Random(7)
    corpus = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 20))) for _ in range(3000)]
    corpus += random_strings(11, 3000, [])
    return corpus


def build_llama3_style() -> dict:
    tok = Tokenizer(models.BPE(ignore_merges=True))
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(LLAMA3_SPLIT), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=False),
    ])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=3000, min_frequency=2, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(training_corpus(), trainer)
    tj = json.loads(tok.to_str())
    vocab = tj["model"]["vocab"]
    # Whole words the merges do not produce: with ignore_merges they are emitted as one token.
    for w in ["ĠHELLO", "ĠWorld", "HELLO", "Ġtokenizer", "ĠDeepSeek", "camelCase", "Ġjumps", "ĠQUICK", "ĠÃ©",
              "ĠTHE", "Ġnaïve", "Ġ12", "123"]:
        if w not in vocab:
            vocab[w] = len(vocab)
    n = len(vocab)
    specials = ["<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>",
                "<｜begin▁of▁sentence｜>", "<｜User｜>", "<｜Assistant｜>"]
    tj["added_tokens"] = [
        {"id": n + k, "content": s, "single_word": False, "lstrip": False, "rstrip": False, "normalized": False,
         "special": True} for k, s in enumerate(specials)]
    tj["post_processor"] = {
        "type": "Sequence", "processors": [
            {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False, "use_regex": True},
            {"type": "TemplateProcessing",
             "single": [{"SpecialToken": {"id": "<|begin_of_text|>", "type_id": 0}},
                        {"Sequence": {"id": "A", "type_id": 0}}],
             "pair": [{"SpecialToken": {"id": "<|begin_of_text|>", "type_id": 0}},
                      {"Sequence": {"id": "A", "type_id": 0}},
                      {"SpecialToken": {"id": "<|begin_of_text|>", "type_id": 1}},
                      {"Sequence": {"id": "B", "type_id": 1}}],
             "special_tokens": {"<|begin_of_text|>": {"id": "<|begin_of_text|>", "ids": [n],
                                                      "tokens": ["<|begin_of_text|>"]}}}]}
    return tj


def gpt2_variant(base: dict) -> dict:
    tj = json.loads(json.dumps(base))
    tj["model"]["ignore_merges"] = False
    tj["pre_tokenizer"] = {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True}
    tj["post_processor"] = {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True}
    tj["decoder"] = {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True}
    return tj


def split_variant(base: dict) -> dict:
    tj = json.loads(json.dumps(base))
    tj["model"]["ignore_merges"] = False
    tj["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [
        {"type": "Digits", "individual_digits": False},
        {"type": "Split", "pattern": {"Regex": r"\s+"}, "behavior": "MergedWithNext", "invert": False},
        {"type": "Split", "pattern": {"String": "-"}, "behavior": "MergedWithPrevious", "invert": False},
        {"type": "Split", "pattern": {"Regex": "[,;]"}, "behavior": "Removed", "invert": False},
        {"type": "Split", "pattern": {"Regex": r"\p{L}+"}, "behavior": "Contiguous", "invert": True},
        {"type": "Split", "pattern": {"Regex": r"[^\w\s]+"}, "behavior": "Isolated", "invert": False},
        {"type": "Split", "pattern": {"Regex": r"\h{2}|x*"}, "behavior": "MergedWithPrevious", "invert": False},
        {"type": "Digits", "individual_digits": True},
        {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}]}
    tj["post_processor"] = {
        "type": "TemplateProcessing",
        "single": [{"SpecialToken": {"id": "<|begin_of_text|>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                   {"SpecialToken": {"id": "<|end_of_text|>", "type_id": 0}}],
        "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}],
        "special_tokens": {
            "<|begin_of_text|>": {"id": "<|begin_of_text|>", "ids": [added_id(tj, "<|begin_of_text|>")],
                                  "tokens": ["<|begin_of_text|>"]},
            "<|end_of_text|>": {"id": "<|end_of_text|>", "ids": [added_id(tj, "<|end_of_text|>")],
                                "tokens": ["<|end_of_text|>"]}}}
    return tj


def added_id(tj: dict, content: str) -> int:
    return next(a["id"] for a in tj["added_tokens"] if a["content"] == content)


ADDED_VARIANTS = [
    # content, special, normalized, lstrip, rstrip, single_word
    ("<mask>", True, False, True, False, False),
    ("[RS]", True, False, False, True, False),
    ("<both>", True, False, True, True, False),
    ("word", False, True, False, False, True),
    ("cafe\u0301", False, True, False, False, False),   # matched against NFC text ("café")
    ("e\u0301cole", False, False, False, False, False),  # not normalized: only the decomposed spelling matches
    ("<tag>", False, False, False, False, False),
    ("<tag>long", False, False, False, False, False),    # longest match wins
    ("Straße", False, True, False, False, True),
]


def added_variant(base: dict) -> dict:
    tj = json.loads(json.dumps(base))
    tj["normalizer"] = {"type": "NFC"}
    next_id = max(a["id"] for a in tj["added_tokens"]) + 1
    for k, (content, special, normalized, lstrip, rstrip, single_word) in enumerate(ADDED_VARIANTS):
        tj["added_tokens"].append({"id": next_id + k, "content": content, "single_word": single_word, "lstrip": lstrip,
                                   "rstrip": rstrip, "normalized": normalized, "special": special})
    return tj


def build_char_bpe(affixes: bool) -> dict:
    """A character-level BPE (no ByteLevel): exercises unk, fuse_unk, byte_fallback and affixes."""
    extra = {"continuing_subword_prefix": "##", "end_of_word_suffix": "</w>"} if affixes else {}
    tok = Tokenizer(models.BPE(unk_token="<unk>", fuse_unk=affixes, byte_fallback=not affixes, **extra))
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(r"\s+"), behavior="removed", invert=False),
        pre_tokenizers.Digits(individual_digits=False)])
    trainer = trainers.BpeTrainer(vocab_size=1500, min_frequency=2, show_progress=False, special_tokens=["<unk>"],
                                  limit_alphabet=120, **extra)
    tok.train_from_iterator(training_corpus(), trainer)
    tj = json.loads(tok.to_str())
    tj["decoder"] = None
    if not affixes:
        vocab = tj["model"]["vocab"]
        for b in range(0x00, 0xE0):  # no <0xE0>..<0xFF>: 3- and 4-byte characters fall back to <unk>
            vocab.setdefault(f"<0x{b:02X}>", len(vocab))
    return tj


def make_model_folder(folder: pathlib.Path, base: dict, texts: list[str]) -> int:
    """A model folder whose special_tokens_map.json declares tokens tokenizer.json lacks (Janus-style).

    tokenizer_class is PreTrainedTokenizerFast: transformers 5's LlamaTokenizer class (what the
    DeepSeek configs name) rebuilds the pipeline with a Metaspace pre-tokenizer instead of using
    tokenizer.json's, so it would not be a reference for tokenizer.json at all.
    """
    from transformers import AutoTokenizer
    (folder / "tokenizer.json").write_text(json.dumps(base, ensure_ascii=False), encoding="utf-8")
    (folder / "tokenizer_config.json").write_text(json.dumps({
        "tokenizer_class": "PreTrainedTokenizerFast", "add_bos_token": True, "clean_up_tokenization_spaces": False,
        "bos_token": {"__type": "AddedToken", "content": "<|begin_of_text|>", "lstrip": False, "normalized": True,
                      "rstrip": False, "single_word": False},
        "eos_token": "<|end_of_text|>", "pad_token": None, "model_max_length": 16384}), encoding="utf-8")
    (folder / "special_tokens_map.json").write_text(json.dumps({
        "additional_special_tokens": ["<image_placeholder>", "<begin_of_image>", "<end_of_image>", "<|User|>"],
        "bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>", "pad_token": "<｜▁pad▁｜>"}), encoding="utf-8")
    hf = AutoTokenizer.from_pretrained(str(folder))
    probe = ["<image_placeholder>", "<begin_of_image>", "<end_of_image>", "<|User|>", "<｜▁pad▁｜>", "<|eot_id|>"]
    expect = {
        "token_ids": {t: hf.convert_tokens_to_ids(t) for t in probe},
        "bos_token": hf.bos_token, "eos_token": hf.eos_token, "pad_token": hf.pad_token,
        "vocab_size": len(hf),
    }
    (folder / "expected.json").write_text(json.dumps(expect, ensure_ascii=False, indent=1), encoding="utf-8")
    with (folder / "cases.jsonl").open("w", encoding="utf-8") as f:
        for t in texts:
            ids = hf.encode(t, add_special_tokens=False)
            f.write(json.dumps({"text": t, "ids": ids}, ensure_ascii=False) + "\n")
    return len(texts)


# ---- shared vectors against the crate ---------------------------------------------------------------

def check_shared_vectors() -> dict:
    report = {}
    for name in ("deepseek_v3", "qwen3"):
        tok = Tokenizer.from_file(str(SHARED / name / "tokenizer.json"))
        bad = []
        for file in ("vectors.jsonl", "chat_vectors.jsonl"):
            for n, line in enumerate((SHARED / name / file).read_text(encoding="utf-8").split("\n")):
                if not line:
                    continue
                v = json.loads(line)
                text = v.get("text", v.get("rendered"))
                ids = tok.encode(text, add_special_tokens=False).ids
                if ids != v["ids"] or tok.decode(ids, skip_special_tokens=False) != v["decoded"]:
                    bad.append({"file": file, "line": n + 1, "text": text, "vector_ids": v["ids"], "crate_ids": ids})
        report[name] = {"disagreements": bad}
    return report


# ---- entry point --------------------------------------------------------------------------------------

def make(out_dir: pathlib.Path) -> None:
    index = {"tokenizers": [], "skipped": []}

    def emit(name: str, tj: dict, count: int, seed: int, extra_special: list[str] = ()) -> None:
        folder = out_dir / name
        folder.mkdir()
        (folder / "tokenizer.json").write_text(json.dumps(tj, ensure_ascii=False), encoding="utf-8")
        tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
        specials = sample_specials(tj, random.Random(seed), extra_special)
        n = write_cases(folder, tok, random_strings(seed, count, specials))
        index["tokenizers"].append({"name": name, "cases": n})
        print(f"  {name}: {n} cases")

    if SHARED.is_dir():
        for seed, name in ((101, "qwen3"), (102, "deepseek_v3")):
            tj = json.loads((SHARED / name / "tokenizer.json").read_text(encoding="utf-8"))
            emit(name, tj, 2500, seed, ["<think>", "</think>", "<|im_start|>", "<｜User｜>"])
        r1 = json.loads((SHARED / "deepseek_v3" / "tokenizer.json").read_text(encoding="utf-8"))
        for entry in r1["added_tokens"]:
            if entry["id"] == 128798:
                entry["content"] = "<think>"
            elif entry["id"] == 128799:
                entry["content"] = "</think>"
        assert added_contents(r1).count("<think>") == 1 and added_contents(r1).count("</think>") == 1
        emit("r1", r1, 2500, 103, ["<think>", "</think>", "<think>\n", "</think>\n\n", "<thin", "</think"])
        (out_dir / "shared_vector_check.json").write_text(json.dumps(check_shared_vectors(), ensure_ascii=False,
                                                                      indent=1), encoding="utf-8")
    else:
        index["skipped"] = ["qwen3", "deepseek_v3", "r1"]
        print(f"  {SHARED} not found: skipping qwen3, deepseek_v3, r1")

    llama3 = build_llama3_style()
    emit("llama3_style", llama3, 2500, 104, ["<|begin_of_text|>", "HELLO", " HELLO", " World"])
    emit("gpt2_style", gpt2_variant(llama3), 600, 105)
    emit("split_variants", split_variant(llama3), 600, 106)
    emit("added_variants", added_variant(llama3), 800, 107,
         ["word", " word ", "words", "sword", "café", "cafe\u0301", "école", "e\u0301cole", "<tag>long", "<tag>",
          " <mask>", "\u3000<mask>", "[RS]  \n", " <both>  ", "Straße", "Strasse"])

    emit("char_bpe_fallback", build_char_bpe(False), 600, 109)
    emit("char_bpe_affixes", build_char_bpe(True), 600, 110)

    folder = out_dir / "model_folder"
    folder.mkdir()
    texts = random_strings(108, 300, ["<image_placeholder>", "<begin_of_image>", "<end_of_image>", "<|User|>",
                                      "<｜▁pad▁｜>", "<|eot_id|>"])
    n = make_model_folder(folder, llama3, texts)
    index["tokenizers"].append({"name": "model_folder", "cases": n, "folder": True})
    print(f"  model_folder: {n} cases")
    (out_dir / "index.json").write_text(json.dumps(index, indent=1), encoding="utf-8")


if __name__ == "__main__":
    import sys
    target = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/tokenizer_cases")
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    make(target)
