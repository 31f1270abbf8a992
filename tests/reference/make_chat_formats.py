"""Model folders for each reasoning prompt format, and the prompt ids their vendors' templates give.

Folders written (real tokenizer files, tiny 1-layer decoders with the real vocabulary size):
  r1_distill/  Qwen2ForCausalLM + an R1-Distill-Qwen tokenizer (Qwen3's tokenizer.json with ids
               151643-151649 renamed as DeepSeek's distills have them, the Qwen3-only tokens after
               151664 removed, a BOS-adding post-processor) + R1-Distill-Qwen-32B's chat template
  r1_0528/     Qwen3ForCausalLM + the same tokenizer + R1-0528's template (templates/deepseek-r1-0528.jinja)
  qwq/         Qwen2ForCausalLM + the Qwen3 tokenizer + QwQ-32B's chat template
  qwen3/       Qwen3ForCausalLM + Qwen3's own tokenizer.json and tokenizer_config.json (its template),
               generation_config.json with eos_token_id [151645, 151643] as Qwen3 ships it
  plain_chatml/ the qwen3 folder with a ChatML template that has no reasoning (a template januskit
               does not know: auto must refuse it)

The decoders are scripted: attention and MLP outputs are zero, so each position's logits depend on
its own token only (one-hot embeddings of the script's tokens, an lm_head row per successor), and
greedy decoding after the prompt's last token follows the script exactly: reasoning, </think>, a
blank line, the answer, the end token. script.json records the texts for the e2e tests.

expected.json: for every folder, many conversations (system or not, several turns, earlier answers
holding <think>...</think>, empty assistant turns, non-ASCII text, Qwen3's /think and /no_think,
reasoning_content, thinking on and off) rendered with jinja2 as transformers' apply_chat_template
does (trim_blocks, lstrip_blocks) and encoded with the tokenizer (add_special_tokens=False).
"""
import copy
import json
import pathlib
import shutil

import jinja2
import jinja2.sandbox
import torch
from tokenizers import Tokenizer
from transformers import Qwen2Config, Qwen2ForCausalLM, Qwen3Config, Qwen3ForCausalLM

from fixture_util import seed_everything, write_json

HERE = pathlib.Path(__file__).resolve().parent
SHARED = HERE.parents[2] / "shared" / "fixtures"
TEMPLATES = SHARED / "chat_templates"
QWEN3_TOKENIZER = SHARED / "tokenizers" / "qwen3"

BOS, EOS = "<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>"
# R1-Distill-Qwen's renames of Qwen's first added tokens (docs r1.md §2.3): id, content, special.
DISTILL_TOKENS = [(151643, EOS, True), (151644, "<｜User｜>", False), (151645, "<｜Assistant｜>", False),
                  (151646, BOS, True), (151647, "<|EOT|>", False), (151648, "<think>", False),
                  (151649, "</think>", False)]
VOCAB = 151936
HIDDEN = 32

REASONING = "Okay, one plus three makes four"
ANSWER = "The answer is \\boxed{4}."


def distill_tokenizer_json() -> dict:
    t = json.loads((QWEN3_TOKENIZER / "tokenizer.json").read_text())
    renamed = {i: (c, s) for i, c, s in DISTILL_TOKENS}
    added = []
    for a in t["added_tokens"]:
        if a["id"] > 151664:
            continue
        if a["id"] in renamed:
            a = dict(a, content=renamed[a["id"]][0], special=renamed[a["id"]][1])
        added.append(a)
    t["added_tokens"] = added
    t["post_processor"] = {"type": "TemplateProcessing",
                           "single": [{"SpecialToken": {"id": BOS, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
                           "pair": [{"SpecialToken": {"id": BOS, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                                    {"SpecialToken": {"id": BOS, "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
                           "special_tokens": {BOS: {"id": BOS, "ids": [151646], "tokens": [BOS]}}}
    return t


def distill_tokenizer_config(template: str) -> dict:
    return {"add_bos_token": True, "add_eos_token": False, "bos_token": BOS, "eos_token": EOS, "pad_token": EOS,
            "legacy": True, "model_max_length": 16384, "clean_up_tokenization_spaces": False,
            "tokenizer_class": "LlamaTokenizerFast", "chat_template": template}


def qwen3_tokenizer_config(template: str | None = None) -> dict:
    cfg = json.loads((QWEN3_TOKENIZER / "tokenizer_config.json").read_text())
    if template is not None:
        cfg["chat_template"] = template
    return cfg


def render(template: str, messages: list[dict], enable_thinking: bool, bos: str, eos: str) -> str:
    env = jinja2.sandbox.ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                                       extensions=["jinja2.ext.loopcontrols"])
    env.filters["tojson"] = lambda x, **kw: json.dumps(x, ensure_ascii=False)

    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    env.globals["raise_exception"] = raise_exception
    return env.from_string(template).render(messages=messages, add_generation_prompt=True, bos_token=bos,
                                            eos_token=eos, enable_thinking=enable_thinking)


CONVERSATIONS = [
    [{"role": "user", "content": "What is 1 + 3?"}],
    [{"role": "system", "content": "You are a careful mathematician."}, {"role": "user", "content": "What is 1 + 3?"}],
    [{"role": "user", "content": "What is 1 + 3?"},
     {"role": "assistant", "content": "<think>\nadd them\n</think>\n\nIt is 4."},
     {"role": "user", "content": "And 2 + 2?"}],
    [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}, {"role": "assistant", "content": ""},
     {"role": "user", "content": "Still there?"}, {"role": "assistant", "content": "Sure."}, {"role": "user", "content": "1+3?"}],
    [{"role": "user", "content": "Combien font 1 + 3 ? Réponds en français. 一加三等于几？ 🙂 ünïcödé"}],
    [{"role": "user", "content": "Q"}, {"role": "assistant", "content": "a</think>b</think>\n\nfinal"},
     {"role": "user", "content": "Q2"}],
    [{"role": "user", "content": "What is 1 + 3? /no_think"}],
    [{"role": "user", "content": "Q /no_think"}, {"role": "assistant", "content": "<think>\n\n</think>\n\nA"},
     {"role": "user", "content": "Q2 /think"}],
    [{"role": "user", "content": "Q /think then /no_think"}],
    [{"role": "user", "content": "Continue:"}, {"role": "assistant", "content": "<think>x</think>\n\npartial"}],
    [{"role": "system", "content": "A"}, {"role": "user", "content": "Q"}, {"role": "system", "content": "B"},
     {"role": "user", "content": "Q2"}],
    [{"role": "user", "content": "Q"}, {"role": "assistant", "content": "It is 4.", "reasoning_content": "add"},
     {"role": "user", "content": "Q2"}],
    [{"role": "user", "content": "Q"}, {"role": "assistant", "content": "It is 4.", "reasoning_content": "\nadd\n"}],
    [{"role": "user", "content": "Q"}, {"role": "assistant", "content": "\n\nIt is 4.", "reasoning_content": "r"}],
    [{"role": "user", "content": "  spaced \n\n"}, {"role": "assistant", "content": "\n\nanswer\n"},
     {"role": "user", "content": "next"}],
    [{"role": "user", "content": "<tool_response>\nfake\n</tool_response>"}],
]


def qwen3_soft_switch(messages: list[dict]) -> bool | None:
    """Qwen3's /think, /no_think: the latest user message with either decides, the later one in it."""
    for m in reversed(messages):
        if m["role"] != "user":
            continue
        on, off = m["content"].rfind("/think"), m["content"].rfind("/no_think")
        if on < 0 and off < 0:
            continue
        return on > off
    return None


def scripted_model(kind: str, tok: Tokenizer, prompt_last: str, outputs: list[str]):
    """A decoder whose greedy continuation of a prompt ending in `prompt_last` is `outputs`."""
    seq = [tok.token_to_id(prompt_last)] + [tok.token_to_id(t) for t in outputs]
    assert None not in seq, (prompt_last, outputs)
    assert len(set(seq[:-1])) == len(seq) - 1, "every script token but the last must be distinct"
    assert len(seq) <= HIDDEN
    common = dict(vocab_size=VOCAB, hidden_size=HIDDEN, intermediate_size=32, num_hidden_layers=1,
                  num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=4096, rms_norm_eps=1e-6,
                  tie_word_embeddings=False, bos_token_id=seq[0], eos_token_id=seq[-1])
    if kind == "qwen3":
        model = Qwen3ForCausalLM(Qwen3Config(**common, head_dim=16, rope_theta=1000000.0))
    else:
        model = Qwen2ForCausalLM(Qwen2Config(**common, rope_theta=1000000.0))
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("o_proj.weight") or name.endswith("down_proj.weight"):
                p.zero_()
        emb = model.model.embed_tokens.weight
        head = model.lm_head.weight
        emb.zero_()
        head.zero_()
        for k, (token, successor) in enumerate(zip(seq[:-1], seq[1:])):
            emb[token, k] = 1.0
            head[successor, k] = 10.0
    return model.to(torch.bfloat16)


def token_texts(tok: Tokenizer, text: str) -> list[str]:
    """The tokens of `text` as strings token_to_id can look up again."""
    enc = tok.encode(text, add_special_tokens=False)
    return [tok.id_to_token(i) for i in enc.ids]


def write_folder(out: pathlib.Path, model, tokenizer_json: dict, tokenizer_config: dict, generation: dict) -> Tokenizer:
    out.mkdir(parents=True)
    model.save_pretrained(out, safe_serialization=True)
    (out / "tokenizer.json").write_text(json.dumps(tokenizer_json, ensure_ascii=False))
    write_json(out / "tokenizer_config.json", tokenizer_config)
    write_json(out / "generation_config.json", generation)
    return Tokenizer.from_file(str(out / "tokenizer.json"))


def make(out_dir: pathlib.Path) -> None:
    seed_everything(1234)
    qwen3_json = json.loads((QWEN3_TOKENIZER / "tokenizer.json").read_text())
    distill_json = distill_tokenizer_json()
    qwen3_tok = Tokenizer.from_str(json.dumps(qwen3_json))
    distill_tok = Tokenizer.from_str(json.dumps(distill_json))
    r = lambda tok: token_texts(tok, REASONING)
    a = lambda tok: token_texts(tok, ANSWER)
    nl, blank = "\u010a", "\u010a\u010a"  # "\n" and "\n\n" as byte-level vocabulary entries

    r1_template = (TEMPLATES / "deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja").read_text()
    llama_template = (TEMPLATES / "deepseek-ai-DeepSeek-R1-Distill-Llama-8B.jinja").read_text()
    r0528_template = (HERE / "templates" / "deepseek-r1-0528.jinja").read_text()
    qwq_template = (TEMPLATES / "Qwen-QwQ-32B.jinja").read_text()
    qwen3_template = qwen3_tokenizer_config()["chat_template"]
    plain_chatml = ("{%- for message in messages %}{{- '<|im_start|>' + message.role + '\\n' + message.content + "
                    "'<|im_end|>\\n' }}{%- endfor %}{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}"
                    "{%- endif %}")

    distill_gen = {"bos_token_id": 151646, "eos_token_id": 151643, "do_sample": True, "temperature": 0.6, "top_p": 0.95}
    qwen3_gen = {"bos_token_id": 151643, "eos_token_id": [151645, 151643], "pad_token_id": 151643, "do_sample": True,
                 "temperature": 0.6, "top_k": 20, "top_p": 0.95}
    folders = {
        # name: (network, tokenizer json, tokenizer config, generation config, prompt's last token, script)
        "r1_distill": ("qwen2", distill_json, distill_tokenizer_config(r1_template), distill_gen, nl,
                       r(distill_tok) + ["</think>", blank] + a(distill_tok) + [EOS]),
        "r1_0528": ("qwen3", distill_json, distill_tokenizer_config(r0528_template), distill_gen, "<｜Assistant｜>",
                    ["<think>", nl] + r(distill_tok) + ["</think>", blank] + a(distill_tok) + [EOS]),
        "qwq": ("qwen2", qwen3_json, qwen3_tokenizer_config(qwq_template),
                {"bos_token_id": 151643, "eos_token_id": [151645, 151643], "do_sample": True, "temperature": 0.6,
                 "top_k": 40, "top_p": 0.95}, nl,
                r(qwen3_tok) + ["</think>", blank] + a(qwen3_tok) + ["<|im_end|>"]),
        # Ends on <|endoftext|>, which only generation_config.json names as a stop; past it the script
        # would start over, so a run that does not stop there shows it.
        "qwen3": ("qwen3", qwen3_json, qwen3_tokenizer_config(), qwen3_gen, nl,
                  ["<think>"] + r(qwen3_tok) + ["</think>", blank] + a(qwen3_tok) + ["<|endoftext|>", "Okay"]),
        "plain_chatml": ("qwen3", qwen3_json, qwen3_tokenizer_config(plain_chatml), qwen3_gen, nl,
                         a(qwen3_tok) + ["<|im_end|>"]),
    }
    scripts = {}
    for name, (kind, tok_json, tok_cfg, gen, last, script) in folders.items():
        tok = Tokenizer.from_str(json.dumps(tok_json))
        model = scripted_model(kind, tok, last, script)
        write_folder(out_dir / name, model, tok_json, tok_cfg, gen)
        scripts[name] = {"reasoning": REASONING, "answer": ANSWER,
                         "script_ids": [tok.token_to_id(t) for t in script]}
    write_json(out_dir / "script.json", scripts)

    # name, folder, januskit format, template, BOS text, EOS text, tokenizer, whether the template
    # has a thinking switch (without one, januskit's own --no-think rendering is the template's text
    # plus what januskit appends), what januskit appends.
    renderings = [
        ("r1-qwen-template", "r1_distill", "r1", r1_template, BOS, EOS, distill_tok, True, ""),
        ("r1-llama-template", "r1_distill", "r1", llama_template, BOS, EOS, distill_tok, False, "</think>"),
        ("r1-0528", "r1_0528", "r1-0528", r0528_template, BOS, EOS, distill_tok, False, "<think>\n\n</think>\n\n"),
        ("qwq", "qwq", "chatml-think", qwq_template, "", "<|im_end|>", qwen3_tok, True, ""),
        ("qwen3", "qwen3", "qwen3", qwen3_template, "", "<|im_end|>", qwen3_tok, True, ""),
    ]
    cases = []
    for name, folder, fmt, template, bos, eos, tok, has_switch, appended in renderings:
        for c, messages in enumerate(CONVERSATIONS):
            for thinking_flag in (True, False):
                thinking = thinking_flag
                if fmt == "qwen3" and thinking_flag:
                    soft = qwen3_soft_switch(messages)
                    thinking = True if soft is None else soft
                if has_switch:
                    text = render(template, copy.deepcopy(messages), thinking, bos, eos)
                else:
                    text = render(template, copy.deepcopy(messages), True, bos, eos) + ("" if thinking else appended)
                cases.append({"name": f"{name}/{c}/{'think' if thinking_flag else 'no-think'}", "folder": folder,
                              "format": fmt, "messages": messages, "no_think": not thinking_flag, "text": text,
                              "ids": tok.encode(text, add_special_tokens=False).ids})
    write_json(out_dir / "expected.json", cases)
