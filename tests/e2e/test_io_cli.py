"""`januskit info` and `januskit convert` as a user runs them, on the `checkpoints` fixture
(tests/reference/make_checkpoints.py): output, JSON, conversions read back by Python's safetensors,
and one `error:` line with exit code 1 and no output folder for every broken input."""
import json
import os
import pathlib
import subprocess

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file

JANUSKIT = os.environ["JANUSKIT_BIN"]
FIXTURES = pathlib.Path(os.environ["JANUSKIT_FIXTURES"]) / "checkpoints"
MODELS = FIXTURES / "models"
BAD = FIXTURES / "bad"


def run(*args, **kw):
    return subprocess.run([JANUSKIT, *map(str, args)], capture_output=True, text=True, timeout=120, **kw)


def one_error_line(r, *needles):
    assert r.returncode == 1, (r.returncode, r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("error: "), lines[0]
    for n in needles:
        assert str(n) in lines[0], (n, lines[0])
    return lines[0]


def torch_state(path):
    return torch.load(path, weights_only=True)


# ---- info -------------------------------------------------------------------------------------


def test_info_text_on_a_sharded_safetensors_folder():
    r = run("info", MODELS / "st_sharded")
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "Qwen2ForCausalLM (model_type qwen2)" in out
    assert "model-00001-of-000003.safetensors (safetensors" in out
    assert "bf16 " in out and "memory" in out
    for component in ("model.embed_tokens", "model.layers", "model.norm", "lm_head"):
        assert f"\n{component} " in out, component


def test_info_json_counts_match_python():
    r = run("info", MODELS / "bin_single", "--json", "--tensors")
    assert r.returncode == 0, r.stderr
    info = json.loads(r.stdout)
    state = torch_state(MODELS / "bin_single" / "pytorch_model.bin")
    params = sum(t.numel() for t in state.values())
    assert info["architectures"] == ["MultiModalityCausalLM"]
    assert info["model_type"] == "multi_modality"
    assert info["tensors"] == len(state)
    assert info["parameters"] == params
    assert info["files"][0]["format"] == "torch zip"
    assert info["bytes_on_disk"] == (MODELS / "bin_single" / "pytorch_model.bin").stat().st_size
    ints = sum(t.numel() * t.element_size() for t in state.values() if not t.is_floating_point())
    floats = sum(t.numel() for t in state.values() if t.is_floating_point())
    assert info["memory_bytes"] == {"f32": floats * 4 + ints, "bf16": floats * 2 + ints, "f16": floats * 2 + ints}
    components = {c["name"]: c["parameters"] for c in info["components"]}
    assert set(components) == {"language_model", "vision_model", "aligner", "gen_vision_model", "gen_embed", "gen_head"}
    assert components["language_model"] == sum(t.numel() for k, t in state.items() if k.startswith("language_model."))
    listed = {t["name"]: t for t in info["tensor_list"]}
    assert set(listed) == set(state)
    for name, t in state.items():
        assert listed[name]["shape"] == list(t.shape)
        assert listed[name]["file"] == "pytorch_model.bin"
    assert listed["gen_vision_model.quantize.codebook_used"]["dtype"] == "i64"


def test_info_tensors_lists_every_tensor():
    r = run("info", FIXTURES / "roundtrip" / "state.pt", "--tensors")
    assert r.returncode == 0, r.stderr
    assert "transposed" in r.stdout and "[4, 3]" in r.stdout
    assert "f8_e4m3" in r.stdout and "u16" in r.stdout


def test_info_tensor_reads_values():
    r = run("info", FIXTURES / "roundtrip" / "state.pt", "--tensor", "transposed", "--json")
    assert r.returncode == 0, r.stderr
    s = json.loads(r.stdout)
    t = torch_state(FIXTURES / "roundtrip" / "state.pt")["transposed"].double()
    assert s["shape"] == [4, 3]
    assert s["min"] == t.min().item() and s["max"] == t.max().item()
    assert abs(s["mean"] - t.mean().item()) < 1e-12
    assert s["first_values"] == t.flatten()[:8].tolist()
    one_error_line(run("info", FIXTURES / "roundtrip" / "state.pt", "--tensor", "nope"), "tensor 'nope'")


# ---- convert ----------------------------------------------------------------------------------


def as_bytes(t: torch.Tensor) -> bytes:
    return t.contiguous().reshape(-1).view(torch.uint8).numpy().tobytes()


def assert_same_tensors(got: dict, want: dict, dtype=None):
    """Same names, dtypes, shapes and bytes (floats converted to `dtype` first, as convert does)."""
    assert set(got) == set(want)
    for name, w in want.items():
        g = got[name]
        if dtype is not None and w.is_floating_point() and w.dtype not in (torch.float8_e4m3fn, torch.float8_e5m2):
            w = w.to(dtype)
        assert g.dtype == w.dtype, name
        assert g.shape == w.shape, name
        assert as_bytes(g) == as_bytes(w), name


def test_convert_bin_folder_is_read_back_by_safetensors_bit_exact(tmp_path):
    out = tmp_path / "out"
    r = run("convert", MODELS / "bin_single", out)
    assert r.returncode == 0, r.stderr
    assert "wrote" in r.stdout
    names = sorted(p.name for p in out.iterdir())
    assert names == ["README.md", "config.json", "generation_config.json", "model.safetensors", "tokenizer.json",
                     "tokenizer_config.json"]
    assert (out / "config.json").read_bytes() == (MODELS / "bin_single" / "config.json").read_bytes()
    with safe_open(out / "model.safetensors", "pt") as f:
        assert f.metadata() == {"format": "pt"}
    assert_same_tensors(load_file(out / "model.safetensors"), torch_state(MODELS / "bin_single" / "pytorch_model.bin"))
    assert not list(tmp_path.glob("out.tmp-*"))


def test_convert_every_layout_of_the_roundtrip_state(tmp_path):
    want = torch_state(FIXTURES / "roundtrip" / "state.pt")
    for i, src in enumerate(["state.pt", "state_p4.pt", "zip64_full.pt", "state.safetensors"]):
        out = tmp_path / f"o{i}"
        r = run("convert", FIXTURES / "roundtrip" / src, out)
        assert r.returncode == 0, (src, r.stderr)
        assert_same_tensors(load_file(out / "model.safetensors"), want)


def test_convert_dtype_changes_floats_only(tmp_path):
    want = torch_state(FIXTURES / "roundtrip" / "state.pt")
    for flag, dtype in (("f16", torch.float16), ("f32", torch.float32), ("bf16", torch.bfloat16)):
        out = tmp_path / flag
        r = run("convert", FIXTURES / "roundtrip" / "state.pt", out, "--dtype", flag)
        assert r.returncode == 0, r.stderr
        assert_same_tensors(load_file(out / "model.safetensors"), want, dtype)


def test_convert_shard_size_splits_with_a_valid_index(tmp_path):
    out = tmp_path / "sharded"
    r = run("convert", MODELS / "st_sharded", out, "--shard-size", "1kB", "--dtype", "f32")
    assert r.returncode == 0, r.stderr
    index = json.loads((out / "model.safetensors.index.json").read_text())
    shards = sorted({v for v in index["weight_map"].values()})
    assert len(shards) > 3
    assert shards[0] == f"model-00001-of-{len(shards):05d}.safetensors"
    assert sorted(p.name for p in out.glob("model-*.safetensors")) == shards
    source = {}
    for f in (MODELS / "st_sharded").glob("*.safetensors"):
        source.update(load_file(f))
    got, total = {}, 0
    for shard in shards:
        part = load_file(out / shard)
        assert all(index["weight_map"][k] == shard for k in part)
        got.update(part)
        total += sum(t.numel() * t.element_size() for t in part.values())
        # No shard holds over 1 kB of tensors unless it holds a single larger one.
        assert sum(t.numel() * t.element_size() for t in part.values()) <= 1000 or len(part) == 1
    assert index["metadata"]["total_size"] == total
    assert_same_tensors(got, source, torch.float32)
    # And januskit reads its own output folder.
    r = run("info", out, "--json")
    assert json.loads(r.stdout)["tensors"] == len(source)


def test_convert_from_a_sharded_bin_folder(tmp_path):
    out = tmp_path / "from_bin"
    assert run("convert", MODELS / "bin_sharded", out).returncode == 0
    source = {}
    for f in (MODELS / "bin_sharded").glob("*.bin"):
        source.update(torch_state(f))
    assert_same_tensors(load_file(out / "model.safetensors"), source)


# ---- errors -----------------------------------------------------------------------------------

BAD_EXPECTED = json.loads((BAD / "expected.json").read_text()) if (BAD / "expected.json").exists() else {}


@pytest.mark.parametrize("name", sorted(BAD_EXPECTED))
def test_each_bad_file_is_one_error_line_and_no_output(name, tmp_path):
    path = BAD / name
    one_error_line(run("convert", path, tmp_path / "out"), f"{path}: ", *BAD_EXPECTED[name])
    assert list(tmp_path.iterdir()) == []


# `info` goes through the same readers; one file per kind of failure keeps the suite quick
# (each januskit start loads LibTorch, ~0.35 s).
@pytest.mark.parametrize("name", ["empty.safetensors", "overlap.safetensors", "os_system.pt", "builtins_eval.pt",
                                  "deflate.pt", "legacy.pt", "not_a_zip.bin", "truncated.pt"])
def test_info_on_bad_files(name):
    path = BAD / name
    one_error_line(run("info", path), f"{path}: ", *BAD_EXPECTED[name])


@pytest.mark.parametrize("folder,needles", [
    ("missing_shard", ["model-00002-of-000002.safetensors", "missing shard", "model.safetensors.index.json"]),
    ("no_weights", ["no weights found"]),
    ("no_config", ["config.json", "not found"]),
    ("bad_config", ["config.json", "invalid JSON"]),
    ("index_mismatch", ["does not hold it"]),
    ("two_safetensors", ["several weight files"]),
    ("duplicate_tensor", ["is also in"]),
    ("bad_shard", ["model-00002-of-000002.safetensors", "truncated"]),
    ("evil_index", ["not a file inside the model folder"]),
])
def test_each_bad_folder_is_one_error_line_and_no_output(folder, needles, tmp_path):
    one_error_line(run("info", MODELS / folder), *needles)
    one_error_line(run("convert", MODELS / folder, tmp_path / "out"), *needles)
    assert list(tmp_path.iterdir()) == []


def test_convert_refuses_an_existing_output_folder(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("mine")
    one_error_line(run("convert", MODELS / "bin_single", tmp_path / "out"), "already exists")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["keep.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_usage_errors_exit_2():
    for args in (["convert", MODELS / "bin_single", "/tmp/x", "--shard-size", "lots"],
                 ["convert", MODELS / "bin_single", "/tmp/x", "--dtype", "int4"],
                 ["info"]):
        r = run(*args)
        assert r.returncode == 2, (args, r.stderr)
        assert len(r.stderr.strip().splitlines()) == 1 and r.stderr.startswith("error: ")
        if "--dtype" in args:
            assert "expected keep, bf16, f16 or f32, got 'int4'" in r.stderr


def test_missing_model_path():
    one_error_line(run("info", "/nonexistent/model"), "/nonexistent/model", "no such file or folder")
