// Concurrency on wasm (1 thread, V-Net nFilters 2, 16^3 windows): two segmenters
// in one process never corrupt each other (interleaved calls give the labels each gives alone), and
// one segmenter's calls run one at a time in call order (src/api/types.ts): `segment` called while
// `finetune` runs waits for it and sees the fine-tuned weights; dispose() rejects queued calls.
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSegmenter } from '../src/api/index.js';
import type { FinetuneConfig, Segmenter } from '../src/api/types.js';
import { loadCases } from '../src/train/node-cases.js';
import { cropOrPad, type Volume } from '../src/volume/index.js';
import { ensureWasmBuilt } from './support/wasm-build.js';

const NETWORK = { nFilters: 2, nClasses: 3 };
const CONFIG: FinetuneConfig = { seed: 5, labeledBatch: 4, unlabeledBatch: 4, stage1Iterations: 1, iterations: 1, checkpointEvery: 100 };
const options = (seed: number) => ({
  backend: 'wasm' as const,
  threads: 1,
  network: NETWORK,
  patch: [16, 16, 16] as [number, number, number],
  seed,
});

let labeled: { image: Volume; label: Volume }[];
let unlabeled: Volume[];
let scan: Volume;
let a: Segmenter;
let b: Segmenter;
let aAlone: Uint8Array;
let bAlone: Uint8Array;

beforeAll(async () => {
  ensureWasmBuilt();
  const cases = await loadCases(fileURLToPath(new URL('../examples/data', import.meta.url)), [
    'hippocampus_001',
    'hippocampus_003',
    'hippocampus_004',
    'hippocampus_006',
  ]);
  const crop = (v: Volume): Volume => cropOrPad(v, [20, 24, 20]);
  labeled = cases.slice(0, 2).map((c) => ({ image: crop(c.image), label: crop(c.label) }));
  unlabeled = [crop(cases[2].image)];
  scan = crop(cases[3].image);
  a = await createSegmenter(options(3));
  b = await createSegmenter(options(4));
  aAlone = (await a.segment(scan)).data;
  bAlone = (await b.segment(scan)).data;
});
afterAll(async () => {
  await a?.dispose();
  await b?.dispose();
});

const same = (x: Uint8Array, y: Uint8Array): boolean => Buffer.from(x).equals(Buffer.from(y));

describe('two segmenters in one process', () => {
  it('differ from each other (so a mix-up would show) and give their own labels when calls interleave', async () => {
    expect(same(aAlone, bAlone)).toBe(false);
    const labels = await Promise.all([a.segment(scan), b.segment(scan), a.segment(scan), b.segment(scan)]);
    expect(labels.map((l, i) => same(l.data, i % 2 === 0 ? aAlone : bAlone))).toEqual([true, true, true, true]);
  });
});

describe('segment while finetune runs', () => {
  it('waits for the fine-tuning (FIFO), then segments with the new weights; the other segmenter is untouched', async () => {
    const c = await createSegmenter(options(3));
    const order: string[] = [];
    const tuning = c.finetune({ labeled, unlabeled, config: CONFIG }).then((r) => (order.push('finetune'), r));
    const during = c.segment(scan).then((l) => (order.push('segment'), l));
    const other = b.segment(scan).then((l) => (order.push('other segmenter'), l));
    const [result, labels, otherLabels] = await Promise.all([tuning, during, other]);
    expect(result.aborted).toBe(false);
    expect(order.indexOf('finetune')).toBeLessThan(order.indexOf('segment'));
    expect(same(otherLabels.data, bAlone)).toBe(true);
    // the queued segment saw the fine-tuned weights: the same labels as a call after it, not the initial ones
    expect(c.info().trained).toBe(true);
    expect(same(labels.data, (await c.segment(scan)).data)).toBe(true);
    expect(same(labels.data, aAlone)).toBe(false);

    // dispose(): a call still waiting is rejected with E_DISPOSED, and so is every later call
    const first = c.segment(scan);
    const queued = c.segment(scan);
    const disposing = c.dispose();
    await expect(queued).rejects.toMatchObject({ code: 'E_DISPOSED' });
    await Promise.allSettled([first, disposing]);
    await expect(c.segment(scan)).rejects.toMatchObject({ code: 'E_DISPOSED' });
    expect(same((await a.segment(scan)).data, aAlone)).toBe(true); // a, same seed as c, unaffected throughout
  });
});
