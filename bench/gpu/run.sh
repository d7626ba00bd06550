#!/usr/bin/env bash
# Runs the conv3d bench, then the V-Net training-step bench, on a GPU machine without Node or internet,
# from the folder made by scripts/pack-gpu-bench.sh (bench/gpu/README.md).
# Usage: bash .gpu-bench/run.sh [--quick]   (--quick shrinks the conv3d sizes only)
# Prints the WebGPU (Dawn/Vulkan) tables beside PyTorch CUDA fp32; results land in
# .gpu-bench/results/{conv3d,vnet}.json and, when $OUT is set, are copied there.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"
# node, dawn.node, the Vulkan loader, libglvnd and the NVIDIA ICD (see vulkan-env.sh).
source "$here"/vulkan-env.sh "$here"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
export SDS_PYTHON="${SDS_PYTHON:-python3}"
./node bench/conv3d.mjs --cases conv3d-cases.json --torch-script torch_conv3d.py "$@"
if [ -n "${OUT:-}" ]; then cp results/conv3d.json "$OUT/"; fi
# One V-Net training step at both scales, WebGPU only (the kit has no wasm build tools), PyTorch on
# CUDA; no per-layer profile (it is taken for wasm only).
BENCH_BACKENDS=webgpu BENCH_TORCH_DEVICE=cuda ./node bench/vnet.mjs --no-profile
if [ -n "${OUT:-}" ]; then cp results/vnet.json "$OUT/"; fi
