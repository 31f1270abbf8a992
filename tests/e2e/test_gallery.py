"""`januskit gallery` as a user runs it, on the tiny random Janus of tests/reference/make_janus_models.py
(16 image tokens, 64x64 pixel images).

- a small manifest: files, PNG metadata (the exact seed per image), gallery.json, contact sheets, index.html;
- SIGKILL at seeded points (after 0, 1, several images, and at random times), then a rerun: the folder equals
  an uninterrupted run's byte for byte, no image is written twice, no temporary or lock file is left;
- two shards rendering into one folder at the same time produce the one-process folder;
- index.html in headless Chromium (`-k chromium`, registered as its own CTest entry so that a machine
  without a usable Chromium reports it as skipped, not passed);
- broken manifests and flags: one `error:` line naming entry and field, exit 1 or 2, no folder left behind.
"""
import json
import os
import pathlib
import random
import re
import shutil
import signal
import subprocess
import time

import numpy as np
import pytest
from PIL import Image

JANUSKIT = os.environ["JANUSKIT_BIN"]
FIXTURES = pathlib.Path(os.environ["JANUSKIT_FIXTURES"]) / "janus_models"
JANUS = str(FIXTURES / "janus")
ARTIFACTS = pathlib.Path(os.environ["JANUSKIT_BUILD_DIR"]) / "test-artifacts" / "gallery"
# LibTorch's OpenMP threads spin badly on a shared, oversubscribed machine.
ENV = dict(os.environ, OMP_NUM_THREADS="1")

MANIFEST = {
    "title": "Gallery <test> & friends",
    "_comment": "keys starting with _ are ignored",
    "defaults": {"count": 3, "seed_start": 10},
    "entries": [
        "a red circle on a white background",
        {"prompt": "a small blue square", "name": "blue", "seeds": [5, 7, 1000]},
        {"prompt": "a green star", "seed_start": 100, "count": 4, "cfg": 3, "temperature": 0.7},
        {"prompt": "a green star", "count": 2, "top_k": 5},
    ],
}
# (folder, prompt, seed, cfg, temperature, top_k) of every image, in manifest order.
PLAN = ([("a-red-circle-on-a-white-background", "a red circle on a white background", s, 5, 1, 0) for s in (10, 11, 12)]
        + [("blue", "a small blue square", s, 5, 1, 0) for s in (5, 7, 1000)]
        + [("a-green-star", "a green star", s, 3, 0.7, 0) for s in (100, 101, 102, 103)]
        + [("a-green-star-2", "a green star", s, 5, 1, 5) for s in (10, 11)])
ENTRIES = ["a-red-circle-on-a-white-background", "blue", "a-green-star", "a-green-star-2"]
WROTE = r"^\[debug\] wrote "  # -v: one line per image written
TEMPORARY = re.compile(r"^\..+\.tmp-[A-Za-z0-9]{6}$")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-extensions",
                  "--hide-scrollbars", "--virtual-time-budget=10000"]


def gallery_args(manifest, out, *extra):
    return ["gallery", str(manifest), "-o", str(out), "-m", JANUS, *extra]


def run(*args, cwd=None):
    return subprocess.run([JANUSKIT, *args], capture_output=True, text=True, timeout=300, cwd=cwd, env=ENV)


def assert_error(r, code, *fragments):
    assert r.returncode == code, (r.returncode, r.stdout, r.stderr)
    errors = [l for l in r.stderr.strip().splitlines() if l.startswith("error: ")]
    assert len(errors) == 1, r.stderr
    for f in fragments:
        assert f in errors[0], (f, errors[0])
    return errors[0]


def write_manifest(path, manifest=MANIFEST):
    path.write_text(json.dumps(manifest, indent=1))
    return path


def snapshot(folder):
    """Every file under `folder` (hidden ones too) -> its bytes."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def assert_same_folder(got, want):
    a, b = snapshot(got), snapshot(want)
    assert sorted(a) == sorted(b), (sorted(set(a) ^ set(b)))
    differing = [k for k in a if a[k] != b[k]]
    assert not differing, differing


def image_files(folder):
    return sorted(str(p.relative_to(folder)) for p in folder.glob("*/*.png") if p.name != "contact_sheet.png")


def expected_files():
    images = [f"{d}/{s}.png" for d, _, s, *_ in PLAN]
    return sorted(images + [f"{e}/contact_sheet.png" for e in ENTRIES]
                  + ["contact_sheet.png", "gallery.json", "index.html"])


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """One uninterrupted run (--batch 2, so batches straddle entries and resumes hit half-written batches)."""
    root = tmp_path_factory.mktemp("reference")
    manifest = write_manifest(root / "gallery.json")
    r = run(*gallery_args(manifest, root / "out", "--batch", "2"))
    assert r.returncode == 0, r.stderr
    return root / "out", manifest, r


def test_render_files_metadata_index_and_sheets(reference):
    out, _, r = reference
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()) == expected_files()
    assert "rendered 12 images in" in r.stdout and "images/min" in r.stdout, r.stdout
    assert f"{out} holds 12 of 12 images" in r.stdout
    assert re.search(r"gallery +100% .* 12/12 ", r.stderr), r.stderr  # the progress bar over all images

    index = json.loads((out / "gallery.json").read_text())
    assert index["complete"] and index["images_total"] == index["images_present"] == 12
    assert index["title"] == MANIFEST["title"] and index["model"] == {"name": "janus", "steps": 16, "size": 64}
    assert [e["name"] for e in index["entries"]] == ENTRIES
    assert [(e["seeds"], e["contact_sheet"]) for e in index["entries"]][1] == ([5, 7, 1000], "blue/contact_sheet.png")
    assert index["contact_sheet"] == "contact_sheet.png"
    assert len(index["images"]) == len(PLAN)
    for record, (folder, prompt, seed, cfg, temperature, top_k) in zip(index["images"], PLAN):
        assert record["file"] == f"{folder}/{seed}.png" and record["entry"] == folder
        assert (record["prompt"], record["seed"], record["cfg"], record["temperature"], record["top_k"]) == \
            (prompt, seed, cfg, temperature, top_k)
        png = Image.open(out / record["file"])
        assert png.size == (64, 64) and png.mode == "RGB"
        params = png.info["parameters"]
        assert params == record["parameters"]
        assert params.startswith(prompt + "\nSteps: 16, ")
        assert f", CFG scale: {cfg}, Temperature: {temperature}, Top-k: {top_k}, Seed: {seed}, Size: 64x64, " \
               f"Model: janus, Version: januskit " in params, params
    # Seeds give different images; the same prompt and seed with other settings too.
    pixels = {f: np.asarray(Image.open(out / f)) for f in image_files(out)}
    assert len({p.tobytes() for p in pixels.values()}) == 12
    # `meta` reads an image's parameters back.
    meta = run("meta", str(out / "blue" / "1000.png"))
    assert meta.returncode == 0 and "Seed: 1000" in meta.stdout


def tiles(sheet, columns, count, tile=128, padding=4, caption=36, side=64):
    """The tiles of a contact sheet (make_contact_sheet's layout), each shrunk back to the images' side."""
    a = np.asarray(sheet).astype(np.float64)
    out = []
    for i in range(count):
        x, y = padding + (i % columns) * (tile + padding), padding + (i // columns) * (tile + caption + padding)
        t = a[y:y + tile, x:x + tile]
        out.append(t.reshape(side, tile // side, side, tile // side, 3).mean(axis=(1, 3)))
    return out


def assert_tiles_show(sheet_tiles, files):
    """Each tile is, of all the images, closest to its own: the sheet holds the images in order."""
    images = [np.asarray(Image.open(f)).astype(np.float64) for f in files]
    for i, t in enumerate(sheet_tiles):
        distances = [np.abs(t - image).mean() for image in images]
        others = min(d for j, d in enumerate(distances) if j != i) if len(images) > 1 else np.inf
        # Bilinear 8x upscaling blends neighbours into each block (~17 levels on these noisy images);
        # another image is ~100 levels away.
        assert distances[i] < 30 and distances[i] < others / 2, (files[i], distances)


def test_contact_sheets_hold_the_images_in_order(reference):
    out, _, _ = reference
    for entry in ENTRIES:
        seeds = [s for d, _, s, *_ in PLAN if d == entry]
        sheet = Image.open(out / entry / "contact_sheet.png")
        cols = len(seeds)  # up to 4 images: one row
        assert sheet.size == (cols * 132 + 4, 172), (entry, sheet.size)
        assert_tiles_show(tiles(sheet, cols, len(seeds)), [out / entry / f"{seed}.png" for seed in seeds])
    whole = Image.open(out / "contact_sheet.png")
    assert whole.size == (4 * 132 + 4, 3 * 168 + 4)  # 12 images, 4 columns
    assert_tiles_show(tiles(whole, 4, 12), [out / folder / f"{seed}.png" for folder, _, seed, *_ in PLAN])


def test_index_html_is_self_contained(reference):
    out, _, _ = reference
    html = (out / "index.html").read_text()
    assert "http://" not in html and "https://" not in html and "<link" not in html
    assert "<title>Gallery &lt;test&gt; &amp; friends</title>" in html
    refs = re.findall(r'(?:src|href)="([^"#]+)"', html)
    assert sorted(set(r for r in refs if r.endswith(".png") and "contact_sheet" not in r)) == image_files(out)
    for ref in refs:
        assert not ref.startswith("/") and (out / ref).is_file(), ref
    assert html.count("<figure data-file=") == 12 and "not rendered yet" not in html


def test_rerun_renders_nothing_and_changes_nothing(reference, tmp_path):
    out, manifest, _ = reference
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    before = {f: os.stat(copy / f).st_ino for f in image_files(copy)}
    r = run(*gallery_args(manifest, copy, "--batch", "2"))
    assert r.returncode == 0, r.stderr
    assert "nothing to render, all 12 images are present" in r.stdout, r.stdout
    assert {f: os.stat(copy / f).st_ino for f in image_files(copy)} == before
    assert_same_folder(copy, out)


def kill_after_lines(args, pattern, count):
    """Runs januskit -v and SIGKILLs it as soon as `count` stderr lines matched `pattern`."""
    p = subprocess.Popen([JANUSKIT, "-v", *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=ENV)
    seen = 0
    for line in p.stderr:
        if re.search(pattern, line):
            seen += 1
            if seen >= count:
                p.send_signal(signal.SIGKILL)
                break
    p.stderr.close()
    return p.wait(timeout=300)


def kill_after_seconds(args, seconds):
    p = subprocess.Popen([JANUSKIT, *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV)
    try:
        p.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        p.send_signal(signal.SIGKILL)
    return p.wait(timeout=300)


def resume_and_compare(work, manifest, reference_out):
    """Reruns to completion: exactly the missing images are written, none is rewritten, and the folder
    equals the uninterrupted run's."""
    present = {f: os.stat(work / f).st_ino for f in image_files(work)} if work.exists() else {}
    r = run(*gallery_args(manifest, work, "--batch", "2"))
    assert r.returncode == 0, r.stderr
    missing = 12 - len(present)
    if missing:
        noun = "image" if missing == 1 else "images"  # the summary speaks English: "rendered 1 image in"
        assert f"rendered {missing} {noun} in" in r.stdout, (missing, r.stdout)
    else:
        assert "nothing to render" in r.stdout, r.stdout
    assert {f: os.stat(work / f).st_ino for f in present} == present  # finished images were not rewritten
    assert_same_folder(work, reference_out)
    return len(present)


def test_sigkill_at_seeded_points_then_resume_equals_uninterrupted(reference, tmp_path):
    out, manifest, _ = reference
    rng = random.Random(20240911)
    args = lambda work: gallery_args(manifest, work, "--batch", "2")
    started = time.monotonic()
    assert run(*args(tmp_path / "timing")).returncode == 0
    duration = time.monotonic() - started
    # (pattern, lines) kills: after the model load (0 images), after 1 image, after several images.
    points = [("^loaded ", 1), (WROTE, 1), (WROTE, rng.randint(2, 10))]
    states = []
    for i, (pattern, n) in enumerate(points):
        work = tmp_path / f"kill{i}"
        kill_after_lines(args(work), pattern, n)
        states.append(resume_and_compare(work, manifest, out))
    # Kills at random times, several in a row on one folder, then the resume.
    work = tmp_path / "chain"
    for _ in range(4):
        kill_after_seconds(args(work), rng.uniform(0.05, duration))
        states.append(len(image_files(work)) if work.exists() else 0)
    resume_and_compare(work, manifest, out)
    print("images present at the kills:", states)
    assert any(0 < s < 12 for s in states), states  # at least one kill left a half-finished gallery


def test_stale_temporaries_and_locks_are_removed_but_foreign_files_kept(reference, tmp_path):
    out, manifest, _ = reference
    work = tmp_path / "work"
    kill_after_lines(gallery_args(manifest, work, "--batch", "2"), WROTE, 3)
    # What a kill inside a write leaves: a truncated image temporary, index temporaries, a lock file.
    (work / "blue").mkdir(exist_ok=True)
    (work / "blue" / ".7.png.tmp-AbC123").write_bytes(b"\x89PNG\r\n\x1a\ntruncated")
    (work / ".gallery.json.tmp-xyz789").write_text('{"format": "januskit-gall')
    (work / ".index.html.tmp-Q1w2E3").write_text("<!DOCTYPE")
    (work / ".januskit-gallery.lock").write_text("")
    # Not januskit's: left alone.
    foreign = work / ".notes.txt.tmp-abcdef"
    foreign.write_text("mine")
    leftovers = [p for p in work.rglob(".*") if TEMPORARY.match(p.name) and p != foreign]
    assert len(leftovers) >= 3, leftovers
    r = run(*gallery_args(manifest, work, "--batch", "2"))
    assert r.returncode == 0, r.stderr
    assert f"removed {len(leftovers)} unfinished temporary files" in r.stderr, (leftovers, r.stderr)
    assert foreign.read_text() == "mine"
    foreign.unlink()
    assert_same_folder(work, out)


def test_two_concurrent_shards_equal_one_process(reference, tmp_path):
    out, manifest, _ = reference
    shared = tmp_path / "shared"
    procs = [subprocess.Popen([JANUSKIT, *gallery_args(manifest, shared, "--batch", "2", "--shard", f"{i}/2")],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV) for i in (1, 2)]
    results = [p.communicate(timeout=300) + (p.returncode,) for p in procs]
    for stdout, stderr, code in results:
        assert code == 0, stderr
    rendered = [int(re.search(r"shard \d/2: rendered (\d+) images", stdout).group(1)) for stdout, _, _ in results]
    # 6 batches of 2 (three settings groups), alternating between the shards.
    assert rendered == [6, 6], [r[0] for r in results]
    assert_same_folder(shared, out)


def test_shards_one_after_another(reference, tmp_path):
    out, manifest, _ = reference
    shared = tmp_path / "shared"
    r = run(*gallery_args(manifest, shared, "--batch", "2", "--shard", "2/2"))
    assert r.returncode == 0, r.stderr
    assert "holds 6 of 12 images (the rest belong to other shards" in r.stdout, r.stdout
    index = json.loads((shared / "gallery.json").read_text())
    assert not index["complete"] and index["images_present"] == len(index["images"]) == 6
    assert "not rendered yet" in (shared / "index.html").read_text()
    r = run(*gallery_args(manifest, shared, "--batch", "2", "--shard", "1/2"))
    assert r.returncode == 0 and "holds 12 of 12 images" in r.stdout, r.stdout
    assert_same_folder(shared, out)


def test_changed_settings_need_force_and_damaged_images_are_rendered_again(reference, tmp_path):
    out, _, _ = reference
    work = tmp_path / "work"
    shutil.copytree(out, work)
    changed = json.loads(json.dumps(MANIFEST))
    changed["entries"][1]["cfg"] = 7
    manifest = write_manifest(tmp_path / "changed.json", changed)
    before = snapshot(work)
    err = assert_error(run(*gallery_args(manifest, work, "--batch", "2")), 1, "blue/5.png", "CFG scale: 5",
                       "CFG scale: 7", "so were 2 more images", "--force")
    assert snapshot(work) == before, err
    r = run(*gallery_args(manifest, work, "--batch", "2", "--force"))
    assert r.returncode == 0 and "rendered 12 images" in r.stdout, r.stderr
    assert "CFG scale: 7, " in Image.open(work / "blue" / "7.png").info["parameters"]
    # A damaged image (cut short by a failing disk, say) is rendered again; the rest stay.
    same = tmp_path / "same"
    shutil.copytree(out, same)
    damaged = same / "a-green-star" / "101.png"
    damaged.write_bytes(damaged.read_bytes()[:60])
    r = run(*gallery_args(reference[1], same, "--batch", "2"))
    assert r.returncode == 0 and "rendered 1 image in" in r.stdout and "1 image recomputed in a batch with missing ones" in r.stdout, (r.stdout, r.stderr)
    assert "a-green-star/101.png" in r.stderr and "rendering it again" in r.stderr
    assert_same_folder(same, out)


def test_text_manifest_with_flag_defaults(tmp_path):
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("# sample sheet\n\na red circle\n   \n  a small blue square  \r\n# done\n")
    out = tmp_path / "text"
    r = run(*gallery_args(prompts, out, "-n", "2", "--seed", "40", "--cfg", "2", "--top-k", "7"))
    assert r.returncode == 0, r.stderr
    assert image_files(out) == ["a-red-circle/40.png", "a-red-circle/41.png", "a-small-blue-square/40.png",
                                "a-small-blue-square/41.png"]
    index = json.loads((out / "gallery.json").read_text())
    assert index["title"] == "prompts"
    assert [(e["prompt"], e["cfg"], e["top_k"]) for e in index["entries"]] == [("a red circle", 2, 7),
                                                                              ("a small blue square", 2, 7)]


def test_sample_manifests_render(tmp_path):
    samples = pathlib.Path(os.environ["JANUSKIT_SOURCE_DIR"]) / "samples"
    for name, images in [("gallery-demo", 64), ("gallery-janus-pro", 57)]:
        r = run(*gallery_args(samples / f"{name}.json", tmp_path / name, "--batch", "0"))
        assert r.returncode == 0, r.stderr
        assert f"holds {images} of {images} images" in r.stdout, r.stdout
    demo = json.loads((tmp_path / "gallery-demo" / "gallery.json").read_text())
    assert [e["name"] for e in demo["entries"]][:5] == ["red-circle", "red-square", "red-triangle", "red-star", "green-circle"]
    # One row per entry: 4 seeds, 16 entries.
    assert Image.open(tmp_path / "gallery-demo" / "contact_sheet.png").size == (4 * 132 + 4, 16 * 168 + 4)


def test_bad_manifests_and_flags(tmp_path):
    out = tmp_path / "out"
    cases = [
        ('{"entries": [{"prompt": "x",}]}', ["not valid JSON", "line 1, column"]),
        ('[1, 2]', ['expected a JSON object with an "entries" list']),
        ('{"entries": []}', ["entries: the list is empty"]),
        ('{"prompts": ["x"]}', ['unknown field "prompts"']),
        ('{"entries": ["x", {"prompt": "y", "sed": 3}]}', ['entries[1] (prompt "y"): unknown field "sed"']),
        ('{"entries": [{"name": "neg", "prompt": "x", "count": -2}]}', ['entries[0] (name "neg"): count: must be at least 1, got -2']),
        ('{"entries": [{"prompt": "x", "count": 2.5}]}', ['entries[0] (prompt "x"): count: expected a whole number']),
        ('{"entries": ["ok", {"prompt": "  "}]}', ["entries[1]", "prompt: is empty"]),
        ('{"entries": [{"count": 2}]}', ["entries[0]: prompt: missing"]),
        ('{"entries": [{"prompt": "x", "cfg": "5"}]}', ['entries[0] (prompt "x"): cfg: expected a number, got "5"']),
        ('{"entries": [{"prompt": "x", "temperature": -1}]}', ["temperature: must be a number >= 0"]),
        ('{"entries": [{"prompt": "x", "top_k": -1}]}', ["top_k: must be >= 0"]),
        ('{"entries": [{"prompt": "x", "seeds": [1, 2, 1]}]}', ["seeds: seed 1 is listed twice"]),
        ('{"entries": [{"prompt": "x", "seeds": [1, -2]}]}', ["seeds[1]: -2 is negative"]),
        ('{"entries": [{"prompt": "x", "seeds": [1], "seed_start": 4}]}', ["seed_start: set either seeds"]),
        ('{"entries": [{"prompt": "x", "seeds": [1, 2], "count": 3}]}', ["count: count 3 does not match the 2 seeds"]),
        ('{"entries": [{"prompt": "x", "name": "../up"}]}', ['name: "../up" must be 1-64 letters']),
        ('{"entries": [{"prompt": "x", "name": "a"}, {"prompt": "y", "name": "A"}]}',
         ['entries[1] (name "A"): name: "A" is already used by entries[0]']),
        ('{"defaults": {"cont": 2}, "entries": ["x"]}', ['defaults: unknown field "cont"']),
        ('{"entries": [{"prompt": "x", "count": 1000000}]}', ["count: 1000000 is more than 100000 images"]),
        ('{"entries": [{"prompt": "x", "best_of": 0}]}', ["best_of: expected a whole number of candidates from 1 to 64"]),
        ('{"defaults": {"best_of": 65}, "entries": ["x"]}', ["defaults: best_of:", "got 65"]),
        ('{"entries": [{"prompt": "x", "best_of": "3"}]}', ["best_of:", 'got "3"']),
        ('{"entries": [{"prompt": "x", "plan": "yes"}]}', ['plan: expected true or false, got "yes"']),
        ('{"entries": [{"prompt": "' + "a red circle " * 200 + '"}]}', ["entries[0]", "prompt: the prompt is", "context of 512"]),
    ]
    for i, (text, fragments) in enumerate(cases):
        manifest = tmp_path / f"m{i}.json"
        manifest.write_text(text)
        assert_error(run(*gallery_args(manifest, out)), 1, f"m{i}.json: ", *fragments)
        assert not out.exists(), text
    comments = tmp_path / "only-comments.txt"
    comments.write_text("# nothing\n\n")
    assert_error(run(*gallery_args(comments, out)), 1, "only-comments.txt", "no prompts")
    assert_error(run(*gallery_args(tmp_path / "missing.json", out)), 1, "missing.json", "not found")
    good = write_manifest(tmp_path / "good.json")
    for shard in ["0/2", "3/2", "x", "1/0", "1-2", "1/2/3", ""]:
        assert_error(run(*gallery_args(good, out, "--shard", shard)), 2, "--shard")
    assert_error(run(*gallery_args(good, out, "--batch", "-1")), 2, "--batch")
    assert_error(run(*gallery_args(good, out, "-n", "0")), 2, "--count")
    assert_error(run(*gallery_args(good, out, "--cfg", "-1")), 2, "--cfg")
    assert_error(run(*gallery_args(good, out, "--best-of", "0")), 2, "--best-of")
    assert_error(run(*gallery_args(good, out, "--planner", DEMO_R1)), 2, "--planner", "--plan")
    assert_error(run(*gallery_args(good, out, "--plan", "--plan-tokens", "0")), 2, "--plan-tokens")
    assert_error(run("gallery", str(good), "-o", str(out), "-m", str(FIXTURES.parent / "text_models" / "qwen2")), 1,
                 "not a Janus-Pro")
    assert not out.exists()
    (tmp_path / "file.png").write_bytes(b"")
    assert_error(run(*gallery_args(good, tmp_path / "file.png")), 1, "file.png", "not a folder")
    assert_error(run("gallery", str(good)), 2, "--output")


def chromium():
    return os.environ.get("JANUSKIT_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


def skip(capfd, reason):
    # CTest's SKIP_REGULAR_EXPRESSION for this entry looks for "SKIPPED (" in the output, which pytest
    # would otherwise capture.
    with capfd.disabled():
        print(f"SKIPPED ({reason})", flush=True)
    pytest.skip(reason)


def run_chromium(*args, timeout=120):
    return subprocess.run([chromium(), *CHROMIUM_FLAGS, *args], capture_output=True, text=True, timeout=timeout)


def test_chromium_loads_every_image_and_opens_the_viewer(reference, tmp_path, capfd):
    out, _, _ = reference
    if not chromium():
        skip(capfd, "chromium is not installed; tools/setup.sh installs Debian's chromium")
    url = (out / "index.html").as_uri()
    # Chromium needs a writable profile; keep it out of the user's home.
    profile = f"--user-data-dir={tmp_path / 'profile'}"
    dom = run_chromium(profile, "--dump-dom", url)
    if dom.returncode != 0 or "<body" not in dom.stdout:
        skip(capfd, f"chromium cannot run here (exit {dom.returncode}): {dom.stderr.strip().splitlines()[-1:]}")
    body = re.search(r"<body[^>]*>", dom.stdout).group(0)
    attrs = dict(re.findall(r'(data-images-[a-z]+)="(\d+)"', body))
    assert attrs == {"data-images-total": "12", "data-images-loaded": "12", "data-images-broken": "0"}, body
    # A deep link opens the viewer on one image with its parameters.
    dom = run_chromium(profile, "--dump-dom", url + "#image=blue/1000.png")
    viewer = re.search(r'<div id="viewer"[^>]*>.*?</div>', dom.stdout, re.S).group(0)
    assert 'class="open"' in viewer and 'src="blue/1000.png"' in viewer and "Seed: 1000" in viewer, viewer
    # A screenshot of the page as a test artifact.
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "index.png"
    shot.unlink(missing_ok=True)
    r = run_chromium(profile, "--window-size=1100,900", f"--screenshot={shot}", url)
    assert r.returncode == 0 and shot.is_file(), r.stderr
    image = Image.open(shot)
    assert image.size == (1100, 900)
    # Not blank: the page shows the (colourful) images.
    assert np.asarray(image.convert("RGB")).std() > 20
    # A broken image is counted (and reported in the page's header).
    broken = tmp_path / "broken"
    shutil.copytree(out, broken)
    (broken / "blue" / "7.png").write_bytes(b"not a png")
    dom = run_chromium(profile, "--dump-dom", (broken / "index.html").as_uri())
    assert 'data-images-loaded="11"' in dom.stdout and 'data-images-broken="1"' in dom.stdout
    assert "1 of 12 images failed to load" in dom.stdout


def test_memory_cuts_planned_batches_into_parts(tmp_path):
    """With no memory to spare, --batch 2's batches run one image at a time: the folder a --batch 1 run makes."""
    manifest = write_manifest(tmp_path / "gallery.json")
    one = run(*gallery_args(manifest, tmp_path / "one", "--batch", "1"))
    assert one.returncode == 0, one.stderr
    cut = subprocess.run([JANUSKIT, *gallery_args(manifest, tmp_path / "cut", "--batch", "2")], capture_output=True,
                         text=True, timeout=300, env=dict(ENV, JANUSKIT_MEMORY_LIMIT="1"))
    assert cut.returncode == 0, cut.stderr
    assert "warning: memory:" in cut.stderr and "one at a time" in cut.stderr, cut.stderr
    assert_same_folder(tmp_path / "cut", tmp_path / "one")


DEMO_R1 = str(pathlib.Path(__file__).resolve().parents[2] / "models" / "demo-r1")
CHOOSING = {"title": "choosing", "defaults": {"temperature": 1},
            "entries": [{"prompt": "a red circle on a white background", "name": "red", "seeds": [1, 2], "best_of": 3},
                        {"prompt": "a small blue square", "name": "blue", "seeds": [5]},
                        {"prompt": "a red circle", "name": "planned", "seeds": [7], "plan": True, "best_of": 2}]}


def test_best_of_and_plan_entries_record_their_choice_and_resume(tmp_path):
    manifest = write_manifest(tmp_path / "choosing.json", CHOOSING)
    args = lambda out, *extra: gallery_args(manifest, out, "--planner", DEMO_R1, "--batch", "2", *extra)
    out = tmp_path / "out"
    r = run(*args(out))
    assert r.returncode == 0, r.stderr
    index = json.loads((out / "gallery.json").read_text())
    entries = {e["name"]: e for e in index["entries"]}
    assert entries["red"]["best_of"] == 3 and "best_of" not in entries["blue"] and entries["planned"]["best_of"] == 2
    plan = entries["planned"]["plan"]
    assert plan.strip() and plan != "a red circle" and "plan" not in entries["red"]
    images = {im["file"]: im for im in index["images"]}
    assert sorted(images) == ["blue/5.png", "planned/7.png", "red/1.png", "red/2.png"]
    for file, seed, n in [("red/1.png", 1, 3), ("red/2.png", 2, 3), ("planned/7.png", 7, 2)]:
        text = Image.open(out / file).text
        note = json.loads(text["best_of"])
        assert note == images[file]["best_of"] and note["seed"] == seed and note["readout"] == "caption"
        seeds = [c["seed"] for c in note["candidates"]]
        scores = [c["score"] for c in note["candidates"]]
        assert seeds == [seed + k * 2**32 for k in range(n)]  # candidate k of seed s: s + k * 2^32
        assert note["chosen"] == scores.index(max(scores))
        # The parameters name the winner, so `generate` with that seed draws this picture.
        assert f", Seed: {seeds[note['chosen']]}, " in text["parameters"]
        assert text["parameters"] == images[file]["parameters"]
    planned = Image.open(out / "planned/7.png").text
    assert planned["parameters"].startswith(plan + "\n")
    assert json.loads(planned["plan"]) == {"prompt": "a red circle", "plan": plan, "planner": DEMO_R1}
    assert images["planned/7.png"]["plan"] == plan and images["planned/7.png"]["prompt"] == "a red circle"
    assert "best_of" not in Image.open(out / "blue/5.png").text
    # A rerun finds every image done; a lost best-of image comes back byte for byte.
    assert "nothing to render" in run(*args(out)).stdout
    lost = (out / "red/2.png").read_bytes()
    (out / "red/2.png").unlink()
    r = run(*args(out))
    assert r.returncode == 0 and "rendered 1 image " in r.stdout, r.stdout
    assert (out / "red/2.png").read_bytes() == lost
    # Two shards, one after the other, make the same folder.
    shared = tmp_path / "shared"
    for shard in ("2/2", "1/2"):
        assert run(*args(shared, "--shard", shard)).returncode == 0
    assert_same_folder(shared, out)
    # Another readout is other settings: an error naming both, until --force.
    error = assert_error(run(*args(out, "--best-of-readout", "yes")), 1, "red/1.png")
    assert "best of 3 rated by caption" in error and "best of 3 rated by yes" in error
    r = run(*args(out, "--best-of-readout", "yes", "--force"))
    assert r.returncode == 0, r.stderr
    assert json.loads(Image.open(out / "red/1.png").text["best_of"])["readout"] == "yes"
