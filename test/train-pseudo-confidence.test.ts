// The `pseudoLabelConfidence` switch (src/train/sds/pseudo-labels.ts): pseudo-label voxels whose largest
// teacher probability is below the threshold become IGNORE_LABEL after the largest-component filter;
// checked against the same rule applied on the host to the teacher's softmax, on the reference backend
// and on wasm, with one read-back per call.
import { describe, expect, it } from 'vitest';
import type { Backend } from '../src/backend/backend.js';
import { createWasmBackend } from '../src/backend/wasm/index.js';
import type { Tensor } from '../src/core/tensor.js';
import { keepLargestComponentPerSample } from '../src/infer/connected-components.js';
import { VNet } from '../src/nn/vnet.js';
import { IGNORE_LABEL, flip, softmax } from '../src/ops/index.js';
import { createReferenceBackend } from '../src/ops/reference/index.js';
import { pseudoLabelHalves } from '../src/train/sds/pseudo-labels.js';
import { ReadCounter } from '../src/train/sds/reads.js';

const [N, K, D, H, W] = [2, 3, 16, 16, 16];
const voxels = D * H * W;

function inputData(): Float32Array {
  let s = 5;
  return Float32Array.from({ length: N * voxels }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 31 - 1;
  });
}

/** Host argmax (first on ties) and the largest probability of softmax output [N, K, D, H, W]. */
function classesAndTop(p: Float32Array): { classes: Uint8Array; top: Float32Array } {
  const classes = new Uint8Array(N * voxels);
  const top = new Float32Array(N * voxels);
  for (let n = 0; n < N; n++)
    for (let v = 0; v < voxels; v++) {
      let best = 0;
      for (let k = 1; k < K; k++) if (p[(n * K + k) * voxels + v] > p[(n * K + best) * voxels + v]) best = k;
      classes[n * voxels + v] = best;
      top[n * voxels + v] = p[(n * K + best) * voxels + v];
    }
  return { classes, top };
}

/** The host rule at the median top probability (about half the voxels ignored): LCC of argmax, then IGNORE_LABEL below it. */
function expectedLabels(probs: Float32Array): { classes: Uint8Array; threshold: number; expected: Uint8Array } {
  const { classes, top } = classesAndTop(probs);
  const threshold = Float32Array.from(top).sort()[top.length >> 1];
  const expected = keepLargestComponentPerSample(classes, [N, D, H, W], { connectivity: 26 });
  for (let i = 0; i < expected.length; i++) if (top[i] < threshold) expected[i] = IGNORE_LABEL;
  return { classes, threshold, expected };
}

async function halves(be: Backend, teacher: VNet, data: Float32Array, confidence: number, flipAxes: (0 | 1 | 2)[] = []) {
  const unlabeled = be.upload(data, [N, 1, D, H, W]);
  const [unlabeledA, unlabeledB] = [0, 1].map((n) => be.upload(data.subarray(n * voxels, (n + 1) * voxels), [1, 1, D, H, W]));
  const reads = new ReadCounter(be);
  const options = { connectivity: 26 as const, trainMode: false, confidence, flipAxes };
  const [a, b] = await pseudoLabelHalves(be, teacher, { unlabeledA, unlabeledB, unlabeled }, options, reads);
  const labels = new Uint8Array([...((await be.read(a)) as Uint8Array), ...((await be.read(b)) as Uint8Array)]);
  for (const t of [unlabeled, unlabeledA, unlabeledB, a, b]) be.dispose(t);
  return { labels, reads: reads.count };
}

describe('confidence-masked pseudo-labels', () => {
  it('ignore exactly the voxels below the threshold, after LCC of the plain argmax, in one read-back', async () => {
    const be = createReferenceBackend();
    const teacher = new VNet(be, { nFilters: 2, nClasses: K }, { seed: 11 });
    teacher.eval();
    const data = inputData();
    const x = be.upload(data, [N, 1, D, H, W]);
    const probs = (await be.read(softmax(be, teacher.forward(x)))) as Float32Array;
    const { classes, threshold, expected } = expectedLabels(probs);

    const got = await halves(be, teacher, data, threshold);
    expect(got.reads).toBe(1);
    expect(got.labels).toEqual(expected);
    const ignored = got.labels.filter((v) => v === IGNORE_LABEL).length;
    expect(ignored).toBeGreaterThan(0.4 * got.labels.length);
    expect(ignored).toBeLessThan(0.6 * got.labels.length);
    // Threshold 0 is the paper's pseudo-labels, nothing ignored.
    const plain = await halves(be, teacher, data, 0);
    expect(plain.labels).toEqual(keepLargestComponentPerSample(classes, [N, D, H, W], { connectivity: 26 }));
  });

  it('with flips, threshold the mean of the two views', async () => {
    const be = createReferenceBackend();
    const teacher = new VNet(be, { nFilters: 2, nClasses: K }, { seed: 12 });
    teacher.eval();
    const data = inputData();
    const x = be.upload(data, [N, 1, D, H, W]);
    const read = async (t: Tensor): Promise<Float32Array> => (await be.read(t)) as Float32Array;
    const p = await read(softmax(be, teacher.forward(x)));
    const q = await read(flip(be, softmax(be, teacher.forward(flip(be, x, [2]))), [2]));
    const mean = p.map((v, i) => Math.fround(Math.fround(v + q[i]) * 0.5));
    const { threshold, expected } = expectedLabels(mean);
    expect((await halves(be, teacher, data, threshold, [2])).labels).toEqual(expected);
  });

  it("wasm gives the reference backend's labels", async () => {
    const data = inputData();
    const ref = createReferenceBackend();
    const wasm = await createWasmBackend({ threads: 1 });
    try {
      const refTeacher = new VNet(ref, { nFilters: 2, nClasses: K }, { seed: 13 });
      const wasmTeacher = new VNet(wasm, { nFilters: 2, nClasses: K }, { seed: 13 });
      refTeacher.eval();
      wasmTeacher.eval();
      const want = await halves(ref, refTeacher, data, 0.4);
      const got = await halves(wasm, wasmTeacher, data, 0.4);
      expect(want.labels.some((v) => v === IGNORE_LABEL)).toBe(true);
      // Probabilities within float32 rounding of 0.4 may fall either side: allow a handful.
      const differing = got.labels.filter((v, i) => v !== want.labels[i]).length;
      expect(differing).toBeLessThanOrEqual(got.labels.length * 1e-3);
    } finally {
      wasm.destroy();
    }
  });
});
