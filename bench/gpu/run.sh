#!/usr/bin/env bash
# Runs the conv3d bench, then the V-Net training-step bench, on a GPU machine without Node or internet,
# from the folder made by scripts/pack-gpu-bench.sh (bench/gpu/README.md).
# Usage: bash .gpu-bench/run.sh [--quick]   (--quick shrinks the conv3d sizes only)
# Prints the WebGPU (Dawn/Vulkan) tables beside PyTorch CUDA fp32; results land in
# .gpu-bench/results/{conv3d,vnet}.json and, when $OUT is set, are copied there.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"
[ -x node ] || { xz -dc node.xz >node && chmod +x node; }
dawn=node_modules/webgpu/dist/linux-x64/dawn.node
[ -f "$dawn" ] || xz -dc "$dawn.xz" >"$dawn"
if ! ldconfig -p | grep -q 'libvulkan.so.1'; then
  for f in debs/*.deb; do [ -f "$f" ] && dpkg -x "$f" /; done
  ldconfig
fi
# Dawn finds the NVIDIA Vulkan driver through its ICD file; point at it when the loader does not.
icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
if [ -z "${VK_DRIVER_FILES:-}${VK_ICD_FILENAMES:-}" ] && [ -f "$icd" ] && ! ls /usr/share/vulkan/icd.d/nvidia* >/dev/null 2>&1; then
  export VK_DRIVER_FILES="$icd"
fi
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d)}"
chmod 700 "$XDG_RUNTIME_DIR"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
export SDS_PYTHON="${SDS_PYTHON:-python3}"
./node bench/conv3d.mjs --cases conv3d-cases.json --torch-script torch_conv3d.py "$@"
if [ -n "${OUT:-}" ]; then cp results/conv3d.json "$OUT/"; fi
# One V-Net training step at both scales, WebGPU only (the kit has no wasm build tools), PyTorch on
# CUDA; no per-layer profile (it is taken for wasm only).
BENCH_BACKENDS=webgpu BENCH_TORCH_DEVICE=cuda ./node bench/vnet.mjs --no-profile
if [ -n "${OUT:-}" ]; then cp results/vnet.json "$OUT/"; fi
