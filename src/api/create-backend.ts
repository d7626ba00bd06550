import { SdsError } from '../core/errors.js';
import type { BackendName } from '../core/tensor.js';
import type { Backend } from '../backend/backend.js';

export interface CreateBackendOptions {
  /** WebGPU: use this device instead of requesting one. */
  readonly device?: GPUDevice;
  /** wasm: threads (default: the machine's core count, at most 8, where SharedArrayBuffer exists; else 1). */
  readonly threads?: number;
}

/**
 * Creates a backend by name. Backends load lazily so that a page using only one of them never
 * downloads the other's code (the wasm binaries, the WGSL sources).
 */
export async function createBackend(name: BackendName, options: CreateBackendOptions = {}): Promise<Backend> {
  switch (name) {
    case 'reference':
      return (await import('../ops/reference/index.js')).createReferenceBackend();
    case 'webgpu':
      return (await import('../backend/webgpu/index.js')).createWebGpuBackend({ device: options.device });
    case 'wasm':
      return (await import('../backend/wasm/index.js')).createWasmBackend({ threads: options.threads });
    default:
      throw new SdsError('E_INVALID_ARGUMENT', `backend: expected 'reference', 'webgpu' or 'wasm', found '${String(name)}'`);
  }
}
