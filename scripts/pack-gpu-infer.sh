#!/usr/bin/env bash
# Adds .gpu-bench/infer/ to the kit that scripts/pack-gpu-bench.sh makes: the whole-scan inference bench
# in its WebGPU mode (bench/infer.ts --backend webgpu: sds-web's WebGPU backend vs
# onnxruntime-web's WebGPU provider) for a GPU machine without Node or internet. Needs the kit's
# ../node.xz and ../node_modules/webgpu, so it runs after pack-gpu-bench.sh (which deletes .gpu-bench/).
# Writes only into .gpu-bench/infer/:
#   bench/infer.mjs.xz            bench/infer.ts bundled by esbuild (WGSL inlined as text; `webgpu` stays
#                                 external and resolves to ../node_modules/webgpu), xz-compressed
#   bench/ort-infer-child.mjs.xz  bench/support/ort-infer-child.ts bundled likewise (onnxruntime-web external)
#   node_modules/onnxruntime-web/ ORT-web's JSEP build only: dist/ort.min.mjs, the jsep .mjs and the
#                                 jsep .wasm xz-compressed, and a package.json that exports ort.min.mjs
#   data/                         the first LA scan of ../shared/data/la/cases.list (cases.list + mri_norm2.h5)
#   run.sh                        bench/gpu/infer-run.sh: unpacks, sets up Vulkan, runs the bench
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
kit="$root/.gpu-bench"
dest="$kit/infer"
cd "$root"
[ -f "$kit/node.xz" ] && [ -f "$kit/node_modules/webgpu/index.js" ] ||
  { echo "pack-gpu-infer: expected the kit of scripts/pack-gpu-bench.sh in $kit (node.xz, node_modules/webgpu); run that first" >&2; exit 1; }
la="${SDS_LA_DATA:-$root/../shared/data/la}"
case_name="$(tr -s '[:space:]' '\n' <"$la/cases.list" | grep -m1 .)"
[ -f "$la/$case_name/mri_norm2.h5" ] ||
  { echo "pack-gpu-infer: expected $la/$case_name/mri_norm2.h5 (the first case of $la/cases.list)" >&2; exit 1; }
rm -rf "$dest"
ort_dist="$dest/node_modules/onnxruntime-web/dist"
mkdir -p "$dest/bench" "$dest/data/$case_name" "$ort_dist"

esbuild() {
  node_modules/esbuild/bin/esbuild --bundle --platform=node --format=esm --target=node20 \
    --loader:.wgsl=text --external:webgpu --external:onnxruntime-web --log-level=warning "$@"
}
# infer.ts looks for ort-infer-child.mjs beside itself when support/ort-infer-child.ts is absent.
esbuild bench/infer.ts --outfile="$dest/bench/infer.mjs"
esbuild bench/support/ort-infer-child.ts --outfile="$dest/bench/ort-infer-child.mjs"
# xz: each bundle holds h5wasm's wasm (6 MB, 0.9 MB compressed), and the whole carried tree (kit and
# repository) must stay under the device tool's 64 MiB; run.sh unpacks them.
xz -T0 -6 -f "$dest/bench/infer.mjs" "$dest/bench/ort-infer-child.mjs"

# The child redirects `onnxruntime-web` to dist/ort.min.mjs beside what the package resolves to; this
# package.json resolves to that file directly, and nothing else of the package is needed.
src=node_modules/onnxruntime-web/dist
cp "$src/ort.min.mjs" "$src/ort-wasm-simd-threaded.jsep.mjs" "$ort_dist/"
xz -T0 -6 -c "$src/ort-wasm-simd-threaded.jsep.wasm" >"$ort_dist/ort-wasm-simd-threaded.jsep.wasm.xz"
version="$(node -p "require('./node_modules/onnxruntime-web/package.json').version")"
printf '{ "name": "onnxruntime-web", "version": "%s", "exports": { ".": "./dist/ort.min.mjs" } }\n' "$version" \
  >"$dest/node_modules/onnxruntime-web/package.json"

echo "$case_name" >"$dest/data/cases.list"
cp "$la/$case_name/mri_norm2.h5" "$dest/data/$case_name/"
cp bench/gpu/infer-run.sh "$dest/run.sh"
chmod +x "$dest/run.sh"
du -sh "$dest"
