/**
 * Clinical segmentation metrics per class: Dice, Jaccard, HD95 and ASD, following MONAI
 * (monai.metrics: compute_hausdorff_distance, compute_average_surface_distance, get_surface_distance):
 * - surface of a mask: foreground voxels with a background voxel in their 26-neighbourhood; voxels
 *   outside the grid count as background (scipy binary_erosion with a 3x3x3 structure, border 0);
 * - surface distances from A to B: for every surface voxel of A, the exact Euclidean distance (mm, from
 *   the spacing; voxels when spacing is unknown, i.e. [1, 1, 1]) to the nearest surface voxel of B;
 * - HD95 = max(percentile95(A->B), percentile95(B->A)), np.percentile's linear interpolation;
 * - ASD = mean of the concatenated A->B and B->A distances (MONAI symmetric=True).
 * Empty masks: Dice and Jaccard are NaN when both prediction and ground truth are empty (MONAI with
 * ignore_empty=True; pass `emptyScore: 1` for "both empty is a perfect match"), 0 when only one is.
 * HD95 and ASD are +Infinity when exactly one mask is empty and NaN when both are (MONAI gives inf
 * distances there, and a percentile of an empty set is NaN).
 */
import { SdsError } from '../core/errors.js';
import { squaredDistanceTransform } from './distance-transform.js';
import { percentileOfSorted } from './normalize.js';
import { checkSameGrid } from './validate.js';
import type { Vec3, Volume, VolumeData } from './volume.js';

export interface ClassMetrics {
  label: number;
  dice: number;
  jaccard: number;
  hd95: number;
  asd: number;
  /** voxel counts, for reading the numbers */
  predictedVoxels: number;
  truthVoxels: number;
}

export interface MetricOptions {
  /** class labels to score; default every non-zero label present in either map */
  classes?: number[];
  /** spacing in mm; default the volumes' spacing */
  spacing?: Vec3;
  /** Dice/Jaccard when both masks are empty: NaN (default) or 1 */
  emptyScore?: number;
}

/** Scores a predicted label map against ground truth on the same grid (E_GRID_MISMATCH otherwise). */
export function segmentationMetrics(predicted: Volume, truth: Volume, options: MetricOptions = {}): ClassMetrics[] {
  checkSameGrid(predicted, truth);
  const spacing = options.spacing ?? predicted.spacing;
  const classes = options.classes ?? presentLabels(predicted.data, truth.data);
  return classes.map((label) => classMetrics(predicted.data, truth.data, label, predicted.shape, spacing, options.emptyScore ?? NaN));
}

function presentLabels(a: VolumeData, b: VolumeData): number[] {
  const seen = new Set<number>();
  for (const data of [a, b]) for (let i = 0; i < data.length; i++) if (data[i] !== 0) seen.add(data[i]);
  return [...seen].sort((x, y) => x - y);
}

/** 2 |P and T| / (|P| + |T|) from voxel counts; `emptyScore` when both masks are empty. */
const diceOfCounts = (predicted: number, truth: number, both: number, emptyScore: number): number =>
  predicted + truth === 0 ? emptyScore : (2 * both) / (predicted + truth);

/** Dice of one label between two label maps, without the surface metrics (early stopping, quick checks). */
export function diceScore(pred: ArrayLike<number>, truth: ArrayLike<number>, label: number, emptyScore = NaN): number {
  let np = 0;
  let nt = 0;
  let both = 0;
  for (let i = 0; i < pred.length; i++) {
    const a = pred[i] === label;
    const b = truth[i] === label;
    np += a ? 1 : 0;
    nt += b ? 1 : 0;
    both += a && b ? 1 : 0;
  }
  return diceOfCounts(np, nt, both, emptyScore);
}

export function classMetrics(
  pred: ArrayLike<number>,
  truth: ArrayLike<number>,
  label: number,
  shape: Vec3,
  spacing: Vec3,
  emptyScore = NaN,
): ClassMetrics {
  if (pred.length !== truth.length || pred.length !== shape[0] * shape[1] * shape[2]) {
    throw new SdsError(
      'E_SHAPE_MISMATCH',
      `label maps hold ${pred.length} and ${truth.length} voxels, shape [${shape.join(', ')}] needs ${shape[0] * shape[1] * shape[2]}`,
    );
  }
  const p = new Uint8Array(pred.length);
  const t = new Uint8Array(pred.length);
  let np = 0;
  let nt = 0;
  let both = 0;
  for (let i = 0; i < p.length; i++) {
    p[i] = pred[i] === label ? 1 : 0;
    t[i] = truth[i] === label ? 1 : 0;
    np += p[i];
    nt += t[i];
    both += p[i] & t[i];
  }
  const dice = diceOfCounts(np, nt, both, emptyScore);
  const jaccard = np + nt === 0 ? emptyScore : both / (np + nt - both);
  const box = foregroundBox(p, t, shape);
  const { hd95, asd } = box
    ? surfaceMetrics(cropMask(p, shape, box), cropMask(t, shape, box), box.shape, spacing)
    : { hd95: NaN, asd: NaN };
  return { label, dice, jaccard, hd95, asd, predictedVoxels: np, truthVoxels: nt };
}

interface Box {
  start: Vec3;
  shape: Vec3;
}

/**
 * Bounding box of both masks grown by one voxel (clamped to the grid). Distances between points inside
 * it do not depend on the grid around it, and the one-voxel margin (or the grid border itself) keeps
 * every surface voxel a surface voxel, so metrics on the crop are exact and much cheaper.
 */
function foregroundBox(a: Uint8Array, b: Uint8Array, [X, Y, Z]: Vec3): Box | undefined {
  const lo = [X, Y, Z];
  const hi = [-1, -1, -1];
  for (let z = 0, i = 0; z < Z; z++) {
    for (let y = 0; y < Y; y++) {
      for (let x = 0; x < X; x++, i++) {
        if (!(a[i] | b[i])) continue;
        if (x < lo[0]) lo[0] = x;
        if (x > hi[0]) hi[0] = x;
        if (y < lo[1]) lo[1] = y;
        if (y > hi[1]) hi[1] = y;
        if (z < lo[2]) lo[2] = z;
        if (z > hi[2]) hi[2] = z;
      }
    }
  }
  if (hi[0] < 0) return undefined;
  const size = [X, Y, Z];
  const start = lo.map((v) => Math.max(0, v - 1)) as Vec3;
  const end = hi.map((v, a) => Math.min(size[a] - 1, v + 1));
  return { start, shape: [0, 1, 2].map((a) => end[a] - start[a] + 1) as Vec3 };
}

function cropMask(mask: Uint8Array, [X, Y]: Vec3, { start, shape }: Box): Uint8Array {
  const out = new Uint8Array(shape[0] * shape[1] * shape[2]);
  for (let z = 0; z < shape[2]; z++) {
    for (let y = 0; y < shape[1]; y++) {
      const src = start[0] + X * (start[1] + y + Y * (start[2] + z));
      out.set(mask.subarray(src, src + shape[0]), shape[0] * (y + shape[1] * z));
    }
  }
  return out;
}

/** HD95 and symmetric ASD between two binary masks (see the module comment for the conventions). */
export function surfaceMetrics(a: Uint8Array, b: Uint8Array, shape: Vec3, spacing: Vec3): { hd95: number; asd: number } {
  const sa = surfaceOf(a, shape);
  const sb = surfaceOf(b, shape);
  const na = count(sa);
  const nb = count(sb);
  if (na === 0 && nb === 0) return { hd95: NaN, asd: NaN };
  if (na === 0 || nb === 0) return { hd95: Infinity, asd: Infinity };
  const ab = surfaceDistances(sa, sb, shape, spacing);
  const ba = surfaceDistances(sb, sa, shape, spacing);
  const hd95 = Math.max(percentileOfSorted(ab.slice().sort(), 95), percentileOfSorted(ba.slice().sort(), 95));
  let sum = 0;
  for (const d of [ab, ba]) for (let i = 0; i < d.length; i++) sum += d[i];
  return { hd95, asd: sum / (ab.length + ba.length) };
}

/** Distances from every surface voxel of `from` to the nearest surface voxel of `to`. */
export function surfaceDistances(from: Uint8Array, to: Uint8Array, shape: Vec3, spacing: Vec3): Float64Array {
  const sq = squaredDistanceTransform(to, shape, spacing);
  const out = new Float64Array(count(from));
  for (let i = 0, j = 0; i < from.length; i++) if (from[i]) out[j++] = Math.sqrt(sq[i]);
  return out;
}

/** Foreground voxels with a background (or out-of-grid) voxel among their 26 neighbours. */
export function surfaceOf(mask: Uint8Array, shape: Vec3): Uint8Array {
  const [X, Y, Z] = shape;
  const out = new Uint8Array(mask.length);
  for (let z = 0; z < Z; z++) {
    for (let y = 0; y < Y; y++) {
      for (let x = 0; x < X; x++) {
        const i = x + X * (y + Y * z);
        if (mask[i]) out[i] = touchesBackground(mask, shape, x, y, z) ? 1 : 0;
      }
    }
  }
  return out;
}

function touchesBackground(mask: Uint8Array, [X, Y, Z]: Vec3, x: number, y: number, z: number): boolean {
  if (x === 0 || y === 0 || z === 0 || x === X - 1 || y === Y - 1 || z === Z - 1) return true;
  for (let dz = -1; dz <= 1; dz++) {
    for (let dy = -1; dy <= 1; dy++) {
      const row = X * (y + dy + Y * (z + dz));
      if (!mask[row + x - 1] || !mask[row + x] || !mask[row + x + 1]) return true;
    }
  }
  return false;
}

function count(mask: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < mask.length; i++) n += mask[i];
  return n;
}
