#!/usr/bin/env bash
# One-shot GPU check: environment, the gpu-marked tests, then `python -m benchmarks gpu`.
#
# Run from the repository root on a CUDA machine (CuPy + numba-cuda installed, lowrank_la
# importable, e.g. PYTHONPATH=$PWD).  Every step runs even when an earlier one failed (no
# `set -e`) and each is capped in time so that the whole script ends within GPU_CHECK_BUDGET
# seconds (default 390).  Output files go to $OUT (default /tmp/gpu_check_out):
#   info.txt          nvidia-smi, Python and package versions, numba-cuda's view of the device
#   pytest-gpu.log    the gpu tests' output;  pytest-gpu.xml  their junit report
#   bench-gpu.log     the benchmark's output
#   gpu-<device>.md / .json   the benchmark results (also written after every section)
# Extra arguments go to the benchmark (e.g. --full).

START=$(date +%s)
BUDGET=${GPU_CHECK_BUDGET:-390}
OUT=${OUT:-/tmp/gpu_check_out}
mkdir -p "$OUT"
PY=${PYTHON:-python3}
export PYTHONUNBUFFERED=1
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}

left() { echo $(( BUDGET - ($(date +%s) - START) )); }
cap() {  # cap WANTED -> min(WANTED, time left minus a margin), at least 10
    local l; l=$(( $(left) - ${2:-15} ))
    (( l < $1 )) && echo $(( l > 10 ? l : 10 )) || echo "$1"
}

{
    echo "== date: $(date -u +%FT%TZ)  host: $(hostname)  cwd: $PWD"
    echo "== nvidia-smi -L"; nvidia-smi -L 2>&1
    nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,clocks.max.mem \
        --format=csv 2>&1
    echo "== nproc: $(nproc)"
    echo "== python"
    timeout 60 "$PY" - <<'EOF' 2>&1
import importlib, importlib.metadata as md, sys
print(sys.version)
for d in ("numpy", "scipy", "cupy-cuda13x", "cupy-cuda12x", "numba", "numba-cuda", "torch",
          "array-api-compat", "array-api-strict", "pytest", "pytest-timeout", "hypothesis"):
    try:
        print(f"{d:18s} {md.version(d)}")
    except Exception as exc:
        print(f"{d:18s} -- ({type(exc).__name__})")
for mod in ("lowrank_la", "cupy", "numba.cuda"):
    try:
        m = importlib.import_module(mod)
        print(f"import {mod}: ok ({getattr(m, '__file__', '')})")
    except Exception as exc:
        print(f"import {mod}: FAILED {type(exc).__name__}: {exc}")
try:
    import cupy
    rt = cupy.cuda.runtime
    print("cupy devices:", rt.getDeviceCount(), "driver", rt.driverGetVersion(),
          "runtime", rt.runtimeGetVersion())
except Exception as exc:
    print("cupy device query FAILED:", type(exc).__name__, exc)
try:
    from numba import cuda
    print("numba.cuda.is_available():", cuda.is_available())
    cuda.detect()
except Exception as exc:
    print("numba.cuda FAILED:", type(exc).__name__, exc)
EOF
} > "$OUT/info.txt" 2>&1
cat "$OUT/info.txt"

echo "== pytest -m gpu ($(left) s left)"
TIMEOUT_OPT=()
"$PY" -c "import pytest_timeout" 2>/dev/null && TIMEOUT_OPT=(--timeout=90)
T_TEST=$(cap 150 250)
timeout -k 10 "$T_TEST" "$PY" -m pytest tests -m gpu --ignore=tests/distributed \
    -p no:cacheprovider -q -rfEs --maxfail=15 "${TIMEOUT_OPT[@]}" \
    --junitxml="$OUT/pytest-gpu.xml" > "$OUT/pytest-gpu.log" 2>&1
echo "pytest exit code: $? (124 = stopped at ${T_TEST} s)" >> "$OUT/pytest-gpu.log"
tail -n 40 "$OUT/pytest-gpu.log"

echo "== python -m benchmarks gpu $* ($(left) s left)"
T_BENCH=$(cap 240 10)
timeout -k 10 "$T_BENCH" "$PY" -m benchmarks gpu "$@" > "$OUT/bench-gpu.log" 2>&1
echo "benchmark exit code: $? (124 = stopped at ${T_BENCH} s; partial results were written" \
     "after every finished section)" >> "$OUT/bench-gpu.log"
tail -n 60 "$OUT/bench-gpu.log"

# the newest .md and .json of this run (at most 8 files come back: 5 above + these 2)
for ext in md json; do
    f=$(ls -t benchmarks/results/gpu-*."$ext" 2>/dev/null | head -n 1)
    [ -n "$f" ] && cp "$f" "$OUT/"
done
echo "== files in $OUT:"; ls -la "$OUT"
echo "== done in $(( $(date +%s) - START )) s"
exit 0
