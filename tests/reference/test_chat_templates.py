"""Prompt ids of every reasoning format against the vendors' Jinja templates (fixture chat_formats:
each conversation rendered by jinja2 as transformers renders it, encoded by the real tokenizer).
januskit builds the ids from `ask --messages FILE.json --json` with the format it detects itself."""
import json
import os
import pathlib
import subprocess

import pytest

JANUSKIT = os.environ["JANUSKIT_BIN"]
FIXTURE = pathlib.Path(os.environ["JANUSKIT_FIXTURES"]) / "chat_formats"
CASES = json.loads((FIXTURE / "expected.json").read_text())


def ask_prompt(folder: str, messages: list, no_think: bool, tmp_path: pathlib.Path) -> dict:
    conversation = tmp_path / "messages.json"
    conversation.write_text(json.dumps(messages, ensure_ascii=False))
    args = [JANUSKIT, "ask", "-m", str(FIXTURE / folder), "--messages", str(conversation), "--json",
            "--max-tokens", "1", "--temperature", "0"] + (["--no-think"] if no_think else [])
    r = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_prompt_ids_equal_the_template(case, tmp_path):
    out = ask_prompt(case["folder"], case["messages"], case["no_think"], tmp_path)
    assert out["chat_format"] == case["format"]
    assert out["prompt_ids"] == case["ids"], case["text"]


def test_the_cases_cover_every_shape():
    # A guard on the fixture itself: the shapes the issue lists are all there.
    assert {c["format"] for c in CASES} == {"r1", "r1-0528", "chatml-think", "qwen3"}
    texts = [m["content"] for c in CASES for m in c["messages"]]
    assert any("</think>" in t for t in texts) and any(t == "" for t in texts)
    assert any(any(ord(ch) > 127 for ch in t) for t in texts)
    assert any(c["no_think"] for c in CASES) and any("/no_think" in t for t in texts)
