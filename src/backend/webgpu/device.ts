import { SdsError } from '../../core/errors.js';

export interface GpuDeviceOptions {
  /** Use this device instead of acquiring one (e.g. a viewer's own device). */
  readonly device?: GPUDevice;
  readonly powerPreference?: GPUPowerPreference;
}

export interface AcquiredDevice {
  readonly device: GPUDevice;
  readonly adapterInfo: { vendor: string; architecture: string; device: string; description: string };
}

/** Limits we ask for at the adapter's real maximum: the defaults (128 MiB bindings) are far below what 3-D volumes need. */
const REQUESTED_LIMITS = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupSizeZ',
  'maxStorageBuffersPerShaderStage',
  'maxComputeWorkgroupsPerDimension',
] as const;

const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

const HOW_TO_GET_ONE =
  'In a browser, use one with WebGPU enabled (Chrome/Edge 113+, or Chromium with --enable-unsafe-webgpu). ' +
  "In Node, install the optional 'webgpu' package; on a machine without a GPU install Debian's chromium and libvulkan1 " +
  `packages so that SwiftShader (${SWIFTSHADER_ICD}) can serve as a CPU Vulkan driver.`;

async function nodeGpu(): Promise<GPU> {
  const env = process.env;
  // Dawn reads the Vulkan loader's variables when it creates its instance, so set them first. Without a
  // GPU driver the only Vulkan device is SwiftShader (shipped in Debian's chromium package).
  const fs = await import('node:fs');
  if (!env.VK_ICD_FILENAMES && !env.VK_DRIVER_FILES && fs.existsSync(SWIFTSHADER_ICD) && !hasVulkanDriver(fs)) {
    env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
  }
  if (!env.XDG_RUNTIME_DIR) {
    const os = await import('node:os');
    const path = await import('node:path');
    const dir = path.join(os.tmpdir(), `sds-web-xdg-${process.getuid?.() ?? 0}`);
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    env.XDG_RUNTIME_DIR = dir;
  }
  // Without a Vulkan loader Dawn prints its own warning and stack line to stderr before it finds no
  // adapter; say why in one line instead, before Dawn is asked.
  if (process.platform === 'linux' && findVulkanLoader(fs, env.LD_LIBRARY_PATH) === undefined)
    throw new SdsError('E_NO_ADAPTER', `no Vulkan loader (${VULKAN_LOADER}) on this machine, which Dawn needs on Linux. ${HOW_TO_GET_ONE}`);
  let mod: { create(flags: string[]): GPU; globals: object };
  try {
    mod = (await import(/* @vite-ignore */ 'webgpu' as string)) as typeof mod;
  } catch (err) {
    throw new SdsError(
      'E_NO_ADAPTER',
      `the 'webgpu' package (Dawn for Node) could not be loaded: ${(err as Error).message}. ${HOW_TO_GET_ONE}`,
    );
  }
  // Dawn's globals (GPUBufferUsage, GPUMapMode, ...) must exist before any WebGPU call.
  for (const [k, v] of Object.entries(mod.globals)) if (!(k in globalThis)) (globalThis as Record<string, unknown>)[k] = v;
  return mod.create([]);
}

const VULKAN_LOADER = 'libvulkan.so.1';
const LIBRARY_FOLDERS = [
  '/lib',
  '/usr/lib',
  '/lib64',
  '/usr/lib64',
  '/usr/local/lib',
  '/lib/x86_64-linux-gnu',
  '/usr/lib/x86_64-linux-gnu',
  '/lib/aarch64-linux-gnu',
  '/usr/lib/aarch64-linux-gnu',
];

/**
 * Where the dynamic loader would find libvulkan.so.1: LD_LIBRARY_PATH, the paths ld.so.cache lists for it,
 * or the usual library folders. Only a non-empty regular file counts. Undefined when there is none.
 */
export function findVulkanLoader(
  fs: Pick<typeof import('node:fs'), 'readFileSync' | 'statSync'>,
  libraryPath = '',
  cache = '/etc/ld.so.cache',
): string | undefined {
  let cached: string[] = [];
  try {
    cached = fs.readFileSync(cache, 'latin1').match(/\/[\x21-\x7e]*\/libvulkan\.so\.1(?![\x21-\x7e])/g) ?? [];
  } catch {
    // No cache (musl, some containers): the folders below still count.
  }
  const candidates = [
    ...libraryPath
      .split(':')
      .filter((d) => d !== '')
      .map((d) => `${d}/${VULKAN_LOADER}`),
    ...cached,
    ...LIBRARY_FOLDERS.map((d) => `${d}/${VULKAN_LOADER}`),
  ];
  return candidates.find((path) => {
    try {
      const stat = fs.statSync(path);
      return stat.isFile() && stat.size > 0;
    } catch {
      return false;
    }
  });
}

/** A GPU Vulkan can drive shows up as a DRM render node or an NVIDIA device node. */
function hasVulkanDriver(fs: typeof import('node:fs')): boolean {
  const dri = fs.existsSync('/dev/dri') && fs.readdirSync('/dev/dri').some((f) => f.startsWith('renderD'));
  return dri || fs.existsSync('/dev/nvidia0');
}

let nodeGpuPromise: Promise<GPU> | null = null;

/** navigator.gpu in browsers and workers; the `webgpu` package (Dawn) in Node. */
export async function getGpu(): Promise<GPU> {
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  if (nav?.gpu) return nav.gpu;
  if (typeof process !== 'undefined' && process.versions?.node) {
    nodeGpuPromise ??= nodeGpu();
    return nodeGpuPromise;
  }
  throw new SdsError('E_NO_ADAPTER', `this environment has no WebGPU (navigator.gpu is missing). ${HOW_TO_GET_ONE}`);
}

export async function acquireDevice(options: GpuDeviceOptions = {}): Promise<AcquiredDevice> {
  if (options.device) {
    return {
      device: options.device,
      adapterInfo: { vendor: 'external', architecture: '', device: 'caller-provided GPUDevice', description: '' },
    };
  }
  const gpu = await getGpu();
  const adapter = await gpu.requestAdapter({ powerPreference: options.powerPreference ?? 'high-performance' });
  if (!adapter) throw new SdsError('E_NO_ADAPTER', `no WebGPU adapter was found. ${HOW_TO_GET_ONE}`);
  const requiredLimits: Record<string, number> = {};
  for (const name of REQUESTED_LIMITS) requiredLimits[name] = adapter.limits[name];
  // Subgroups speed up the workgroup sums where offered (subgroups.ts); nothing needs them.
  const requiredFeatures: GPUFeatureName[] = adapter.features.has('subgroups') ? ['subgroups' as GPUFeatureName] : [];
  const device = await adapter.requestDevice({ requiredLimits, requiredFeatures, label: 'sds-web' });
  const info = adapter.info ?? ({} as GPUAdapterInfo);
  return {
    device,
    adapterInfo: {
      vendor: info.vendor ?? '',
      architecture: info.architecture ?? '',
      device: info.device ?? '',
      description: info.description ?? '',
    },
  };
}
