// The wasm backend's own machinery: variant choice and feature probes, the relaxed-SIMD build in a
// child process that has it, thread-count independence, immediate frees in queue order (memory
// bounded without a sync, reused blocks written only after the work queued before), the heap and its limit.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../src/backend/backend.js';
import { chooseVariant, detectFeatures } from '../src/backend/wasm/features.js';
import { WasmHeap } from '../src/backend/wasm/heap.js';
import { createWasmBackend, wasmThreadProfiler } from '../src/backend/wasm/index.js';
import { ptr } from '../src/backend/wasm/storage.js';
import { createReferenceBackend } from '../src/ops/reference/index.js';
import type { Vec3 } from '../src/core/shape.js';
import { SdsError } from '../src/core/errors.js';
import { supervisedLoss } from '../src/nn/loss.js';
import { Sgd } from '../src/nn/sgd.js';
import { VNet } from '../src/nn/vnet.js';
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

  it('keeps a disposed input intact for the pending work that reads it', async () => {
    const a = randomFloat32(31, [1, 2, 3, 4, 5]);
    const x = two.upload(a.data, a.shape);
    const y = ops.relu(two, x);
    two.dispose(x);
    // Same size: this upload may take x's block, so its write must wait for relu.
    const other = two.upload(new Float32Array(a.data.length).fill(-7), a.shape);
    expect(Array.from(await two.read(y))).toEqual(Array.from(a.data, (v) => Math.max(v, 0)));
    expect(Array.from(await two.read(other))).toEqual(new Array(a.data.length).fill(-7));
  });

  // The profile behind bench:sds / bench:vnet --threads-profile (issue 20: where the threads' time goes).
  it('profiles thread use: split steps with busy time from every thread, small passes and copies as serial', async () => {
    const x = randomFloat32(41, [2, 16, 16, 16, 16]);
    const w = randomFloat32(42, [16, 16, 3, 3, 3]);
    const small = randomFloat32(43, [1, 1, 4, 4, 4]);
    const p = { stride: [1, 1, 1], padding: [1, 1, 1], dilation: [1, 1, 1] } as const;
    const profiler = wasmThreadProfiler(two)!;
    expect(wasmThreadProfiler(createReferenceBackend())).toBeNull();
    expect(profiler.take()).toBeNull();
    for (const [b, threads] of [
      [two, 2],
      [one, 1],
    ] as const) {
      const tx = b.upload(x.data, x.shape);
      const tw = b.upload(w.data, w.shape);
      wasmThreadProfiler(b)!.start();
      // Ten convolutions (some 50 ms of work): a worker the OS delays for a while still gets its share.
      const ys = Array.from({ length: 10 }, () => ops.conv3d(b, tx, tw, null, p));
      const r = ops.relu(b, b.upload(small.data, small.shape));
      await b.read(ys[9]);
      await b.read(r);
      const got = wasmThreadProfiler(b)!.take()!;
      expect(got.threads).toBe(threads);
      const uses = Object.values(threads === 2 ? got.parallel : got.serial);
      const conv = uses.reduce((a, u) => (u.wallMs > a.wallMs ? u : a));
      expect(conv.calls).toBeGreaterThanOrEqual(10);
      expect(conv.busyMs).toBeGreaterThan(0);
      // Busy time is bounded by the threads times the wall time (clock granularity aside).
      expect(conv.busyMs).toBeLessThanOrEqual(threads * conv.wallMs + 0.5);
      // A 64-value relu runs on the calling thread alone, and the read-backs are host steps (queued with a pool).
      expect(Object.keys(got.serial).some((k) => k.startsWith('relu'))).toBe(true);
      if (threads === 2) {
        expect(got.serial.host?.calls).toBeGreaterThanOrEqual(2);
        // The convolutions' units went to both threads: more busy time than wall time.
        expect(conv.busyMs).toBeGreaterThan(1.2 * conv.wallMs);
      } else expect(Object.keys(got.parallel)).toEqual([]);
      expect(wasmThreadProfiler(b)!.take()).toBeNull();
      for (const t of [tx, tw, r, ...ys]) b.dispose(t);
    }
  });
});

// With a pool, kernels only enqueue work, yet a disposed tensor's block is freed at once and may be
// handed out before the work reading it has run: correct only because every touch of memory (upload,
// zeros, geometry blocks, read) happens in queue order.
describe('immediate frees with a queue', () => {
  let two: Backend;
  let one: Backend;
  beforeAll(async () => {
    two = await createWasmBackend({ threads: 2, relaxedSimd: false });
    one = await createWasmBackend({ threads: 1, relaxedSimd: false });
  });
  afterAll(() => {
    two.destroy();
    one.destroy();
  });
  const detail = (b: Backend, key: 'bytesInUse' | 'memoryBytes'): number => b.info().details[key] as number;

  it('a reused block takes an upload, zeros and a conv geometry only after the work queued before', async () => {
    const a = two.upload(new Float32Array([1, 1, 1, 1]), [4]);
    const b = two.upload(new Float32Array([2, 2, 2, 2]), [4]);
    const sum = ops.add(two, a, b); // queued, not run
    const bBlock = ptr(b);
    two.dispose(b); // freed now...
    const source = new Float32Array([100, 100, 100, 100]);
    const c = two.upload(source, [4]); // ...and handed out again at once
    expect(ptr(c)).toBe(bBlock);
    source.fill(-1); // the queued write holds its own copy
    const doubled = ops.add(two, sum, sum);
    two.dispose(c);
    const z = two.zeros([4], 'float32');
    expect(ptr(z)).toBe(bBlock);
    // A read requested before its tensor is disposed and the block rewritten sees the old contents.
    const sumRead = two.read(sum);
    two.dispose(sum);
    two.upload(new Float32Array([7, 7, 7, 7]), [4]);
    expect(Array.from(await sumRead)).toEqual([3, 3, 3, 3]);
    expect(Array.from(await two.read(doubled))).toEqual([6, 6, 6, 6]);
    expect(Array.from(await two.read(z))).toEqual([0, 0, 0, 0]);

    // A convolution's geometry block may land in a block a queued convolution's geometry just left.
    const x = randomFloat32(91, [1, 2, 5, 6, 7]);
    const w = randomFloat32(92, [3, 2, 3, 3, 3]);
    const p = { stride: [1, 1, 1], padding: [1, 1, 1], dilation: [1, 1, 1] } as const;
    const p2 = { stride: [2, 2, 2], padding: [0, 0, 0], dilation: [1, 1, 1] } as const;
    const outputs = await Promise.all(
      [one, two].map((be) => {
        const [tx, tw] = [x, w].map((h) => be.upload(h.data, h.shape));
        const y1 = ops.conv3d(be, tx, tw, null, p);
        const y2 = ops.conv3d(be, tx, tw, null, p2);
        return Promise.all([be.read(y1), be.read(y2)]);
      }),
    );
    expect(Array.from(outputs[1][0])).toEqual(Array.from(outputs[0][0]));
    expect(Array.from(outputs[1][1])).toEqual(Array.from(outputs[0][1]));
  });

  it('a long chain of allocate, compute, dispose without a sync stays within a small memory bound', async () => {
    const shape = [1, 2, 8, 32, 32];
    const x0 = randomFloat32(93, shape);
    const w = randomFloat32(94, [2, 2, 3, 3, 3]);
    const p = { stride: [1, 1, 1], padding: [1, 1, 1], dilation: [1, 1, 1] } as const;
    const steps = 150;
    const run = async (be: Backend): Promise<{ out: Float32Array; grewBy: number; heldBy: number }> => {
      const tw = be.upload(w.data, w.shape);
      let acc = be.upload(x0.data, shape);
      // Each step allocates three activations and conv scratch (about 0.5 MiB) and frees all but one.
      const step = (): void => {
        const y = ops.conv3d(be, acc, tw, null, p);
        const s = ops.add(be, y, acc);
        be.dispose(y);
        be.dispose(acc);
        const r = ops.relu(be, s);
        be.dispose(s);
        acc = ops.scale(be, r, 0.25);
        be.dispose(r);
      };
      step();
      await be.sync();
      const [memory, inUse] = [detail(be, 'memoryBytes'), detail(be, 'bytesInUse')];
      for (let i = 1; i < steps; i++) step();
      // No sync before measuring: everything above is still queued on the pool.
      const grewBy = detail(be, 'memoryBytes') - memory;
      const heldBy = detail(be, 'bytesInUse') - inUse;
      const out = (await be.read(acc)) as Float32Array;
      be.dispose(acc);
      be.dispose(tw);
      return { out, grewBy, heldBy };
    };
    const queued = await run(two);
    // Deferred frees would hold every step's blocks (> 70 MiB here) until the queue drained.
    expect(queued.heldBy).toBeLessThanOrEqual(0);
    expect(queued.grewBy).toBeLessThan(2 * 2 ** 20);
    const eager = await run(one);
    expect(eager.grewBy).toBeLessThan(2 * 2 ** 20);
    expect(queued.out.some((v) => v !== 0)).toBe(true);
    expect(Array.from(queued.out)).toEqual(Array.from(eager.out));
  });

  it('keeps memory flat over repeated V-Net training steps', async () => {
    const net = new VNet(two, { nFilters: 4, nClasses: 2, normalization: 'batch', dropout: true }, { seed: 7 });
    const optimizer = new Sgd(two, net.parameters(), { lr: 0.01, momentum: 0.9, weightDecay: 1e-4 });
    const image = randomFloat32(95, [1, 1, 16, 16, 32]);
    const x = two.upload(image.data, image.shape);
    const labels = two.upload(
      Uint8Array.from(image.data, (v) => (v > 0 ? 1 : 0)),
      [1, 16, 16, 32],
    );
    const footprints: number[][] = [];
    for (let i = 0; i < 5; i++) {
      const logits = net.forward(x);
      const { loss, grad } = supervisedLoss(two, logits, labels);
      two.dispose(logits);
      net.backward(grad);
      two.dispose(grad);
      optimizer.step();
      two.dispose(loss);
      await two.sync();
      footprints.push([detail(two, 'memoryBytes'), detail(two, 'bytesInUse')]);
    }
    // The heap keeps freed blocks by size, so memory settles once every size has had its most live
    // blocks at once: "the first step or two" (heap.ts). From then on no step may add a byte.
    for (const f of footprints.slice(2)) expect(f).toEqual(footprints[1]);
    optimizer.dispose();
    net.dispose();
    two.dispose(x);
    two.dispose(labels);
  });
});

// Shapes aimed at the wasm kernels' own paths: stride-2 packing with 8-column shuffles (odd and even
// padding, W >= 8 with a tail), rows longer than one 8-wide tile with a partial last tile, channel
// counts that leave a partial block of 4, and dilation with stride. The last has more packed forward
// weights (21 blocks x 27.6 KB) than conv3dForwardRange keeps in one group (512 KB): several
// groups of output-channel blocks, the last partial, on a batch of 2 (interleaved input layout).
describe('convolution fast paths against the reference', () => {
  const geometries: { x: number[]; co: number; k: Vec3; s: Vec3; p: Vec3; d: Vec3 }[] = [
    { x: [1, 5, 6, 7, 21], co: 6, k: [3, 3, 3], s: [2, 2, 2], p: [1, 1, 1], d: [1, 1, 1] },
    { x: [2, 3, 4, 6, 18], co: 5, k: [2, 2, 2], s: [2, 2, 2], p: [0, 0, 0], d: [1, 1, 1] },
    // The forward packs per output row when kernel <= stride in D and H (wasm/conv.ts): windows that
    // leave the input, padded and odd-length rows.
    { x: [2, 6, 7, 5, 19], co: 7, k: [2, 2, 2], s: [2, 2, 2], p: [1, 1, 1], d: [1, 1, 1] },
    { x: [1, 5, 4, 6, 13], co: 6, k: [1, 2, 3], s: [1, 2, 2], p: [0, 1, 1], d: [1, 1, 1] },
    // Dilated along H: input rows are shared, so the whole-input paths run (wasm/conv.ts inputRowsUnshared).
    { x: [1, 5, 5, 7, 9], co: 5, k: [2, 3, 2], s: [1, 1, 1], p: [1, 2, 0], d: [1, 2, 1] },
    { x: [1, 4, 5, 5, 23], co: 9, k: [3, 1, 3], s: [1, 2, 2], p: [2, 0, 1], d: [2, 1, 2] },
    { x: [1, 7, 3, 4, 17], co: 3, k: [3, 3, 3], s: [1, 1, 1], p: [1, 1, 1], d: [1, 1, 1] },
    // Stride-1 backward-data runs as a forward convolution with padding d (k - 1) - p; here that is
    // negative along D, so it keeps the backward-data tiles (conv-kernels.ts).
    { x: [1, 3, 4, 5, 6], co: 4, k: [1, 3, 1], s: [1, 1, 1], p: [1, 1, 0], d: [1, 1, 1] },
    { x: [2, 64, 2, 2, 4], co: 82, k: [3, 3, 3], s: [1, 1, 1], p: [1, 1, 1], d: [1, 1, 1] },
    // Backward-filter works in chunks of 1024 output positions (wasm/conv-filter.ts): chunks that end
    // inside a row, rows longer than a chunk, on each of its input paths (copied phase rows when
    // padded, gathered rows when padded with unshared rows, x read in place when unpadded).
    { x: [1, 3, 9, 7, 40], co: 10, k: [3, 3, 3], s: [1, 1, 1], p: [1, 1, 1], d: [1, 1, 1] },
    { x: [1, 3, 11, 9, 40], co: 10, k: [3, 3, 3], s: [1, 1, 1], p: [0, 0, 0], d: [1, 1, 1] },
    { x: [1, 2, 10, 10, 101], co: 3, k: [2, 2, 2], s: [2, 2, 2], p: [1, 1, 1], d: [1, 1, 1] },
    { x: [1, 5, 7, 8, 20], co: 9, k: [3, 2, 3], s: [1, 2, 1], p: [0, 0, 0], d: [2, 1, 1] },
    { x: [1, 2, 1, 1, 2100], co: 3, k: [1, 1, 3], s: [1, 1, 1], p: [0, 0, 1], d: [1, 1, 1] },
    { x: [1, 2, 1, 1, 2100], co: 3, k: [1, 1, 3], s: [1, 1, 2], p: [0, 0, 0], d: [1, 1, 1] },
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
  it('reuses a freed block of the same size, and coalesces freed blocks before memory would double', () => {
    const heap = new WasmHeap(new WebAssembly.Memory({ initial: 1, maximum: 4 }), 100, 4 * 65536);
    const a = heap.alloc(10);
    const b = heap.alloc(100);
    const c = heap.alloc(64);
    expect([a % 64, b - a, c - b]).toEqual([0, 64, 128]);
    heap.release(b);
    expect(heap.alloc(128)).toBe(b);
    heap.release(a);
    heap.release(b);
    // No kept block of 192 bytes, and growing would take more than twice the bytes in use: a and b merge.
    expect(heap.alloc(150)).toBe(a);
    expect(heap.bytesInUse).toBe(192 + 64);
  });

  it('coalesces kept blocks rather than fail at the limit', () => {
    const heap = new WasmHeap(new WebAssembly.Memory({ initial: 1, maximum: 4 }), 64, 4 * 65536);
    const blocks = [heap.alloc(65536), heap.alloc(65536), heap.alloc(65536)];
    heap.release(blocks[0]);
    heap.release(blocks[1]);
    expect(heap.alloc(2 * 65536)).toBe(blocks[0]);
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
