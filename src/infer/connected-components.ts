/**
 * Connected components of label maps by union-find, and the per-class "keep the largest component"
 * post-processing of the left-atrium literature (UA-MT / BCP `getLargestCC`, MONAI
 * `KeepLargestConnectedComponent(independent=True)`): voxels of a class outside its largest
 * component become background.
 *
 * Layout: `shape` lists the axes fastest first, so a Volume passes its [X, Y, Z] and one sample of an
 * NDHW tensor passes [W, H, D]. Connectivity is that of scikit-image's `label(connectivity=1|2|3)`:
 * 6 (faces), 18 (faces and edges) or 26 (faces, edges and corners; the default).
 *
 * One raster pass links each foreground voxel to its already visited neighbours (13 of them for
 * 26-connectivity) of the same class; the union keeps the smaller index as the root, so a component's
 * root is its first voxel in memory order. That fixes the tie-break: of two largest components of
 * equal size, the one that starts first in memory is kept.
 */
import { SdsError } from '../core/errors.js';
import type { Vec3 } from '../core/shape.js';

export type Connectivity = 6 | 18 | 26;

export interface Components {
  /** 0 for background, else 1..count numbered by first voxel in memory order. */
  readonly labels: Int32Array;
  readonly count: number;
  /** sizes[k - 1] is the voxel count of component k. */
  readonly sizes: Int32Array;
}

export interface LargestComponentOptions {
  readonly connectivity?: Connectivity;
  /** The classes to clean; default every non-zero label present. Others are left as they are. */
  readonly classes?: readonly number[];
}

/** Offsets (dx, dy, dz) of the neighbours visited before a voxel in raster order. */
function backwardNeighbours(connectivity: Connectivity): Vec3[] {
  const maxSteps = connectivity === 6 ? 1 : connectivity === 18 ? 2 : 3;
  const out: Vec3[] = [];
  for (let dz = -1; dz <= 0; dz++)
    for (let dy = -1; dy <= 1; dy++)
      for (let dx = -1; dx <= 1; dx++) {
        const before = dz < 0 || (dz === 0 && (dy < 0 || (dy === 0 && dx < 0)));
        if (before && Math.abs(dx) + Math.abs(dy) + Math.abs(dz) <= maxSteps) out.push([dx, dy, dz]);
      }
  return out;
}

function expectInput(labels: ArrayLike<number>, shape: readonly number[], connectivity: number): void {
  if (shape.length !== 3 || shape.some((s) => !Number.isInteger(s) || s < 1)) {
    throw new SdsError('E_SHAPE_MISMATCH', `connected components: shape: expected three positive integers, found [${shape.join(', ')}]`);
  }
  if (labels.length !== shape[0] * shape[1] * shape[2]) {
    throw new SdsError(
      'E_SHAPE_MISMATCH',
      `connected components: expected ${shape[0] * shape[1] * shape[2]} voxels for shape [${shape.join(', ')}], found ${labels.length}`,
    );
  }
  if (connectivity !== 6 && connectivity !== 18 && connectivity !== 26) {
    throw new SdsError('E_INVALID_ARGUMENT', `connected components: connectivity: expected 6, 18 or 26, found ${connectivity}`);
  }
}

/**
 * Union-find forest over the voxels: after it, `find(parent, i)` is the first voxel of i's component.
 * Background voxels keep parent -1. Voxels are linked only to neighbours with the same label.
 */
function unionFind(labels: ArrayLike<number>, shape: readonly number[], connectivity: Connectivity): Int32Array {
  const [X, Y, Z] = shape;
  const parent = new Int32Array(X * Y * Z).fill(-1);
  const neighbours = backwardNeighbours(connectivity);
  const deltas = Int32Array.from(neighbours, ([dx, dy, dz]) => dx + X * (dy + Y * dz));
  const k = deltas.length;
  for (let z = 0, i = 0; z < Z; z++)
    for (let y = 0; y < Y; y++) {
      // Interior rows need no bounds checks: every backward neighbour exists (the hot path).
      const rowInterior = z > 0 && y > 0 && y < Y - 1;
      for (let x = 0; x < X; x++, i++) {
        const v = labels[i];
        if (v === 0) continue;
        let root = i;
        parent[i] = i;
        const interior = rowInterior && x > 0 && x < X - 1;
        for (let n = 0; n < k; n++) {
          if (!interior) {
            const [dx, dy, dz] = neighbours[n];
            if (z + dz < 0 || y + dy < 0 || y + dy >= Y || x + dx < 0 || x + dx >= X) continue;
          }
          const j = i + deltas[n];
          if (labels[j] !== v) continue;
          // find with path halving, inlined: this loop is most of the time.
          let other = j;
          while (parent[other] !== other) {
            const grand = parent[parent[other]];
            parent[other] = grand;
            other = grand;
          }
          if (other === root) continue;
          // Keep the smaller index as root: roots are first voxels, i.e. the numbering is raster order.
          if (other < root) {
            parent[root] = other;
            root = other;
          } else parent[other] = root;
        }
      }
    }
  return parent;
}

function find(parent: Int32Array, i: number): number {
  while (parent[i] !== i) {
    parent[i] = parent[parent[i]]; // path halving
    i = parent[i];
  }
  return i;
}

/** Components of each non-zero label (skimage.measure.label on `labels == c`, for every c at once). */
export function labelComponents(labels: ArrayLike<number>, shape: readonly number[], connectivity: Connectivity = 26): Components {
  expectInput(labels, shape, connectivity);
  const parent = unionFind(labels, shape, connectivity);
  const out = new Int32Array(parent.length);
  const sizes: number[] = [];
  for (let i = 0; i < parent.length; i++) {
    if (parent[i] < 0) continue;
    const root = find(parent, i);
    // A root is visited before any other voxel of its component, so it is numbered first.
    if (root === i) {
      sizes.push(0);
      out[i] = sizes.length;
    } else out[i] = out[root];
    sizes[out[i] - 1]++;
  }
  return { labels: out, count: sizes.length, sizes: Int32Array.from(sizes) };
}

/** A copy of `labels` where each cleaned class keeps only its largest connected component. */
export function keepLargestComponent(labels: Uint8Array, shape: readonly number[], options: LargestComponentOptions = {}): Uint8Array {
  const connectivity = options.connectivity ?? 26;
  expectInput(labels, shape, connectivity);
  const parent = unionFind(labels, shape, connectivity);
  const n = parent.length;
  // Component sizes, stored at each root's index.
  const size = new Int32Array(n);
  for (let i = 0; i < n; i++) if (parent[i] >= 0) size[find(parent, i)]++;
  const bestRoot = new Int32Array(256).fill(-1);
  for (let i = 0; i < n; i++) {
    if (parent[i] !== i) continue;
    const c = labels[i];
    // Strictly larger: on a tie the earlier root (first in memory) stays.
    if (bestRoot[c] < 0 || size[i] > size[bestRoot[c]]) bestRoot[c] = i;
  }
  const clean = new Uint8Array(256);
  if (options.classes) for (const c of options.classes) clean[c] = 1;
  else clean.fill(1, 1);
  const out = labels.slice();
  for (let i = 0; i < n; i++) {
    const c = labels[i];
    if (c !== 0 && clean[c] === 1 && parent[i] !== bestRoot[c] && find(parent, i) !== bestRoot[c]) out[i] = 0;
  }
  return out;
}

/** keepLargestComponent on each sample of an NDHW uint8 label batch (pseudo-labels in training). */
export function keepLargestComponentPerSample(
  labels: Uint8Array,
  shape: readonly number[],
  options: LargestComponentOptions = {},
): Uint8Array {
  if (shape.length !== 4 || labels.length !== shape.reduce((a, b) => a * b, 1)) {
    throw new SdsError(
      'E_SHAPE_MISMATCH',
      `keepLargestComponentPerSample: expected NDHW labels matching shape [${shape.join(', ')}], found ${labels.length} voxels in a rank-${shape.length} shape`,
    );
  }
  const [N, D, H, W] = shape;
  const sample = D * H * W;
  const out = new Uint8Array(labels.length);
  for (let n = 0; n < N; n++) {
    out.set(keepLargestComponent(labels.subarray(n * sample, (n + 1) * sample), [W, H, D], options), n * sample);
  }
  return out;
}
