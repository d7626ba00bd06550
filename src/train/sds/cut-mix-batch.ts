/** METHOD.md stage 2, step 2: cross-sample cut-mix (bidirectional copy-paste) with one cube per iteration. */
import type { Backend } from '../../backend/backend.js';
import type { Vec3 } from '../../core/shape.js';
import type { Tensor } from '../../core/tensor.js';
import type { MixedTargets } from '../../nn/loss.js';
import { cubeMask, cutMix } from '../../ops/index.js';
import type { Cube } from '../../contract/params.js';
import type { RandomStream } from '../random-stream.js';

/**
 * A cube of floor(fraction * size) voxels per axis at a uniformly random position where it fits
 * (start in [0, size - edge], both ends included). BCP draws `randint(0, size - edge)`, which excludes
 * the last position; the difference is one shift in 38 on LA and is not worth copying.
 */
export function randomCube(spatial: Vec3, fraction: number, rng: RandomStream): Cube {
  const size = spatial.map((s) => Math.floor(s * fraction)) as unknown as Vec3;
  const start = spatial.map((s, a) => rng.int(s - size[a] + 1)) as unknown as Vec3;
  return { start, size };
}

/** The cube mask M [D, H, W] uint8 (1 outside the cube, 0 inside) for a random cube; the caller owns it. */
export function cubeMaskFor(backend: Backend, spatial: Vec3, fraction: number, rng: RandomStream): { mask: Tensor; cube: Cube } {
  const cube = randomCube(spatial, fraction, rng);
  return { mask: cubeMask(backend, spatial, cube), cube };
}

export interface CutMixPair {
  /** The mixed image. */
  readonly image: Tensor;
  /** Targets and weights per region, for L_mix (step 4). */
  readonly targets: MixedTargets;
  /** The targets as one label map, outside * M + inside * (1 - M): the one-hot of step 5's e(v). */
  readonly mixedLabels: Tensor;
}

export interface CutMixBatch {
  /** X_l = img_a * M + unimg_a * (1 - M): lab_a (weight 1) outside, P_a (uWeight) inside. */
  readonly l: CutMixPair;
  /** X_u = unimg_b * M + img_b * (1 - M): P_b (uWeight) outside, lab_b (weight 1) inside. */
  readonly u: CutMixPair;
}

export interface CutMixInputs {
  readonly imageA: Tensor;
  readonly labelA: Tensor;
  readonly imageB: Tensor;
  readonly labelB: Tensor;
  readonly unlabeledA: Tensor;
  readonly unlabeledB: Tensor;
  readonly pseudoA: Tensor;
  readonly pseudoB: Tensor;
}

/** X_l, X_u and their targets; every tensor returned is new except the targets, which stay the inputs'. */
export function cutMixBatch(backend: Backend, x: CutMixInputs, mask: Tensor, uWeight: number): CutMixBatch {
  const pair = (outsideImage: Tensor, insideImage: Tensor, outside: Tensor, wOut: number, inside: Tensor, wIn: number): CutMixPair => ({
    image: cutMix(backend, outsideImage, insideImage, mask),
    targets: { outside, weightOutside: wOut, inside, weightInside: wIn },
    mixedLabels: cutMix(backend, outside, inside, mask),
  });
  return {
    l: pair(x.imageA, x.unlabeledA, x.labelA, 1, x.pseudoA, uWeight),
    u: pair(x.unlabeledB, x.imageB, x.pseudoB, uWeight, x.labelB, 1),
  };
}

/** Frees what cutMixBatch made (the images and mixed label maps, not the targets). */
export function disposeCutMixBatch(backend: Backend, b: CutMixBatch): void {
  for (const p of [b.l, b.u]) {
    backend.dispose(p.image);
    backend.dispose(p.mixedLabels);
  }
}
