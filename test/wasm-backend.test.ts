// The wasm backend's own machinery: variant choice and feature probes, the relaxed-SIMD build in a
// child process that has it, thread-count independence, deferred frees, the heap and its limit.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../src/backend/backend.js';
import { chooseVariant, detectFeatures } from '../src/backend/wasm/features.js';
import { WasmHeap } from '../src/backend/wasm/heap.js';
import { createWasmBackend } from '../src/backend/wasm/index.js';
import { createReferenceBackend } from '../src/backend/reference/index.js';
import type { Vec3 } from '../src/core/shape.js';
import { SdsError } from '../src/core/errors.js';
import * as ops from '../src/ops/index.js';
import { randomFloat32 } from './support/random-data.js';
import { ensureWasmBuilt } from './support/wasm-build.js';

ensureWasmBuilt();

const all = { simd: true, relaxedSimd: true, sharedMemory: true };

describe('chooseVariant', () => {
  it('picks relaxed SIMD and shared memory when both exist', () => {
    expect(chooseVariant({ threads: 2, relaxedSimd: 'auto' }, all)).toMatchObject({
      binary: 'relaxedShared',
      relaxedSimd: true,
      threads: 2,
      notes: [],
    });
  });
  it('falls back to plain SIMD without relaxed SIMD, and says why when it was asked for', () => {
    const features = { ...all, relaxedSimd: false };
    expect(chooseVariant({ threads: 1, relaxedSimd: 'auto' }, features)).toMatchObject({ binary: 'simdSingle', notes: [] });
    const forced = chooseVariant({ threads: 1, relaxedSimd: true }, features);
    expect(forced.binary).toBe('simdSingle');
    expect(forced.notes[0]).toMatch(/relaxed SIMD was requested/);
  });
  it('honours relaxedSimd: false even where relaxed SIMD exists', () => {
    expect(chooseVariant({ threads: 2, relaxedSimd: false }, all).binary).toBe('simdShared');
  });
  it('runs single-threaded without SharedArrayBuffer, and says so', () => {
    const choice = chooseVariant({ threads: 4, relaxedSimd: 'auto' }, { ...all, sharedMemory: false });
    expect(choice).toMatchObject({ binary: 'relaxedSingle', threads: 1 });
    expect(choice.notes[0]).toMatch(/SharedArrayBuffer is unavailable/);
  });
  it('fails with E_WASM_UNAVAILABLE only when SIMD itself is missing', () => {
    expect(() => chooseVariant({ threads: 1, relaxedSimd: 'auto' }, { ...all, simd: false })).toThrow(SdsError);
  });
});

describe('feature probes and the relaxed build', () => {
  const probe = fileURLToPath(new URL('./support/wasm-variant-probe.ts', import.meta.url));
  const runProbe = (nodeFlags: string[], options: object): { details: Record<string, unknown>; error: number } =>
    JSON.parse(execFileSync(process.execPath, [...nodeFlags, '--import', 'tsx', probe, JSON.stringify(options)], { encoding: 'utf8' }));

  it('sees plain SIMD in this Node, relaxed SIMD only behind its flag', () => {
    const features = detectFeatures();
    expect(features.simd).toBe(true);
    const major = Number(process.versions.node.split('.')[0]);
    if (major < 22) expect(features.relaxedSimd).toBe(false);
  });

  it('selects the relaxed binary where the engine validates relaxed_madd, and it computes correctly', () => {
    const got = runProbe(['--experimental-wasm-relaxed-simd'], { threads: 2 });
    expect(got.details).toMatchObject({ binary: 'relaxedShared', relaxedSimd: true, threads: 2 });
    expect(got.error).toBeLessThan(1e-5);
  });

  it('selects the plain binary without the flag', () => {
    const got = runProbe([], { threads: 1, relaxedSimd: true });
    expect(got.details).toMatchObject({ binary: 'simdSingle', relaxedSimd: false });
    expect(String(got.details.notes)).toMatch(/relaxed SIMD was requested/);
    expect(got.error).toBeLessThan(1e-5);
  });
});

describe('threads', () => {
  let one: Backend;
  let two: Backend;
  beforeAll(async () => {
    one = await createWasmBackend({ threads: 1, relaxedSimd: false });
    two = await createWasmBackend({ threads: 2, relaxedSimd: false });
  });
  afterAll(() => {
    one.destroy();
    two.destroy();
  });

  it('reports its thread count and laziness in info()', () => {
    expect(one.info().details).toMatchObject({ threads: 1, lazy: false, sharedMemory: false });
    expect(two.info().details).toMatchObject({ threads: 2, lazy: true, sharedMemory: true });
  });

  it('gives bit-identical convolutions with 1 and 2 threads', async () => {
    const x = randomFloat32(21, [2, 6, 7, 9, 13]);
    const w = randomFloat32(22, [10, 6, 3, 3, 3]);
    const dy = randomFloat32(23, [2, 10, 4, 5, 7]);
    const p = { stride: [2, 2, 2], padding: [1, 1, 1], dilation: [1, 1, 1] } as const;
    const results = await Promise.all(
      [one, two].map(async (b) => {
        const [tx, tw, tdy] = [x, w, dy].map((h) => b.upload(h.data, h.shape));
        return Promise.all([
          b.read(ops.conv3d(b, tx, tw, null, p)),
          b.read(ops.conv3dBackwardData(b, tdy, tw, { ...p, inputSpatial: [7, 9, 13] })),
          b.read(ops.conv3dBackwardFilter(b, tx, tdy, { ...p, kernel: [3, 3, 3] })),
        ]);
      }),
    );
    for (let i = 0; i < 3; i++) expect(Array.from(results[1][i])).toEqual(Array.from(results[0][i]));
  });

  it('frees a disposed input only after the pending work that reads it', async () => {
    const a = randomFloat32(31, [1, 2, 3, 4, 5]);
    const x = two.upload(a.data, a.shape);
    const y = ops.relu(two, x);
    two.dispose(x);
    // Same size: with an immediate free this upload would take x's block and overwrite it first.
    const other = two.upload(new Float32Array(a.data.length).fill(-7), a.shape);
    expect(Array.from(await two.read(y))).toEqual(Array.from(a.data, (v) => Math.max(v, 0)));
    expect(Array.from(await two.read(other))).toEqual(new Array(a.data.length).fill(-7));
  });
});

// Shapes aimed at the wasm kernels' own paths: stride-2 packing with 8-column shuffles (odd and even
// padding, W >= 8 with a tail), rows longer than one 8-wide tile with a partial last tile, channel
// counts that leave a partial block of 4, and dilation with stride.
describe('convolution fast paths against the reference', () => {
  const geometries: { x: number[]; co: number; k: Vec3; s: Vec3; p: Vec3; d: Vec3 }[] = [
    { x: [1, 5, 6, 7, 21], co: 6, k: [3, 3, 3], s: [2, 2, 2], p: [1, 1, 1], d: [1, 1, 1] },
    { x: [2, 3, 4, 6, 18], co: 5, k: [2, 2, 2], s: [2, 2, 2], p: [0, 0, 0], d: [1, 1, 1] },
    { x: [1, 4, 5, 5, 23], co: 9, k: [3, 1, 3], s: [1, 2, 2], p: [2, 0, 1], d: [2, 1, 2] },
    { x: [1, 7, 3, 4, 17], co: 3, k: [3, 3, 3], s: [1, 1, 1], p: [1, 1, 1], d: [1, 1, 1] },
  ];
  let wasm: Backend;
  const reference = createReferenceBackend();
  beforeAll(async () => {
    wasm = await createWasmBackend({ threads: 2, relaxedSimd: false });
  });
  afterAll(() => wasm.destroy());

  const relError = (got: ArrayLike<number>, want: ArrayLike<number>): number => {
    let maxRef = 0;
    let maxDiff = 0;
    for (let i = 0; i < want.length; i++) {
      maxRef = Math.max(maxRef, Math.abs(want[i]));
      maxDiff = Math.max(maxDiff, Math.abs(got[i] - want[i]));
    }
    return maxDiff / maxRef;
  };

  for (const [i, g] of geometries.entries()) {
    it(`x ${g.x.join('x')} -> ${g.co}, k ${g.k} s ${g.s} p ${g.p} d ${g.d}`, async () => {
      const params = { stride: g.s, padding: g.p, dilation: g.d };
      const spatial: Vec3 = [g.x[2], g.x[3], g.x[4]];
      const out = spatial.map((n, a) => Math.floor((n + 2 * g.p[a] - g.d[a] * (g.k[a] - 1) - 1) / g.s[a]) + 1);
      const x = randomFloat32(40 + i, g.x);
      const w = randomFloat32(50 + i, [g.co, g.x[1], ...g.k]);
      const bias = randomFloat32(60 + i, [g.co]);
      const dy = randomFloat32(70 + i, [g.x[0], g.co, ...out]);
      const outputs = await Promise.all(
        [wasm, reference].map(async (b) => {
          const [tx, tw, tb, tdy] = [x, w, bias, dy].map((h) => b.upload(h.data, h.shape));
          return Promise.all([
            b.read(ops.conv3d(b, tx, tw, tb, params)),
            b.read(ops.conv3dBackwardData(b, tdy, tw, { ...params, inputSpatial: spatial })),
            b.read(ops.conv3dBackwardFilter(b, tx, tdy, { ...params, kernel: g.k })),
          ]);
        }),
      );
      for (let o = 0; o < 3; o++) expect(relError(outputs[0][o], outputs[1][o])).toBeLessThan(1e-5);
    });
  }
});

describe('WasmHeap', () => {
  it('reuses and coalesces freed blocks', () => {
    const heap = new WasmHeap(new WebAssembly.Memory({ initial: 1, maximum: 4 }), 100, 4 * 65536);
    const a = heap.alloc(10);
    const b = heap.alloc(100);
    const c = heap.alloc(64);
    expect([a % 64, b - a, c - b]).toEqual([0, 64, 128]);
    heap.release(a);
    heap.release(b);
    expect(heap.alloc(150)).toBe(a);
    expect(heap.bytesInUse).toBe(192 + 64);
  });

  it('grows the memory, and fails with E_LIMIT_EXCEEDED past its limit', () => {
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 4 });
    const heap = new WasmHeap(memory, 64, 4 * 65536);
    heap.alloc(3 * 65536);
    expect(memory.buffer.byteLength).toBeGreaterThanOrEqual(3 * 65536 + 64);
    try {
      heap.alloc(65536);
      expect.unreachable();
    } catch (e) {
      expect((e as SdsError).code).toBe('E_LIMIT_EXCEEDED');
    }
  });
});
