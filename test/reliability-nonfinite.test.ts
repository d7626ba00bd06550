// Non-finite losses on the wasm backend (1 thread; the skip logic is the
// backend-independent iteration code, and wasm runs these steps ~5x faster than the reference
// backend): a NaN in one scan's image skips the students' steps (no SGD update, BatchNorm statistics
// put back), never reaches the teacher, and is reported in SdsEvent.skipped; a NaN weight that makes
// every iteration non-finite stops trainSds with E_NONFINITE naming the iteration once
// maxNonFiniteInARow iterations in a row were skipped; finetune() reports the skips in its progress.
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSegmenter } from '../src/api/create-segmenter.js';
import type { FinetuneProgress } from '../src/api/types.js';
import type { Backend } from '../src/backend/backend.js';
import { createBackend } from '../src/api/create-backend.js';
import { SdsError } from '../src/core/errors.js';
import type { Tensor } from '../src/core/tensor.js';
import { readSafetensors, writeSafetensors } from '../src/nn/checkpoint/safetensors.js';
import { saveVNet } from '../src/nn/checkpoint/vnet-checkpoint.js';
import { VNet } from '../src/nn/vnet.js';
import { loadCases } from '../src/train/node-cases.js';
import { RandomStream } from '../src/train/random-stream.js';
import {
  createSdsState,
  disposeSdsState,
  resolveSdsConfig,
  SDS_SMALL_CPU_PRESET,
  type SdsBatch,
  type SdsState,
  type SdsTrainerEvent,
  sdsIteration,
  trainSds,
} from '../src/train/sds/index.js';
import { cropOrPad, type Volume } from '../src/volume/index.js';
import { ensureWasmBuilt } from './support/wasm-build.js';

let be: Backend;
beforeAll(async () => {
  ensureWasmBuilt();
  be = await createBackend('wasm', { threads: 1 });
});
afterAll(() => be?.destroy());

const config = resolveSdsConfig({
  mode: 'sds',
  seed: 7,
  network: { nFilters: 2, nClasses: 2 },
  patch: [16, 16, 16],
  labeledBatch: 4,
  unlabeledBatch: 4,
});

/** Random images in [-1, 1], labels = image > 0.3; `poison` sets every voxel of imageA's first patch to NaN. */
function batch(seed: number, poison: boolean): SdsBatch {
  const rng = new RandomStream(seed);
  const image = (): Float32Array => Float32Array.from({ length: 2 * 16 ** 3 }, () => rng.next() * 2 - 1);
  const [a, b, ua, ub] = [image(), image(), image(), image()];
  const label = (x: Float32Array): Uint8Array => Uint8Array.from(x, (v) => (v > 0.3 ? 1 : 0));
  const labelA = label(a);
  if (poison) a.fill(NaN, 0, 16 ** 3);
  const img = (x: Float32Array): Tensor => be.upload(x, [2, 1, 16, 16, 16]);
  const lab = (x: Uint8Array): Tensor => be.upload(x, [2, 16, 16, 16]);
  return { imageA: img(a), labelA: lab(labelA), imageB: img(b), labelB: lab(label(b)), unlabeledA: img(ua), unlabeledB: img(ub) };
}

/**
 * Every parameter, BN running statistic and batch counter of a network, concatenated (float64 holds
 * float32 values and counters exactly). One flat array per network: element-wise toEqual over the
 * ~10^5 numbers of three networks cost seconds.
 */
async function stateOf(net: VNet): Promise<Float64Array> {
  const parts: ArrayLike<number>[] = [];
  for (const e of net.stateEntries()) {
    if (e.kind === 'counter') parts.push([e.counter.value]);
    else parts.push((await be.read(e.kind === 'parameter' ? e.parameter.value : e.buffer.value)) as Float32Array);
  }
  const out = new Float64Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/** Index of the first value where two states differ (Object.is: NaN equals NaN, -0 differs from 0); -1 when identical. */
function firstDifference(a: Float64Array, b: Float64Array): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return i;
  return -1;
}

const snapshot = async (s: SdsState): Promise<Float64Array[]> =>
  Promise.all([...s.students.map((st) => st.net), s.teacher as VNet].map((n) => stateOf(n)));

describe('sdsIteration with a NaN in one scan (wasm backend, nFilters 2, 16^3)', () => {
  it('skips both students, restores their BN statistics, leaves the teacher alone, and goes on', async () => {
    const state = createSdsState(be, config);
    const before = await snapshot(state);
    const poisoned = batch(100, true);
    const e = await sdsIteration(state, poisoned);
    for (const t of Object.values(poisoned)) be.dispose(t);
    // the NaN patch enters X_l of both students, so both losses are NaN
    expect(e.losses.every((l) => Number.isNaN(l))).toBe(true);
    expect(e.skipped).toEqual([0, 1]);
    expect(e.selected).toBe(-1);
    expect(e.alpha).toBeNull();
    expect(state.students.map((s) => s.optimizer.iteration)).toEqual([0, 0]);
    // students (weights, BN statistics, counters) and teacher are bit-identical to before the iteration
    const skippedState = await snapshot(state);
    expect(skippedState.map((net, k) => firstDifference(net, before[k]))).toEqual([-1, -1, -1]);
    expect(state.iteration).toBe(1);

    const clean = batch(101, false);
    const next = await sdsIteration(state, clean);
    for (const t of Object.values(clean)) be.dispose(t);
    expect(next.skipped).toBeUndefined();
    for (const l of next.losses) expect(Number.isFinite(l) && l > 0).toBe(true);
    expect(state.students.map((s) => s.optimizer.iteration)).toEqual([1, 1]);
    const after = await snapshot(state);
    expect(firstDifference(after[2], before[2])).not.toBe(-1); // the teacher moved this time
    expect(after.map((net) => net.every((v) => Number.isFinite(v)))).toEqual([true, true, true]);
    disposeSdsState(state);
  });

  it('skips the supervised step on a NaN scan the same way', async () => {
    const state = createSdsState(be, resolveSdsConfig({ mode: 'supervised' }, config));
    const before = await Promise.all(state.students.map((s) => stateOf(s.net)));
    const poisoned = batch(200, true);
    const e = await sdsIteration(state, poisoned);
    for (const t of Object.values(poisoned)) be.dispose(t);
    expect(Number.isNaN(e.losses[0])).toBe(true);
    expect(e.skipped).toEqual([0]);
    expect(state.students[0].optimizer.iteration).toBe(0);
    const after = await Promise.all(state.students.map((s) => stateOf(s.net)));
    expect(after.map((net, k) => firstDifference(net, before[k]))).toEqual(before.map(() => -1));
    disposeSdsState(state);
  });
});

describe('a NaN weight: every iteration skipped (trainSds, finetune)', () => {
  let labeled: { image: Volume; label: Volume }[];
  let unlabeled: Volume[];
  /** A V-Net (nFilters 2, nClasses 3) whose first convolution holds one NaN weight, as safetensors. */
  let poisonedModel: Uint8Array;
  beforeAll(async () => {
    const cases = await loadCases(fileURLToPath(new URL('../examples/data', import.meta.url)), [
      'hippocampus_001',
      'hippocampus_003',
      'hippocampus_004',
    ]);
    const crop = (v: Volume): Volume => cropOrPad(v, [20, 24, 20]);
    labeled = cases.slice(0, 2).map((c) => ({ image: crop(c.image), label: crop(c.label) }));
    unlabeled = [crop(cases[2].image)];
    const net = new VNet(be, { nFilters: 2, nClasses: 3 }, { seed: 5 });
    const file = readSafetensors(await saveVNet(be, net));
    net.dispose();
    const tensors = new Map([...file.tensors].map(([n, t]) => [n, { shape: t.shape, data: t.data.slice() }]));
    const first = [...tensors.values()].find((t) => t.data instanceof Float32Array && t.data.length > 1)!;
    (first.data as Float32Array)[0] = NaN;
    poisonedModel = writeSafetensors(tensors, file.metadata);
  });

  it('trainSds: the second skipped iteration in a row throws E_NONFINITE naming iteration 2', async () => {
    const c = resolveSdsConfig(
      {
        mode: 'sds',
        seed: 3,
        network: { nFilters: 2, nClasses: 3 },
        patch: [16, 16, 16],
        labeledBatch: 4,
        unlabeledBatch: 4,
        iterations: 10,
      },
      SDS_SMALL_CPU_PRESET,
    );
    const events: SdsTrainerEvent[] = [];
    const error = await trainSds({
      backend: be,
      labeled,
      unlabeled,
      config: c,
      initial: poisonedModel,
      maxNonFiniteInARow: 2,
      onEvent: (e) => events.push(e),
    }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(SdsError);
    expect((error as SdsError).code).toBe('E_NONFINITE');
    expect((error as SdsError).message).toMatch(/stage2 iteration 2: non-finite loss .* in 2 iterations in a row/);
    expect((error as SdsError).details.iteration).toBe(2);
    const iterations = events.filter((e) => e.type === 'iteration');
    expect(iterations.map((e) => [e.iteration, e.skipped])).toEqual([
      [1, [0, 1]],
      [2, [0, 1]],
    ]);
  });

  it('finetune() passes the skips on in its progress events (2 iterations: under the limit of 5 in a row, so it ends)', async () => {
    const seg = await createSegmenter({ backend: 'wasm', threads: 1, network: { nFilters: 2, nClasses: 3 }, patch: [16, 16, 16] });
    try {
      await seg.load(poisonedModel);
      const events: FinetuneProgress[] = [];
      const result = await seg.finetune({
        labeled,
        unlabeled,
        config: { mode: 'sds', seed: 3, labeledBatch: 4, unlabeledBatch: 4, iterations: 2 },
        onProgress: (e) => events.push(e),
      });
      expect(result).toMatchObject({ stage1Iterations: 0, iterations: 2, aborted: false });
      const iterations = events.filter((e) => e.type === 'iteration');
      expect(iterations.map((e) => [e.iteration, e.skipped, e.selected])).toEqual([
        [1, [0, 1], -1],
        [2, [0, 1], -1],
      ]);
    } finally {
      await seg.dispose();
    }
  });
});
