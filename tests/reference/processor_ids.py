"""Prints what model folders' own transformers processors encode; run by the transformers 4.x venv.

    .venv-hf4/bin/python processor_ids.py < jobs.json > results.json

stdin: a JSON list of jobs {"folder": path, "class": optional tokenizer class name, "texts": [...]}.
stdout: one result per job, {"class": the class instantiated, "transformers": its version, "ids": one
list per text as `tokenizer.encode(text)` returns them (special tokens added the way the class adds
them)}, or {"error": message} when the processor refuses the folder. "class" loads that class
directly, as model code that fixes its tokenizer class does (Janus's VLChatProcessor:
LlamaTokenizerFast); without it AutoTokenizer follows tokenizer_config.json. One process for every
job: importing transformers is most of the cost.
"""
import json
import os
import sys

os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")

import transformers  # noqa: E402


def run(job: dict) -> dict:
    try:
        loader = getattr(transformers, job["class"]) if job.get("class") else transformers.AutoTokenizer
        tok = loader.from_pretrained(job["folder"])
    except (ValueError, OSError) as e:
        return {"error": str(e)}
    return {"class": type(tok).__name__, "transformers": transformers.__version__,
            "ids": [tok.encode(t) for t in job["texts"]]}


def main() -> int:
    json.dump([run(job) for job in json.load(sys.stdin)], sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
