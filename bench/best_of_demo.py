"""`generate --best-of N` on the bundled demo-janus: held-out accuracy by the OpenCV judge of
tests/e2e/demo_shapes.py, and the time it costs, for N = 1, 2, 4, 8 and both readouts.

    .venv/bin/python bench/best_of_demo.py [--images 48] [--seed 1000] [--temperature T]

The same 48 held-out prompts and seed as tests/e2e/test_demo_quality.py; candidate 0 of every image
is the best-of-1 image, so the N = 1 row is the plain run. Prints a markdown table.
"""
import argparse
import json
import pathlib
import subprocess
import sys
import tempfile
import time

import cv2

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
import demo_shapes as shapes  # noqa: E402


def run(binary, prompts, best_of, readout, seed, out, extra):
    cmd = [binary, "-q", "generate", *prompts, "--seed", str(seed), "-o", str(out / "img_%02d.png"), "--json",
           "--best-of", str(best_of), "--best-of-readout", readout, *extra]
    start = time.monotonic()
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=3600)
    if r.returncode != 0:
        raise SystemExit(r.stderr)
    return json.loads(r.stdout), time.monotonic() - start


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--januskit", default=str(ROOT / "build" / "januskit"))
    ap.add_argument("--images", type=int, default=48)
    ap.add_argument("--seed", type=int, default=1000)
    ap.add_argument("--temperature", type=float, help="sampling temperature (default: the model's)")
    args = ap.parse_args()
    scenes = shapes.held_out_scenes(args.images, seed=7)
    prompts = [shapes.canonical_prompt(*s) for s in scenes]
    extra = ["--temperature", str(args.temperature)] if args.temperature is not None else []
    print("| best of | readout | held-out drawn right (OpenCV judge) | seconds | chosen = candidate 0 |")
    print("| ---: | --- | ---: | ---: | ---: |")
    for readout in ("caption", "yes"):
        for n in (1, 2, 4, 8):
            if n == 1 and readout == "yes":
                continue
            with tempfile.TemporaryDirectory() as tmp:
                out, seconds = run(args.januskit, prompts, n, readout, args.seed, pathlib.Path(tmp), extra)
                hits = 0
                for (shape, colour, *_), im in zip(scenes, out["images"]):
                    img = cv2.cvtColor(cv2.imread(im["file"]), cv2.COLOR_BGR2RGB)
                    hits += shapes.judge(img) == (colour, shape)
                first = sum(1 for im in out["images"] if im.get("best_of", {}).get("chosen", 0) == 0)
            print(f"| {n} | {readout if n > 1 else '-'} | {hits}/{len(scenes)} | {seconds:.1f} | {first}/{len(scenes)} |",
                  flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
