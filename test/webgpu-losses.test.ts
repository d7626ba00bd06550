import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { WebGpuContext } from '../src/backend/webgpu/context.js';
import { acquireDevice } from '../src/backend/webgpu/device.js';
import { makeLossKernels } from '../src/backend/webgpu/kernels/losses.js';
import { WebGpuRuntime } from '../src/backend/webgpu/runtime.js';
import { SUM_VARIANTS, sumWorkgroups } from './support/webgpu-sums.js';
import type { Vec3 } from '../src/core/shape.js';
import type { Tensor } from '../src/core/tensor.js';
import { dense } from '../src/ops/dense.js';
import { diceCeLossReference } from '../src/ops/dice-ce.js';
import { disagreementMseReference } from '../src/ops/disagreement.js';
import type { MaskRegion } from '../src/contract/params.js';
import { hostCubeMask, randomFloat32, randomLabels, randomLevels } from './support/random-data.js';

/**
 * The WebGPU loss kernels driven directly (no dispatch layer) against the float64 references, on
 * shapes the shared op suite keeps small: several partial-sum chunks per sample (over 1,024 voxels),
 * ties in argmax, empty regions, int32 labels, and run-to-run determinism of the reduction.
 */
describe.each(SUM_VARIANTS)('webgpu loss kernels, profile $profile, $sums sums', ({ profile, sums }) => {
  let runtime: WebGpuRuntime;
  let ctx: WebGpuContext;
  let kernels: ReturnType<typeof makeLossKernels>;
  const read = async (t: Tensor) => new Float32Array(await runtime.readBuffer(ctx.buffer(t), Math.max(1, t.size) * 4));

  beforeAll(async () => {
    const { device } = await acquireDevice();
    runtime = new WebGpuRuntime(device);
    ctx = new WebGpuContext(runtime, device.limits, profile, await sumWorkgroups(device, sums));
    kernels = makeLossKernels(ctx);
  });
  afterAll(() => runtime.destroy());

  /** Gradient entries are O(1 / voxels): compare against the largest reference entry. */
  function expectClose(actual: Float32Array, expected: ArrayLike<number>, relative: number): void {
    expect(actual.length).toBe(expected.length);
    let scale = 0;
    for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i]));
    let worst = 0;
    for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(actual[i] - expected[i]));
    expect(worst).toBeLessThanOrEqual(relative * Math.max(scale, 1e-30));
  }

  interface DiceCase {
    readonly name: string;
    readonly n: number;
    readonly c: number;
    readonly spatial: Vec3;
    readonly region: MaskRegion | null;
    readonly labels?: 'uint8' | 'int32';
    /** Cube inside the patch; the default covers a middle block. */
    readonly cube?: readonly [Vec3, Vec3];
  }

  const diceCases: DiceCase[] = [
    { name: 'batch 1, 2 classes, no mask', n: 1, c: 2, spatial: [3, 5, 7], region: null },
    { name: 'batch 3, 3 classes, outside', n: 3, c: 3, spatial: [5, 6, 7], region: 'outside' },
    { name: 'batch 3, 3 classes, inside, int32 labels', n: 3, c: 3, spatial: [5, 6, 7], region: 'inside', labels: 'int32' },
    { name: 'batch 2, 2 classes, several chunks per sample', n: 2, c: 2, spatial: [9, 11, 13], region: 'outside' },
    {
      name: 'empty region (cube covers everything)',
      n: 2,
      c: 3,
      spatial: [3, 4, 5],
      region: 'inside',
      cube: [
        [0, 0, 0],
        [0, 0, 0],
      ],
    },
  ];

  test.each(diceCases)('diceCeLoss matches the reference: $name', async ({ n, c, spatial, region, labels: labelType, cube }) => {
    const logitsHost = randomFloat32(11, [n, c, ...spatial], -4, 4);
    const labelsHost = randomLabels(12, [n, ...spatial], c, labelType ?? 'uint8');
    const [start, size] = cube ?? [
      [1, 1, 2],
      [2, 3, 3],
    ];
    const maskHost = region === null ? null : hostCubeMask(spatial, start, size);
    const p = { weight: 0.5, region: region ?? 'outside' };
    const expected = diceCeLossReference(
      dense(Float64Array.from(logitsHost.data), logitsHost.shape),
      dense(labelsHost.data, labelsHost.shape),
      maskHost === null ? null : dense(maskHost.data, maskHost.shape),
      p,
    );
    const logits = ctx.upload(logitsHost.data, logitsHost.shape);
    const labels = ctx.upload(labelsHost.data, labelsHost.shape);
    const mask = maskHost === null ? null : ctx.upload(maskHost.data, maskHost.shape);
    const { loss, grad } = kernels.diceCeLoss(logits, labels, mask, p);
    expect(loss.shape).toEqual([]);
    expect(grad.shape).toEqual(logits.shape);
    const [lossValue] = await read(loss);
    expect(lossValue).toBeCloseTo(expected.loss.data[0], 6);
    expectClose(await read(grad), expected.grad.data, 1e-5);
  });

  const mseCases = [
    { name: 'batch 1, 2 classes', n: 1, c: 2, spatial: [3, 5, 7] as Vec3 },
    { name: 'batch 3, 3 classes', n: 3, c: 3, spatial: [5, 6, 7] as Vec3 },
    { name: 'batch 3, 2 classes, several chunks', n: 3, c: 2, spatial: [9, 11, 13] as Vec3 },
  ];

  test.each(mseCases)('disagreementMse matches the reference: $name', async ({ n, c, spatial }) => {
    // Integer levels make exact ties, so both argmaxes must take the first maximum.
    const logitsHost = randomLevels(21, [n, c, ...spatial], 3);
    const otherHost = randomLevels(22, [n, c, ...spatial], 3);
    const targetHost = randomLabels(23, [n, ...spatial], c);
    const maskHost = hostCubeMask(spatial, [1, 1, 1], [2, 3, 4]);
    const p = { weightOutside: 1, weightInside: 0.5 };
    const expected = disagreementMseReference(
      dense(Float64Array.from(logitsHost.data), logitsHost.shape),
      dense(otherHost.data, otherHost.shape),
      dense(targetHost.data, targetHost.shape),
      dense(maskHost.data, maskHost.shape),
      p,
    );
    const { loss, grad } = kernels.disagreementMse(
      ctx.upload(logitsHost.data, logitsHost.shape),
      ctx.upload(otherHost.data, otherHost.shape),
      ctx.upload(targetHost.data, targetHost.shape),
      ctx.upload(maskHost.data, maskHost.shape),
      p,
    );
    const [lossValue] = await read(loss);
    expect(expected.loss.data[0]).toBeGreaterThan(0);
    expect(lossValue).toBeCloseTo(expected.loss.data[0], 6);
    expectClose(await read(grad), expected.grad.data, 1e-5);
  });

  test('disagreementMse is zero with zero gradient when the students agree everywhere', async () => {
    const shape = [2, 3, 3, 4, 5];
    const logitsHost = randomFloat32(31, shape);
    const logits = ctx.upload(logitsHost.data, shape);
    const target = ctx.upload(randomLabels(32, [2, 3, 4, 5], 3).data, [2, 3, 4, 5]);
    const mask = ctx.upload(hostCubeMask([3, 4, 5], [0, 0, 0], [1, 2, 2]).data, [3, 4, 5]);
    const { loss, grad } = kernels.disagreementMse(logits, logits, target, mask, { weightOutside: 1, weightInside: 1 });
    expect([...(await read(loss))]).toEqual([0]);
    expect((await read(grad)).every((v) => v === 0)).toBe(true);
  });

  test('losses are bit-identical from run to run (fixed reduction order)', async () => {
    const shape = [2, 2, 9, 11, 13];
    const logitsHost = randomFloat32(41, shape, -3, 3);
    const logits = ctx.upload(logitsHost.data, shape);
    const labels = ctx.upload(randomLabels(42, [2, 9, 11, 13], 2).data, [2, 9, 11, 13]);
    const runs = await Promise.all(
      [0, 1, 2].map(() => read(kernels.diceCeLoss(logits, labels, null, { weight: 1, region: 'outside' }).loss)),
    );
    expect(runs[1][0]).toBe(runs[0][0]);
    expect(runs[2][0]).toBe(runs[0][0]);
  });
});
