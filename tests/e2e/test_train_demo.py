"""`januskit train-demo` smoke test: a few steps of each demo training, the loss going down, and a
model folder that januskit loads and runs (the full training is not run in CI)."""
import json
import os
import subprocess

JANUSKIT = os.environ["JANUSKIT_BIN"]


def run(*args):
    r = subprocess.run([JANUSKIT, "-q", *args], capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_reasoner_trains_and_loads(tmp_path):
    out = tmp_path / "r1"
    report = json.loads(run("train-demo", "reasoner", "--out", str(out), "--steps", "40", "--seed", "3"))
    phase = report["phases"][0]
    assert phase["last_loss"] < phase["first_loss"] * 0.8, phase
    for f in ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "loss_curve.png",
              "training.json", "generation_config.json"):
        assert (out / f).exists(), f
    answer = json.loads(run("ask", "What is 1 + 2?", "-m", str(out), "--max-tokens", "8", "--json"))
    assert len(answer["output_ids"]) >= 1
    # The trained tokenizer.json is a real one: the Rust `tokenizers` package loads it and agrees.
    import tokenizers
    rust = tokenizers.Tokenizer.from_file(str(out / "tokenizer.json"))
    texts = ["What is 347 + 586?", "a small red circle on a blue background, top left",
             "<｜User｜>Hi<｜Assistant｜><think>\n7 + 6 = 13</think>\n\n\\boxed{13}", "Ünïcödé ☺ text"]
    lines = "".join(json.dumps({"text": t}) + "\n" for t in texts)
    r = subprocess.run([JANUSKIT, "tokenize", "--tokenizer", str(out), "--jsonl"], input=lines,
                       capture_output=True, text=True, timeout=60)
    ours = [json.loads(l)["ids"] for l in r.stdout.split("\n") if l]
    assert ours == [rust.encode(t, add_special_tokens=False).ids for t in texts]


def test_janus_trains_and_loads(tmp_path):
    out = tmp_path / "janus"
    report = json.loads(run("train-demo", "janus", "--out", str(out), "--steps", "12", "--seed", "3"))
    for phase in report["phases"]:
        assert phase["last_loss"] < phase["first_loss"], phase
    # The folder carries the image sampling the demo model draws best with; generate uses it.
    generation = json.loads((out / "generation_config.json").read_text())
    assert generation["do_sample"] and generation["guidance_scale"] >= 1 and generation["temperature"] > 0
    image = tmp_path / "x.png"
    run("generate", "a red circle on a white background", "-m", str(out), "-o", str(image))
    from PIL import Image
    assert f"CFG scale: {generation['guidance_scale']:g}, Temperature: {generation['temperature']:g}, " \
        in Image.open(image).info["parameters"]
    assert image.stat().st_size > 0
    text = json.loads(run("describe", str(image), "-m", str(out), "--max-tokens", "4", "--json"))
    assert len(text["output_ids"]) >= 1


def test_janus_init_continues_from_saved_weights(tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    a = json.loads(run("train-demo", "janus", "--out", str(first), "--steps", "12", "--seed", "3"))
    b = json.loads(run("train-demo", "janus", "--out", str(second), "--init", str(first), "--steps", "6",
                       "--seed", "3"))
    # No VQ phase: the tokenizer is the saved one, byte for byte in the new folder's weights. The
    # vision encoder's short pre-training runs again, then the language model continues.
    assert [p["phase"] for p in b["phases"]] == ["vision", "janus_lm"]
    assert [p["phase"] for p in a["phases"]] == ["vq", "vision", "janus_lm"]
    assert b["init"]["report"]["phases"] == a["phases"]
    assert (second / "tokenizer.json").read_bytes() == (first / "tokenizer.json").read_bytes()
    # The language model starts where the first run ended, not from random weights (loss ~9).
    first_lm = next(p for p in a["phases"] if p["phase"] == "janus_lm")
    start = next(p for p in b["phases"] if p["phase"] == "janus_lm")["first_loss"]
    assert start < first_lm["first_loss"] * 0.9, (start, first_lm)
    from safetensors.numpy import load_file
    w1, w2 = load_file(str(first / "model.safetensors")), load_file(str(second / "model.safetensors"))
    vq = [k for k in w1 if k.startswith("model.vqmodel.")]
    assert vq and all((w1[k] == w2[k]).all() for k in vq)
    assert any(not (w1[k] == w2[k]).all() for k in w1 if k.startswith("model.language_model."))
    # --vq-steps trains the kept tokenizer further (same token ids, new weights) before the rest.
    third = tmp_path / "third"
    c = json.loads(run("train-demo", "janus", "--out", str(third), "--init", str(first), "--vq-steps", "3",
                       "--steps", "4", "--seed", "3"))
    assert [p["phase"] for p in c["phases"]] == ["vq", "vision", "janus_lm"]
    assert next(p for p in c["phases"] if p["phase"] == "vq")["steps"] == 3
    assert (third / "tokenizer.json").read_bytes() == (first / "tokenizer.json").read_bytes()
    w3 = load_file(str(third / "model.safetensors"))
    assert any(not (w1[k] == w3[k]).all() for k in vq)
    # --vision-only trains the vision encoder and aligner alone; everything else (language model,
    # generation path, VQ tokenizer) is kept bit for bit, so generate draws exactly as before.
    fourth = tmp_path / "fourth"
    d = json.loads(run("train-demo", "janus", "--out", str(fourth), "--init", str(first), "--vision-only",
                       "--steps", "4", "--seed", "3"))
    assert [p["phase"] for p in d["phases"]] == ["understanding"]
    w4 = load_file(str(fourth / "model.safetensors"))
    understanding = ("model.vision_model.", "model.aligner.")
    assert all((w1[k] == w4[k]).all() for k in w1 if not k.startswith(understanding))
    for prefix in understanding:
        assert any(not (w1[k] == w4[k]).all() for k in w1 if k.startswith(prefix)), prefix


def test_init_needs_a_trained_janus_folder(tmp_path):
    for args in (["janus", "--init", str(tmp_path)], ["reasoner", "--init", str(tmp_path)]):
        r = subprocess.run([JANUSKIT, "train-demo", *args, "--out", str(tmp_path / "x")], capture_output=True,
                           text=True)
        assert r.returncode == 2 and r.stderr.startswith("error: ") and "--init" in r.stderr, r.stderr
        assert not (tmp_path / "x").exists()


def test_vq_steps_is_for_janus_only(tmp_path):
    for args in (["reasoner", "--vq-steps", "5"], ["janus", "--vq-steps", "-3"]):
        r = subprocess.run([JANUSKIT, "train-demo", *args, "--out", str(tmp_path / "x")], capture_output=True,
                           text=True)
        assert r.returncode == 2 and r.stderr.startswith("error: ") and "--vq-steps" in r.stderr, r.stderr
        assert not (tmp_path / "x").exists()


def test_vision_only_needs_init_and_keeps_the_tokenizer(tmp_path):
    (tmp_path / "training.json").write_text("{}")
    for args in (["janus", "--vision-only"], ["reasoner", "--vision-only"],
                 ["janus", "--init", str(tmp_path), "--vision-only", "--vq-steps", "5"]):
        r = subprocess.run([JANUSKIT, "train-demo", *args, "--out", str(tmp_path / "x")], capture_output=True,
                           text=True)
        assert r.returncode == 2 and r.stderr.startswith("error: ") and "--vision-only" in r.stderr, r.stderr
        assert not (tmp_path / "x").exists()


def test_same_seed_same_weights(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    run("train-demo", "reasoner", "--out", str(a), "--steps", "5", "--seed", "9")
    run("train-demo", "reasoner", "--out", str(b), "--steps", "5", "--seed", "9")
    assert (a / "model.safetensors").read_bytes() == (b / "model.safetensors").read_bytes()
    assert (a / "tokenizer.json").read_bytes() == (b / "tokenizer.json").read_bytes()


def test_bad_target_is_a_usage_error(tmp_path):
    r = subprocess.run([JANUSKIT, "train-demo", "vae", "--out", str(tmp_path / "x")], capture_output=True, text=True)
    assert r.returncode == 2 and r.stderr.startswith("error: ")
