"""The januskit binary as a user runs it: help, version, usage errors."""
import os
import subprocess

JANUSKIT = os.environ["JANUSKIT_BIN"]


def run(*args, **kw):
    return subprocess.run([JANUSKIT, *args], capture_output=True, text=True, timeout=120, **kw)


def test_help_lists_usage():
    r = run("--help")
    assert r.returncode == 0
    assert "januskit" in r.stdout and "--version" in r.stdout


def test_no_arguments_prints_help():
    r = run()
    assert r.returncode == 0
    assert "--help" in r.stdout


def test_version_reports_libtorch_and_cuda_kernels():
    r = run("--version")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].startswith("januskit ")
    assert lines[1] == "libtorch 2.11.0"
    assert any(l.startswith("cuda kernels: compiled for sm_90") or l == "cuda kernels: not built" for l in lines)
    assert any(l.startswith("cuda device: ") for l in lines)


def test_version_says_kernels_compiled_when_nvcc_was_there():
    # The development and CI machines have nvcc: the kernels must be in every build there.
    if not os.path.exists("/usr/local/cuda/bin/nvcc"):
        return
    assert "cuda kernels: compiled for sm_90" in run("--version").stdout


def test_unknown_flag_is_a_usage_error_with_one_error_line():
    r = run("--bogus")
    assert r.returncode == 2
    assert r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "--bogus" in lines[0], r.stderr
