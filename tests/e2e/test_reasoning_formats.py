"""The reasoning split, --think-budget, --no-think and stop ids of every prompt format, on the
scripted folders of fixture chat_formats (greedy decoding follows a fixed script: reasoning,
</think>, a blank line, the answer, the end token), and the error for a template januskit does not know."""
import json
import os
import pathlib
import subprocess

import pytest

JANUSKIT = os.environ["JANUSKIT_BIN"]
FIXTURE = pathlib.Path(os.environ["JANUSKIT_FIXTURES"]) / "chat_formats"
SCRIPT = json.loads((FIXTURE / "script.json").read_text())
REASONING, ANSWER = SCRIPT["qwen3"]["reasoning"], SCRIPT["qwen3"]["answer"]
FORMATS = {"r1_distill": "r1", "r1_0528": "r1-0528", "qwq": "chatml-think", "qwen3": "qwen3"}


def run(folder, *args):
    return subprocess.run([JANUSKIT, "ask", "-m", str(FIXTURE / folder), *args], capture_output=True, text=True,
                          timeout=120)


def ask_json(folder, *args):
    r = run(folder, "What is 1 + 3?", "--json", "--temperature", "0", "--max-tokens", "40", *args)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


@pytest.mark.parametrize("folder", FORMATS)
def test_reasoning_and_answer_are_split(folder):
    out = ask_json(folder)
    assert out["chat_format"] == FORMATS[folder]
    assert out["reasoning_content"] == REASONING
    assert out["reasoning"] == out["reasoning_content"]
    assert out["content"] == ANSWER
    assert out["final_answer"] == "4"
    assert out["finish_reason"] == "eos"
    assert out["output_ids"] == SCRIPT[folder]["script_ids"][:len(out["output_ids"])]


def test_qwen3_stops_at_an_eos_only_generation_config_lists():
    out = ask_json("qwen3")
    end = json.loads((FIXTURE / "qwen3" / "generation_config.json").read_text())["eos_token_id"][1]
    assert out["output_ids"][-1] == end and out["finish_reason"] == "eos"


@pytest.mark.parametrize("folder", FORMATS)
def test_streamed_reasoning_goes_to_stderr_and_the_answer_to_stdout(folder):
    r = run(folder, "What is 1 + 3?", "--temperature", "0", "--max-tokens", "40")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == ANSWER
    assert REASONING in r.stderr and "<think>" not in r.stderr and "</think>" not in r.stdout


@pytest.mark.parametrize("folder", FORMATS)
@pytest.mark.parametrize("budget", [0, 2])
def test_think_budget_closes_the_reasoning_and_the_answer_follows(folder, budget):
    out = ask_json(folder, "--think-budget", str(budget))
    # Two reasoning tokens: "Okay" and "," (R1-0528's script opens with "<think>\n", and that
    # newline is its first reasoning token).
    words = "" if budget == 0 else ("Okay" if folder == "r1_0528" else "Okay,")
    assert out["reasoning_content"] == words
    assert out["content"] == ANSWER
    assert out["finish_reason"] == "eos"


@pytest.mark.parametrize("folder", FORMATS)
def test_no_think_gives_the_answer_without_reasoning(folder):
    out = ask_json(folder, "--no-think")
    assert out["thinking"] is False
    assert out["reasoning_content"] == "" and out["content"] == ANSWER
    assert out["usage"]["reasoning_tokens"] == 0


def test_qwen3_soft_switch_in_the_user_message(tmp_path):
    r = run("qwen3", "What is 1 + 3? /no_think", "--json", "--temperature", "0", "--max-tokens", "40")
    out = json.loads(r.stdout)
    assert out["thinking"] is False and out["content"] == ANSWER and out["reasoning_content"] == ""


def test_folder_sampling_defaults_and_flags_override():
    # qwen3's generation_config.json says top_k 20; -v reports the sampling used.
    r = run("qwen3", "Hi", "--max-tokens", "2", "--seed", "1", "-v")
    assert r.returncode == 0, r.stderr
    assert "top_k 20" in r.stderr and "temperature 0.6" in r.stderr
    r = run("qwen3", "Hi", "--max-tokens", "2", "--seed", "1", "--top-k", "5", "-v")
    assert "top_k 5" in r.stderr


def assert_one_error(r, *fragments):
    assert r.returncode != 0, r.stdout
    errors = [l for l in r.stderr.splitlines() if l.startswith("error: ")]
    assert len(errors) == 1, r.stderr
    for f in fragments:
        assert f in errors[0], errors[0]


def test_unknown_template_names_chat_format():
    assert_one_error(run("plain_chatml", "Hi"), "chat_template", "--chat-format")
    r = run("plain_chatml", "Hi", "--chat-format", "qwen3", "--json", "--temperature", "0", "--max-tokens", "20")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["chat_format"] == "qwen3"


def test_bad_chat_format_and_messages_files(tmp_path):
    assert_one_error(run("qwen3", "Hi", "--chat-format", "llama2"), "llama2", "r1-0528")
    bad = tmp_path / "bad.json"
    for text, fragment in [("[{\"role\": \"user\"", "not valid JSON"), ("[]", "non-empty"),
                           ("[{\"role\": \"tool\", \"content\": \"x\"}]", "role \"tool\""),
                           ("[{\"role\": \"user\", \"content\": 3}]", "content")]:
        bad.write_text(text)
        assert_one_error(run("qwen3", "--messages", str(bad)), fragment)
    assert_one_error(run("qwen3", "--messages", str(tmp_path / "missing.json")), "missing.json")
