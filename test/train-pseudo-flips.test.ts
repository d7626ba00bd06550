// The `pseudoLabelFlips` switch (src/train/sds/pseudo-labels.ts): the teacher's pseudo-labels from its
// softmax averaged with the softmax of the mirrored patch, mirrored back; checked against the same sum
// computed on the host from two plain forwards, on the reference backend.
import { describe, expect, it } from 'vitest';
import type { Tensor } from '../src/core/tensor.js';
import { keepLargestComponentPerSample } from '../src/infer/connected-components.js';
import { VNet } from '../src/nn/vnet.js';
import { flip, softmax } from '../src/ops/index.js';
import { createReferenceBackend } from '../src/ops/reference/index.js';
import { tensorAxisOf } from '../src/train/patches.js';
import { pseudoLabelHalves } from '../src/train/sds/pseudo-labels.js';
import { ReadCounter } from '../src/train/sds/reads.js';

const be = createReferenceBackend();
const [N, K, D, H, W] = [2, 3, 16, 16, 16];

/** Host [N, K, D, H, W] mirrored along W. */
function mirrorW(x: Float32Array): Float32Array {
  const out = new Float32Array(x.length);
  for (let row = 0; row < x.length / W; row++) for (let w = 0; w < W; w++) out[row * W + w] = x[row * W + (W - 1 - w)];
  return out;
}

function argmaxHost(p: Float32Array): Uint8Array {
  const voxels = D * H * W;
  const out = new Uint8Array(N * voxels);
  for (let n = 0; n < N; n++)
    for (let v = 0; v < voxels; v++) {
      let best = 0;
      for (let k = 1; k < K; k++) if (p[(n * K + k) * voxels + v] > p[(n * K + best) * voxels + v]) best = k;
      out[n * voxels + v] = best;
    }
  return out;
}

describe('flip-averaged pseudo-labels', () => {
  it("equal LCC(argmax(softmax T(x) + mirror(softmax T(mirror x)))) and differ from one view's", async () => {
    const teacher = new VNet(be, { nFilters: 2, nClasses: K }, { seed: 11 });
    teacher.eval();
    let s = 5;
    const data = Float32Array.from({ length: N * D * H * W }, () => {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      return s / 2 ** 31 - 1;
    });
    const unlabeled = be.upload(data, [N, 1, D, H, W]);
    const [unlabeledA, unlabeledB] = [0, 1].map((n) => be.upload(data.subarray(n * D * H * W, (n + 1) * D * H * W), [1, 1, D, H, W]));
    const read = async (t: Tensor): Promise<Float32Array> => (await be.read(t)) as Float32Array;
    const axis = tensorAxisOf('x');
    expect(axis).toBe(2);

    const plainLogits = teacher.forward(unlabeled);
    const plain = await read(softmax(be, plainLogits));
    const mirroredInput = flip(be, unlabeled, [axis]);
    const mirrored = mirrorW(await read(softmax(be, teacher.forward(mirroredInput))));
    const expected = keepLargestComponentPerSample(argmaxHost(plain.map((p, i) => p + mirrored[i])), [N, D, H, W], { connectivity: 26 });
    const single = keepLargestComponentPerSample(argmaxHost(plain), [N, D, H, W], { connectivity: 26 });

    const options = { connectivity: 26 as const, trainMode: false };
    const batch = { unlabeledA, unlabeledB, unlabeled };
    const [fa, fb] = await pseudoLabelHalves(be, teacher, batch, { ...options, flipAxes: [axis] }, new ReadCounter(be));
    const got = new Uint8Array([...((await be.read(fa)) as Uint8Array), ...((await be.read(fb)) as Uint8Array)]);
    expect(got).toEqual(expected);
    const [pa, pb] = await pseudoLabelHalves(be, teacher, batch, options, new ReadCounter(be));
    const one = new Uint8Array([...((await be.read(pa)) as Uint8Array), ...((await be.read(pb)) as Uint8Array)]);
    expect(one).toEqual(single);
    // The second view changes some voxels' class, so the switch is not a no-op on this network.
    expect(got.some((v, i) => v !== one[i])).toBe(true);
  });
});
