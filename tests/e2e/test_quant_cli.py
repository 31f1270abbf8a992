"""Quantized weights through the CLI (issue 19): `--quant` at load time and `convert --quant` on the
bundled demo models give the same outputs, `info` reports the quantization, and every bad flag or
broken quantized folder gives one `error:` line (exit 2 for flags, 1 for files) and no crash."""
import json
import os
import pathlib
import shutil
import subprocess

import cv2
import numpy as np
import pytest
from safetensors.numpy import load_file, save_file

JANUSKIT = os.environ["JANUSKIT_BIN"]
ROOT = pathlib.Path(__file__).resolve().parents[2]
MODELS = pathlib.Path(os.environ.get("JANUSKIT_MODELS") or ROOT / "models")
R1, JANUS = MODELS / "demo-r1", MODELS / "demo-janus"
QUESTIONS = "What is 12 + 30?\nWhat is 8 + 85?\nWhat is 64 - 27?\nWhat is 33 + 48?\n"
RIGHT = ["42", "93", "37", "81"]


def run(*args, stdin=None):
    return subprocess.run([JANUSKIT, "-q", *map(str, args)], input=stdin, capture_output=True, text=True, timeout=300)


def ok(*args, stdin=None):
    r = run(*args, stdin=stdin)
    assert r.returncode == 0, r.stderr
    return r.stdout


def one_error_line(r, code, *needles):
    assert r.returncode == code, (r.returncode, r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("error: "), lines[0]
    for n in needles:
        assert n in lines[0], (n, lines[0])


def answers(*model_args):
    lines = ok("ask", "--file", "-", "--json", "--seed", "5", "--max-tokens", "128", *model_args, stdin=QUESTIONS)
    return [json.loads(line)["final_answer"] for line in lines.splitlines()]


@pytest.fixture(scope="module")
def r1_int4(tmp_path_factory):
    out = tmp_path_factory.mktemp("q") / "demo-r1-int4"
    ok("convert", R1, out, "--quant", "int4")
    return out


@pytest.mark.parametrize("quant", ["int8", "int4"])
def test_ask_answers_correctly_quantized_at_load(quant):
    assert answers("--quant", quant) == RIGHT


def test_converted_folder_runs_as_load_time_quantization(r1_int4):
    info = json.loads(ok("info", r1_int4, "--json"))
    assert info["quantization"]["quantized_layers"] == 29  # 4 layers × 7 projections + the untied head
    assert "gptq int4, group 32" in info["quantization"]["summary"]
    # Parameters are the weights the layers pack; scales, zeros and indices are counted apart.
    assert info["parameters"] == json.loads(ok("info", R1, "--json"))["parameters"]
    assert info["quantization"]["metadata_values"] > 0 and info["quantization"]["metadata_bytes"] > 0
    config = json.loads((r1_int4 / "config.json").read_text())
    assert config["quantization_config"]["quant_method"] == "gptq"
    assert answers("-m", r1_int4) == answers("--quant", "int4")
    # Dequantized (--quant none) it still answers, from the rounded weights.
    assert answers("-m", r1_int4, "--quant", "none") == RIGHT


def test_generate_quantized_converted_equals_load_time(tmp_path):
    ok("convert", JANUS, tmp_path / "janus-int8", "--quant", "int8")
    a = json.loads(ok("generate", "a red circle", "--seed", "3", "-m", tmp_path / "janus-int8", "-o", tmp_path / "a.png", "--json"))
    b = json.loads(ok("generate", "a red circle", "--seed", "3", "--quant", "int8", "-o", tmp_path / "b.png", "--json"))
    assert (tmp_path / "a.png").read_bytes() != b""
    ia, ib = cv2.imread(str(tmp_path / "a.png")), cv2.imread(str(tmp_path / "b.png"))
    assert ia is not None and ia.shape == ib.shape and np.array_equal(ia, ib)
    assert a["images"][0]["seed"] == b["images"][0]["seed"]


@pytest.mark.parametrize("flags, needle", [
    (["--quant", "int3"], "--quant: expected none, int8 or int4"),
    (["--quant", "int4", "--group-size", "48"], "--group-size: expected 32, 64 or 128"),
    (["--group-size", "64"], "--group-size needs --quant"),
    (["--threads", "-2"], "--threads"),
])
def test_bad_flags_exit_2(flags, needle):
    one_error_line(run("ask", "What is 1 + 1?", *flags), 2, needle)


def test_requantizing_is_refused(r1_int4, tmp_path):
    one_error_line(run("ask", "What is 1 + 1?", "-m", r1_int4, "--quant", "int8"), 2, "already quantized", "--quant none")
    one_error_line(run("convert", r1_int4, tmp_path / "again", "--quant", "int8"), 2, "already quantized")
    assert not (tmp_path / "again").exists()


def broken_copy(src, dst, edit_tensors=None, edit_config=None):
    shutil.copytree(src, dst)
    if edit_tensors:
        tensors = load_file(str(dst / "model.safetensors"))
        edit_tensors(tensors)
        save_file(tensors, str(dst / "model.safetensors"), metadata={"format": "pt"})
    if edit_config:
        config = json.loads((dst / "config.json").read_text())
        edit_config(config["quantization_config"])
        (dst / "config.json").write_text(json.dumps(config))
    return dst


LAYER = "model.layers.0.self_attn.o_proj"


def drop_scale_row(t):
    t[LAYER + ".scales"] = t[LAYER + ".scales"][:-1].copy()


def permute_g_idx(t):
    t[LAYER + ".g_idx"] = t[LAYER + ".g_idx"][::-1].copy()


def drop_qzeros(t):
    del t[LAYER + ".qzeros"]


@pytest.mark.parametrize("name, tensors, config, needles", [
    ("scales", drop_scale_row, None, [LAYER, "scales is", "expected"]),
    ("act_order_g_idx", permute_g_idx, None, [LAYER, "act-order"]),
    ("missing_qzeros", drop_qzeros, None, [LAYER + ".qzeros", "missing"]),
    ("awq", None, lambda q: q.update(quant_method="awq"), ["quant_method 'awq' is not supported"]),
    ("desc_act", None, lambda q: q.update(desc_act=True), ["desc_act"]),
    ("bits", None, lambda q: q.update(bits=3), ["3-bit"]),
])
def test_broken_quantized_folder_one_error_line(r1_int4, tmp_path, name, tensors, config, needles):
    bad = broken_copy(r1_int4, tmp_path / name, tensors, config)
    one_error_line(run("ask", "What is 1 + 1?", "-m", bad), 1, *needles)
