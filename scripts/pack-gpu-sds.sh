#!/usr/bin/env bash
# Adds .gpu-bench/sds/ to the GPU kit (run scripts/pack-gpu-bench.sh first; it makes .gpu-bench/ and the
# node binary and dawn.node this uses): the SDS experiment bundled by esbuild with the WGSL inlined,
# the hippocampus scans it reads (the first 58 and the last 60 by name: labeled, unlabeled, validation,
# held out, the order scripts/experiment-sds-run.ts takes them in), and bench/gpu/run-sds.sh as run.sh.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dest="$root/.gpu-bench/sds"
cd "$root"
[ -d .gpu-bench ] || { echo "pack-gpu-sds: run scripts/pack-gpu-bench.sh first" >&2; exit 1; }
rm -rf "$dest"
mkdir -p "$dest/hippocampus/images" "$dest/hippocampus/labels"
# The script itself is the entry point (a bare `import` of it would be dropped: package.json says sideEffects false).
node_modules/esbuild/bin/esbuild scripts/experiment-sds-run.ts --bundle --platform=node --format=esm --target=node20 \
  --loader:.wgsl=text --external:webgpu --outfile="$dest/experiment.mjs" --log-level=warning
# xz: the whole carried tree (the repository included) must stay under the device tool's 64 MiB.
xz -T0 -6 -f "$dest/experiment.mjs"
src=../shared/data/hippocampus
mapfile -t names < <(ls "$src/images" | grep '\.nii\.gz$' | sort)
for n in "${names[@]:0:58}" "${names[@]: -60}"; do
  cp "$src/images/$n" "$dest/hippocampus/images/"
  cp "$src/labels/$n" "$dest/hippocampus/labels/"
done
cp bench/gpu/run-sds.sh "$dest/run.sh"
du -sh "$dest"
