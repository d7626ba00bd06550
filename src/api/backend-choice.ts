/**
 * Which backend a segmenter runs on, and why. 'auto' takes WebGPU when an adapter exists, it is a real
 * GPU, and the training step's memory plan fits its limits; otherwise wasm. Every decision is kept as
 * a sentence in `reasons` (SegmenterInfo.reasons), so a user can see why their GPU was not used.
 *
 * CPU-emulated adapters (SwiftShader, lavapipe, llvmpipe) run WGSL on the CPU at a fraction of the
 * speed of our wasm kernels (README: SwiftShader conv figures), so 'auto' passes on them; asking for
 * backend 'webgpu' explicitly still uses them (tests do).
 */
import type { Backend } from '../backend/backend.js';
import { createBackend } from './create-backend.js';
import { SdsError } from '../core/errors.js';
import type { Vec3 } from '../core/shape.js';
import type { BackendName } from '../core/tensor.js';
import { memoryPlan } from '../nn/memory-plan.js';
import type { VNetConfig } from '../nn/vnet-config.js';
import type { BackendChoice } from './types.js';

/**
 * Device memory 'auto' allows a training step on WebGPU. WebGPU does not report how much memory an
 * adapter has; 2 GiB is what integrated GPUs commonly grant one tab, and a step over it risks a lost
 * device mid-training. Explicit backend 'webgpu' has no such budget.
 */
export const AUTO_WEBGPU_BUDGET_BYTES = 2 * 1024 ** 3;

const CPU_ADAPTER = /swiftshader|llvmpipe|lavapipe/i;

export interface BackendChoiceOptions {
  readonly choice: BackendChoice;
  readonly network: VNetConfig;
  /** Training patch [D, H, W]. */
  readonly patchDhw: Vec3;
  /** Training batch (labeled patches per iteration) the plan is made for. */
  readonly batch: number;
  readonly device?: GPUDevice;
  readonly threads?: number;
}

export interface ChosenBackend {
  readonly backend: Backend;
  readonly reasons: string[];
}

const mib = (bytes: number): string => `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
const messageOf = (e: unknown): string => (e instanceof Error ? e.message : String(e));

async function wasm(threads: number | undefined, reasons: string[]): Promise<ChosenBackend> {
  const backend = await createBackend('wasm', { threads });
  reasons.push(`wasm: ${backend.info().description}`);
  return { backend, reasons };
}

export async function chooseBackend(o: BackendChoiceOptions): Promise<ChosenBackend> {
  const reasons: string[] = [];
  if (o.choice === 'wasm') {
    reasons.push('wasm: requested');
    return wasm(o.threads, reasons);
  }
  if (o.choice === 'reference') {
    reasons.push('reference: requested (float64 CPU reference, for checking only: slow)');
    return { backend: await createBackend('reference'), reasons };
  }
  if (o.choice === 'webgpu') {
    const backend = await createBackend('webgpu', { device: o.device });
    reasons.push(`webgpu: requested; ${backend.info().description}`);
    return { backend, reasons };
  }
  if (o.choice !== 'auto')
    throw new SdsError(
      'E_INVALID_ARGUMENT',
      `backend: expected 'auto', 'webgpu', 'wasm' or 'reference', found ${JSON.stringify(o.choice)}`,
    );

  let gpu: Backend;
  try {
    gpu = await createBackend('webgpu', { device: o.device });
  } catch (e) {
    reasons.push(`webgpu: no adapter (${messageOf(e)})`);
    return wasm(o.threads, reasons);
  }
  const info = gpu.info();
  const adapterText = Object.values(info.details).join(' ');
  if (o.device === undefined && CPU_ADAPTER.test(adapterText)) {
    reasons.push(`webgpu: ${info.description} is a CPU emulation, wasm is faster`);
    gpu.destroy();
    return wasm(o.threads, reasons);
  }
  const plan = memoryPlan(o.network, o.patchDhw, o.batch);
  const maxBuffer = Math.min(info.limits.maxBufferSize ?? Infinity, info.limits.maxStorageBufferBindingSize ?? Infinity);
  const step = `training step ${mib(plan.bytes.total)} (largest tensor ${mib(plan.largestTensorBytes)}, patch ${o.patchDhw.join('x')}, batch ${o.batch})`;
  if (plan.largestTensorBytes > maxBuffer) {
    reasons.push(`webgpu: ${step} does not fit: largest buffer allowed ${mib(maxBuffer)}`);
    gpu.destroy();
    return wasm(o.threads, reasons);
  }
  if (plan.bytes.total > AUTO_WEBGPU_BUDGET_BYTES) {
    reasons.push(
      `webgpu: ${step} is over the ${mib(AUTO_WEBGPU_BUDGET_BYTES)} budget of 'auto' (ask for backend 'webgpu' to use it anyway)`,
    );
    gpu.destroy();
    return wasm(o.threads, reasons);
  }
  reasons.push(`webgpu: ${info.description}; ${step} fits (largest buffer allowed ${mib(maxBuffer)})`);
  return { backend: gpu, reasons };
}

export const BACKEND_CHOICES: readonly BackendChoice[] = ['auto', 'webgpu', 'wasm', 'reference'];
export type { BackendName };
