#!/usr/bin/env bash
# Every check that needs a GPU, in one command that fits the device tool's 10-minute limit.
#
# Nothing to prepare: the device machine cannot download, but its image already holds torch, accelerate,
# pandas, scipy, pytest-benchmark, scikit-learn and tensorboard, and fbn-bench is installed from this
# checkout without its dependencies (platformdirs, the one it lacks, is only imported when
# FBN_BENCH_DATA / FBN_BENCH_CACHE are unset; they are set below). Through the device tool:
#     run(command="bash benchmarks/device_check.sh", timeout_s=600)
# Everything it measures lands in $OUT (summary.txt first); each step has its own time limit, so one that
# hangs cannot take the others' results with it. It also runs on a CPU (slowly), which is how it was tested.
set -uo pipefail
OUT=${OUT:-/tmp/fbn-device-check}
mkdir -p "$OUT"
WORK=$(mktemp -d)
export FBN_BENCH_DATA="$WORK/data" FBN_BENCH_CACHE="$WORK/cache"
SUMMARY="$OUT/summary.txt"
PY=python3

step() {  # step NAME SECONDS COMMAND...: run one check, keep its whole output, note how it ended
    local name=$1 limit=$2; shift 2
    local start=$SECONDS
    timeout "$limit" "$@" >"$OUT/$name.log" 2>&1
    local rc=$?
    echo "== $name: exit $rc in $((SECONDS - start)) s" | tee -a "$SUMMARY"
}

{
    echo "fbn-bench device check, $(date -u +%FT%TZ), commit $(git rev-parse --short HEAD 2>/dev/null)"
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || echo "no nvidia-smi"
} | tee "$SUMMARY"

# The project itself, with no downloads: the image's packages provide its dependencies.
$PY -m pip install -q --no-deps --no-build-isolation -e . >"$OUT/install.log" 2>&1 || echo "install failed: see install.log" | tee -a "$SUMMARY"
$PY -c "import torch, accelerate; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), 'accelerate', accelerate.__version__)" | tee -a "$SUMMARY"

# 1. The fast unit tests on this machine (the GPU-only augmentation test included). Tests that pin CPU
#    determinism may legitimately differ on CUDA; the log says which failed and why.
step unit-tests 150 $PY -m pytest -q -m "not slow" -p no:cacheprovider tests
tail -n 3 "$OUT/unit-tests.log" >>"$SUMMARY"

# 2. Issue 4's speed target: an epoch from the uint8 cache vs decoding every epoch, on the GPU.
step data-speed 120 $PY -m pytest -q -s -p no:cacheprovider benchmarks/test_data_speed.py --benchmark-enable \
    --benchmark-json "$OUT/data-speed.json"
grep -E "faster" "$OUT/data-speed.log" >>"$SUMMARY"

# 3. The trainer's overhead over a bare loop, on the GPU.
step trainer-overhead 90 $PY -m pytest -q -s -p no:cacheprovider benchmarks/test_trainer_overhead.py --benchmark-enable
grep "trainer / bare loop" "$OUT/trainer-overhead.log" >>"$SUMMARY"

# 3b. Background prefetch (issue 19): step time with / without the gather on a thread and pinned copies.
step prefetch-speed 30 $PY -m pytest -q -s -p no:cacheprovider benchmarks/test_prefetch_speed.py --benchmark-enable
grep "prefetch on" "$OUT/prefetch-speed.log" >>"$SUMMARY"

# 4. The README's main command in bf16 on the GPU; then `evaluate` re-scores its checkpoint, which must
#    give the same numbers (a check of loading and of the gathered evaluation on this device).
step run-bf16 150 $PY -m fbn_bench run --tasks all --coupling soft+dm --mixed-precision bf16 --no-progress --out "$WORK/run-bf16"
grep -E "^\||^run |skipped" "$OUT/run-bf16.log" >>"$SUMMARY"
cp "$WORK/run-bf16/results.jsonl" "$OUT/run-bf16-results.jsonl" 2>/dev/null
step evaluate 60 $PY -m fbn_bench evaluate "$WORK/run-bf16" --no-progress --out "$WORK/eval"
$PY - "$WORK/run-bf16" "$WORK/eval" >>"$SUMMARY" 2>&1 <<'PY'
import json, sys
from pathlib import Path
read = lambda d: {(r["dataset"], r["metric"]): r["value"] for r in map(json.loads, (Path(d) / "results.jsonl").read_text().splitlines())}
run, again = read(sys.argv[1]), read(sys.argv[2])
worst = max(abs(run[k] - again[k]) for k in run)
print(f"evaluate vs run: {len(run)} scores, largest difference {worst:.2e}", "(same)" if worst < 1e-6 else "(DIFFERENT)")
PY

echo "== done in $SECONDS s; logs in $OUT" | tee -a "$SUMMARY"
