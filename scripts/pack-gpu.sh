#!/usr/bin/env bash
# Prepares .gpu-bench/, the kit for a GPU machine that has no Node and no internet (bench/gpu/README.md).
# Usage: scripts/pack-gpu.sh [CASE...]     CASE: bench, soak, infer, sds (default: bench soak infer)
# Always (the kit's root):
#   node.xz                     this machine's node binary (x86-64 Linux), xz-compressed
#   node_modules/webgpu/        the `webgpu` package with dist/linux-x64/dawn.node.xz (Dawn, Vulkan)
#   debs/                       the Vulkan loader and libglvnd's libraries (the NVIDIA ICD needs them), unpacked
#                               by vulkan-env.sh when the machine lacks them
#   run.sh, vulkan-env.sh       the one runner (bench/gpu/run.sh: `bash .gpu-bench/run.sh CASE [options]`)
# Per case (bundles by esbuild, WGSL inlined as text, `webgpu` external: it resolves to the kit's copy):
#   bench   bench/conv3d.mjs, bench/vnet.mjs, bench/sds.mjs (+ bench/vnet_torch.py, bench/sds_torch.py and
#           scripts/make-golden-vnet.py, which they import at that relative path), conv3d-cases.json, torch_conv3d.py
#   soak    soak/soak.mjs and soak/data/: the hippocampus scans of test/support/tiny-sds-run.ts
#   infer   infer/bench/{infer,ort-infer-child}.mjs.xz, ORT-web's JSEP build in infer/node_modules/, and
#           the first LA scan of ../shared/data/la/cases.list (SDS_LA_DATA overrides the folder)
#   sds     sds/experiment.mjs.xz (scripts/experiment-sds-run.ts) and the 118 hippocampus scans it reads
# The kit is git-ignored through .git/info/exclude, and travels by naming it in `carry`. Large files are
# xz-compressed: the whole carried tree (the repository included) must stay under the device tool's 64 MiB.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
kit="$root/.gpu-bench"
cd "$root"
cases=("$@")
[ "${#cases[@]}" -gt 0 ] || cases=(bench soak infer)
for c in "${cases[@]}"; do
  case "$c" in
    bench | soak | infer | sds) ;;
    *) echo "pack-gpu: expected cases among bench, soak, infer, sds; found \"$c\"" >&2 && exit 2 ;;
  esac
done
[ "$(uname -m)" = x86_64 ] || { echo "pack-gpu: node and dawn.node must be x86-64 builds; this machine is $(uname -m)" >&2; exit 1; }
grep -qxF '/.gpu-bench/' .git/info/exclude 2>/dev/null || echo '/.gpu-bench/' >>.git/info/exclude

bundle() {
  node_modules/esbuild/bin/esbuild --bundle --platform=node --format=esm --target=node20 \
    --loader:.wgsl=text --external:webgpu --log-level=warning "$@"
}
# A bundle whose entry runs MODULE's main with the command-line arguments (bench/run.ts's job under tsx,
# without the .wgsl loader: the WGSL is inlined). With "exit", the process ends when main returns even
# if Dawn or an abandoned WebGPU step keeps handles open.
entry() {
  local module="$1" out="$2" tail=''
  [ "${3:-}" = exit ] && tail='process.exit();'
  printf "import { main } from './%s';\nawait main(process.argv.slice(2));\n%s\n" "$module" "$tail" |
    bundle --sourcefile=gpu-entry.ts --outfile="$out"
}

pack_common() {
  rm -rf "$kit"
  mkdir -p "$kit/node_modules/webgpu/dist/linux-x64" "$kit/debs"
  cp bench/gpu/run.sh bench/gpu/vulkan-env.sh "$kit/"
  cp node_modules/webgpu/package.json node_modules/webgpu/index.js "$kit/node_modules/webgpu/"
  xz -T0 -6 -c node_modules/webgpu/dist/linux-x64/dawn.node >"$kit/node_modules/webgpu/dist/linux-x64/dawn.node.xz"
  xz -T0 -6 -c "$(command -v node)" >"$kit/node.xz"
  # The Vulkan loader, for a machine image without it (vulkan-env.sh unpacks it only then).
  (cd "$kit/debs" && apt-get -oAPT::Architecture=amd64 download libvulkan1 libglvnd0 libgl1 libglx0 libegl1 libopengl0 libgles2 >/dev/null 2>&1) ||
    echo "pack-gpu: could not download libvulkan1 and libglvnd (no apt access); run.sh will rely on the machine's loader" >&2
}

pack_bench() {
  mkdir -p "$kit/bench" "$kit/scripts"
  entry bench/conv3d-run.ts "$kit/bench/conv3d.mjs"
  entry bench/vnet-run.ts "$kit/bench/vnet.mjs" exit
  entry bench/sds-run.ts "$kit/bench/sds.mjs" exit
  # The -run.ts files look for their peers beside themselves, and vnet_torch.py (which sds_torch.py
  # imports) for the network at ../scripts/.
  cp bench/vnet_torch.py bench/sds_torch.py "$kit/bench/"
  cp scripts/make-golden-vnet.py "$kit/scripts/"
  cp bench/conv3d-cases.json bench/gpu/torch_conv3d.py "$kit/"
}

pack_soak() {
  local dest="$kit/soak"
  mkdir -p "$dest/data/images" "$dest/data/labels"
  # soak-run.ts reaches the GC itself when --expose-gc is missing.
  entry bench/soak-run.ts "$dest/soak.mjs" exit
  # The case names are read from tiny-sds-run.ts so the kit trains on exactly the scans the bench does.
  local cases
  mapfile -t cases < <(sed -n '/TINY_CASES = \[/,/\]/p' test/support/tiny-sds-run.ts | grep -o 'hippocampus_[0-9]*')
  [ "${#cases[@]}" -eq 3 ] || { echo "pack-gpu: expected 3 TINY_CASES in test/support/tiny-sds-run.ts, found ${#cases[@]}" >&2; exit 1; }
  for c in "${cases[@]}"; do
    cp "examples/data/images/$c.nii.gz" "$dest/data/images/"
    cp "examples/data/labels/$c.nii.gz" "$dest/data/labels/"
  done
}

pack_infer() {
  local dest="$kit/infer" la="${SDS_LA_DATA:-$root/../shared/data/la}" case_name
  case_name="$(tr -s '[:space:]' '\n' <"$la/cases.list" | grep -m1 .)"
  [ -f "$la/$case_name/mri_norm2.h5" ] ||
    { echo "pack-gpu: expected $la/$case_name/mri_norm2.h5 (the first case of $la/cases.list)" >&2; exit 1; }
  local ort_dist="$dest/node_modules/onnxruntime-web/dist"
  mkdir -p "$dest/bench" "$dest/data/$case_name" "$ort_dist"
  # infer.ts looks for ort-infer-child.mjs beside itself when support/ort-infer-child.ts is absent.
  bundle --external:onnxruntime-web bench/infer.ts --outfile="$dest/bench/infer.mjs"
  bundle --external:onnxruntime-web bench/support/ort-infer-child.ts --outfile="$dest/bench/ort-infer-child.mjs"
  # Each bundle holds h5wasm's wasm (6 MB, 0.9 MB compressed).
  xz -T0 -6 -f "$dest/bench/infer.mjs" "$dest/bench/ort-infer-child.mjs"
  # The child redirects `onnxruntime-web` to dist/ort.min.mjs beside what the package resolves to; this
  # package.json resolves to that file directly, and nothing else of the package is needed.
  local src=node_modules/onnxruntime-web/dist version
  cp "$src/ort.min.mjs" "$src/ort-wasm-simd-threaded.jsep.mjs" "$ort_dist/"
  xz -T0 -6 -c "$src/ort-wasm-simd-threaded.jsep.wasm" >"$ort_dist/ort-wasm-simd-threaded.jsep.wasm.xz"
  version="$(node -p "require('./node_modules/onnxruntime-web/package.json').version")"
  printf '{ "name": "onnxruntime-web", "version": "%s", "exports": { ".": "./dist/ort.min.mjs" } }\n' "$version" \
    >"$dest/node_modules/onnxruntime-web/package.json"
  echo "$case_name" >"$dest/data/cases.list"
  cp "$la/$case_name/mri_norm2.h5" "$dest/data/$case_name/"
}

pack_sds() {
  local dest="$kit/sds" src="$root/../shared/data/hippocampus" names
  mkdir -p "$dest/hippocampus/images" "$dest/hippocampus/labels"
  # The script itself is the entry point (a bare `import` of it would be dropped: package.json says sideEffects false).
  bundle scripts/experiment-sds-run.ts --outfile="$dest/experiment.mjs"
  xz -T0 -6 -f "$dest/experiment.mjs"
  # The first 58 and the last 60 scans by name: labeled, unlabeled, validation, held out, the order
  # scripts/experiment-sds-run.ts takes them in.
  mapfile -t names < <(ls "$src/images" | grep '\.nii\.gz$' | sort)
  for n in "${names[@]:0:58}" "${names[@]: -60}"; do
    cp "$src/images/$n" "$dest/hippocampus/images/"
    cp "$src/labels/$n" "$dest/hippocampus/labels/"
  done
}

pack_common
for c in "${cases[@]}"; do "pack_$c"; done
du -sh "$kit"
