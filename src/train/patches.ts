/**
 * Training patches from Volumes, on the host: per-scan z-scoring, placement of a fixed-size patch
 * (random crop where the scan is larger, random placement inside zero padding where it is smaller),
 * and label-consistent flips, written straight into the NCDHW / NDHW batch arrays.
 *
 * Memory order: a Volume stores voxel (x, y, z) at x + X * (y + Y * z) (x fastest); our tensors are
 * NCDHW with W fastest. Mapping X -> W, Y -> H, Z -> D makes the two the same memory order, so one
 * batch slot [n, 0, :, :, :] of shape [D, H, W] is byte-for-byte a Volume of shape [W, H, D] and no
 * transpose is ever needed. `patch` below is always given in tensor order [D, H, W].
 */
import { SdsError } from '../core/errors.js';
import type { Vec3 } from '../core/shape.js';
import type { SpatialAxis } from '../contract/params.js';
import { checkSameGrid, toLabelVolume, zScoreNormalize, type Volume } from '../volume/index.js';
import type { RandomStream } from './random-stream.js';

/** A Volume axis: x is NIfTI i (left-right for the RAS hippocampus files), y is j, z is k. */
export type VolumeAxis = 'x' | 'y' | 'z';

export interface LabeledVolume {
  readonly image: Volume;
  readonly label: Volume;
}

/** One scan ready for sampling: z-scored intensities and uint8 labels, both x fastest. */
export interface PreparedScan {
  readonly name: string;
  /** [X, Y, Z] */
  readonly shape: Vec3;
  readonly image: Float32Array;
  readonly label: Uint8Array;
}

/** How one patch is cut from one scan. */
export interface PatchPlacement {
  /** Position of source voxel 0 in the patch along x, y, z (negative: cropped at the start). */
  readonly offset: Vec3;
  /** Whether the patch is mirrored along x, y, z. */
  readonly flip: readonly [boolean, boolean, boolean];
  /**
   * Quarter turns (0-3) of the scan in the axial x-y plane, applied before the crop and the flips, as
   * numpy's rot90 on the first two axes in the LA code (offsets are then in the rotated scan's frame).
   * Absent: 0.
   */
  readonly rot90?: number;
}

const AXES: readonly VolumeAxis[] = ['x', 'y', 'z'];

/** A volume axis's tensor axis in [N, C, D, H, W] spatial order: x -> 2 (W), y -> 1 (H), z -> 0 (D). */
export function tensorAxisOf(axis: VolumeAxis): SpatialAxis {
  return axis === 'x' ? 2 : axis === 'y' ? 1 : 0;
}

/** [D, H, W] tensor order -> [X, Y, Z] volume order (X -> W, Y -> H, Z -> D). */
export function volumeShapeOfPatch(patch: Vec3): Vec3 {
  return [patch[2], patch[1], patch[0]];
}

/**
 * Z-scores the image over the whole scan (intensity scales differ by four orders of magnitude between
 * hippocampus files, so statistics must be per scan) and checks the labels: same grid, integers in
 * [0, nClasses).
 */
export function prepareScan(pair: LabeledVolume, nClasses: number, what: string): PreparedScan {
  checkSameGrid(pair.image, pair.label);
  const label = toLabelVolume(pair.label).data;
  for (let i = 0; i < label.length; i++) {
    if (label[i] >= nClasses) {
      throw new SdsError(
        'E_INVALID_ARGUMENT',
        `${what} (${pair.label.metadata.fileName || 'label'}): expected labels in [0, ${nClasses}), found ${label[i]} at voxel ${i}`,
      );
    }
  }
  const image = zScoreNormalize(pair.image).data;
  for (let i = 0; i < image.length; i++) {
    if (!Number.isFinite(image[i])) {
      throw new SdsError(
        'E_NONFINITE',
        `${what} (${pair.image.metadata.fileName || 'image'}): expected finite intensities, found ${image[i]}`,
      );
    }
  }
  return { name: pair.image.metadata.fileName || what, shape: [...pair.image.shape] as Vec3, image, label };
}

/**
 * Draws a placement: per axis a uniformly random offset among all positions where the patch covers
 * as much of the scan as it can (every crop window when the scan is larger; every shift inside the
 * padding when it is smaller), then a coin flip per allowed flip axis.
 */
export function randomPlacement(scanShape: Vec3, patch: Vec3, flipAxes: readonly VolumeAxis[], rng: RandomStream): PatchPlacement {
  const target = volumeShapeOfPatch(patch);
  const offset = [0, 1, 2].map((a) => {
    const slack = target[a] - scanShape[a];
    return slack >= 0 ? rng.int(slack + 1) : -rng.int(-slack + 1);
  }) as [number, number, number];
  const flip = AXES.map((axis) => flipAxes.includes(axis) && rng.next() < 0.5) as [boolean, boolean, boolean];
  return { offset, flip };
}

/**
 * Writes one patch of `scan` into `image` and `label` starting at element `base` (a batch slot):
 * patch voxel p along axis a reads source voxel (flip ? T - 1 - p : p) - offset; outside the scan the
 * image is 0 (the z-scored mean) and the label 0 (background).
 */
export function writePatch(
  scan: PreparedScan,
  patch: Vec3,
  placement: PatchPlacement,
  image: Float32Array,
  label: Uint8Array,
  base: number,
): void {
  if ((placement.rot90 ?? 0) % 4 !== 0) {
    writeRotatedPatch(scan, patch, placement, image, label, base);
    return;
  }
  const [TX, TY, TZ] = volumeShapeOfPatch(patch);
  const [X, Y, Z] = scan.shape;
  const { offset, flip } = placement;
  const source = (p: number, a: number, size: number): number => (flip[a] ? size - 1 - p : p) - offset[a];
  const sx = Int32Array.from({ length: TX }, (_, x) => source(x, 0, TX));
  for (let z = 0; z < TZ; z++) {
    const iz = source(z, 2, TZ);
    for (let y = 0; y < TY; y++) {
      const iy = source(y, 1, TY);
      const out = base + TX * (y + TY * z);
      if (iz < 0 || iz >= Z || iy < 0 || iy >= Y) {
        image.fill(0, out, out + TX);
        label.fill(0, out, out + TX);
        continue;
      }
      const row = X * (iy + Y * iz);
      for (let x = 0; x < TX; x++) {
        const ix = sx[x];
        const inside = ix >= 0 && ix < X;
        image[out + x] = inside ? scan.image[row + ix] : 0;
        label[out + x] = inside ? scan.label[row + ix] : 0;
      }
    }
  }
}

/** Rejects flip axes that are not x, y or z. */
export function expectFlipAxes(flipAxes: readonly VolumeAxis[]): void {
  for (const a of flipAxes) {
    if (!AXES.includes(a)) throw new SdsError('E_INVALID_ARGUMENT', `flipAxes: expected 'x', 'y' or 'z', found ${JSON.stringify(a)}`);
  }
}

/** The scan's [X, Y, Z] after `k` quarter turns in the x-y plane (odd turns swap X and Y). */
export function rotatedShape(shape: Vec3, k: number): Vec3 {
  return k % 2 === 0 ? [...shape] : [shape[1], shape[0], shape[2]];
}

/**
 * Source (x, y) of rotated-frame voxel (u, v) after k quarter turns, as numpy's rot90(m, k, axes=(0, 1))
 * with m indexed [x, y]: k = 1 gives out[u, v] = m[v, Y - 1 - u], k = 3 gives m[X - 1 - v, u].
 */
function rotatedSource(u: number, v: number, X: number, Y: number, k: number): [number, number] {
  switch (k) {
    case 1:
      return [v, Y - 1 - u];
    case 2:
      return [X - 1 - u, Y - 1 - v];
    case 3:
      return [X - 1 - v, u];
    default:
      return [u, v];
  }
}

/** writePatch for a placement with rot90 != 0: the general per-voxel path (x and y mix under rotation). */
function writeRotatedPatch(
  scan: PreparedScan,
  patch: Vec3,
  placement: PatchPlacement,
  image: Float32Array,
  label: Uint8Array,
  base: number,
): void {
  const k = (((placement.rot90 ?? 0) % 4) + 4) % 4;
  const [TX, TY, TZ] = volumeShapeOfPatch(patch);
  const [X, Y, Z] = scan.shape;
  const { offset, flip } = placement;
  const source = (p: number, a: number, size: number): number => (flip[a] ? size - 1 - p : p) - offset[a];
  const [U, V] = rotatedShape(scan.shape, k);
  for (let z = 0; z < TZ; z++) {
    const iz = source(z, 2, TZ);
    for (let y = 0; y < TY; y++) {
      const v = source(y, 1, TY);
      const out = base + TX * (y + TY * z);
      for (let x = 0; x < TX; x++) {
        const u = source(x, 0, TX);
        if (iz < 0 || iz >= Z || u < 0 || u >= U || v < 0 || v >= V) {
          image[out + x] = 0;
          label[out + x] = 0;
          continue;
        }
        const [ix, iy] = rotatedSource(u, v, X, Y, k);
        const i = ix + X * (iy + Y * iz);
        image[out + x] = scan.image[i];
        label[out + x] = scan.label[i];
      }
    }
  }
}
