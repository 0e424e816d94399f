#!/usr/bin/env bash
# GPU checks and benchmarks in one command (issue 16). Run from anywhere in a checkout, on a CUDA machine:
#
#   benchmarks/gpu.sh                 # every stage: tests raycast e2e diffusion (each < 10 min, all < 25)
#   benchmarks/gpu.sh tests           # one stage (or several: benchmarks/gpu.sh raycast e2e)
#   benchmarks/gpu.sh fidelity        # opt-in, not part of "all": ~5 min training budget + evaluation
#
# Stages:
#   tests      python3 -m pytest -m cuda tests/cuda (CUDA vs CPU labels, determinism, Dask GPU worker,
#              chunked attention past the 65,535-row grid limit, bf16 training); SYNTHDATA_REQUIRE_CUDA=1
#              makes "no CUDA" a failure instead of 14 skips
#   raycast    benchmarks/throughput.py --render-only: render + annotate, shapes 256 clips (256², 24 frames),
#              highway and colonoscopy 64 clips each
#   e2e        benchmarks/throughput.py end to end (render, annotate, encode, write), shapes 64 clips,
#              with a Dask GPU worker (--compute local) and in-process (--compute sync)
#   diffusion  benchmarks/diffusion.py sample / batched / train (train in bf16, and fp32 for comparison)
#
# Results: each benchmark prints one JSON line; it is saved as ${OUT:-benchmarks/results}/<name>-<gpu>.json
# (e.g. throughput-shapes-h100-render-only.json; <gpu> from nvidia-smi, override with GPU_TAG=...), with
# the exact command added as "command". Full logs, nvidia-smi and the pytest JUnit XML go to $OUT/logs
# (or $TMPDIR/synthdata-gpu-logs when OUT is unset, so they are never committed by accident).
# Each step is bounded by STEP_TIMEOUT seconds (default 540: the device machine allows 10 min a command).
# The script keeps going after a failed step and exits 1 at the end if any failed (3: unusable machine).
#
# The GPU machine has Python 3.12 with torch+CUDA, numpy, pyarrow, opencv, rich, psutil, pandas, matplotlib
# but not diffusers, kornia, dask, distributed, hydra-core, omegaconf, pydantic, av, pycocotools. Download
# their wheels first, on a networked machine, from the repo root:
#
#   ../shared/tools/device-wheels pycocotools           # add: pytest pluggy iniconfig  if pytest is missing
#
# then carry ".whl" to the GPU machine; this script installs them (the same line device-wheels prints):
#   python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl \
#     && export PYTHONPATH=/tmp/site:$PWD
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 3

RESULTS=${OUT:-benchmarks/results}
LOGS=${OUT:+$OUT/logs}
LOGS=${LOGS:-${TMPDIR:-/tmp}/synthdata-gpu-logs}
STEP_TIMEOUT=${STEP_TIMEOUT:-540}
mkdir -p "$RESULTS" "$LOGS" || exit 3

usage() { sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'; }
STAGES=()
for arg in "$@"; do
  case "$arg" in
    all) STAGES+=(tests raycast e2e diffusion) ;;
    tests|raycast|e2e|diffusion|fidelity) STAGES+=("$arg") ;;
    -h|--help) usage; exit 0 ;;
    *) echo "gpu.sh: unknown stage '$arg'; expected one of: all tests raycast e2e diffusion fidelity" >&2; exit 2 ;;
  esac
done
[ ${#STAGES[@]} -eq 0 ] && STAGES=(tests raycast e2e diffusion)

# -- environment -----------------------------------------------------------------------------------------------
if compgen -G ".whl/*.whl" >/dev/null; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl \
    && export PYTHONPATH=/tmp/site:$PWD || { echo "gpu.sh: installing .whl/*.whl failed" >&2; exit 3; }
else
  echo "gpu.sh: no .whl/ here: using the installed packages (see the header to download wheels)" >&2
  export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}
fi
export PYTHONUNBUFFERED=1

echo "== nvidia-smi"
if command -v nvidia-smi >/dev/null 2>&1; then
  nvidia-smi 2>&1 | tee "$LOGS/nvidia-smi.txt"
  GPU_NAME=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -n1)
else
  echo "nvidia-smi not found" | tee "$LOGS/nvidia-smi.txt"
  GPU_NAME=""
fi

echo "== python environment"
python3 - <<'EOF' 2>&1 | tee "$LOGS/environment.txt"
import importlib, sys
import torch
print(f"python {sys.version.split()[0]}  torch {torch.__version__}  built for CUDA {torch.version.cuda}  "
      f"cuda available {torch.cuda.is_available()}  "
      f"{torch.cuda.get_device_name(0) if torch.cuda.is_available() else ''}")
missing = []
for mod in ("synthdata", "synthdata.annotate", "synthdata.run.executors", "diffusers", "kornia", "dask",
            "distributed", "hydra", "omegaconf", "pydantic", "av", "pycocotools", "safetensors", "psutil", "pytest"):
    try:
        m = importlib.import_module(mod)
        print(f"  ok      {mod} {getattr(m, '__version__', '')}")
    except Exception as exc:  # noqa: BLE001 - report every missing piece at once
        missing.append(mod)
        print(f"  MISSING {mod}: {type(exc).__name__}: {exc}")
if missing:
    print("missing: " + " ".join(missing) + "  (download their wheels with ../shared/tools/device-wheels NAME ...)")
sys.exit(3 if not torch.cuda.is_available() or set(missing) - {"pytest"} else 0)
EOF
[ $? -eq 0 ] || { echo "gpu.sh: this machine cannot run the GPU checks (see above; $LOGS/environment.txt)" >&2; exit 3; }

if [ -z "${GPU_TAG:-}" ]; then
  [ -n "$GPU_NAME" ] || GPU_NAME=$(python3 -c "import torch; print(torch.cuda.get_device_name(0))")
  GPU_TAG=$(echo "$GPU_NAME" | tr ' -' '\n\n' | grep -E '^[A-Za-z]+[0-9]+[A-Za-z]*$' | grep -viE '^nvidia$' | head -n1 \
            | tr 'A-Z' 'a-z')
  GPU_TAG=${GPU_TAG:-gpu}
fi
echo "== results: $RESULTS/*-$GPU_TAG*.json   logs: $LOGS   stages: ${STAGES[*]}"

# -- steps -----------------------------------------------------------------------------------------------------
FAILED=()
SUMMARY=()

# bench NAME SUFFIX STAGE -- COMMAND...: run COMMAND (tee'd to $LOGS/NAME[-SUFFIX].log) and save its JSON line
# as $RESULTS/NAME-$GPU_TAG[-SUFFIX].json
bench() {
  local name=$1 suffix=$2 stage=$3; shift 4
  local id=$name${suffix:+-$suffix}
  local log=$LOGS/$id.log dest=$RESULTS/$name-$GPU_TAG${suffix:+-$suffix}.json
  echo
  echo "== [$stage] $id: $*"
  local t0=$SECONDS
  timeout -k 15 "$STEP_TIMEOUT" "$@" 2>&1 | tee "$log"
  local rc=$?
  if [ $rc -eq 0 ]; then
    python3 - "$log" "$dest" "$stage" "$*" <<'EOF'
import json, sys
log, dest, stage, cmd = sys.argv[1:]
lines = [ln for ln in open(log, encoding="utf-8", errors="replace") if ln.startswith("{")]
if not lines:
    sys.exit(f"no JSON line in {log}")
d = json.loads(lines[-1])
d["command"] = cmd
open(dest, "w").write(json.dumps(d) + "\n")
print(f"-> {dest}")
EOF
    rc=$?
  fi
  if [ $rc -ne 0 ]; then
    [ $rc -eq 124 ] && echo "gpu.sh: $id ran past STEP_TIMEOUT=${STEP_TIMEOUT}s" >&2
    FAILED+=("$id (exit $rc)")
  fi
  SUMMARY+=("$(printf '%-6s %4ss  %s' "$([ $rc -eq 0 ] && echo ok || echo FAIL)" $((SECONDS - t0)) "$id")")
}

stage_tests() {
  echo
  echo "== [tests] python3 -m pytest -m cuda tests/cuda"
  local t0=$SECONDS
  SYNTHDATA_REQUIRE_CUDA=1 timeout -k 15 "$STEP_TIMEOUT" python3 -m pytest -m cuda tests/cuda -q -rs \
    -p no:cacheprovider --durations=10 --junitxml="$LOGS/tests-cuda-$GPU_TAG.xml" 2>&1 | tee "$LOGS/tests-cuda.log"
  local rc=$?
  [ $rc -eq 0 ] || FAILED+=("tests-cuda (exit $rc)")
  SUMMARY+=("$(printf '%-6s %4ss  %s' "$([ $rc -eq 0 ] && echo ok || echo FAIL)" $((SECONDS - t0)) "tests-cuda")")
}

stage_raycast() {
  bench throughput-shapes render-only raycast -- \
    python3 benchmarks/throughput.py --recipe shapes --clips 256 --device cuda --render-only
  bench throughput-highway render-only raycast -- \
    python3 benchmarks/throughput.py --recipe highway --clips 64 --device cuda --render-only
  bench throughput-colonoscopy render-only raycast -- \
    python3 benchmarks/throughput.py --recipe colonoscopy --clips 64 --device cuda --render-only
}

stage_e2e() {
  bench throughput-shapes dask e2e -- \
    python3 benchmarks/throughput.py --recipe shapes --clips 64 --device cuda --compute local
  bench throughput-shapes sync e2e -- \
    python3 benchmarks/throughput.py --recipe shapes --clips 64 --device cuda --compute sync
}

stage_diffusion() {
  local D=(python3 benchmarks/diffusion.py)
  bench diffusion-sample-tiny-32 "" diffusion -- \
    "${D[@]}" sample --model tiny --size 32 --frames 4 --clips 8 --sample-steps 25 --device cuda
  bench diffusion-sample-small-64 "" diffusion -- \
    "${D[@]}" sample --model small --size 64 --frames 8 --clips 8 --sample-steps 25 --device cuda
  bench diffusion-batched-tiny-32 "" diffusion -- \
    "${D[@]}" batched --model tiny --size 32 --frames 4 --clips 16 --guidance 2 --sample-steps 10 --device cuda
  bench diffusion-batched-small-64 "" diffusion -- \
    "${D[@]}" batched --model small --size 64 --frames 8 --clips 4 --guidance 2 --sample-steps 10 --device cuda
  bench diffusion-train-tiny-32 bf16 diffusion -- \
    "${D[@]}" train --model tiny --size 32 --frames 4 --batch 4 --steps 50 --warmup 5 --precision bf16 --device cuda
  bench diffusion-train-small-64 bf16 diffusion -- \
    "${D[@]}" train --model small --size 64 --frames 8 --batch 8 --steps 50 --warmup 5 --precision bf16 --device cuda
  bench diffusion-train-small-64 fp32 diffusion -- \
    "${D[@]}" train --model small --size 64 --frames 8 --batch 8 --steps 50 --warmup 5 --precision fp32 --device cuda
}

stage_fidelity() {
  bench diffusion-fidelity-tiny-32 "" fidelity -- \
    python3 benchmarks/diffusion.py fidelity --model tiny --size 32 --budget-s 300 --device cuda
}

for s in "${STAGES[@]}"; do "stage_$s"; done

echo
echo "== summary ($GPU_TAG, ${SECONDS}s)"
printf '%s\n' "${SUMMARY[@]}" | tee "$LOGS/summary.txt"
if [ ${#FAILED[@]} -gt 0 ]; then
  echo "failed: ${FAILED[*]}" | tee -a "$LOGS/summary.txt"
  exit 1
fi
