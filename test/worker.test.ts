// The worker-backed segmenter (worker_threads through Comlink): finetune in the worker with proxied
// progress and an abort that stops within one iteration, the main thread free meanwhile, labels equal
// to the in-thread API's with the same weights, transfers, and SdsError codes across the boundary.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSegmenter } from '../src/api/index.js';
import type { FinetuneProgress, Segmenter } from '../src/api/types.js';
import { SdsError } from '../src/core/errors.js';
import type { Volume } from '../src/volume/index.js';
import { createWorkerSegmenter } from '../src/worker/index.js';
import { type LabeledScan, loadApiScans } from './support/api-scans.js';
import { ensureWasmBuilt } from './support/wasm-build.js';

const clone = (v: Volume): Volume => ({ ...v, data: v.data.slice() });

type Scan = LabeledScan;
let labeled: Scan[];
let unlabeled: Volume[];
let heldOut: Volume;

beforeAll(async () => {
  ensureWasmBuilt();
  const scans = await loadApiScans();
  labeled = scans.labeled;
  unlabeled = scans.unlabeled;
  heldOut = scans.heldOut.image;
});

describe('createWorkerSegmenter (worker_threads, wasm 1 thread, nFilters 2)', () => {
  let seg: Segmenter;
  beforeAll(async () => {
    seg = await createWorkerSegmenter({ backend: 'wasm', threads: 1, network: { nFilters: 2, nClasses: 3 }, patch: [16, 16, 16], seed: 4 });
  });
  afterAll(() => seg?.dispose());

  it('has the same synchronous info() and memoryPlan() as the in-thread segmenter', async () => {
    expect(seg.info()).toMatchObject({
      backend: 'wasm',
      threads: 1,
      trained: false,
      patch: [16, 16, 16],
      reasons: ['wasm: requested', expect.any(String)],
    });
    const local = await createSegmenter({ backend: 'wasm', threads: 1, network: { nFilters: 2, nClasses: 3 }, patch: [16, 16, 16] });
    expect(seg.memoryPlan()).toEqual(local.memoryPlan());
    await local.dispose();
  });

  it('finetunes in the worker with progress; an abort stops within one iteration; the main thread keeps running', async () => {
    const controller = new AbortController();
    const events: FinetuneProgress[] = [];
    let abortedAt = -1;
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    const started = performance.now();
    const inputs = { labeled: labeled.map((s) => ({ image: clone(s.image), label: clone(s.label) })), unlabeled: unlabeled.map(clone) };
    const result = await seg.finetune({
      ...inputs,
      config: { seed: 2, labeledBatch: 4, unlabeledBatch: 4, stage1Iterations: 1, iterations: 8, validateEvery: 100, checkpointEvery: 100 },
      signal: controller.signal,
      onProgress: (e) => {
        events.push(e);
        if (e.type === 'iteration' && e.phase === 'stage2' && e.iteration === 2) {
          abortedAt = e.iteration;
          controller.abort();
        }
      },
    });
    clearInterval(timer);
    const elapsed = performance.now() - started;
    expect(abortedAt).toBe(2);
    expect(result.aborted).toBe(true);
    expect(result.stage1Iterations).toBe(1);
    expect(result.iterations).toBeGreaterThanOrEqual(abortedAt);
    expect(result.iterations).toBeLessThanOrEqual(abortedAt + 1);
    // Every iteration the worker ran was reported, before the call resolved, in order.
    const stage2 = events.filter((e) => e.type === 'iteration' && e.phase === 'stage2').map((e) => (e as { iteration: number }).iteration);
    expect(stage2).toEqual(Array.from({ length: result.iterations }, (_, i) => i + 1));
    expect(events.some((e) => e.type === 'done')).toBe(false);
    // The inputs' buffers moved to the worker (transferred, not copied).
    expect(inputs.unlabeled[0].data.byteLength).toBe(0);
    // The main thread's timers ran while the worker trained: a 5 ms timer fired at least every 50 ms on
    // average (a blocked thread would tick about once per iteration, several hundred ms apart).
    expect(ticks).toBeGreaterThan(elapsed / 50);
    expect(seg.info().trained).toBe(true);
  });

  it('segments in the worker with progress; labels equal the in-thread API with the same weights', async () => {
    const windows: number[] = [];
    const input = clone(heldOut);
    const inWorker = await seg.segment(input, { onProgress: (p) => windows.push(p.window) });
    expect(windows).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(input.data.byteLength).toBe(0);
    const local = await createSegmenter({ backend: 'wasm', threads: 1, model: await seg.save() });
    try {
      const inThread = await local.segment(heldOut);
      expect(inWorker.shape).toEqual(heldOut.shape);
      expect(inWorker.affine).toEqual(heldOut.affine);
      expect(inWorker.data).toEqual(inThread.data);
      expect(new Set(inThread.data).size).toBeGreaterThan(1);
    } finally {
      await local.dispose();
    }
    // copyInputs keeps the caller's buffer.
    const kept = await createWorkerSegmenter({
      backend: 'wasm',
      threads: 1,
      network: { nFilters: 2, nClasses: 3 },
      patch: [16, 16, 16],
      copyInputs: true,
    });
    const mine = clone(heldOut);
    await kept.segment(mine, { largestComponent: false });
    expect(mine.data.byteLength).toBe(heldOut.data.byteLength);
    await kept.dispose();
  });

  it('cancels a segment whose signal is already aborted, and keeps SdsError codes across the boundary', async () => {
    const controller = new AbortController();
    controller.abort();
    const aborted = await seg.segment(clone(heldOut), { signal: controller.signal }).catch((e: unknown) => e);
    expect(aborted).toBeInstanceOf(SdsError);
    expect((aborted as SdsError).code).toBe('E_ABORTED');
    const bad = await seg.segment({ name: 'scan.png', bytes: new Uint8Array(4) }).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(SdsError);
    expect((bad as SdsError).code).toBe('E_INVALID_ARGUMENT');
    expect((bad as SdsError).message).toMatch(/expected a file name ending in .nii, .nii.gz, .h5 or .hdf5, found "scan.png"/);
  });
});
