#!/usr/bin/env bash
# Adds .gpu-bench/soak/ to the kit that scripts/pack-gpu-bench.sh makes: the soak bench
# (bench/soak-run.ts) for WebGPU on a GPU machine without Node tooling or internet. Needs the kit's
# ../node.xz and ../node_modules/webgpu, so it runs after pack-gpu-bench.sh (which calls it last).
# Writes only into .gpu-bench/soak/:
#   soak.mjs   bench/soak-run.ts bundled by esbuild (WGSL inlined as text, so no loader hook; `webgpu`
#              stays external and resolves to ../node_modules/webgpu)
#   data/      the hippocampus scans of test/support/tiny-sds-run.ts (images/ and labels/)
#   run.sh     bench/gpu/soak-run.sh: unpacks node and Dawn, sets up Vulkan, runs 2,000 iterations
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
kit="$root/.gpu-bench"
dest="$kit/soak"
cd "$root"
[ -f "$kit/node.xz" ] && [ -f "$kit/node_modules/webgpu/index.js" ] ||
  { echo "pack-gpu-soak: expected the kit of scripts/pack-gpu-bench.sh in $kit (node.xz, node_modules/webgpu); run that first" >&2; exit 1; }
rm -rf "$dest"
mkdir -p "$dest/data/images" "$dest/data/labels"

# bench/run.ts registers a .wgsl loader and relies on --expose-gc; bundled, the WGSL is inlined and
# soak-run.ts reaches the GC itself when the flag is missing. The exit ends the process even if Dawn
# keeps handles open after the device is destroyed.
printf "import { main } from './bench/soak-run.ts';\nawait main(process.argv.slice(2));\nprocess.exit(0);\n" |
  node_modules/esbuild/bin/esbuild --bundle --platform=node --format=esm --target=node20 \
    --loader:.wgsl=text --external:webgpu --sourcefile=gpu-soak-entry.ts --outfile="$dest/soak.mjs" --log-level=warning

# The case names are read from tiny-sds-run.ts so the kit trains on exactly the scans the bench does.
mapfile -t cases < <(sed -n '/TINY_CASES = \[/,/\]/p' test/support/tiny-sds-run.ts | grep -o 'hippocampus_[0-9]*')
[ "${#cases[@]}" -eq 3 ] || { echo "pack-gpu-soak: expected 3 TINY_CASES in test/support/tiny-sds-run.ts, found ${#cases[@]}" >&2; exit 1; }
for c in "${cases[@]}"; do
  cp "examples/data/images/$c.nii.gz" "$dest/data/images/"
  cp "examples/data/labels/$c.nii.gz" "$dest/data/labels/"
done
cp bench/gpu/soak-run.sh "$dest/run.sh"
chmod +x "$dest/run.sh"
du -sh "$dest"
