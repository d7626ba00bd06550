#!/usr/bin/env bash
# `npm run bench:adapt-time [-- BASE]`: how long the demo's adaptation takes now against the code of
# commit BASE (default 8527e23, the tree on which issue 20's baseline figures were measured, before any
# of its speed work), same machine, same run, wasm with 2 threads, plain SIMD (Node's default).
#
# The workload is the demo's recipe: from the shipped pretrained V-Net, 200 supervised warm-up
# iterations on the 4 labeled scans, then 20 SDS iterations with the 10 unlabeled ones, batch-norm
# statistics re-estimated before and after (bench/adapt-time.ts, on scans written once by this tree so
# both trees read the same voxels). BASE runs it with its recipe set to that workload; this tree runs it
# twice: the same workload (the blend and the label-free scanner test off, which BASE did not have) and
# the demo's recipe as it ships (both on). Runs alternate BASE / this tree so drift in the machine's
# speed falls on both. Results: bench/results/adapt-time.json.
set -euo pipefail
base=${1:-8527e23}
root=$(git rev-parse --show-toplevel)
work=$(mktemp -d)
cleanup() {
  git -C "$root" worktree remove --force "$work/base" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
git -C "$root" worktree add --detach "$work/base" "$base" >/dev/null
ln -s "$root/node_modules" "$work/base/node_modules"
(cd "$work/base" && node scripts/build-wasm.js >/dev/null)
(cd "$root" && node scripts/build-wasm.js --if-stale >/dev/null)
cp "$root/bench/adapt-time.ts" "$work/base/bench/adapt-time.ts"
(cd "$root" && npx tsx bench/adapt-time.ts --prepare "$work/scans")
model="$root/examples/models/vnet16-hippocampus-v2.safetensors"
# BASE's finetune trained on the segmenter's whole window (48x64x48, mostly padding on these scans); this
# tree fits the patch inside the scans (32x48x32): BASE is given that patch, so only the code differs.
base_config='{"patch":[32,48,32],"optimizer":{"lr":0.01},"adaptation":{"supervisedWarmup":200}}'
same_config='{"adaptation":{"wiseFt":1,"augmentLabeled":false}}'
repeats=${ADAPT_TIME_REPEATS:-2}
for r in $(seq 1 "$repeats"); do
  (cd "$work/base" && npx tsx bench/adapt-time.ts --data "$work/scans" --model "$model" --config "$base_config" --label "base $base" --json "$work/base-$r.json")
  (cd "$root" && npx tsx bench/adapt-time.ts --data "$work/scans" --model "$model" --config "$same_config" --label "HEAD, same workload" --json "$work/same-$r.json")
  (cd "$root" && npx tsx bench/adapt-time.ts --data "$work/scans" --model "$model" --label "HEAD, the demo's recipe" --json "$work/demo-$r.json")
done
npx tsx "$root/bench/support/adapt-time-report.ts" "$base" "$(git -C "$root" rev-parse --short HEAD)" "$work" "$repeats" > "$root/bench/results/adapt-time.json"
cat "$root/bench/results/adapt-time.json"
