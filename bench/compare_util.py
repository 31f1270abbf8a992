"""Helpers shared by the januskit-versus-transformers benchmark scripts (bench/*_vs_transformers.py).

Each script builds a model of a real shape with random weights in transformers, saves it as a model
folder (in /dev/shm when it has room, so neither side waits for a disk), runs `januskit bench ... -m
FOLDER --json` on it, runs the same workload through transformers in the same process, and prints
both with the ratio. The weights are therefore the same tensors on both sides.
"""
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time

import torch

ROOT = pathlib.Path(__file__).resolve().parent.parent


def workdir(prefix: str, need_bytes: int) -> pathlib.Path:
    """A fresh folder for the model files: /dev/shm when it has room for them, else the temp folder."""
    shm = pathlib.Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK) and shutil.disk_usage(shm).free > 1.3 * need_bytes:
        return pathlib.Path(tempfile.mkdtemp(prefix=prefix, dir=shm))
    return pathlib.Path(tempfile.mkdtemp(prefix=prefix))


def parameter_bytes(model: torch.nn.Module) -> int:
    return sum(p.numel() * p.element_size() for p in model.parameters())


def run_januskit(binary: str, args: list, timeout: float) -> dict:
    """Runs januskit with --json and returns the parsed object; stops the script on failure."""
    cmd = [binary, "-q", *map(str, args), "--json"]
    print("$ " + " ".join(cmd), file=sys.stderr, flush=True)
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0:
        raise SystemExit(f"januskit failed ({r.returncode}): {' '.join(cmd)}\n{r.stderr}")
    return json.loads(r.stdout)


def synchronize(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def timed(device: str, fn):
    """(seconds, result) of fn(), with the device's queued work included."""
    synchronize(device)
    start = time.perf_counter()
    out = fn()
    synchronize(device)
    return time.perf_counter() - start, out


def dtype_of(name: str, device: str) -> torch.dtype:
    if name == "auto":
        name = "bf16" if device.startswith("cuda") else "f32"
    return {"f32": torch.float32, "bf16": torch.bfloat16, "f16": torch.float16}[name]


def dtype_name(dtype: torch.dtype) -> str:
    return {torch.float32: "f32", torch.bfloat16: "bf16", torch.float16: "f16"}[dtype]


def markdown(headers: list, rows: list) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join(" --- " for _ in headers) + "|"]
    for r in rows:
        lines.append("| " + " | ".join(r) + " |")
    return "\n".join(lines)


def add_run_arguments(ap) -> None:
    """The options both comparison scripts share: where and how to run, how often, and the output."""
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--dtype", default="auto", choices=["auto", "f32", "bf16", "f16"])
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--runs", type=int, default=1, help="timed runs on each side; medians are reported")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--januskit", default=str(ROOT / "build" / "januskit"))
    ap.add_argument("--timeout", type=float, default=1800, help="seconds for the januskit run")
    ap.add_argument("--json", help="also write the results to this file")


def machine_note(device: str) -> str:
    if device.startswith("cuda"):
        return f"{torch.cuda.get_device_name()} (torch {torch.__version__})"
    threads = torch.get_num_threads()
    return f"CPU, {threads} thread{'s' if threads != 1 else ''} (torch {torch.__version__})"
