#!/usr/bin/env bash
# Runs the SDS experiment (scripts/experiment-sds-run.ts, bundled) on a GPU machine without Node or
# internet, from .gpu-bench/sds/ made by scripts/pack-gpu-sds.sh: one process per seed, all at once (a
# single small V-Net training step does not fill a large GPU), each writing its runs as JSON for
# `npm run experiment:sds -- --merge ...` back on the development machine.
# Usage: bash .gpu-bench/sds/run.sh RESULTS_DIR SEEDS MODE_GROUPS [experiment options...]
#   MODE_GROUPS: '/'-separated --modes lists, one process per seed and group (each repeats the seed's
#   deterministic stage 1), e.g.
#   bash .gpu-bench/sds/run.sh /tmp/r/sds 0,1,2 sds/sds-fixed-ema/supervised,mean-teacher --filters 16
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
results="$1"
seeds="$2"
groups="$3"
shift 3
mkdir -p "$results"
kit="$here/.."
[ -f "$here/experiment.mjs" ] || xz -dc "$here/experiment.mjs.xz" >"$here/experiment.mjs"
# node, dawn.node, the Vulkan loader, libglvnd and the NVIDIA ICD (see vulkan-env.sh).
source "$kit"/vulkan-env.sh "$kit"
# The bundle resolves node_modules/webgpu from its own folder upwards: the kit's copy.
cd "$kit"
pids=()
for s in ${seeds//,/ }; do
  g=0
  for modes in ${groups//\// }; do
    ./node sds/experiment.mjs --backend webgpu --data sds/hippocampus --seeds "$s" --modes "$modes" --no-write \
      --json "$results/seed$s-$g.json" --out "/tmp/sds-events/$s-$g" "$@" >"$results/seed$s-$g.log" 2>&1 &
    pids+=($!)
    g=$((g + 1))
  done
done
rc=0
for p in "${pids[@]}"; do wait "$p" || rc=$?; done
tail -n 3 "$results"/seed*.log
exit $rc
