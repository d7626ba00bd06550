/**
 * Appearance augmentation for adaptation (config `adaptation.augmentLabeled`): the labeled patches are
 * shown as other MRI acquisitions would record them, so the supervised part of self-training stops
 * teaching the original scanner's look. The transforms are the MRI ones of TorchIO and BigAug (Zhang
 * et al. 2020, "Generalizing deep learning for medical image segmentation to unseen domains via deep
 * stacked transformation"): a partial-volume blur with its own sigma per axis (slice thickness), a
 * smooth multiplicative bias field (coil shading), then nnU-Net's noise, brightness, contrast and gamma
 * (src/train/augment.ts). No geometry changes: the labels stay as they are.
 *
 * Patches are [D, H, W] slots of the batch arrays, W fastest; every draw comes from the caller's stream.
 */
import type { Vec3 } from '../core/shape.js';
import { BIAS_MONOMIALS, gaussianBlur, polynomialBiasField } from '../volume/mri-artifacts.js';
import { augmentIntensities, NNUNET_AUGMENTATION, type PatchAugmentation, stats } from './augment.js';
import type { RandomStream } from './random-stream.js';

export interface AppearanceAugmentation {
  /** Probability of a blur; each axis's sigma (voxels) uniform in blurSigma (BigAug: 0.25-1.5). */
  readonly blurProbability: number;
  readonly blurSigma: readonly [number, number];
  /** Probability of a bias field; its max |log| over the patch uniform in biasStrength (0.5: x0.61 .. x1.65). */
  readonly biasProbability: number;
  readonly biasStrength: readonly [number, number];
  /** The intensity transforms after them (their spatial probabilities are not read). */
  readonly intensities: PatchAugmentation;
}

/** The settings `augmentLabeled` uses: blur and bias on half the patches, nnU-Net's intensity probabilities. */
export const MRI_APPEARANCE: AppearanceAugmentation = {
  blurProbability: 0.5,
  blurSigma: [0.25, 1.5],
  biasProbability: 0.5,
  biasStrength: [0.1, 0.6],
  intensities: NNUNET_AUGMENTATION,
};

const uniform = (rng: RandomStream, lo: number, hi: number): number => lo + (hi - lo) * rng.next();

/**
 * Multiplies a patch by exp(field) about its minimum (the field shades tissue, not the z-score's
 * negative offset), then restores the patch's mean and standard deviation, as z-scoring the shaded
 * scan would have: what is left is the shading's spatial pattern.
 */
export function shadePatch(view: Float32Array, field: Float32Array): void {
  const before = stats(view);
  for (let i = 0; i < view.length; i++) view[i] = before.min + (view[i] - before.min) * Math.exp(field[i]);
  const after = stats(view);
  const ratio = after.std > 0 ? before.std / after.std : 1;
  for (let i = 0; i < view.length; i++) view[i] = (view[i] - after.mean) * ratio + before.mean;
}

/** One patch at `base` of the batch array: blur, then bias, then the intensity transforms, each drawn from `rng`. */
export function augmentAppearance(image: Float32Array, base: number, patch: Vec3, a: AppearanceAugmentation, rng: RandomStream): void {
  const [D, H, W] = patch;
  const size = D * H * W;
  const view = image.subarray(base, base + size);
  const grid: [number, number, number] = [W, H, D];
  if (rng.next() < a.blurProbability) {
    const sigma = (): number => uniform(rng, a.blurSigma[0], a.blurSigma[1]);
    const [sw, sh, sd] = [sigma(), sigma(), sigma()];
    gaussianBlur(view, grid, [sw, sh, sd]);
  }
  if (rng.next() < a.biasProbability) {
    const strength = uniform(rng, a.biasStrength[0], a.biasStrength[1]);
    const coefficients = BIAS_MONOMIALS.map(() => uniform(rng, -1, 1));
    shadePatch(view, polynomialBiasField(grid, coefficients, strength));
  }
  augmentIntensities(image, base, size, a.intensities, rng);
}
