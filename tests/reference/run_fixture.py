"""Runs one fixture maker, once, into a build-tree folder.

    run_fixture.py MAKER.py OUT_DIR [EXTRA_INPUT...]

A maker is a Python file under tests/reference/ defining `make(out_dir: pathlib.Path) -> None`.
It builds its inputs with fixed seeds (tiny random models with transformers, checkpoints saved by
torch/safetensors, tokenizers, ...), runs the reference, and writes inputs and expected outputs
into out_dir.

The maker runs only when its inputs changed: the stamp is a hash of the maker's source, of the
helper module tests/reference/fixture_util.py, of any EXTRA_INPUT files, and of the Python and
reference package versions. Output is written into a temporary folder and renamed into place, so
an interrupted run never leaves a half-made fixture behind.
"""
import hashlib
import importlib.metadata
import importlib.util
import pathlib
import shutil
import sys
import time

PACKAGES = ("torch", "transformers", "tokenizers", "safetensors", "numpy", "pillow")


def stamp_for(maker: pathlib.Path, extra: list[pathlib.Path]) -> str:
    h = hashlib.sha256()
    for f in [maker, maker.parent / "fixture_util.py", *extra]:
        h.update(str(f.name).encode())
        h.update(f.read_bytes() if f.exists() else b"<missing>")
    h.update(sys.version.encode())
    for p in PACKAGES:
        try:
            h.update(f"{p}={importlib.metadata.version(p)}".encode())
        except importlib.metadata.PackageNotFoundError:
            h.update(f"{p}=none".encode())
    return h.hexdigest()


def main() -> int:
    maker = pathlib.Path(sys.argv[1]).resolve()
    out = pathlib.Path(sys.argv[2])
    extra = [pathlib.Path(a) for a in sys.argv[3:]]
    stamp = stamp_for(maker, extra)
    stamp_file = out / ".stamp"
    if stamp_file.exists() and stamp_file.read_text() == stamp:
        print(f"fixture {out.name}: up to date")
        return 0
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    sys.path.insert(0, str(maker.parent))
    spec = importlib.util.spec_from_file_location(maker.stem, maker)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    start = time.time()
    module.make(tmp)
    (tmp / ".stamp").write_text(stamp)
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)
    print(f"fixture {out.name}: made in {time.time() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
