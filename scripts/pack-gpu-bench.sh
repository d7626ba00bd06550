#!/usr/bin/env bash
# Prepares .gpu-bench/: everything bench/gpu/run.sh needs on a GPU machine that has no Node and no
# internet (see bench/gpu/README.md). Run from anywhere: scripts/pack-gpu-bench.sh
#   .gpu-bench/bench/conv3d.mjs      the conv3d bench, bundled by esbuild (WGSL inlined as text)
#   .gpu-bench/bench/vnet.mjs        the V-Net training-step bench (bench/vnet-run.ts), bundled likewise,
#                                    beside its PyTorch peer bench/vnet_torch.py, which imports the
#                                    network from ../scripts/make-golden-vnet.py (copied to keep that path)
#   .gpu-bench/node.xz               this machine's node binary (x86-64 Linux), xz-compressed
#   .gpu-bench/node_modules/webgpu/  the `webgpu` package with dist/linux-x64/dawn.node.xz (Dawn, Vulkan)
#   .gpu-bench/conv3d-cases.json, torch_conv3d.py, run.sh
#   .gpu-bench/debs/                 the Vulkan loader and libglvnd's libraries (the NVIDIA ICD needs them), unpacked
#                                    by vulkan-env.sh when the machine lacks them
# The folder is git-ignored through .git/info/exclude, and travels by naming it in `carry`.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dest="$root/.gpu-bench"
cd "$root"
[ "$(uname -m)" = x86_64 ] || { echo "pack-gpu-bench: node and dawn.node must be x86-64 builds; this machine is $(uname -m)" >&2; exit 1; }
grep -qxF '/.gpu-bench/' .git/info/exclude 2>/dev/null || echo '/.gpu-bench/' >>.git/info/exclude
rm -rf "$dest"
mkdir -p "$dest/bench" "$dest/scripts" "$dest/node_modules/webgpu/dist/linux-x64" "$dest/debs"

printf "import { main } from './bench/conv3d-run.ts';\nawait main(process.argv.slice(2));\n" |
  node_modules/esbuild/bin/esbuild --bundle --platform=node --format=esm --target=node20 \
    --loader:.wgsl=text --external:webgpu --sourcefile=gpu-bench-entry.ts --outfile="$dest/bench/conv3d.mjs" --log-level=warning
# bench/run.ts registers a .wgsl loader; bundled, the WGSL is inlined instead. The exit
# mirrors it: an abandoned WebGPU step (past its time cap) would keep the process alive.
printf "import { main } from './bench/vnet-run.ts';\nawait main(process.argv.slice(2));\nprocess.exit(0);\n" |
  node_modules/esbuild/bin/esbuild --bundle --platform=node --format=esm --target=node20 \
    --loader:.wgsl=text --external:webgpu --sourcefile=gpu-bench-vnet-entry.ts --outfile="$dest/bench/vnet.mjs" --log-level=warning
# vnet-run.ts looks for its peer beside itself, and vnet_torch.py for the network at ../scripts/.
cp bench/vnet_torch.py "$dest/bench/"
cp scripts/make-golden-vnet.py "$dest/scripts/"

cp bench/conv3d-cases.json bench/gpu/torch_conv3d.py bench/gpu/run.sh bench/gpu/vulkan-env.sh "$dest/"
cp node_modules/webgpu/package.json node_modules/webgpu/index.js "$dest/node_modules/webgpu/"
xz -T0 -6 -c node_modules/webgpu/dist/linux-x64/dawn.node >"$dest/node_modules/webgpu/dist/linux-x64/dawn.node.xz"
xz -T0 -6 -c "$(command -v node)" >"$dest/node.xz"
# The Vulkan loader, for a machine image without it (bench/gpu/run.sh unpacks it only then).
(cd "$dest/debs" && apt-get -oAPT::Architecture=amd64 download libvulkan1 libglvnd0 libgl1 libglx0 libegl1 libopengl0 libgles2 >/dev/null 2>&1) ||
  echo "pack-gpu-bench: could not download libvulkan1 and libglvnd (no apt access); run.sh will rely on the machine's loader" >&2
du -sh "$dest"
"$root/scripts/pack-gpu-soak.sh" # also pack .gpu-bench/soak/ (the WebGPU soak kit), see that script
"$root/scripts/pack-gpu-infer.sh" || echo "pack-gpu-bench: .gpu-bench/infer/ was not made (see above)" >&2 # also pack .gpu-bench/infer/ (the WebGPU inference kit), see that script
