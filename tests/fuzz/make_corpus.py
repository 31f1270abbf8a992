"""Regenerates the committed seed corpora of the fuzz targets (tests/fuzz/corpus_*/) from the
checkpoint fixture maker, keeping only small files. Run by hand with the venv's Python when the
fixture maker changes:

    .venv/bin/python tests/fuzz/make_corpus.py
"""
import pathlib
import shutil
import sys
import tempfile
import zipfile

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "reference"))
import make_checkpoints  # noqa: E402

MAX_SEED = 8192


def reset(name: str) -> pathlib.Path:
    d = HERE / f"corpus_{name}"
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir()
    return d


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        out = pathlib.Path(tmp)
        make_checkpoints.make(out)
        header, pickle, zips = reset("safetensors_header"), reset("pickle"), reset("zip")
        # zip64_full.pt is the one seed with zip64 central-directory records: kept whatever its size.
        files = sorted(p for p in out.rglob("*")
                       if p.is_file() and (p.stat().st_size <= MAX_SEED or p.name == "zip64_full.pt"))
        # Model folders repeat the same shapes of file: one safetensors shard and one .bin suffice.
        keep = ("models/st_sharded/model-00001", "models/bin_single/")
        files = [p for p in files if "models" not in p.parts or any(k in p.as_posix() for k in keep)]
        for p in files:
            data = p.read_bytes()
            flat = "_".join(p.relative_to(out).parts)
            if p.suffix == ".safetensors":
                (header / flat).write_bytes(data)
            elif data[:4] == b"PK\x03\x04":
                (zips / flat).write_bytes(data)
                try:
                    with zipfile.ZipFile(p) as z:
                        for info in z.infolist():
                            if info.filename.endswith("data.pkl"):
                                (pickle / (flat + ".data.pkl")).write_bytes(z.read(info))
                except zipfile.BadZipFile:
                    pass
        for d in (header, pickle, zips):
            print(f"{d.name}: {len(list(d.iterdir()))} files, {sum(f.stat().st_size for f in d.iterdir())} bytes")


if __name__ == "__main__":
    main()
