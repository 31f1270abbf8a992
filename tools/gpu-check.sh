#!/usr/bin/env bash
# The one script for a GPU machine (one H200, CUDA 13.0, nvcc, CMake, ninja, a Python with torch 2.11
# cu130 at /opt/torch/.venv, 16 cores, no package registry, no Debian -dev packages): builds januskit
# against that machine's own torch, runs the `gpu` tests, runs the decode benchmarks and the same
# workloads through transformers, and prints one short table at the end. Everything in under 8 minutes:
# each step has its own time limit and the steps stop early when the budget runs out.
#
#   tools/gpu-deps.sh                  # once, on a machine with apt: prepares .gpu-deps/ (git-ignored)
#   tools/gpu-check.sh                 # on the GPU machine, with .gpu-deps carried along
#   tools/gpu-check.sh --dry-run       # here: the same build (this venv's torch, CUDA on, the carried
#                                      # dependencies, OpenCV off) and the CPU-runnable parts, small
#
# Build: -DJANUSKIT_OPENCV=OFF (no OpenCV there: describe, generate --grid and train-demo are left out),
# -DJANUSKIT_PKGCONFIG=OFF (PCRE2/utf8proc found under .gpu-deps), CUDA for sm_90 only, and only the
# targets used here: the januskit binary and the gpu test executables.
#
# Output: a log of every step and JSON results in $OUT (the device tool's folder; build-gpu*/out
# elsewhere): log.txt, ctest.txt, bench_text.json, bench_image.json, text_vs.json, image_vs.json,
# summary.md. The last lines printed are the summary table.
#
# Environment: JANUSKIT_GPU_PYTHON (default /opt/torch/.venv/bin/python3; --dry-run: .venv/bin/python),
# JANUSKIT_GPU_BUDGET (seconds for the whole run, default 470), JANUSKIT_GPU_SLOWDOWN (factor on every
# time limit; default 1, 10 for --dry-run), JANUSKIT_JOBS (default: nproc).
set -uo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
dry=0
[[ "${1:-}" == "--dry-run" ]] && dry=1

start=$(date +%s)
# Step limits are for the 16-core GPU machine; a dry run on a small machine stretches them by `slow`.
slow="${JANUSKIT_GPU_SLOWDOWN:-1}"
((dry)) && slow="${JANUSKIT_GPU_SLOWDOWN:-10}"
budget="${JANUSKIT_GPU_BUDGET:-$((470 * slow))}"
if ((dry)); then
  py="${JANUSKIT_GPU_PYTHON:-$root/.venv/bin/python}"
  build="build-gpu-dry"
  device="cpu"
else
  py="${JANUSKIT_GPU_PYTHON:-/opt/torch/.venv/bin/python3}"
  build="build-gpu"
  device="cuda"
fi
out="${OUT:-$root/$build/out}"
mkdir -p "$out"
log="$out/log.txt"
: >"$log"
jobs="${JANUSKIT_JOBS:-$(nproc)}"
deps="$root/.gpu-deps/root"
export PATH="$(dirname "$py"):/usr/local/cuda/bin:$PATH"
export PYTHONUNBUFFERED=1
# The carried shared libraries (PCRE2, utf8proc); the binaries also find them through their RUNPATH.
export LD_LIBRARY_PATH="$deps/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

declare -A status   # step -> ok / FAILED (rc) / timed out / skipped
declare -a order

say() { printf '%s\n' "$*" | tee -a "$log"; }
elapsed() { echo $(($(date +%s) - start)); }
# step NAME LIMIT_SECONDS COMMAND...: runs with its output in the log, within both its own limit and
# what is left of the budget (keeping 15 s for the summary).
step() {
  local name="$1" limit=$(($2 * slow))
  shift 2
  order+=("$name")
  local left=$((budget - $(elapsed) - 15))
  ((left < limit)) && limit=$left
  if ((limit < 20)); then
    status[$name]="skipped (budget)"
    say "==> $name: skipped, $(elapsed) s of $budget s used"
    return 1
  fi
  say "==> $name (limit ${limit} s, at $(elapsed) s)"
  local t0=$(date +%s)
  timeout --kill-after=10 "$limit" "$@" >>"$log" 2>&1
  local rc=$?
  local took=$(($(date +%s) - t0))
  if ((rc == 0)); then
    status[$name]="ok (${took} s)"
  elif ((rc == 124 || rc == 137)); then
    status[$name]="timed out (${took} s)"
  else
    status[$name]="FAILED (exit $rc, ${took} s)"
  fi
  say "    ${status[$name]}"
  return $rc
}

say "januskit gpu-check $( ((dry)) && echo '--dry-run') at $(date -u '+%Y-%m-%d %H:%M:%S UTC'), commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
if ! ((dry)); then
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.mem --format=csv 2>&1 | tee -a "$log"
fi
say "nvcc: $(nvcc --version 2>/dev/null | tail -1); cmake: $(cmake --version 2>/dev/null | head -1); $(c++ --version 2>/dev/null | head -1)"
torch_prefix="$("$py" -c 'import torch; print(torch.utils.cmake_prefix_path)' 2>>"$log")"
say "python: $py; torch: $("$py" -c 'import torch; print(torch.__version__, torch.version.cuda)' 2>>"$log")"
if [[ -z "$torch_prefix" ]]; then
  say "error: $py cannot import torch; set JANUSKIT_GPU_PYTHON to a Python with torch"
  exit 1
fi
if [[ ! -d "$deps/usr/include" ]]; then
  say "error: $deps is missing: run tools/gpu-deps.sh on a machine with apt and carry .gpu-deps along"
  exit 1
fi

configure=(cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release
           "-DCMAKE_PREFIX_PATH=$torch_prefix;$deps/usr" "-DJANUSKIT_PYTHON=$py"
           -DJANUSKIT_CUDA=ON -DJANUSKIT_OPENCV=OFF -DJANUSKIT_PKGCONFIG=OFF
           -DCMAKE_CUDA_ARCHITECTURES=90 -DCMAKE_POLICY_VERSION_MINIMUM=3.5)
targets=(januskit_cli gpu_kernels gpu_decode gpu_io)
if step configure 90 "${configure[@]}" && step build 330 cmake --build "$build" -j "$jobs" --target "${targets[@]}"; then
  built=1
else
  built=0
fi

jk="$root/$build/januskit"
if ((built)); then
  # The gpu label: the kernels against their CPU twins, the sampler kernel, the CUDA decode path, the
  # CUDA weight loader (its fixture maker runs first). Skipped, not failed, without a GPU.
  step gpu-tests 200 ctest --test-dir "$build" -L gpu --output-on-failure --timeout 180
  grep -E "tests passed|tests failed|Skipped|Failed|\*\*\*" "$log" | tail -n 12 >"$out/ctest.txt" || true

  if ((dry)); then
    text=(--random r1-distill-qwen-1.5b --layers 1 --prompt-tokens 16 --new-tokens 4 --warmup 0 --device cpu)
    image=(--random janus-pro-1b --layers 1 --images 1 --prompt-tokens 8 --warmup 0 --device cpu)
    text_vs=(--shape r1-distill-qwen-1.5b --layers 1 --prompt-tokens 16 --new-tokens 4 --batch 1 --warmup 0 --device cpu)
    image_vs=(--shape tiny --images 2 --warmup 0 --device cpu)
  else
    text=(--random r1-distill-qwen-7b --prompt-tokens 512 --new-tokens 256 --batch 1 --batch 8 --warmup 1 --device cuda)
    image=(--random janus-pro-7b --images 16 --prompt-tokens 32 --warmup 1 --device cuda)
    # transformers runs eagerly (~25-40 tokens/s for a 7B at batch 1): shorter decodes, no warm-up for its
    # 16-image generation; januskit still warms up (its CUDA graph is captured there).
    text_vs=(--shape r1-distill-qwen-7b --layers 0 --prompt-tokens 512 --new-tokens 64 --batch 1 --batch 8 --warmup 1
             --device cuda --dtype bf16)
    image_vs=(--shape janus-pro-7b --layers 0 --images 16 --prompt-tokens 32 --warmup 0 --device cuda --dtype bf16)
  fi
  step bench-text 90 bash -c '"$0" bench text "${@}" --json > "'"$out"'/bench_text.json"' "$jk" "${text[@]}"
  step bench-image 90 bash -c '"$0" bench image "${@}" --json > "'"$out"'/bench_image.json"' "$jk" "${image[@]}"
  step text-vs-transformers 150 "$py" bench/text_vs_transformers.py "${text_vs[@]}" --januskit "$jk" \
    --json "$out/text_vs.json"
  step image-vs-transformers 200 "$py" bench/image_vs_transformers.py "${image_vs[@]}" --januskit "$jk" \
    --json "$out/image_vs.json"
fi

# --- Summary ------------------------------------------------------------------------------------
{
  echo
  echo "## gpu-check summary ($( ((dry)) && echo 'dry run, CPU' || echo "$device"), $(elapsed) s)"
  echo
  echo "| step | result |"
  echo "| --- | --- |"
  for s in "${order[@]}"; do echo "| $s | ${status[$s]} |"; done
  grep -hE "^[0-9]+% tests passed|tests failed out of" "$log" | tail -n 1 | sed 's/^/| gpu tests | /; s/$/ |/'
  "$py" - "$out" <<'EOF' 2>&1
import json, pathlib, sys
out = pathlib.Path(sys.argv[1])

def load(name):
    p = out / name
    try:
        return json.loads(p.read_text())
    except Exception:
        return None

b = load("bench_text.json")
if b:
    for r in b["rows"]:
        print(f"| januskit {b['model']} {b['dtype']} batch {r['batch']} | {r['decode_tokens_per_second']:.1f} tok/s, "
              f"{r['ms_per_step']:.2f} ms/step, {r['achieved_gbps']:.0f} GB/s = {r['percent_of_bandwidth']:.1f}% of "
              f"copy ({b['copy_gbps']:.0f} GB/s); prefill {r['prefill_tokens_per_second']:.0f} tok/s |")
b = load("bench_image.json")
if b:
    r = b["rows"][0]
    total = r["prefill_seconds"] + r["decode_seconds"]
    print(f"| januskit {b['model']} {b['dtype']} {r['batch']} images | {total:.2f} s ({r['images_per_minute']:.1f} "
          f"images/min), decode {r['decode_seconds']:.2f} s vs bound {r['bound_seconds']:.2f} s = "
          f"{r['decode_seconds'] / max(r['bound_seconds'], 1e-9):.2f}x; {r['percent_of_bandwidth']:.1f}% of copy |")
v = load("text_vs.json")
if v:
    for r in v["results"]:
        j, h = r["januskit"], r["transformers"]
        print(f"| vs transformers, {v['shape']} batch {r['batch']} | decode {j['decode_tokens_per_second']:.1f} vs "
              f"{h['decode_tokens_per_second']:.1f} tok/s = {j['decode_tokens_per_second'] / h['decode_tokens_per_second']:.2f}x; "
              f"prefill {j['prefill_tokens_per_second'] / h['prefill_tokens_per_second']:.2f}x |")
v = load("image_vs.json")
if v:
    j, h = v["januskit_seconds"], v["transformers"]["seconds"]
    print(f"| vs transformers, {v['shape']} {v['images']} images | {j:.2f} s vs {h:.2f} s = {h / j:.2f}x |")
EOF
} | tee "$out/summary.md" | tee -a "$log"

for s in "${order[@]}"; do
  [[ "${status[$s]}" == ok* ]] || exit 1
done
exit 0
