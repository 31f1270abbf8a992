"""`januskit tokenize` as a user runs it: ids identical to the Rust `tokenizers` package, the
ID<TAB>PIECE listing, and one `error:` line with exit 1 for a missing file or a bad JSON line."""
import json
import os
import pathlib
import subprocess

import pytest
import tokenizers

JANUSKIT = os.environ["JANUSKIT_BIN"]
SHARED = pathlib.Path(os.environ.get("JANUSKIT_SHARED_DIR", "/nonexistent")) / "fixtures" / "tokenizers"
CASES = pathlib.Path(os.environ["JANUSKIT_FIXTURES"]) / "tokenizer_cases"

LINES = [
    "Hello, world! How are you today?",
    "数学题：1+1=？请一步一步推理。",
    "  leading spaces\tand\ttabs\r\nand a NEL\u0085 and a BOM\ufeff",
    "<think>\nLet me add them: 2 + 2 = 4.\n</think>\n\nThe answer is \\boxed{4}.",
    "Emoji 👩🏽‍💻 and combining e\u0301 and Привет and مرحبا and नमस्ते and 안녕하세요 and カタカナ",
    "",
]


def run(*args, stdin=None):
    return subprocess.run([JANUSKIT, *args], input=stdin, capture_output=True, timeout=120,
                          text=isinstance(stdin, str) or stdin is None)


def tokenizer_paths():
    paths = [CASES / "llama3_style" / "tokenizer.json"]
    for name in ("qwen3", "deepseek_v3"):
        if (SHARED / name / "tokenizer.json").exists():
            paths.append(SHARED / name / "tokenizer.json")
    return paths


def assert_one_error_line(r, *fragments):
    assert r.returncode == 1, (r.returncode, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr
    for f in fragments:
        assert f in lines[0], r.stderr


@pytest.mark.parametrize("path", tokenizer_paths(), ids=lambda p: p.parent.name)
def test_jsonl_matches_the_rust_crate(path):
    ref = tokenizers.Tokenizer.from_file(str(path))
    stdin = "".join(json.dumps({"text": t}, ensure_ascii=False) + "\n" for t in LINES)
    r = run("tokenize", "--tokenizer", str(path), "--jsonl", stdin=stdin)
    assert r.returncode == 0, r.stderr
    # split("\n"), not splitlines(): decoded text may hold U+0085 or U+2028, which JSON leaves raw.
    out = [json.loads(line) for line in r.stdout.split("\n") if line]
    assert len(out) == len(LINES)
    for text, row in zip(LINES, out):
        ids = ref.encode(text, add_special_tokens=False).ids
        assert row["ids"] == ids, text
        assert row["decoded"] == ref.decode(ids, skip_special_tokens=False), text
    assert list(out[0].keys()) == ["ids", "decoded"]


def test_blank_lines_are_skipped():
    path = CASES / "llama3_style" / "tokenizer.json"
    r = run("tokenize", "--tokenizer", str(path), "--jsonl", stdin='\n{"text": "a"}\n   \n\n{"text": "b"}\n')
    assert r.returncode == 0, r.stderr
    assert [json.loads(line)["decoded"] for line in r.stdout.split("\n") if line] == ["a", "b"]


def test_model_folder_and_text_listing():
    folder = CASES / "model_folder"
    ref = tokenizers.Tokenizer.from_file(str(folder / "tokenizer.json"))
    r = run("tokenize", "-m", str(folder), "Hello world")
    assert r.returncode == 0, r.stderr
    rows = [line.split("\t") for line in r.stdout.splitlines()]
    ids = ref.encode("Hello world", add_special_tokens=False).ids
    assert [int(i) for i, _ in rows] == ids
    assert [p for _, p in rows] == [ref.id_to_token(i) for i in ids]
    # The declared special token that tokenizer.json lacks is matched as one token.
    r = run("tokenize", "--tokenizer", str(folder), "a<image_placeholder>b")
    assert r.returncode == 0, r.stderr
    assert "<image_placeholder>" in [line.split("\t")[1] for line in r.stdout.splitlines()]


@pytest.mark.skipif(not (SHARED / "qwen3").exists(), reason="shared tokenizer fixtures not present")
def test_listing_on_qwen3():
    r = run("tokenize", "--tokenizer", str(SHARED / "qwen3" / "tokenizer.json"), "Hello world")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "9707\tHello\n1879\tĠworld\n"


def test_missing_tokenizer_is_one_error_line():
    r = run("tokenize", "--tokenizer", "/nonexistent/tokenizer.json", "x")
    assert_one_error_line(r, "/nonexistent/tokenizer.json", "does not exist")
    assert r.stdout == ""
    r = run("tokenize", "-m", str(CASES), "--jsonl", stdin="")
    assert_one_error_line(r, str(CASES), "no tokenizer.json")


def test_bad_json_line_names_the_line_and_keeps_earlier_output():
    path = CASES / "llama3_style" / "tokenizer.json"
    r = run("tokenize", "--tokenizer", str(path), "--jsonl", stdin='{"text": "ok"}\n{"text": "fine"}\n{text: nope}\n')
    assert_one_error_line(r, "stdin line 3", "invalid JSON")
    assert len(r.stdout.splitlines()) == 2
    r = run("tokenize", "--tokenizer", str(path), "--jsonl", stdin='{"text": 5}\n')
    assert_one_error_line(r, "stdin line 1", "\"text\" string")


def test_invalid_utf8_argument_is_rejected():
    path = CASES / "llama3_style" / "tokenizer.json"
    r = subprocess.run([JANUSKIT, "tokenize", "--tokenizer", str(path), b"ab\xc3("], capture_output=True, timeout=60)
    assert r.returncode == 1
    lines = r.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and "not valid UTF-8" in lines[0] and "offset 2" in lines[0], r.stderr


def test_usage_errors_exit_two():
    path = str(CASES / "llama3_style" / "tokenizer.json")
    for args in (["tokenize", "x"], ["tokenize", "--tokenizer", path], ["tokenize", "--tokenizer", path, "--jsonl", "x"],
                 ["tokenize", "--tokenizer", path, "-m", path, "x"]):
        r = run(*args)
        assert r.returncode == 2, (args, r.stderr)
        assert len(r.stderr.strip().splitlines()) == 1 and r.stderr.startswith("error: "), r.stderr


PROCESSOR = pathlib.Path(os.environ["JANUSKIT_FIXTURES"]) / "tokenizer_processor"


def jsonl_ids(folder, *flags):
    r = run("tokenize", "-m", str(folder), "--jsonl", *flags, stdin=json.dumps({"text": "a red circle"}) + "\n")
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)["ids"]


def test_special_tokens_flag_shows_the_crate_or_the_processor():
    """DeepSeek's layout: tokenizer.json adds no BOS, LlamaTokenizerFast (transformers 4.x) adds it."""
    index = {e["folder"]: e for e in json.loads((PROCESSOR / "index.json").read_text())}
    name = "postplain_bosTrue_eosNone_LlamaTokenizerFast"
    folder = PROCESSOR / name
    processor = index[name]["auto"]["ids"][0]
    plain = jsonl_ids(folder)
    assert jsonl_ids(folder, "--special-tokens", "none") == plain
    assert jsonl_ids(folder, "--special-tokens", "tokenizer-json") == plain
    assert jsonl_ids(folder, "--special-tokens", "processor") == processor == [processor[0]] + plain
    r = run("-v", "tokenize", "-m", str(folder), "--special-tokens", "processor", "a red circle")
    assert r.returncode == 0 and "LlamaTokenizerFast (transformers 4.x) adds BOS" in r.stderr, r.stderr
    assert r.stdout.splitlines()[0].startswith(f"{processor[0]}\t")


def test_special_tokens_flag_rejects_other_values():
    r = run("tokenize", "-m", str(PROCESSOR / "real_deepseek_v3"), "--special-tokens", "bos", "x")
    assert r.returncode == 2, r.stderr
    assert "--special-tokens" in r.stderr


def test_a_processor_that_cannot_be_built_is_one_error_line():
    r = run("tokenize", "-m", str(PROCESSOR / "no_bos_named"), "--special-tokens", "processor", "x")
    assert_one_error_line(r, "names no bos_token", "add_bos_token")
