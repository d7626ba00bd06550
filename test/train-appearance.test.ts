// MRI appearance augmentation for adaptation (src/train/appearance.ts, src/volume/mri-artifacts.ts):
// the blur against scipy.ndimage.gaussian_filter (scripts/make-appearance-fixtures.py), the bias field
// and shading against their definitions, the label-free scanner check (src/train/adapt/scanner-distance.ts)
// and the SDS sampler's `augmentLabeled` switch, on real scans through the demo's simulated scanner.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEMO_SCANNER, simulateScanner } from '../examples/scanner-shift.js';
import type { Vec3 } from '../src/core/shape.js';
import type { Tensor } from '../src/core/tensor.js';
import { createReferenceBackend } from '../src/ops/reference/index.js';
import { labeledLookForeign, meanQuantileCurve, scannerDistance } from '../src/train/adapt/scanner-distance.js';
import { type AppearanceAugmentation, augmentAppearance, MRI_APPEARANCE, shadePatch } from '../src/train/appearance.js';
import { NNUNET_AUGMENTATION } from '../src/train/augment.js';
import { loadCases } from '../src/train/node-cases.js';
import { RandomStream } from '../src/train/random-stream.js';
import { disposeSdsBatch, SdsSampler, type SdsSamplerOptions } from '../src/train/sds/index.js';
import { type Volume, zScoreNormalize } from '../src/volume/index.js';
import { readNiftiFile } from '../src/volume/node-io.js';
import { gaussianBlur, polynomialBiasField } from '../src/volume/mri-artifacts.js';

const fixture = (name: string): URL => new URL(`./fixtures/appearance/${name}`, import.meta.url);

function meanStd(x: Float32Array): [number, number] {
  const mean = x.reduce((a, b) => a + b, 0) / x.length;
  return [mean, Math.sqrt(x.reduce((a, b) => a + (b - mean) ** 2, 0) / x.length)];
}

describe('gaussianBlur', () => {
  it('matches scipy.ndimage.gaussian_filter (mode nearest) with a different sigma per axis', async () => {
    const f = JSON.parse(await readFile(fixture('blur.json'), 'utf8')) as {
      shape: [number, number, number];
      sigma: [number, number, number];
      input: number[];
      expected: number[];
    };
    const data = Float32Array.from(f.input);
    gaussianBlur(data, f.shape, f.sigma);
    const worst = f.expected.reduce((m, e, i) => Math.max(m, Math.abs(data[i] - e)), 0);
    expect(worst).toBeLessThan(2e-5);
  });
});

describe('polynomialBiasField', () => {
  it('is the scaled polynomial of coordinates in [-1, 1]: x alone gives a ramp from -strength to +strength', () => {
    const shape: [number, number, number] = [5, 3, 2];
    const b = polynomialBiasField(shape, [2, 0, 0, 0, 0, 0, 0, 0, 0], 0.4);
    for (let z = 0; z < 2; z++)
      for (let y = 0; y < 3; y++) for (let x = 0; x < 5; x++) expect(b[(z * 3 + y) * 5 + x]).toBeCloseTo(0.4 * (x / 2 - 1), 6);
  });

  it('peaks at |b| = strength for any coefficients, and is flat zero for a flat polynomial', () => {
    const b = polynomialBiasField([6, 5, 4], [0.3, -0.7, 0.2, 0.9, -0.1, 0.4, -0.6, 0.5, 0.8], 0.55);
    expect(Math.max(...b.map(Math.abs))).toBeCloseTo(0.55, 6);
    expect(polynomialBiasField([3, 3, 3], new Array(9).fill(0), 0.5).every((v) => v === 0)).toBe(true);
  });
});

describe('shadePatch', () => {
  const patch = Float32Array.from({ length: 60 }, (_, i) => Math.sin(i) * 2 + i / 30);

  it('keeps the mean and standard deviation, and moves voxels by the field about the minimum', () => {
    const view = patch.slice();
    const field = Float32Array.from({ length: 60 }, (_, i) => (i < 30 ? -0.5 : 0.5));
    shadePatch(view, field);
    const [m0, s0] = meanStd(patch);
    const [m1, s1] = meanStd(view);
    expect(m1).toBeCloseTo(m0, 5);
    expect(s1).toBeCloseTo(s0, 5);
    // Before the affine restore, v' - min = (v - min) e^b: the ratio of two voxels' offsets from the
    // shaded minimum's image follows e^(b_i - b_j) once the affine map is undone.
    const min = Math.min(...patch);
    const shaded = Array.from(patch, (v, i) => min + (v - min) * Math.exp(field[i]));
    const [ms, ss] = meanStd(Float32Array.from(shaded));
    for (let i = 0; i < 60; i += 7) expect(view[i]).toBeCloseTo(((shaded[i] - ms) * s0) / ss + m0, 4);
  });

  it('leaves a patch unchanged under a constant field (a global scale that z-scoring undoes)', () => {
    const view = patch.slice();
    shadePatch(view, new Float32Array(60).fill(0.3));
    for (let i = 0; i < 60; i++) expect(view[i]).toBeCloseTo(patch[i], 5);
  });
});

describe('augmentAppearance', () => {
  const patch: Vec3 = [4, 5, 6];
  const size = 120;
  const batch = (): Float32Array => Float32Array.from({ length: 3 * size }, (_, i) => Math.cos(i * 0.3) + (i % 7) * 0.1);
  const OFF: AppearanceAugmentation = {
    ...MRI_APPEARANCE,
    blurProbability: 0,
    biasProbability: 0,
    intensities: { ...NNUNET_AUGMENTATION, noiseProbability: 0, brightnessProbability: 0, contrastProbability: 0, gammaProbability: 0 },
  };

  it('with every probability 0 changes nothing', () => {
    const image = batch();
    augmentAppearance(image, size, patch, OFF, new RandomStream(1));
    expect(image).toEqual(batch());
  });

  it('changes only its slot, and the same stream gives the same patch', () => {
    const always: AppearanceAugmentation = { ...OFF, blurProbability: 1, biasProbability: 1 };
    const a = batch();
    const b = batch();
    augmentAppearance(a, size, patch, always, new RandomStream(9, 4));
    augmentAppearance(b, size, patch, always, new RandomStream(9, 4));
    expect(a).toEqual(b);
    const before = batch();
    expect(a.subarray(0, size)).toEqual(before.subarray(0, size));
    expect(a.subarray(2 * size)).toEqual(before.subarray(2 * size));
    expect(a.subarray(size, 2 * size)).not.toEqual(before.subarray(size, 2 * size));
  });
});

describe("the SDS sampler's augmentLabeled switch", () => {
  const be = createReferenceBackend();
  const DATA = fileURLToPath(new URL('../examples/data', import.meta.url));
  const read = async (t: Tensor): Promise<ArrayLike<number>> => await be.read(t);
  const options = (augmentLabeled: boolean): SdsSamplerOptions => ({
    patch: [16, 16, 16],
    half: 1,
    nClasses: 3,
    augmentation: { rot90Axial: false, flipAxes: ['x'] },
    seed: 4,
    augmentLabeled,
  });

  it('changes the labeled images only: labels, crops and unlabeled patches stay where they were; resuming continues it', async () => {
    const cases = await loadCases(DATA, ['hippocampus_001', 'hippocampus_003', 'hippocampus_004']);
    const labeled = cases.slice(0, 2);
    const unlabeled = [cases[2].image];
    const plain = new SdsSampler(labeled, unlabeled, options(false));
    const augmented = new SdsSampler(labeled, unlabeled, options(true));
    let changed = 0;
    for (let step = 0; step < 3; step++) {
      const p = plain.draw(be, true);
      const a = augmented.draw(be, true);
      expect(await read(a.labelA)).toEqual(await read(p.labelA));
      expect(await read(a.labelB)).toEqual(await read(p.labelB));
      expect(await read(a.unlabeledA)).toEqual(await read(p.unlabeledA));
      expect(await read(a.unlabeledB)).toEqual(await read(p.unlabeledB));
      const [ia, ip] = [await read(a.imageA), await read(p.imageA)];
      if (Array.from(ia).some((v, i) => Math.abs(v - ip[i]) > 1e-3)) changed++;
      disposeSdsBatch(be, p);
      disposeSdsBatch(be, a);
    }
    // Blur and bias at p 0.5 each, nnU-Net's intensity draws: three patches untouched is ~1 %.
    expect(changed).toBeGreaterThan(0);

    const state = augmented.state();
    expect(state.appearance).toBeGreaterThan(0);
    const resumed = new SdsSampler(labeled, unlabeled, options(true));
    resumed.restore(state);
    const next = augmented.draw(be, true);
    const again = resumed.draw(be, true);
    expect(await read(again.imageA)).toEqual(await read(next.imageA));
    expect(await read(again.imageB)).toEqual(await read(next.imageB));
    disposeSdsBatch(be, next);
    disposeSdsBatch(be, again);
  });
});

describe('the label-free scanner check', () => {
  const DATA = fileURLToPath(new URL('../examples/data', import.meta.url));
  const z = (v: Volume): Float32Array => zScoreNormalize(v).data;
  let shipped: Volume[];
  let local: Volume[];
  beforeAll(async () => {
    const split = JSON.parse(await readFile(`${DATA}/split.json`, 'utf8')) as { train: string[]; unlabeled: string[] };
    shipped = await Promise.all(split.train.slice(0, 4).map((n) => readNiftiFile(`${DATA}/images/${n}.nii.gz`)));
    local = await Promise.all(split.unlabeled.map((n) => readNiftiFile(`${DATA}/unlabeled/images/${n}.nii.gz`)));
  });
  const seen = (v: Volume, i: number): Float32Array => z(simulateScanner(v, DEMO_SCANNER, 50 + i));

  it('quantile curves: numpy-style percentiles of each scan, averaged; the distance is 0 for the same set and symmetric', () => {
    const ramp = Float32Array.from({ length: 101 }, (_, i) => i);
    const curve = meanQuantileCurve([ramp, Float32Array.from(ramp, (v) => v + 2)]);
    for (let p = 1; p <= 99; p++) expect(curve[p - 1]).toBeCloseTo(p + 1, 10);
    const a = [ramp];
    const b = [Float32Array.from(ramp, (v) => v * 1.5)];
    expect(scannerDistance(a, a)).toBe(0);
    // |1.5p - p| averaged over p = 1..99 is 0.5 * 50 = 25.
    expect(scannerDistance(a, b)).toBeCloseTo(25, 10);
    expect(scannerDistance(b, a)).toBe(scannerDistance(a, b));
  });

  it("finds the original scanner's scans foreign to the demo scanner's, and the demo scanner's own scans not", () => {
    const unlabeled = local.map(seen);
    const original = labeledLookForeign(shipped.map(z), unlabeled, new RandomStream(0, 7));
    expect(original.foreign).toBe(true);
    expect(original.distance).toBeGreaterThan(1.5 * original.threshold);
    const sameScanner = labeledLookForeign(shipped.map(seen), unlabeled, new RandomStream(0, 7));
    expect(sameScanner.foreign).toBe(false);
    // Without a scanner change at all, the shipped scans are not foreign to the unshifted local ones.
    expect(labeledLookForeign(shipped.map(z), local.map(z), new RandomStream(0, 7)).foreign).toBe(false);
    // Too few unlabeled scans for a null: not foreign.
    expect(labeledLookForeign(shipped.map(z), unlabeled.slice(0, 3), new RandomStream(0, 7))).toEqual({
      distance: 0,
      threshold: Infinity,
      foreign: false,
    });
  });

  it("'auto' in the sampler augments the shipped scans' patches beside the demo scanner's, and not the site's own", () => {
    const labels = shipped.map((v) => ({ ...v, data: new Uint8Array(v.data.length) }));
    const options: SdsSamplerOptions = {
      patch: [16, 16, 16],
      half: 1,
      nClasses: 3,
      augmentation: { rot90Axial: false, flipAxes: ['x'] },
      seed: 4,
      augmentLabeled: 'auto',
    };
    const unlabeled = local.map((v, i) => ({ ...v, data: simulateScanner(v, DEMO_SCANNER, 50 + i).data }));
    const foreign = new SdsSampler(
      shipped.map((image, i) => ({ image, label: labels[i] })),
      unlabeled,
      options,
    );
    expect(foreign.augmentsLabeled).toBe(true);
    expect(foreign.scannerCheck?.foreign).toBe(true);
    const own = shipped.map((v, i) => ({ image: { ...v, data: simulateScanner(v, DEMO_SCANNER, 50 + i).data }, label: labels[i] }));
    const native = new SdsSampler(own, unlabeled, options);
    expect(native.augmentsLabeled).toBe(false);
    expect(new SdsSampler(own, unlabeled, { ...options, augmentLabeled: true }).scannerCheck).toBe(null);
  });
});
