// The wasm backend's default thread count follows the machine (os.availableParallelism() here, clamped
// to [1, 8]) and an explicit `threads` wins. Checked on the real backend, not on a stubbed platform: a
// default fixed at any number fails on every machine whose core count (clamped) differs from it.
import { availableParallelism } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { createBackend } from '../src/api/create-backend.js';
import type { Backend } from '../src/backend/backend.js';
import { MAX_DEFAULT_WASM_THREADS, clampDefaultThreads, defaultWasmThreads } from '../src/backend/wasm/default-threads.js';
import { createWasmBackend } from '../src/backend/wasm/index.js';
import { ensureWasmBuilt } from './support/wasm-build.js';

ensureWasmBuilt();

const machine = Math.min(MAX_DEFAULT_WASM_THREADS, Math.max(1, availableParallelism()));

describe('wasm default thread count', () => {
  let backend: Backend | null = null;
  afterEach(() => {
    backend?.destroy();
    backend = null;
  });

  it('clamps what the platform reports to [1, MAX_DEFAULT_WASM_THREADS]', () => {
    expect(MAX_DEFAULT_WASM_THREADS).toBe(8);
    expect([1, 2, 3, 8, 9, 64].map(clampDefaultThreads)).toEqual([1, 2, 3, 8, 8, 8]);
    // A browser without hardwareConcurrency, or a nonsense report, runs single-threaded.
    expect([undefined, 0, -4, Number.NaN, Number.POSITIVE_INFINITY].map(clampDefaultThreads)).toEqual([1, 1, 1, 1, 1]);
    expect(clampDefaultThreads(6.5)).toBe(6);
  });

  it('is os.availableParallelism() clamped, in Node', async () => {
    expect(await defaultWasmThreads()).toBe(machine);
  });

  it('is what createWasmBackend and createBackend use when no threads are given', async () => {
    backend = await createWasmBackend({ relaxedSimd: false });
    expect(backend.info().details).toMatchObject({ threads: machine, requestedThreads: machine, sharedMemory: machine > 1 });
    backend.destroy();
    backend = await createBackend('wasm');
    expect(backend.info().details).toMatchObject({ requestedThreads: machine });
  });

  it('gives way to an explicit threads option, above the cap too', async () => {
    const asked = machine === 1 ? 2 : 1;
    backend = await createWasmBackend({ threads: asked, relaxedSimd: false });
    expect(backend.info().details).toMatchObject({ threads: asked, requestedThreads: asked });
    backend.destroy();
    backend = await createWasmBackend({ threads: MAX_DEFAULT_WASM_THREADS + 1, relaxedSimd: false });
    expect(backend.info().details).toMatchObject({ threads: MAX_DEFAULT_WASM_THREADS + 1 });
  });
});
