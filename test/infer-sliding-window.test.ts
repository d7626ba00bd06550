// Sliding-window inference (MONAI sliding_window_inference semantics) on the reference backend:
// window geometry against MONAI's formulas worked by hand, blending weights, single-window equality
// with a plain forward, padding of small volumes, flip TTA, progress, abort, and the Volume API.
import { describe, expect, it } from 'vitest';
import type { Backend } from '../src/backend/backend.js';
import { createReferenceBackend } from '../src/ops/reference/index.js';
import type { Vec3 } from '../src/core/shape.js';
import type { Tensor } from '../src/core/tensor.js';
import {
  type Predictor,
  argmaxClasses,
  importanceMap,
  keepLargestComponent,
  planWindows,
  segmentVolume,
  slidingWindowInference,
  tensorPredictor,
} from '../src/infer/index.js';
import { Conv3d, VNet } from '../src/nn/index.js';
import { argmax, flip, softmax } from '../src/ops/index.js';
import { makeVolume, diagonalAffine } from '../src/volume/index.js';
import { trackAllocations } from './support/tracking-backend.js';

const random = (n: number, seed: number): Float32Array => {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  });
};

const read = async (backend: Backend, t: Tensor): Promise<Float32Array> => {
  const data = (await backend.read(t)) as Float32Array;
  backend.dispose(t);
  return data;
};

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** A small V-Net in eval mode (3 classes) and its predictor. */
function smallVNet(backend: Backend): { net: VNet; predictor: Predictor } {
  const net = new VNet(backend, { nFilters: 2, nClasses: 3, normalization: 'none' }, { seed: 5 });
  net.eval();
  return { net, predictor: (x) => net.forward(x) };
}

/** Softmax of one forward of `predictor` on [1, 1, ...spatial] data, read back. */
async function singleForward(
  backend: Backend,
  predictor: Predictor,
  data: Float32Array,
  spatial: readonly number[],
): Promise<Float32Array> {
  const x = backend.upload(data, [1, 1, ...spatial]);
  const logits = predictor(x);
  backend.dispose(x);
  const p = softmax(backend, logits);
  backend.dispose(logits);
  return read(backend, p);
}

describe('window geometry (MONAI _get_scan_interval / dense_patch_slices)', () => {
  it('places an LA volume 88x140x190 (D, H, W) under roi 80x112x112 at overlap 0.25', () => {
    const plan = planWindows([88, 140, 190], [80, 112, 112], 0.25);
    // interval floor(roi * 0.75); two windows per axis, the last pulled back flush with the end.
    expect(plan.scanInterval).toEqual([60, 84, 84]);
    expect(plan.paddedSize).toEqual([88, 140, 190]);
    expect(plan.padBefore).toEqual([0, 0, 0]);
    const starts = (a: number) => [...new Set(plan.starts.map((s) => s[a]))];
    expect(starts(0)).toEqual([0, 8]);
    expect(starts(1)).toEqual([0, 28]);
    expect(starts(2)).toEqual([0, 78]);
    // first axis slowest (meshgrid indexing="ij")
    expect(plan.starts.slice(0, 3)).toEqual([
      [0, 0, 0],
      [0, 0, 78],
      [0, 28, 0],
    ]);
  });

  it('uses the roi as interval where the roi covers an axis, pads short axes, and handles overlap 0.5', () => {
    const plan = planWindows([100, 16, 5], [32, 16, 16], 0.5);
    // axis 0: interval 16, first i with 16 i + 32 >= 100 is 5, so six starts, the last 80 - 12 = 68.
    expect(plan.scanInterval).toEqual([16, 16, 16]);
    expect([...new Set(plan.starts.map((s) => s[0]))]).toEqual([0, 16, 32, 48, 64, 68]);
    // axis 2: 5 < 16, padded to 16 with floor(11 / 2) = 5 before.
    expect(plan.paddedSize).toEqual([100, 16, 16]);
    expect(plan.padBefore).toEqual([0, 0, 5]);
    expect(plan.starts).toHaveLength(6);
    expect(() => planWindows([10, 10, 10], [4, 4, 4], 1)).toThrow(/E_INVALID_ARGUMENT: .*overlap.*found 1/);
  });
});

describe('importance map (MONAI compute_importance_map)', () => {
  it('is a separable Gaussian with sigma = 0.125 roi, clamped at 1e-3; constant is all ones', () => {
    const roi: Vec3 = [16, 8, 12];
    const map = importanceMap(roi, 'gaussian');
    const g = (i: number, n: number) => Math.exp(-((i - (n - 1) / 2) ** 2) / (2 * (0.125 * n) ** 2));
    const at = (d: number, h: number, w: number) => map[(d * 8 + h) * 12 + w];
    expect(at(7, 3, 5)).toBeCloseTo(g(7, 16) * g(3, 8) * g(5, 12), 6);
    expect(at(9, 1, 2)).toBeCloseTo(Math.max(g(9, 16) * g(1, 8) * g(2, 12), 1e-3), 6);
    expect(at(0, 0, 0)).toBeCloseTo(1e-3, 9); // the corner is below the floor
    expect(Math.min(...map)).toBeCloseTo(1e-3, 9);
    expect(importanceMap(roi, 'constant').every((v) => v === 1)).toBe(true);
  });
});

describe('slidingWindowInference', () => {
  it('over a volume that fits one window equals a single forward (constant: exactly; gaussian: to rounding)', async () => {
    const backend = createReferenceBackend();
    const { net, predictor } = smallVNet(backend);
    const spatial: Vec3 = [16, 16, 32];
    const image = random(16 * 16 * 32, 1);
    const want = await singleForward(backend, predictor, image, spatial);
    for (const mode of ['constant', 'gaussian'] as const) {
      const got = await slidingWindowInference({ data: image, shape: [1, ...spatial] }, tensorPredictor(backend, predictor), {
        roiSize: spatial,
        mode,
      });
      expect(got.shape).toEqual([3, 16, 16, 32]);
      expect(maxAbsDiff(got.data, want)).toBeLessThanOrEqual(mode === 'constant' ? 0 : 1e-6);
    }
    const x = backend.upload(image, [1, 1, ...spatial]);
    const logits = predictor(x);
    const labels = (await backend.read(argmax(backend, logits))) as Uint8Array;
    const got = await slidingWindowInference({ data: image, shape: [1, ...spatial] }, tensorPredictor(backend, predictor), {
      roiSize: spatial,
    });
    expect(Buffer.from(argmaxClasses(got)).equals(labels)).toBe(true);
    net.dispose();
  });

  it('blends overlapping windows with weights that sum to one, borders and corners included', async () => {
    const backend = createReferenceBackend();
    const size: Vec3 = [13, 9, 20];
    const roi: Vec3 = [8, 9, 12];
    const plan = planWindows(size, roi, 0.5);
    // Window n predicts class 1 with logit v(n) (class 0: 0), so its probability is sigmoid(v(n)).
    const v = (n: number) => 0.7 * n - 2;
    let calls = 0;
    const predictor: Predictor = (x) => {
      const b = x.shape[0];
      const per = roi[0] * roi[1] * roi[2];
      const data = new Float32Array(b * 2 * per);
      for (let i = 0; i < b; i++) data.fill(v(calls + i), (2 * i + 1) * per, (2 * i + 2) * per);
      calls += b;
      return backend.upload(data, [b, 2, ...roi]);
    };
    const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));
    const weights = importanceMap(roi, 'gaussian');
    const num = new Float64Array(size[0] * size[1] * size[2]);
    const den = new Float64Array(num.length);
    plan.starts.forEach((s, n) => {
      for (let d = 0, i = 0; d < roi[0]; d++)
        for (let h = 0; h < roi[1]; h++)
          for (let w = 0; w < roi[2]; w++, i++) {
            const o = ((s[0] + d) * size[1] + s[1] + h) * size[2] + s[2] + w;
            num[o] += weights[i] * sigmoid(v(n));
            den[o] += weights[i];
          }
    });
    const got = await slidingWindowInference(
      { data: new Float32Array(num.length), shape: [1, ...size] },
      tensorPredictor(backend, predictor),
      {
        roiSize: roi,
        overlap: 0.5,
        mode: 'gaussian',
        swBatchSize: 3,
      },
    );
    expect(calls).toBe(plan.starts.length);
    expect(plan.starts.length).toBe(3 * 1 * 3); // odd count: the last batch is partial
    const n = num.length;
    const p1 = got.data.subarray(n);
    expect(
      maxAbsDiff(
        p1,
        Float64Array.from(num, (x, i) => x / den[i]),
      ),
    ).toBeLessThan(1e-6);
    // Normalised weights sum to one: the class probabilities still add up to 1 everywhere.
    expect(
      maxAbsDiff(
        Float32Array.from(p1, (p, i) => p + got.data[i]),
        new Float32Array(n).fill(1),
      ),
    ).toBeLessThan(1e-6);
    // The corner voxel lies in the first window only; the far corner in the last only.
    expect(p1[0]).toBeCloseTo(sigmoid(v(0)), 6);
    expect(p1[n - 1]).toBeCloseTo(sigmoid(v(plan.starts.length - 1)), 6);
  });

  it('pads a volume smaller than the roi (floor(diff / 2) before, zeros) and crops back', async () => {
    const backend = createReferenceBackend();
    const { net, predictor } = smallVNet(backend);
    const size: Vec3 = [10, 13, 7];
    const roi: Vec3 = [16, 16, 16];
    const image = random(10 * 13 * 7, 2);
    // By hand: MONAI pads D by 3 + 3, H by 1 + 2, W by 4 + 5.
    const before = [3, 1, 4];
    const padded = new Float32Array(16 ** 3);
    for (let d = 0; d < 10; d++)
      for (let h = 0; h < 13; h++)
        for (let w = 0; w < 7; w++) padded[((d + before[0]) * 16 + h + before[1]) * 16 + w + before[2]] = image[(d * 13 + h) * 7 + w];
    const full = await singleForward(backend, predictor, padded, roi);
    const want = new Float32Array(3 * 10 * 13 * 7);
    for (let k = 0, o = 0; k < 3; k++)
      for (let d = 0; d < 10; d++)
        for (let h = 0; h < 13; h++)
          for (let w = 0; w < 7; w++, o++) want[o] = full[((k * 16 + d + before[0]) * 16 + h + before[1]) * 16 + w + before[2]];
    const got = await slidingWindowInference({ data: image, shape: [1, ...size] }, tensorPredictor(backend, predictor), {
      roiSize: roi,
      mode: 'gaussian',
    });
    expect(got.shape).toEqual([3, ...size]);
    expect(maxAbsDiff(got.data, want)).toBeLessThan(1e-6);
    net.dispose();
  });

  it('puts every window in its place: a 1x1x1 convolution over many windows, with flips, equals the convolution', async () => {
    const backend = createReferenceBackend();
    const conv = new Conv3d(backend, { name: 'pointwise', inChannels: 2, outChannels: 3, kernel: 1, seed: 9 });
    conv.setTraining(false);
    const predictor: Predictor = (x) => conv.forward(x);
    const size: Vec3 = [11, 19, 14];
    const image = random(2 * 11 * 19 * 14, 3);
    const x = backend.upload(image, [1, 2, ...size]);
    const reference = await read(backend, softmax(backend, conv.forward(x)));
    for (const flipAxes of [[], [0, 2]] as const) {
      const got = await slidingWindowInference({ data: image, shape: [2, ...size] }, tensorPredictor(backend, predictor), {
        roiSize: [5, 8, 6],
        overlap: 0.4,
        mode: 'gaussian',
        swBatchSize: 4,
        flipAxes,
      });
      expect(maxAbsDiff(got.data, reference)).toBeLessThan(1e-6);
    }
    conv.dispose();
  });

  it('averages flip TTA as the mean of flipped-back softmaxes, and frees every tensor it made', async () => {
    const tracked = trackAllocations(createReferenceBackend());
    const backend = tracked.backend;
    const { net, predictor } = smallVNet(backend);
    const spatial: Vec3 = [16, 16, 16];
    const image = random(16 ** 3, 4);
    const sets = [[], [0], [2], [0, 2]] as const;
    const want = new Float32Array(3 * 16 ** 3);
    for (const axes of sets) {
      const x = backend.upload(image, [1, 1, ...spatial]);
      const xf = axes.length ? flip(backend, x, [...axes]) : x;
      const p = softmax(backend, predictor(xf));
      const back = axes.length ? flip(backend, p, [...axes]) : p;
      (await backend.read(back)).forEach((value, i) => (want[i] += value / sets.length));
    }
    const live = tracked.liveCount();
    const got = await slidingWindowInference({ data: image, shape: [1, ...spatial] }, tensorPredictor(backend, predictor), {
      roiSize: spatial,
      flipAxes: [0, 2],
    });
    expect(maxAbsDiff(got.data, want)).toBeLessThan(1e-6);
    expect(tracked.liveCount()).toBe(live);
    net.dispose();
  });

  it('reports progress per batch and stops on abort with the signal reason', async () => {
    const backend = createReferenceBackend();
    const conv = new Conv3d(backend, { name: 'pointwise', inChannels: 1, outChannels: 2, kernel: 1, seed: 1 });
    const image = { data: random(12 * 12 * 12, 5), shape: [1, 12, 12, 12] as const };
    const seen: number[] = [];
    await slidingWindowInference(
      image,
      tensorPredictor(backend, (x) => conv.forward(x)),
      {
        roiSize: [8, 8, 8],
        swBatchSize: 3,
        onProgress: (p) => seen.push(p.windowsDone * 100 + p.windowsTotal),
      },
    );
    expect(seen).toEqual([308, 608, 808]);
    const controller = new AbortController();
    const run = slidingWindowInference(
      image,
      tensorPredictor(backend, (x) => conv.forward(x)),
      {
        roiSize: [8, 8, 8],
        signal: controller.signal,
        onProgress: () => controller.abort(new Error('user cancelled')),
      },
    );
    await expect(run).rejects.toThrow('user cancelled');
    await expect(
      slidingWindowInference(
        image,
        tensorPredictor(backend, () => backend.zeros([1, 2, 4, 8, 8], 'float32')),
        { roiSize: [8, 8, 8] },
      ),
    ).rejects.toThrow(
      /E_SHAPE_MISMATCH: sliding window: model output: expected float32 logits \[1, K, 8, 8, 8\], found float32 \[1, 2, 4, 8, 8\]/,
    );
  });
});

describe('segmentVolume', () => {
  it('maps Volume [X, Y, Z] onto tensor [1, 1, Z, Y, X]: roi and flip axes reversed, labels on the input grid', async () => {
    const backend = createReferenceBackend();
    // A 3x3x3 convolution: not flip-symmetric, and its zero padding makes the result depend on window placement.
    const conv = new Conv3d(backend, { name: 'c', inChannels: 1, outChannels: 3, kernel: 3, padding: 1, seed: 3 });
    conv.setTraining(false);
    const predictor: Predictor = (x) => conv.forward(x);
    const [X, Y, Z] = [21, 13, 18];
    const image = makeVolume(random(X * Y * Z, 6), [X, Y, Z], diagonalAffine([0.5, 1, 2]));
    const options = { roiSize: [12, 8, 6] as Vec3, overlap: 0.5, mode: 'gaussian' as const, flipAxes: [0] as const };
    const tensorOptions = { ...options, roiSize: [6, 8, 12] as Vec3, flipAxes: [2] as const };
    const label = await segmentVolume(backend, predictor, image, { ...options, largestComponent: false });
    expect(label.shape).toEqual([X, Y, Z]);
    expect(label.affine).toEqual(image.affine);
    const probs = await slidingWindowInference(
      { data: image.data as Float32Array, shape: [1, Z, Y, X] },
      tensorPredictor(backend, predictor),
      tensorOptions,
    );
    const want = argmaxClasses(probs);
    for (const k of [0, 1, 2]) expect(want.filter((v) => v === k).length).toBeGreaterThan(want.length / 20); // a test with teeth
    expect(Buffer.from(label.data).equals(want)).toBe(true);
    const cleaned = await segmentVolume(backend, predictor, image, options);
    expect(Buffer.from(cleaned.data).equals(keepLargestComponent(want, [X, Y, Z]))).toBe(true);
    conv.dispose();
  });

  it('runs a VNet in eval mode and restores its training mode', async () => {
    const backend = createReferenceBackend();
    const net = new VNet(backend, { nFilters: 2, nClasses: 2, normalization: 'none' }, { seed: 5 });
    const image = makeVolume(random(16 ** 3, 7), [16, 16, 16], diagonalAffine([1, 1, 1]));
    const label = await segmentVolume(backend, net, image, { roiSize: [16, 16, 16] });
    expect(net.isTraining).toBe(true);
    net.eval();
    const want = await singleForward(backend, (x) => net.forward(x), image.data as Float32Array, [16, 16, 16]);
    const labels = argmaxClasses({ data: want, shape: [2, 16, 16, 16] });
    expect(Buffer.from(label.data).equals(keepLargestComponent(labels, [16, 16, 16]))).toBe(true);
    net.dispose();
  });
});
