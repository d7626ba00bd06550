/**
 * The WebAssembly CPU backend: AssemblyScript kernels (wasm/) compiled to SIMD WebAssembly, tensors in
 * one WebAssembly.Memory, convolutions split across a worker pool sharing that memory. Relaxed-SIMD
 * FMA and threads are used where the engine allows and reported in info() where it does not.
 */
import { type DType, type TypedArray, allocate, dtypeOf } from '../../core/dtype.js';
import { SdsError } from '../../core/errors.js';
import { type Shape, shapeString, sizeOf } from '../../core/shape.js';
import { type Tensor, expectLive } from '../../core/tensor.js';
import type { Backend, BackendInfo } from '../backend.js';
import { defaultWasmThreads } from './default-threads.js';
import type { KernelExports } from './exports.js';
import { chooseVariant, detectFeatures } from './features.js';
import { WasmHeap } from './heap.js';
import { wasmKernels } from './kernels.js';
import { compileVariant } from './loader.js';
import { WorkerPool } from './pool.js';
import { WasmRuntime } from './runtime.js';
import type { ThreadProfile } from './thread-profile.js';
import { bytesPerElement, newTensor, ptr } from './storage.js';

export interface WasmBackendOptions {
  /**
   * Threads including the calling one; default: the machine's core count (os.availableParallelism() in
   * Node, navigator.hardwareConcurrency in browsers), at most 8 (default-threads.ts says why).
   */
  readonly threads?: number;
  /** true: require-if-available relaxed SIMD FMA, false: plain SIMD, 'auto' (default): use it when present. */
  readonly relaxedSimd?: boolean | 'auto';
  /** Upper bound of the wasm memory; default and maximum 4 GiB (wasm32). */
  readonly maxMemoryBytes?: number;
}

/** The runtime behind each wasm backend, for wasmThreadProfiler (benchmarks; not public API). */
const runtimes = new WeakMap<Backend, WasmRuntime>();

/**
 * Start / take a thread-use profile (thread-profile.ts) of a wasm backend: per kernel, the wall
 * and busy time of the steps split across the pool and of those the calling thread ran alone. Null for
 * a backend that is not a wasm backend. Used by bench:sds and bench:vnet (--threads-profile).
 */
export function wasmThreadProfiler(backend: Backend): { start(): void; take(): ThreadProfile | null } | null {
  const rt = runtimes.get(backend);
  return rt ? { start: () => rt.startProfile(), take: () => rt.takeProfile() } : null;
}

const PAGE = 65536;
const MAX_PAGES = 65536;

export async function createWasmBackend(options: WasmBackendOptions = {}): Promise<Backend> {
  const threads = options.threads ?? (await defaultWasmThreads());
  if (!Number.isInteger(threads) || threads < 1) {
    throw new SdsError('E_INVALID_ARGUMENT', `createWasmBackend: threads: expected a positive integer, found ${threads}`);
  }
  const features = detectFeatures();
  const choice = chooseVariant({ threads, relaxedSimd: options.relaxedSimd ?? 'auto' }, features);
  const maxPages = Math.min(MAX_PAGES, Math.floor((options.maxMemoryBytes ?? MAX_PAGES * PAGE) / PAGE));
  const shared = choice.threads > 1;
  const memory = new WebAssembly.Memory({ initial: 16, maximum: maxPages, shared });
  const module = await compileVariant(choice.binary);
  const instance = await WebAssembly.instantiate(module, { env: { memory } });
  const k = instance.exports as unknown as KernelExports;
  const pool = shared ? await WorkerPool.create(choice.threads - 1, module, memory) : null;
  const heap = new WasmHeap(memory, k.heapBase(), maxPages * PAGE);
  const rt = new WasmRuntime(memory, heap, k, pool);
  let destroyed = false;

  const expectAlive = (what: string): void => {
    if (destroyed) throw new SdsError('E_DISPOSED', `wasm backend: ${what} after destroy()`);
  };
  const info: BackendInfo = {
    name: 'wasm',
    description: `WebAssembly ${choice.relaxedSimd ? 'relaxed SIMD (fused multiply-add)' : 'SIMD'}, ${choice.threads} thread${choice.threads > 1 ? 's' : ''}`,
    limits: { maxMemoryBytes: maxPages * PAGE },
    details: {
      threads: choice.threads,
      requestedThreads: threads,
      relaxedSimd: choice.relaxedSimd,
      sharedMemory: shared,
      binary: choice.binary,
      lazy: shared,
      ...(choice.notes.length > 0 ? { notes: choice.notes.join('; ') } : {}),
    },
  };

  const backend: Backend = {
    name: 'wasm',
    kernels: wasmKernels(rt),
    upload(data: TypedArray, shape: Shape): Tensor {
      expectAlive('upload');
      if (data.length !== sizeOf(shape)) {
        throw new SdsError('E_SHAPE_MISMATCH', `upload: shape ${shapeString(shape)} needs ${sizeOf(shape)} values, found ${data.length}`);
      }
      const t = newTensor(rt, shape, dtypeOf(data));
      // The block may be one a pending step still reads (frees are immediate): the write is queued,
      // with a copy of data, unless nothing is pending.
      rt.write(ptr(t), new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
      return t;
    },
    zeros(shape: Shape, dtype: DType): Tensor {
      expectAlive('zeros');
      const t = newTensor(rt, shape, dtype);
      rt.zeroFill(ptr(t), t.size * bytesPerElement(dtype));
      return t;
    },
    async read(t: Tensor): Promise<TypedArray> {
      expectAlive('read');
      expectLive(t, 'wasm', 'read');
      // The copy is a queued step: t may be disposed and its block reused while the queue drains.
      const out = allocate(t.dtype, t.size);
      await rt.readInto(ptr(t), new Uint8Array(out.buffer));
      return out;
    },
    dispose(t: Tensor): void {
      expectLive(t, 'wasm', 'dispose');
      t.markDisposed();
      // Freed now, though steps reading it may be pending: see runtime.ts for why that is safe.
      if (!destroyed) rt.release(ptr(t));
    },
    async sync(): Promise<void> {
      expectAlive('sync');
      await rt.flush();
    },
    info(): BackendInfo {
      return { ...info, details: { ...info.details, bytesInUse: heap.bytesInUse, memoryBytes: memory.buffer.byteLength } };
    },
    destroy(): void {
      destroyed = true;
      pool?.terminate();
    },
  };
  runtimes.set(backend, rt);
  return backend;
}
