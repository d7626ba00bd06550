/**
 * Patch augmentation beyond crops and flips, for training a source model (nnU-Net's default 3-D
 * pipeline, reduced to what a small isotropic data set needs): per patch, a random rotation about each
 * axis and an isotropic scaling about the patch centre (trilinear for the image, nearest neighbour for
 * the labels, zero / background outside), then multiplicative brightness, contrast, gamma and Gaussian
 * noise on the z-scored intensities. Every draw comes from the caller's stream, so a seed fixes the run.
 *
 * Patches are [D, H, W] slots of the batch arrays, W fastest (see patches.ts); the transform works in
 * that index space, which is the scan's voxel space for isotropic scans such as the hippocampus ones.
 */
import { SdsError } from '../core/errors.js';
import type { Vec3 } from '../core/shape.js';
import type { RandomStream } from './random-stream.js';

export interface PatchAugmentation {
  /** Probability that a patch is rotated (nnU-Net: 0.2); angles uniform in [-rotationDegrees, rotationDegrees] per axis. */
  readonly rotationProbability: number;
  readonly rotationDegrees: number;
  /** Probability that a patch is scaled (nnU-Net: 0.2) by a factor uniform in scaleRange (> 1 zooms in). */
  readonly scaleProbability: number;
  readonly scaleRange: readonly [number, number];
  /** Probabilities of each intensity transform (nnU-Net: noise 0.1, brightness 0.15, contrast 0.15, gamma 0.3). */
  readonly noiseProbability: number;
  readonly brightnessProbability: number;
  readonly contrastProbability: number;
  readonly gammaProbability: number;
}

/** nnU-Net's 3-D defaults for the transforms above (Isensee et al. 2021, supplementary material). */
export const NNUNET_AUGMENTATION: PatchAugmentation = {
  rotationProbability: 0.2,
  rotationDegrees: 30,
  scaleProbability: 0.2,
  scaleRange: [0.7, 1.4],
  noiseProbability: 0.1,
  brightnessProbability: 0.15,
  contrastProbability: 0.15,
  gammaProbability: 0.3,
};

/** Rejects probabilities outside [0, 1], negative angles and scale ranges that are not 0 < lo <= hi. */
export function expectAugmentation(a: PatchAugmentation): void {
  const probabilities = [
    'rotationProbability',
    'scaleProbability',
    'noiseProbability',
    'brightnessProbability',
    'contrastProbability',
    'gammaProbability',
  ] as const;
  for (const key of probabilities) {
    if (!(a[key] >= 0 && a[key] <= 1))
      throw new SdsError('E_INVALID_ARGUMENT', `augmentation.${key}: expected a number in [0, 1], found ${a[key]}`);
  }
  if (!(a.rotationDegrees >= 0 && a.rotationDegrees <= 180))
    throw new SdsError('E_INVALID_ARGUMENT', `augmentation.rotationDegrees: expected a number in [0, 180], found ${a.rotationDegrees}`);
  const [lo, hi] = a.scaleRange;
  if (!(lo > 0 && hi >= lo))
    throw new SdsError('E_INVALID_ARGUMENT', `augmentation.scaleRange: expected [lo, hi] with 0 < lo <= hi, found [${lo}, ${hi}]`);
}

const uniform = (rng: RandomStream, lo: number, hi: number): number => lo + (hi - lo) * rng.next();

/** Row-major 3x3 rotation R = Rz(c) Ry(b) Rx(a) acting on (w, h, d) index vectors. */
export function rotationMatrix(a: number, b: number, c: number): number[] {
  const [ca, sa, cb, sb, cc, sc] = [Math.cos(a), Math.sin(a), Math.cos(b), Math.sin(b), Math.cos(c), Math.sin(c)];
  const rx = [1, 0, 0, 0, ca, -sa, 0, sa, ca];
  const ry = [cb, 0, sb, 0, 1, 0, -sb, 0, cb];
  const rz = [cc, -sc, 0, sc, cc, 0, 0, 0, 1];
  return multiply(rz, multiply(ry, rx));
}

function multiply(p: number[], q: number[]): number[] {
  const out = new Array<number>(9).fill(0);
  for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) for (let k = 0; k < 3; k++) out[3 * i + j] += p[3 * i + k] * q[3 * k + j];
  return out;
}

/**
 * Resamples the patch at `base` in place: output voxel q reads source c + M (q - c), c the patch
 * centre, M = R^T / scale (the inverse of rotating, then scaling by `scale`). The image is trilinear,
 * the labels nearest neighbour; sources outside the patch read 0.
 */
export function transformPatch(
  image: Float32Array,
  label: Uint8Array,
  base: number,
  patch: Vec3,
  rotation: readonly number[],
  scale: number,
): void {
  const [D, H, W] = patch;
  const size = D * H * W;
  const src = image.slice(base, base + size);
  const srcLabel = label.slice(base, base + size);
  // The inverse map: R^T (a rotation's inverse) divided by the scale.
  const m = [0, 3, 6, 1, 4, 7, 2, 5, 8].map((i) => rotation[i] / scale);
  const [cw, ch, cd] = [(W - 1) / 2, (H - 1) / 2, (D - 1) / 2];
  const at = (d: number, h: number, w: number): number =>
    d >= 0 && d < D && h >= 0 && h < H && w >= 0 && w < W ? src[(d * H + h) * W + w] : 0;
  for (let d = 0; d < D; d++)
    for (let h = 0; h < H; h++)
      for (let w = 0; w < W; w++) {
        const qw = w - cw;
        const qh = h - ch;
        const qd = d - cd;
        const sw = cw + m[0] * qw + m[1] * qh + m[2] * qd;
        const sh = ch + m[3] * qw + m[4] * qh + m[5] * qd;
        const sd = cd + m[6] * qw + m[7] * qh + m[8] * qd;
        const out = base + (d * H + h) * W + w;
        const nw = Math.round(sw);
        const nh = Math.round(sh);
        const nd = Math.round(sd);
        label[out] = nd >= 0 && nd < D && nh >= 0 && nh < H && nw >= 0 && nw < W ? srcLabel[(nd * H + nh) * W + nw] : 0;
        const w0 = Math.floor(sw);
        const h0 = Math.floor(sh);
        const d0 = Math.floor(sd);
        const fw = sw - w0;
        const fh = sh - h0;
        const fd = sd - d0;
        // Trilinear: the 8 corners weighted by (1 - f) or f per axis.
        const c00 = at(d0, h0, w0) * (1 - fw) + at(d0, h0, w0 + 1) * fw;
        const c01 = at(d0, h0 + 1, w0) * (1 - fw) + at(d0, h0 + 1, w0 + 1) * fw;
        const c10 = at(d0 + 1, h0, w0) * (1 - fw) + at(d0 + 1, h0, w0 + 1) * fw;
        const c11 = at(d0 + 1, h0 + 1, w0) * (1 - fw) + at(d0 + 1, h0 + 1, w0 + 1) * fw;
        image[out] = (c00 * (1 - fh) + c01 * fh) * (1 - fd) + (c10 * (1 - fh) + c11 * fh) * fd;
      }
}

/**
 * Intensity transforms on one z-scored patch, nnU-Net's way: Gaussian noise (variance uniform in
 * [0, 0.1]), multiplicative brightness (x0.75-1.25), contrast about the mean (x0.75-1.25, clipped to
 * the patch's range), gamma (0.7-1.5 on the range-normalised patch, mean and spread kept).
 */
export function augmentIntensities(image: Float32Array, base: number, size: number, a: PatchAugmentation, rng: RandomStream): void {
  const view = image.subarray(base, base + size);
  if (rng.next() < a.noiseProbability) {
    const sigma = Math.sqrt(uniform(rng, 0, 0.1));
    for (let i = 0; i < size; i += 2) {
      // Box-Muller: two normal draws per pair of uniforms.
      const r = Math.sqrt(-2 * Math.log(1 - rng.next()));
      const t = 2 * Math.PI * rng.next();
      view[i] += sigma * r * Math.cos(t);
      if (i + 1 < size) view[i + 1] += sigma * r * Math.sin(t);
    }
  }
  if (rng.next() < a.brightnessProbability) {
    const factor = uniform(rng, 0.75, 1.25);
    for (let i = 0; i < size; i++) view[i] *= factor;
  }
  if (rng.next() < a.contrastProbability) {
    const factor = uniform(rng, 0.75, 1.25);
    const { mean, min, max } = stats(view);
    for (let i = 0; i < size; i++) view[i] = Math.min(max, Math.max(min, (view[i] - mean) * factor + mean));
  }
  if (rng.next() < a.gammaProbability) {
    // Half the draws below 1, half above, as nnU-Net does, so brightening and darkening are equally likely.
    const gamma = rng.next() < 0.5 ? uniform(rng, 0.7, 1) : uniform(rng, 1, 1.5);
    const before = stats(view);
    const range = before.max - before.min;
    if (range > 0) {
      for (let i = 0; i < size; i++) view[i] = ((view[i] - before.min) / range) ** gamma * range + before.min;
      const after = stats(view);
      const ratio = after.std > 0 ? before.std / after.std : 1;
      for (let i = 0; i < size; i++) view[i] = (view[i] - after.mean) * ratio + before.mean;
    }
  }
}

/** Mean, population standard deviation, min and max of a patch. */
export function stats(x: Float32Array): { mean: number; std: number; min: number; max: number } {
  let sum = 0;
  let min = Infinity;
  let max = -Infinity;
  for (const v of x) {
    sum += v;
    min = Math.min(min, v);
    max = Math.max(max, v);
  }
  const mean = sum / x.length;
  let squares = 0;
  for (const v of x) squares += (v - mean) ** 2;
  return { mean, std: Math.sqrt(squares / x.length), min, max };
}

/** One patch's spatial draw then intensity draws; a patch neither rotated nor scaled is not resampled. */
export function augmentPatch(
  image: Float32Array,
  label: Uint8Array,
  base: number,
  patch: Vec3,
  a: PatchAugmentation,
  rng: RandomStream,
): void {
  const radians = (a.rotationDegrees * Math.PI) / 180;
  const angle = (): number => uniform(rng, -radians, radians);
  const rotation = rng.next() < a.rotationProbability ? rotationMatrix(angle(), angle(), angle()) : null;
  const scale = rng.next() < a.scaleProbability ? uniform(rng, a.scaleRange[0], a.scaleRange[1]) : null;
  if (rotation !== null || scale !== null) transformPatch(image, label, base, patch, rotation ?? rotationMatrix(0, 0, 0), scale ?? 1);
  augmentIntensities(image, base, patch[0] * patch[1] * patch[2], a, rng);
}
