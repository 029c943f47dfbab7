#!/usr/bin/env bash
# The GPU check: one command for a session that is lent a device machine (a GPU with torch and timm).
#
#   bash tools/benchmarks/gpu_check.sh            # writes $OUT/gpu_check.log and $OUT/*.json
#
# Runs from the repository root with the project on PYTHONPATH (no install needed: torch, timm and
# numpy are there; mmcv is not). Steps: versions; the compiled extension built in place; the CUDA
# tests (every test named *cuda*: CUDA == CPU bit for bit, op counts); the speed rows at 256x3x224x224
# and 256x3x32x32 (gpu_rows.py); tools/train.py images/s with --saliencymix vs --cutmix on both
# loader paths, interleaved (benchmark_train_throughput.py). Without CUDA it says so and runs the CPU
# part small, so the script itself is checked on any machine (tests/lab/test_gpu_check.py). About 6
# minutes on one H100; each step has its own time limit and the script goes on after a failure.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
OUT="${OUT:-output/gpu_check}"
mkdir -p "$OUT"
exec > >(tee "$OUT/gpu_check.log") 2>&1
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
PY="${PYTHON:-python}"
[ -x .venv/bin/python ] && [ -z "${PYTHON:-}" ] && PY=.venv/bin/python
step() { printf '\n== [%s] %s\n' "$(date +%H:%M:%S)" "$*"; }
status=0
run() { local limit=$1; shift; timeout "$limit" "$@" || { echo "!! failed or timed out ($limit s): $*"; status=1; }; }

step "versions"
nvidia-smi 2>/dev/null || echo "nvidia-smi: not found"
"$PY" -c "import sys, torch, timm, numpy; print('python', sys.version.split()[0], '| torch', torch.__version__,
'| timm', timm.__version__, '| numpy', numpy.__version__); print('CUDA:', torch.cuda.get_device_name()
if torch.cuda.is_available() else 'none (the CPU part runs, small)')"
CUDA=$("$PY" -c "import torch; print(int(torch.cuda.is_available()))")

step "compiled extension (built in place when missing or stale)"
if ! "$PY" -W error -c "from smix_timm.saliency import native; assert native.load() is not None" 2>/dev/null; then
  run 300 "$PY" setup.py -q build_ext --inplace
fi
"$PY" -c "from smix_timm.saliency import native; print('kernel:', native.dispatch())"

step "CUDA tests (CUDA == CPU bit for bit; torch ops per call independent of the batch)"
run 240 "$PY" -m pytest -q -p no:cacheprovider -k cuda -rs tests/test_apply.py tests/test_saliency.py tests/test_mix.py \
  tests/test_targets.py

step "speed rows: detectors, one mixing call vs timm CutMix, op count, ResNet-50 bf16 step"
run 240 "$PY" tools/benchmarks/gpu_rows.py --sizes 224 32 --batch 256 --json "$OUT/gpu_rows.json"

step "training throughput: --saliencymix vs --cutmix, prefetcher and --no-prefetcher, interleaved"
if [ "$CUDA" = 1 ]; then
  run 300 "$PY" tools/benchmarks/benchmark_train_throughput.py --rounds 2 --epochs 2 --train-per-class 100 \
    --data-dir "$OUT/data" --output "$OUT/runs" --json "$OUT/throughput.json" -- -b 256 --workers 8 --amp \
    --amp-dtype bfloat16 --channels-last --device cuda
else
  run 300 "$PY" tools/benchmarks/benchmark_train_throughput.py --rounds 1 --epochs 1 --train-per-class 4 \
    --data-dir "$OUT/data" --output "$OUT/runs" --json "$OUT/throughput.json" -- -b 8 --workers 0
fi
rm -rf "$OUT/runs" "$OUT/data"  # only the figures come back
step "done (status $status); log and JSON in $OUT"
exit $status
