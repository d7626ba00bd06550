#!/usr/bin/env bash
# Whole-scan sliding-window inference (bench/infer.ts) on a GPU machine without Node or internet, from
# .gpu-bench/infer/ (scripts/pack-gpu-infer.sh, after scripts/pack-gpu-bench.sh): sds-web's WebGPU
# backend vs onnxruntime-web's WebGPU provider (JSEP) on the same V-Net16 and LA scan, Dawn on Vulkan.
# Usage: bash .gpu-bench/infer/run.sh [bench/infer.ts options, e.g. --quick, --roi 64,64,48, --filters 8]
# The result lands in .gpu-bench/infer/results/infer-webgpu.json; with $OUT set, it and the log are
# copied / written there. The adapter is printed first and named in the rows: if it says SwiftShader,
# Vulkan found no GPU driver and the numbers are CPU numbers.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"
# The bundles and ORT's wasm, always unpacked afresh (a repacked kit must not run stale copies).
for f in bench/infer.mjs bench/ort-infer-child.mjs node_modules/onnxruntime-web/dist/ort-wasm-simd-threaded.jsep.wasm; do
  xz -dc "$f.xz" >"$f"
done
# node, dawn.node, the Vulkan loader, libglvnd and the NVIDIA ICD (see vulkan-env.sh).
source ../vulkan-env.sh ..
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null || true
log=/dev/null
if [ -n "${OUT:-}" ]; then log="$OUT/infer-webgpu.log"; fi
../node bench/infer.mjs --backend webgpu --data data "$@" 2>&1 | tee "$log"
if [ -n "${OUT:-}" ]; then cp results/infer-webgpu.json "$OUT/"; fi
