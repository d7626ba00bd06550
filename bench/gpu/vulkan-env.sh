# Sourced by the GPU kit's runner (bench/gpu/run.sh, copied into .gpu-bench/ with this file by scripts/pack-gpu.sh)
# with the kit's root as $1: unpacks node and dawn.node, and makes Dawn find the NVIDIA Vulkan driver on a
# bare GPU machine image.
# Seen on the lent H100 (2026-11-27): the image has an NVIDIA ICD whose library (libGLX_nvidia.so.0) needs
# the GL vendor-neutral dispatch (libglvnd) to hand out vkCreateInstance; without it the loader reports
# "Found no drivers" and Dawn falls back to no adapter. So the loader and libglvnd's libraries come in debs/.
kit_root="$1"
# The kit carries node and Dawn xz-compressed (the carried tree is limited); unpack them once.
[ -x "$kit_root/node" ] || { xz -dc "$kit_root/node.xz" >"$kit_root/node" && chmod +x "$kit_root/node"; }
dawn_node="$kit_root/node_modules/webgpu/dist/linux-x64/dawn.node"
[ -f "$dawn_node" ] || xz -dc "$dawn_node.xz" >"$dawn_node"
if ! ldconfig -p | grep -q 'libvulkan.so.1' || ! ldconfig -p | grep -q 'libGLdispatch.so.0'; then
  for f in "$kit_root"/debs/*.deb; do [ -f "$f" ] && dpkg -x "$f" /; done
  ldconfig
fi
icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
if [ -z "${VK_DRIVER_FILES:-}${VK_ICD_FILENAMES:-}" ] && [ -f "$icd" ]; then
  export VK_DRIVER_FILES="$icd"
fi
egl=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
if [ -z "${__EGL_VENDOR_LIBRARY_FILENAMES:-}" ] && [ -f "$egl" ]; then
  export __EGL_VENDOR_LIBRARY_FILENAMES="$egl"
fi
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d)}"
chmod 700 "$XDG_RUNTIME_DIR"
