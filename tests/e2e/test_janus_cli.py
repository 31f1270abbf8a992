"""`januskit generate`, `describe` and `meta` as a user runs them, on the tiny random Janus of
tests/reference/make_janus_models.py (16 image tokens, 64x64 pixel images)."""
import json
import os
import pathlib
import subprocess

from PIL import Image

JANUSKIT = os.environ["JANUSKIT_BIN"]
FIXTURES = pathlib.Path(os.environ["JANUSKIT_FIXTURES"]) / "janus_models"
JANUS = str(FIXTURES / "janus")


def run(*args, cwd=None, env=None):
    return subprocess.run([JANUSKIT, *args], capture_output=True, text=True, timeout=300, cwd=cwd,
                          env=None if env is None else {**os.environ, **env})


def assert_error(r, code, *fragments):
    assert r.returncode == code, (r.returncode, r.stdout, r.stderr)
    errors = [l for l in r.stderr.strip().splitlines() if l.startswith("error: ")]
    assert len(errors) == 1, r.stderr
    for f in fragments:
        assert f in errors[0], (f, errors[0])


def test_generate_files_metadata_seeds_and_json(tmp_path):
    out = tmp_path / "imgs" / "cat.png"
    r = run("generate", "a red circle", "a small blue square", "-n", "2", "-m", JANUS, "--seed", "100",
            "-o", str(out), "--json", "--grid")
    assert r.returncode == 0, r.stderr
    result = json.loads(r.stdout)
    files = [pathlib.Path(im["file"]) for im in result["images"]]
    assert [f.name for f in files] == ["cat_1.png", "cat_2.png", "cat_3.png", "cat_4.png"]
    assert [im["seed"] for im in result["images"]] == [100, 101, 102, 103]
    assert [im["prompt"] for im in result["images"]] == ["a red circle"] * 2 + ["a small blue square"] * 2
    for im in result["images"]:
        assert len(im["tokens"]) == 16 and all(0 <= t < 64 for t in im["tokens"])
        png = Image.open(im["file"])
        assert png.size == (64, 64) and png.mode == "RGB"
        params = png.info["parameters"]
        assert params.startswith(im["prompt"] + "\n")
        assert f"Seed: {im['seed']}" in params and "CFG scale: 5" in params and "Size: 64x64" in params
    assert pathlib.Path(result["grid"]).name == "cat_grid.png"
    # meta prints the parameters back
    meta = run("meta", str(files[2]))
    assert meta.returncode == 0 and meta.stdout.startswith("a small blue square\n") and "Seed: 102" in meta.stdout
    # No temporary files are left behind.
    assert sorted(p.name for p in out.parent.iterdir()) == ["cat_1.png", "cat_2.png", "cat_3.png", "cat_4.png", "cat_grid.png"]


def test_one_image_of_a_batch_reproduces_alone(tmp_path):
    batch = json.loads(run("generate", "a red circle", "-n", "3", "-m", JANUS, "--seed", "7", "-o",
                           str(tmp_path / "b.png"), "--json").stdout)
    alone = json.loads(run("generate", "a red circle", "-m", JANUS, "--seed", "9", "-o",
                           str(tmp_path / "a.png"), "--json").stdout)
    assert alone["images"][0]["tokens"] == batch["images"][2]["tokens"]
    assert (tmp_path / "a.png").read_bytes() != b""


def test_greedy_tokens_equal_the_reference():
    expected = json.loads((FIXTURES / "expected.json").read_text())
    # f32: the reference ran in f32, and bf16 (the default on CPUs with native bf16) may flip an argmax.
    r = run("generate", *expected["generation_prompts"], "-m", JANUS, "--temperature", "0", "--cfg", "5", "--dtype", "f32",
            "-o", "/tmp/januskit-e2e-%d.png", "--json")
    assert r.returncode == 0, r.stderr
    images = json.loads(r.stdout)["images"]
    # The official processor's prompts: BOS first although the folder's tokenizer.json adds none.
    assert [im["prompt_ids"] for im in images] == expected["generation_prompt_ids"]
    assert [im["tokens"] for im in images] == expected["generation_tokens"]


def generate_under_limit(tmp_path, limit, *extra):
    """40 images of two prompts with JANUSKIT_MEMORY_LIMIT=limit (None: the machine's own figure)."""
    out = tmp_path / f"limit_{limit}"
    r = run("generate", "a red circle", "a small blue square", "-n", "20", "-m", JANUS, "--seed", "5",
            "--dtype", "f32", "-o", f"{out}/", "--json", "-v", *extra,
            env={} if limit is None else {"JANUSKIT_MEMORY_LIMIT": limit})
    assert r.returncode == 0, r.stderr
    result = json.loads(r.stdout)
    assert len(result["images"]) == 40 and sum(result["batch_sizes"]) == 40
    assert len(list(out.glob("*.png"))) == 40
    return result, r.stderr


def test_batches_follow_the_free_memory(tmp_path):
    whole, log = generate_under_limit(tmp_path, None)
    assert whole["batch_sizes"] == [40]
    assert "memory:" in log and "a batch of 40 images needs" in log and "kept whole" in log, log
    tokens = [im["tokens"] for im in whole["images"]]
    largest = []
    # From nothing usable to plenty: batches only grow, and no image depends on how it was batched.
    for limit in ("1", "290MB", "300MB", "305MB", "320MB", "2GB"):
        result, log = generate_under_limit(tmp_path, limit)
        assert [im["tokens"] for im in result["images"]] == tokens, limit
        sizes = result["batch_sizes"]
        assert max(sizes) - min(sizes) <= 1, sizes  # near-equal parts
        if max(sizes) < 40:
            assert "JANUSKIT_MEMORY_LIMIT" in log, log
        largest.append(max(sizes))
    assert largest == sorted(largest), largest
    assert largest[0] == 1 and largest[-1] == 40, largest
    assert any(1 < n < 40 for n in largest), largest
    # Even one image over the budget: a warning, one at a time, still every image.
    _, log = generate_under_limit(tmp_path, "1")
    assert "warning: memory:" in log and "one at a time" in log, log
    # An explicit --batch is a ceiling; memory can only lower it.
    result, _ = generate_under_limit(tmp_path, None, "--batch", "16")
    assert result["batch_sizes"] == [16, 16, 8]


def test_a_bad_memory_limit_is_one_error_line(tmp_path):
    r = run("generate", "a red circle", "-m", JANUS, "-o", str(tmp_path / "x.png"),
            env={"JANUSKIT_MEMORY_LIMIT": "lots"})
    assert_error(r, 2, "JANUSKIT_MEMORY_LIMIT", "expected a size")
    assert not (tmp_path / "x.png").exists()


def model_with_generation_config(tmp_path, text):
    """The tiny Janus folder (files linked) with its own generation_config.json."""
    folder = tmp_path / "janus-gc"
    folder.mkdir()
    for f in FIXTURES.joinpath("janus").iterdir():
        if f.name != "generation_config.json":
            (folder / f.name).symlink_to(f.resolve())
    (folder / "generation_config.json").write_text(text)
    return str(folder)


def test_generate_takes_unset_settings_from_the_model_folder(tmp_path):
    model = model_with_generation_config(tmp_path, '{"do_sample": false, "guidance_scale": 1.5, "temperature": 0.9}')
    own = json.loads(run("generate", "a red circle", "-m", model, "--seed", "3", "-o", str(tmp_path / "own.png"),
                         "--json").stdout)
    assert "CFG scale: 1.5, Temperature: 0, Top-k: 0" in Image.open(tmp_path / "own.png").info["parameters"]
    explicit = json.loads(run("generate", "a red circle", "-m", JANUS, "--seed", "3", "--cfg", "1.5", "--temperature", "0",
                              "-o", str(tmp_path / "explicit.png"), "--json").stdout)
    assert own["images"][0]["tokens"] == explicit["images"][0]["tokens"]
    # A flag wins over the folder; what it leaves unset still comes from the folder.
    r = run("generate", "a red circle", "-m", model, "--cfg", "3", "-o", str(tmp_path / "flag.png"), "-q")
    assert r.returncode == 0, r.stderr
    assert "CFG scale: 3, Temperature: 0, " in Image.open(tmp_path / "flag.png").info["parameters"]
    (tmp_path / "bad").mkdir()
    bad = model_with_generation_config(tmp_path / "bad", '{"guidance_scale": -2}')
    assert_error(run("generate", "x", "-m", bad, "-o", str(tmp_path / "bad.png")), 1, "generation_config.json",
                 '"guidance_scale" must be a number >= 0')
    assert not (tmp_path / "bad.png").exists()


def test_output_pattern_and_folder(tmp_path):
    r = run("generate", "x", "-n", "2", "-m", JANUS, "-o", str(tmp_path / "o_%03d.png"), "-q")
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o_001.png", "o_002.png"]
    folder = tmp_path / "dir"
    folder.mkdir()
    assert run("generate", "x", "-m", JANUS, "-o", str(folder), "-q").returncode == 0
    assert [p.name for p in folder.iterdir()] == ["januskit_1.png"]


def test_describe_json_and_stream():
    r = run("describe", str(FIXTURES / "images" / "gradient.png"), "Describe this image.", "-m", JANUS,
            "--max-tokens", "8", "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    expected = json.loads((FIXTURES / "expected.json").read_text())
    # The prompt is the reference's, image placeholders expanded (the image differs: 64 px here).
    assert out["prompt_ids"] == expected["understanding_prompt_ids"]
    assert 1 <= len(out["output_ids"]) <= 8
    plain = run("describe", str(FIXTURES / "images" / "gradient.png"), "-m", JANUS, "--max-tokens", "8", "-q")
    assert plain.returncode == 0 and plain.stdout.endswith("\n")


def test_bad_input(tmp_path):
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    assert_error(run("describe", str(tmp_path / "broken.png"), "-m", JANUS), 1, "broken.png")
    assert_error(run("describe", str(tmp_path / "missing.jpg"), "-m", JANUS), 1, "missing.jpg", "not found")
    assert_error(run("generate", "x", "-m", JANUS, "-o", str(tmp_path / "x.jpg")), 2, "-o/--output")
    assert_error(run("generate", "x", "-m", JANUS, "-n", "0"), 2, "--count")
    assert_error(run("generate", "  ", "-m", JANUS), 2, "empty")
    assert_error(run("generate", "x", "-m", str(FIXTURES.parent / "text_models" / "qwen2")), 1, "not a Janus-Pro")
    assert_error(run("meta", str(tmp_path / "broken.png")), 1, "broken.png")
    assert list(tmp_path.iterdir()) == [tmp_path / "broken.png"]


def best_of_run(out, readout="caption"):
    """Two prompts, three candidates each, on the bundled demo-janus."""
    r = run("-q", "generate", "a red circle on a white background", "a small blue square", "--best-of", "3",
            "--best-of-readout", readout, "--seed", "9", "-o", f"{out}/", "--json")
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)["images"]


def test_best_of_keeps_the_best_scored_candidate_and_records_all(tmp_path):
    images = best_of_run(tmp_path / "a")
    assert len(images) == 2
    for i, im in enumerate(images):
        best = im["best_of"]
        seeds = [c["seed"] for c in best["candidates"]]
        scores = [c["score"] for c in best["candidates"]]
        assert seeds == [9 + i, 9 + i + 2, 9 + i + 4]  # candidate k of image i: seed + i + k * images
        assert best["chosen"] == scores.index(max(scores)) and best["score"] == max(scores)
        assert im["seed"] == seeds[best["chosen"]]
        text = Image.open(im["file"]).text
        assert f"Seed: {im['seed']}," in text["parameters"]
        note = json.loads(text["best_of"])
        assert note["readout"] == "caption" and note["chosen"] == best["chosen"]
        assert [c["seed"] for c in note["candidates"]] == seeds
    # The same command again: the same choices and the same files, byte for byte.
    again = best_of_run(tmp_path / "b")
    assert [im["best_of"] for im in again] == [im["best_of"] for im in images]
    for a, b in zip(images, again):
        assert pathlib.Path(a["file"]).read_bytes() == pathlib.Path(b["file"]).read_bytes()


def test_best_of_yes_readout_scores_differ_between_candidates(tmp_path):
    images = best_of_run(tmp_path, "yes")
    scores = [c["score"] for im in images for c in im["best_of"]["candidates"]]
    assert len(set(scores)) > 1, scores  # a readout that cannot tell pictures apart would choose nothing


def test_best_of_rejects_bad_values():
    assert_error(run("generate", "a red circle", "--best-of", "0"), 2, "--best-of")
    r = run("generate", "a red circle", "--best-of", "2", "--best-of-readout", "maybe")
    assert r.returncode == 2 and "--best-of-readout" in r.stderr, r.stderr


DEMO_R1 = str(pathlib.Path(__file__).resolve().parents[2] / "models" / "demo-r1")


def plan_run(out):
    r = run("-q", "generate", "a red circle", "--plan", "--planner", DEMO_R1, "--seed", "3", "-o", f"{out}/", "--json")
    assert r.returncode == 0, r.stderr
    (im,) = json.loads(r.stdout)["images"]
    return im


def test_plan_draws_the_planners_description_and_keeps_both_prompts(tmp_path):
    """The demo pair end to end: demo-r1 (an arithmetic model) plans, demo-janus draws the plan."""
    im = plan_run(tmp_path / "a")
    assert im["prompt"] == "a red circle" and im["plan"].strip() and im["plan"] != im["prompt"]
    text = Image.open(im["file"]).text
    assert text["parameters"].startswith(im["plan"] + "\n")  # what was drawn
    note = json.loads(text["plan"])
    assert note == {"prompt": "a red circle", "plan": im["plan"], "planner": DEMO_R1}
    again = plan_run(tmp_path / "b")  # greedy planning: the same plan, the same picture
    assert again["plan"] == im["plan"]
    assert pathlib.Path(again["file"]).read_bytes() == pathlib.Path(im["file"]).read_bytes()


def test_plan_flags_are_checked(tmp_path):
    assert_error(run("generate", "a red circle", "--planner", DEMO_R1, "-o", str(tmp_path / "x.png")), 2, "--plan")
    assert_error(run("generate", "a red circle", "--plan", "--plan-tokens", "0", "-o", str(tmp_path / "x.png")), 2,
                 "--plan-tokens")
    # demo-janus's own language model learned no text-only chat: an empty plan is an error, not a guess.
    r = run("generate", "a red circle", "--plan", "-o", str(tmp_path / "y.png"))
    assert_error(r, 1, "no description", "--plan-tokens")
    assert not (tmp_path / "y.png").exists()


def edit_run(out, *extra):
    """The fixture's picture edited by its first instruction, greedy, as `generate --image` runs it."""
    expected = json.loads((FIXTURES / "expected.json").read_text())
    r = run("-q", "generate", expected["edit_instructions"][0], "--image", str(FIXTURES / "images" / "photo.png"),
            "-m", JANUS, "--temperature", "0", "--seed", "4", "-o", str(out), "--json", *extra)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout), expected


def test_image_edit_follows_janus4o_procedure_and_records_its_source(tmp_path):
    j, expected = edit_run(tmp_path / "a.png")
    assert j["source"] == {"file": str(FIXTURES / "images" / "photo.png"), "image_cfg": 5.0}
    (im,) = j["images"]
    assert im["prompt_ids"] == expected["edit_prompt_ids"][0]
    assert im["tokens"] == expected["edit_tokens"][0]
    parameters = Image.open(im["file"]).text["parameters"]
    assert parameters.startswith(expected["edit_instructions"][0] + "\n")
    assert "Seed: 4, Image CFG scale: 5, Source image: photo.png, Size: 64x64" in parameters
    again, _ = edit_run(tmp_path / "b.png")
    assert pathlib.Path(again["images"][0]["file"]).read_bytes() == pathlib.Path(im["file"]).read_bytes()
    # The second weight is used: another value draws another picture.
    other, _ = edit_run(tmp_path / "c.png", "--image-cfg", "0")
    assert other["source"]["image_cfg"] == 0 and other["images"][0]["tokens"] != im["tokens"]


def test_image_edit_flags_and_bad_pictures(tmp_path):
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    out = str(tmp_path / "x.png")
    assert_error(run("generate", "x", "-m", JANUS, "--image", str(tmp_path / "broken.png"), "-o", out), 1, "broken.png")
    assert_error(run("generate", "x", "-m", JANUS, "--image", str(tmp_path / "no.png"), "-o", out), 1, "no.png", "not found")
    assert_error(run("generate", "x", "-m", JANUS, "--image-cfg", "2", "-o", out), 2, "--image-cfg", "--image")
    photo = str(FIXTURES / "images" / "photo.png")
    assert_error(run("generate", "x", "-m", JANUS, "--image", photo, "--image-cfg", "-1", "-o", out), 2, "--image-cfg")
    assert_error(run("generate", "x", "-m", JANUS, "--image", photo, "--best-of", "2", "-o", out), 2, "--best-of")
    assert_error(run("generate", "x", "-m", JANUS, "--image", photo, "--plan", "-o", out), 2, "--plan")
    assert list(tmp_path.iterdir()) == [tmp_path / "broken.png"]
