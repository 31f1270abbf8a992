"""Checkpoint loading benchmark (issue 3): time and peak RSS of januskit opening ~2 GB checkpoints,
reading one tensor, and converting a ~2 GB PyTorch .bin to safetensors.

    .venv/bin/python bench/checkpoint_io.py [--januskit build/januskit] [--dir /tmp] [--gb 2.0]
    python bench/checkpoint_io.py --make-only DIR [--gb 2.0]   # only write DIR/model.safetensors, DIR/bin/pytorch_model.bin
    python bench/checkpoint_io.py --evict PATH                  # only drop PATH (file or folder) from the page cache

Makes a bf16 state dict of `--gb` GB (16 tensors of 8192 x 8192 plus a small norm vector), saves it
with safetensors and with torch.save into a temporary folder, then runs each januskit command under
/usr/bin/time -v twice: "cold" after evicting the file from the page cache (posix_fadvise
DONTNEED on that file only, so other users of the machine are unaffected) and "warm" right after.
Prints a Markdown table; deletes every file it made. Python is only the harness: the numbers are
januskit's own process.
"""
import argparse
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile
import time

import torch
from safetensors.torch import save_file

ROOT = pathlib.Path(__file__).resolve().parent.parent


def evict(path: pathlib.Path) -> None:
    """Drops one file's pages from the page cache (cold-cache measurement without root)."""
    files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
    for f in files:
        fd = os.open(f, os.O_RDONLY)
        try:
            os.fsync(fd)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def measure(cmd) -> dict:
    """Wall time and peak RSS of one command, from /usr/bin/time -v."""
    r = subprocess.run(["/usr/bin/time", "-v", *map(str, cmd)], capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"failed: {' '.join(map(str, cmd))}\n{r.stderr}")
    rss_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", r.stderr).group(1))
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", r.stderr).group(1)
    parts = [float(p) for p in wall.split(":")]
    seconds = sum(p * 60 ** i for i, p in enumerate(reversed(parts)))
    return {"seconds": seconds, "rss_mb": rss_kb / 1024}


def make_state(gb: float):
    n = max(1, round(gb * 1e9 / (8192 * 8192 * 2)))
    gen = torch.Generator().manual_seed(0)
    state = {f"model.layers.{i}.mlp.up_proj.weight": torch.randn(8192, 8192, generator=gen, dtype=torch.bfloat16)
             for i in range(n)}
    state["model.norm.weight"] = torch.randn(8192, generator=gen, dtype=torch.bfloat16)
    return state


def write_checkpoints(out: pathlib.Path, gb: float) -> None:
    t0 = time.time()
    state = make_state(gb)
    (out / "bin").mkdir(parents=True, exist_ok=True)
    save_file(state, str(out / "model.safetensors"))
    torch.save(state, out / "bin" / "pytorch_model.bin")
    print(f"made the files in {time.time() - t0:.1f} s", file=sys.stderr)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--januskit", default=str(ROOT / "build" / "januskit"))
    ap.add_argument("--dir", default=None, help="where the temporary files go (default: the system temp folder)")
    ap.add_argument("--gb", type=float, default=2.0)
    ap.add_argument("--make-only", metavar="DIR", help="write the two checkpoints into DIR and stop")
    ap.add_argument("--evict", metavar="PATH", help="evict PATH from the page cache and stop")
    args = ap.parse_args()
    if args.evict:
        evict(pathlib.Path(args.evict))
        return 0
    if args.make_only:
        write_checkpoints(pathlib.Path(args.make_only), args.gb)
        return 0
    jk = args.januskit
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="januskit-bench-", dir=args.dir))
    rows = []
    try:
        write_checkpoints(tmp, args.gb)
        st, pt = tmp / "model.safetensors", tmp / "bin" / "pytorch_model.bin"
        sizes = {"safetensors": st.stat().st_size, "bin": pt.stat().st_size}
        small, big = "model.norm.weight", "model.layers.0.mlp.up_proj.weight"

        def run(label, cmd, files, cache):
            if cache == "cold":
                for f in files:
                    evict(f)
            m = measure(cmd)
            rows.append((label, cache, m["seconds"], m["rss_mb"], " ".join(map(str, cmd)).replace(str(tmp), "$TMP")))

        run("start-up only (`--version`)", [jk, "--version"], [], "warm")
        for name, path in (("safetensors", st), ("bin", pt)):
            for cache in ("cold", "warm"):
                run(f"{name}: open, list (`info`)", [jk, "info", path], [path], cache)
                run(f"{name}: open + read 16 kB tensor", [jk, "info", path, "--tensor", small], [path], cache)
                run(f"{name}: open + read 134 MB tensor", [jk, "info", path, "--tensor", big], [path], cache)
        # WeightLoader as a model build uses it (bench/load_weights): every tensor to the CPU in the
        # file's dtype (zero-copy views) and converted to f32 (one owned copy per tensor).
        loader = pathlib.Path(jk).parent / "bench" / "load_weights"
        if loader.exists():
            for name, path in (("safetensors", st), ("bin", pt)):
                for dtype in ("bf16", "f32"):
                    run(f"{name}: WeightLoader, all tensors -> cpu {dtype}", [loader, path, "cpu", dtype], [path], "cold")
        for cache in ("cold", "warm"):
            out = tmp / f"converted-{cache}"
            run("convert .bin -> safetensors", [jk, "-q", "convert", pt, out], [pt], cache)
            assert (out / "model.safetensors").stat().st_size > sizes["bin"] * 0.99
            shutil.rmtree(out)
        print(f"\nfiles: model.safetensors {sizes['safetensors']:,} bytes, pytorch_model.bin {sizes['bin']:,} bytes\n")
        print("| what | page cache | wall s | peak RSS MB | command |")
        print("| --- | --- | ---: | ---: | --- |")
        for label, cache, seconds, rss, cmd in rows:
            print(f"| {label} | {cache} | {seconds:.2f} | {rss:.0f} | `{cmd}` |")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
