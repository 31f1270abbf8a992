"""`januskit ask` and `januskit chat` as a user runs them, on the tiny random R1-style models of
tests/reference/make_text_models.py (their tokenizer has the R1 chat tokens and <think>/</think>)."""
import json
import os
import pathlib
import subprocess

JANUSKIT = os.environ["JANUSKIT_BIN"]
MODELS = pathlib.Path(os.environ["JANUSKIT_FIXTURES"]) / "text_models"
QWEN = str(MODELS / "qwen2")
BOS = "<｜begin▁of▁sentence｜>"


def run(*args, stdin=None, env=None):
    return subprocess.run([JANUSKIT, *args], input=stdin, capture_output=True, text=True, timeout=300, env=env)


def ask_json(*args):
    r = run("ask", *args, "-m", QWEN, "--json")
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def tokenize(text):
    r = run("tokenize", "--tokenizer", QWEN, "--jsonl", stdin=json.dumps({"text": text}) + "\n")
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def assert_error(r, code, *fragments):
    assert r.returncode == code, (r.returncode, r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    errors = [l for l in lines if l.startswith("error: ")]
    assert len(errors) == 1, r.stderr
    for f in fragments:
        assert f in errors[0], (f, errors[0])


def test_json_prompt_is_the_r1_template_as_tokenize_encodes_it():
    out = ask_json("What is 12 + 30?", "--max-tokens", "12", "--seed", "5")
    expected = tokenize(f"{BOS}<｜User｜>What is 12 + 30?<｜Assistant｜><think>\n")
    assert out["prompt_ids"] == expected["ids"]
    for key in ("output_ids", "reasoning_content", "content", "final_answer", "finish_reason", "usage", "timings", "seed"):
        assert key in out
    assert out["usage"]["prompt_tokens"] == len(out["prompt_ids"])
    assert out["usage"]["completion_tokens"] == len(out["output_ids"]) <= 12
    assert out["timings"]["decode_tokens_per_second"] > 0
    # The text is the decoded output ids (no EOS in this tiny model's 12 tokens or it ends there).
    decoded = tokenize("")  # warm path: ensures tokenize accepts an empty line
    assert decoded["ids"] == []


def test_raw_prompt_adds_only_what_the_tokenizer_adds():
    out = ask_json("Hello", "--raw", "--max-tokens", "4", "--seed", "1")
    assert out["prompt_ids"] == [0] + tokenize("Hello")["ids"]  # the post-processor's BOS (id 0 here)


def test_same_seed_same_answer_other_seed_other_answer():
    a = ask_json("Hi", "--max-tokens", "16", "--seed", "42")
    b = ask_json("Hi", "--max-tokens", "16", "--seed", "42")
    c = ask_json("Hi", "--max-tokens", "16", "--seed", "43")
    assert a["output_ids"] == b["output_ids"]
    assert a["output_ids"] != c["output_ids"]
    assert a["seed"] == 42


def test_think_budget_forces_the_close_tag():
    think_end = tokenize("</think>")["ids"]
    blank_line = tokenize("\n\n")["ids"]  # the closing text is "</think>\n\n", as the templates write it
    assert len(think_end) == 1
    out = ask_json("Hi", "--max-tokens", "12", "--temperature", "0", "--think-budget", "3")
    ids = out["output_ids"]
    position = ids.index(think_end[0])
    assert position <= 3
    if position == 3:  # forced, not chosen by the model
        assert ids[4:4 + len(blank_line)] == blank_line
    assert out["usage"]["reasoning_tokens"] == position


def test_samples_vote():
    out = ask_json("Hi", "--max-tokens", "8", "--samples", "3", "--seed", "9")
    assert len(out["samples"]) == 3
    assert [s["seed"] for s in out["samples"]] == [9, 10, 11]
    assert out["agreement"]["samples"] == 3
    assert 0 <= out["agreement"]["votes"] <= 3


def test_plain_output_streams_answer_to_stdout_and_reasoning_to_stderr():
    r = run("ask", "Hi", "-m", QWEN, "--max-tokens", "6", "--seed", "3", "--think-budget", "2", "-q")
    assert r.returncode == 0, r.stderr
    hidden = run("ask", "Hi", "-m", QWEN, "--max-tokens", "6", "--seed", "3", "--think-budget", "2", "-q",
                 "--hide-thinking")
    assert hidden.returncode == 0
    assert hidden.stderr == ""
    assert hidden.stdout == r.stdout  # the answer part is the same with or without thinking shown


def test_chat_two_turns_and_reset():
    r = run("chat", "-m", QWEN, "--max-tokens", "6", "--seed", "2", "-q", stdin="Hello\n/reset\nWhat is 2+2?\n")
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("\n") >= 2


def test_bad_input_gives_one_error_line():
    long_question = "word " * 600  # the tiny model's context is 512 positions
    assert_error(run("ask", long_question, "-m", QWEN), 1, "512", "prompt")
    assert_error(run("ask", "Hi", "-m", str(MODELS)), 1, "config.json")
    assert_error(run("ask", "Hi", "-m", QWEN, "--temperature", "-1"), 2, "--temperature")
    assert_error(run("ask", "Hi", "-m", QWEN, "--device", "tpu"), 2, "--device")
    assert_error(run("ask", "Hi", "-m", QWEN, "--samples", "0"), 2, "--samples")


def test_cuda_request_without_gpu_is_an_error():
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="")
    assert_error(run("ask", "Hi", "-m", QWEN, "--device", "cuda", env=env), 1, "--device cuda")


def test_janus_folder_is_refused_by_ask():
    janus = pathlib.Path(os.environ["JANUSKIT_FIXTURES"]) / "janus_models" / "janus"
    assert_error(run("ask", "Hi", "-m", str(janus)), 1, "Janus-Pro", "describe")


def test_stop_string_cuts_the_answer():
    free = ask_json("Hello", "--raw", "--max-tokens", "24", "--seed", "8")
    text = free["content"]
    assert len(text) >= 6, text
    stop = text[3:6]
    cut = ask_json("Hello", "--raw", "--max-tokens", "24", "--seed", "8", "--stop", stop)
    assert cut["content"] == text[:text.find(stop)]
    assert cut["finish_reason"] == "stop_string"
