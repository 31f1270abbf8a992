"""What a model folder's own processor encodes, from the transformers 4.x venv (processor_ids.py).

The main venv's transformers 5 rebuilds a LlamaTokenizerFast folder of DeepSeek's as a sentencepiece
tokenizer (other ids, no BOS), so fixtures whose expected prompts must follow the official code ask
the venv tools/setup.sh makes from tools/requirements-transformers4.txt.
"""
import json
import os
import pathlib
import subprocess

ROOT = pathlib.Path(__file__).resolve().parents[2]


def save_deepseek_layout(tok, path: pathlib.Path) -> None:
    """A `tokenizers.Tokenizer` as tokenizer.json in the layout of DeepSeek's published files: merges as
    "a b" strings (the tokenizers 0.15 format the official code reads; newer releases write pairs)."""
    doc = json.loads(tok.to_str())
    doc["model"]["merges"] = [m if isinstance(m, str) else " ".join(m) for m in doc["model"]["merges"]]
    doc["model"].pop("ignore_merges", None)
    path.write_text(json.dumps(doc, ensure_ascii=False, indent=2), encoding="utf-8")


def python() -> pathlib.Path:
    p = pathlib.Path(os.environ.get("JANUSKIT_HF4_PYTHON", ROOT / ".venv-hf4" / "bin" / "python"))
    if not p.exists():
        raise RuntimeError(f"{p} does not exist: run tools/setup.sh (it makes the transformers 4.x venv "
                           "from tools/requirements-transformers4.txt)")
    return p


def encode(jobs: list[dict]) -> list[dict]:
    """Each job {"folder", "class" (optional), "texts"} -> {"class", "transformers", "ids"} or {"error"}
    (processor_ids.py), all in one process of the transformers 4.x venv."""
    jobs = [{**j, "folder": str(j["folder"])} for j in jobs]
    cmd = [str(python()), str(pathlib.Path(__file__).with_name("processor_ids.py"))]
    r = subprocess.run(cmd, input=json.dumps(jobs), capture_output=True, text=True, check=False)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{r.stderr}")
    return json.loads(r.stdout)


def janus_ids(folder: pathlib.Path, texts: list[str]) -> list[list[int]]:
    """Prompt ids as the official Janus VLChatProcessor encodes them (it instantiates LlamaTokenizerFast)."""
    (out,) = encode([{"folder": folder, "class": "LlamaTokenizerFast", "texts": texts}])
    if "error" in out:
        raise RuntimeError(f"LlamaTokenizerFast refused {folder}: {out['error']}")
    return out["ids"]
