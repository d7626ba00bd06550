// Patch augmentation for source training (src/train/augment.ts): the resampling against permutations
// worked by hand, the intensity transforms against their definitions, and the trainer's use of them.
import { describe, expect, it } from 'vitest';
import type { Vec3 } from '../src/core/shape.js';
import { SdsError } from '../src/core/errors.js';
import {
  NNUNET_AUGMENTATION,
  type PatchAugmentation,
  augmentIntensities,
  augmentPatch,
  expectAugmentation,
  rotationMatrix,
  transformPatch,
} from '../src/train/augment.js';
import { RandomStream } from '../src/train/random-stream.js';

const NONE: PatchAugmentation = {
  ...NNUNET_AUGMENTATION,
  rotationProbability: 0,
  scaleProbability: 0,
  noiseProbability: 0,
  brightnessProbability: 0,
  contrastProbability: 0,
  gammaProbability: 0,
};

/** A patch [D, H, W] with distinct values and labels 0..3, at offset `base` of a larger batch array. */
function patchOf(patch: Vec3, base: number): { image: Float32Array; label: Uint8Array } {
  const size = patch[0] * patch[1] * patch[2];
  const image = new Float32Array(base + size).fill(-7);
  const label = new Uint8Array(base + size).fill(9);
  for (let i = 0; i < size; i++) {
    image[base + i] = 0.5 + i;
    label[base + i] = i % 4;
  }
  return { image, label };
}

describe('transformPatch', () => {
  it('leaves a patch as it was under the identity, and touches nothing outside its slot', () => {
    const patch: Vec3 = [3, 4, 5];
    const { image, label } = patchOf(patch, 11);
    const [before, beforeLabel] = [image.slice(), label.slice()];
    transformPatch(image, label, 11, patch, rotationMatrix(0, 0, 0), 1);
    expect(Array.from(image)).toEqual(Array.from(before));
    expect(Array.from(label)).toEqual(Array.from(beforeLabel));
  });

  it('a quarter turn about the depth axis: out[d][h][w] = in[d][H-1-w][h]', () => {
    const patch: Vec3 = [2, 6, 6];
    const { image, label } = patchOf(patch, 0);
    const [src, srcLabel] = [image.slice(), label.slice()];
    transformPatch(image, label, 0, patch, rotationMatrix(0, 0, Math.PI / 2), 1);
    for (let d = 0; d < 2; d++)
      for (let h = 0; h < 6; h++)
        for (let w = 0; w < 6; w++) {
          const out = (d * 6 + h) * 6 + w;
          const from = (d * 6 + (5 - w)) * 6 + h;
          expect(image[out]).toBeCloseTo(src[from], 4);
          expect(label[out]).toBe(srcLabel[from]);
        }
  });

  it('zooming in by 2 keeps the centre and reads half-way points trilinearly; outside the patch is 0', () => {
    const patch: Vec3 = [1, 1, 5];
    const image = Float32Array.from([0, 10, 20, 30, 40]);
    const label = Uint8Array.from([0, 1, 2, 3, 4]);
    transformPatch(image, label, 0, patch, rotationMatrix(0, 0, 0), 2);
    // Output w reads 2 + (w - 2) / 2: 1, 1.5, 2, 2.5, 3.
    expect(Array.from(image)).toEqual([10, 15, 20, 25, 30]);
    expect(Array.from(label)).toEqual([1, 2, 2, 3, 3]); // Math.round: 1.5 -> 2, 2.5 -> 3
    const out = Float32Array.from([0, 10, 20, 30, 40]);
    transformPatch(out, Uint8Array.from([1, 1, 1, 1, 1]), 0, patch, rotationMatrix(0, 0, 0), 0.5);
    // Zooming out reads 2 + 2 (w - 2): -2 and 6 fall outside.
    expect(Array.from(out)).toEqual([0, 0, 20, 40, 0]);
  });
});

describe('augmentIntensities', () => {
  const patchValues = (): Float32Array => Float32Array.from({ length: 64 }, (_, i) => Math.sin(i) * 2 + 0.3);

  it('does nothing when every probability is 0', () => {
    const x = patchValues();
    augmentIntensities(x, 0, 64, NONE, new RandomStream(1));
    expect(Array.from(x)).toEqual(Array.from(patchValues()));
  });

  it('brightness multiplies every voxel by one factor in [0.75, 1.25]', () => {
    const x = patchValues();
    augmentIntensities(x, 0, 64, { ...NONE, brightnessProbability: 1 }, new RandomStream(2));
    const ratio = x[0] / patchValues()[0];
    expect(ratio).toBeGreaterThanOrEqual(0.75);
    expect(ratio).toBeLessThanOrEqual(1.25);
    patchValues().forEach((v, i) => expect(x[i]).toBeCloseTo(v * ratio, 5));
  });

  it('gamma changes the values but keeps the mean and the spread; contrast stays within the range', () => {
    const moments = (v: Float32Array): [number, number] => {
      const mean = v.reduce((a, b) => a + b, 0) / v.length;
      return [mean, Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length)];
    };
    const x = patchValues();
    augmentIntensities(x, 0, 64, { ...NONE, gammaProbability: 1 }, new RandomStream(3));
    const [m0, s0] = moments(patchValues());
    const [m1, s1] = moments(x);
    expect(m1).toBeCloseTo(m0, 5);
    expect(s1).toBeCloseTo(s0, 5);
    expect(Math.max(...Array.from(x, (v, i) => Math.abs(v - patchValues()[i])))).toBeGreaterThan(1e-3);
    const y = patchValues();
    augmentIntensities(y, 0, 64, { ...NONE, contrastProbability: 1 }, new RandomStream(4));
    const [lo, hi] = [Math.min(...patchValues()), Math.max(...patchValues())];
    for (const v of y) expect(v >= lo - 1e-6 && v <= hi + 1e-6).toBe(true);
  });
});

describe('augmentPatch', () => {
  it('is fixed by the stream: the same seed gives the same patch, another seed another one', () => {
    const patch: Vec3 = [4, 6, 5];
    const always = { ...NNUNET_AUGMENTATION, rotationProbability: 1, scaleProbability: 1, gammaProbability: 1 };
    const run = (seed: number): Float32Array => {
      const { image, label } = patchOf(patch, 0);
      augmentPatch(image, label, 0, patch, always, new RandomStream(seed));
      return image;
    };
    expect(Array.from(run(5))).toEqual(Array.from(run(5)));
    expect(Array.from(run(6))).not.toEqual(Array.from(run(5)));
  });

  it('refuses out-of-range settings with E_INVALID_ARGUMENT saying what was found', () => {
    const refused = (a: PatchAugmentation, message: RegExp): void => {
      expect(() => expectAugmentation(a)).toThrow(SdsError);
      expect(() => expectAugmentation(a)).toThrow(message);
    };
    refused({ ...NNUNET_AUGMENTATION, gammaProbability: 1.5 }, /augmentation\.gammaProbability: expected a number in \[0, 1\], found 1\.5/);
    refused({ ...NNUNET_AUGMENTATION, scaleRange: [1.2, 0.8] }, /scaleRange: expected \[lo, hi\] with 0 < lo <= hi, found \[1\.2, 0\.8\]/);
    refused({ ...NNUNET_AUGMENTATION, rotationDegrees: -1 }, /rotationDegrees: expected a number in \[0, 180\], found -1/);
    expect(() => expectAugmentation(NNUNET_AUGMENTATION)).not.toThrow();
  });
});
