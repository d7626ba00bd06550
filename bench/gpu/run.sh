#!/usr/bin/env bash
# The one runner of the GPU kit (.gpu-bench/, made by scripts/pack-gpu.sh; bench/gpu/README.md), on a GPU
# machine without Node or internet. It unpacks node and dawn.node, sets up Vulkan (vulkan-env.sh), prints
# nvidia-smi's GPU line, then runs one case:
#   bash .gpu-bench/run.sh bench [--quick]   conv3d (--quick: sizes / 4), then the V-Net training step, then
#                                            the SDS and Mean Teacher iterations
#   bash .gpu-bench/run.sh conv3d [options]  WebGPU conv kernels beside PyTorch CUDA fp32 -> results/conv3d-gpu.json
#   bash .gpu-bench/run.sh vnet [options]    one V-Net step, WebGPU only, PyTorch on CUDA -> results/vnet-gpu.json
#   bash .gpu-bench/run.sh iteration [opts]  one SDS and one Mean Teacher iteration at the demo's, its window's
#                                            and the LA scale, WebGPU, PyTorch CUDA eager beside it -> results/sds-gpu.json
#   bash .gpu-bench/run.sh soak [options]    2,000 tiny SDS iterations (options win over the defaults;
#                                            SOAK_MAX_SECONDS, default 420, ends it early) -> results/soak-webgpu-gpu.json
#   bash .gpu-bench/run.sh infer [options]   whole-scan inference, sds-web WebGPU vs onnxruntime-web's WebGPU
#                                            provider -> infer/results/infer-webgpu.json
#   bash .gpu-bench/run.sh sds RESULTS_DIR SEEDS MODE_GROUPS [experiment options]
#                                            the SDS experiment, one process per seed and '/'-separated group
#                                            of --modes lists, all at once; each writes RESULTS_DIR/seed<s>-<g>.json
# With $OUT set, each case's result (and the soak / infer log) is copied there. The adapter is printed
# and named in the rows: if it says SwiftShader, Vulkan found no GPU driver and the numbers are CPU numbers.
set -euo pipefail
kit="$(cd "$(dirname "$0")" && pwd)"
usage="usage: bash .gpu-bench/run.sh bench|conv3d|vnet|iteration|soak|infer|sds [options] (bench/gpu/README.md)"
[ "$#" -ge 1 ] || { echo "$usage" >&2; exit 2; }
what="$1"
shift
# node, dawn.node, the Vulkan loader, libglvnd and the NVIDIA ICD (see vulkan-env.sh).
source "$kit/vulkan-env.sh" "$kit"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null || true
out() { if [ -n "${OUT:-}" ]; then cp "$1" "$OUT/"; fi; }
log() { if [ -n "${OUT:-}" ]; then echo "$OUT/$1"; else echo /dev/null; fi; }

conv3d() {
  cd "$kit"
  BENCH_OUT=conv3d-gpu SDS_PYTHON="${SDS_PYTHON:-python3}" ./node bench/conv3d.mjs --cases conv3d-cases.json --torch-script torch_conv3d.py "$@"
  out results/conv3d-gpu.json
}

# One V-Net training step at both scales, WebGPU only (the kit has no wasm build tools), PyTorch on CUDA;
# no per-layer profile (it is taken for wasm only).
vnet() {
  cd "$kit"
  BENCH_OUT=vnet-gpu BENCH_BACKENDS=webgpu BENCH_TORCH_DEVICE=cuda ./node bench/vnet.mjs --no-profile "$@"
  out results/vnet-gpu.json
}

# One SDS and one Mean Teacher iteration (bench/sds-run.ts) on WebGPU, the same iteration in PyTorch on
# CUDA (bench/sds_torch.py, eager fp32); BENCH_LA_REPEATS 3 (the default 1 is for the minutes an LA iteration
# takes on two CPU cores; a GPU's time there is not measured yet).
iteration() {
  cd "$kit"
  BENCH_OUT=sds-gpu BENCH_BACKEND=webgpu BENCH_TORCH_DEVICE=cuda BENCH_LA_REPEATS="${BENCH_LA_REPEATS:-3}" \
    SDS_PYTHON="${SDS_PYTHON:-python3}" ./node bench/sds.mjs "$@"
  out results/sds-gpu.json
}

soak() {
  cd "$kit/soak"
  # A result left by an earlier run must not be mistaken for this one's.
  rm -f ../results/soak-webgpu-gpu.json
  # The options take their first occurrence, so "$@" ahead of the defaults overrides them.
  ../node --expose-gc soak.mjs "$@" --backends webgpu --iterations 2000 --every 100 \
    --max-seconds "${SOAK_MAX_SECONDS:-420}" --data data --name soak-webgpu-gpu 2>&1 | tee "$(log soak-webgpu-gpu.log)"
  out ../results/soak-webgpu-gpu.json
}

infer() {
  cd "$kit/infer"
  # The bundles and ORT's wasm, always unpacked afresh (a repacked kit must not run stale copies).
  for f in bench/infer.mjs bench/ort-infer-child.mjs node_modules/onnxruntime-web/dist/ort-wasm-simd-threaded.jsep.wasm; do
    xz -dc "$f.xz" >"$f"
  done
  ../node bench/infer.mjs --backend webgpu --data data "$@" 2>&1 | tee "$(log infer-webgpu.log)"
  out results/infer-webgpu.json
}

# One small V-Net step leaves a large GPU mostly idle: the seeds and mode groups run as parallel processes.
sds() {
  [ "$#" -ge 3 ] || { echo "usage: bash .gpu-bench/run.sh sds RESULTS_DIR SEEDS MODE_GROUPS [experiment options]" >&2; exit 2; }
  local results="$1" seeds="$2" groups="$3" pids=() rc=0 g
  shift 3
  mkdir -p "$results"
  [ -f "$kit/sds/experiment.mjs" ] || xz -dc "$kit/sds/experiment.mjs.xz" >"$kit/sds/experiment.mjs"
  # The bundle resolves node_modules/webgpu from its own folder upwards: the kit's copy.
  cd "$kit"
  for s in ${seeds//,/ }; do
    g=0
    for modes in ${groups//\// }; do
      ./node sds/experiment.mjs --backend webgpu --data sds/hippocampus --seeds "$s" --modes "$modes" --no-write \
        --json "$results/seed$s-$g.json" --out "/tmp/sds-events/$s-$g" "$@" >"$results/seed$s-$g.log" 2>&1 &
      pids+=($!)
      g=$((g + 1))
    done
  done
  for p in "${pids[@]}"; do wait "$p" || rc=$?; done
  tail -n 3 "$results"/seed*.log
  return $rc
}

case "$what" in
  bench)
    conv3d "$@"
    vnet
    iteration
    ;;
  conv3d | vnet | iteration | soak | infer | sds) "$what" "$@" ;;
  *) echo "$usage" >&2 && exit 2 ;;
esac
