#!/usr/bin/env bash
# The WebGPU soak (bench/soak-run.ts) on a GPU machine without Node or internet, from .gpu-bench/soak/
# (scripts/pack-gpu-soak.sh, after scripts/pack-gpu-bench.sh). 2,000 tiny SDS iterations on Dawn/Vulkan,
# sampling RSS, heap, ArrayBuffers and the buffer pool every 100 (docs/reliability.md, section Soak).
# Usage: bash .gpu-bench/soak/run.sh [soak options; they win over the defaults, e.g. --iterations 6 --every 2]
# SOAK_MAX_SECONDS (default 420) stops the training at the next iteration after that many seconds and
# still writes the curve, so a time-boxed lease ends with results. The result lands in
# .gpu-bench/results/soak-webgpu.json; with $OUT set, it and the log are copied / written there.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"
# node, dawn.node, the Vulkan loader, libglvnd and the NVIDIA ICD (see vulkan-env.sh).
source ../vulkan-env.sh ..
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
log=/dev/null
if [ -n "${OUT:-}" ]; then log="$OUT/soak-webgpu.log"; fi
# A result left by an earlier run must not be mistaken for this one's.
rm -f ../results/soak-webgpu.json
# The options take their first occurrence, so "$@" ahead of the defaults overrides them.
../node --expose-gc soak.mjs "$@" --backends webgpu --iterations 2000 --every 100 \
  --max-seconds "${SOAK_MAX_SECONDS:-420}" --data data --name soak-webgpu 2>&1 | tee "$log"
if [ -n "${OUT:-}" ]; then cp ../results/soak-webgpu.json "$OUT/"; fi
