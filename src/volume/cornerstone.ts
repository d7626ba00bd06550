/**
 * Cornerstone3D interop without a Cornerstone dependency: a label Volume → the scalar array a
 * Cornerstone3D labelmap volume holds.
 *
 * Cornerstone3D's conventions (an `IImageVolume` / its `voxelManager`):
 * - `dimensions` [i, j, k] = [columns, rows, slices]; the scalar array is i fastest: voxel (i, j, k) is
 *   element `i + dims[0] * (j + dims[1] * k)`. That is this SDK's order (x fastest), so when the labelmap
 *   shares the image's grid the voxels copy over as they are.
 * - World coordinates are LPS millimetres (DICOM patient space); this SDK's affines are RAS (NIfTI,
 *   nibabel). `origin` is voxel (0, 0, 0) in LPS, `direction` holds the unit vectors of the i, j and k axes
 *   one after another (9 numbers), `spacing` the voxel size along i, j, k.
 * - A labelmap derived from an image volume (`volumeLoader.createAndCacheDerivedLabelmapVolume`) has that
 *   image's geometry and, by default, Uint8Array voxels (labels 0..255; 0 = background).
 *
 * Cornerstone may hold the same scan with its axes in another order or reversed (a DICOM series it sorted
 * itself, a NIfTI it reoriented): pass its geometry as `target` and the voxels are permuted and flipped onto
 * it. Grids that differ by more than a permutation/flip of axes (other spacing, rotation, shift) are
 * refused with E_GRID_MISMATCH: resample first.
 *
 * Example (Cornerstone3D 2.x):
 *   const labels = await segmenter.segment(file);                  // Volume<Uint8Array>, the image's grid
 *   const seg = await volumeLoader.createAndCacheDerivedLabelmapVolume(imageVolumeId, { volumeId: 'seg' });
 *   const target = { dimensions: seg.dimensions, spacing: seg.spacing, origin: seg.origin, direction: seg.direction };
 *   seg.voxelManager.setCompleteScalarDataArray(toCornerstoneLabelmap(labels, { target }));
 *   // Cornerstone3D 1.x: seg.getScalarData().set(toCornerstoneLabelmap(labels, { target }));
 */
import { SdsError } from '../core/errors.js';
import { type Vec3, type Volume, voxelCount } from './volume.js';

/** The geometry fields of a Cornerstone3D image volume (LPS). */
export interface CornerstoneGeometry {
  readonly dimensions: readonly number[];
  readonly spacing: readonly number[];
  readonly origin: readonly number[];
  /** Unit vectors of the i, j and k axes, one after another (9 numbers). */
  readonly direction: readonly number[];
}

export type CornerstoneLabelArray = Uint8Array | Uint16Array | Float32Array;

export interface CornerstoneLabelmapOptions {
  /** The Cornerstone volume to fill; without it the label's own grid (`cornerstoneGeometry(label)`) is meant. */
  readonly target?: CornerstoneGeometry;
  /** Element type of the labelmap's scalar data. Default 'uint8' (Cornerstone's default for labelmaps). */
  readonly dtype?: 'uint8' | 'uint16' | 'float32';
  /** Largest mismatch accepted, in voxels (origins) and as a fraction (spacings, direction cosines). Default 1e-3. */
  readonly tolerance?: number;
}

/** The Cornerstone3D (LPS) geometry of a Volume: RAS → LPS negates the x and y rows of the affine. */
export function cornerstoneGeometry(volume: Volume): CornerstoneGeometry {
  const a = volume.affine;
  const lps = [-1, -1, 1];
  const direction: number[] = [];
  for (let axis = 0; axis < 3; axis++) {
    for (let row = 0; row < 3; row++) direction.push((lps[row] * a[row * 4 + axis]) / volume.spacing[axis]);
  }
  return { dimensions: [...volume.shape], spacing: [...volume.spacing], origin: [-a[3], -a[7], a[11]], direction };
}

interface AxisMap {
  /** The label axis that target axis t runs along. */
  readonly axis: number;
  readonly flip: boolean;
}

const dot = (u: readonly number[], v: readonly number[]): number => u[0] * v[0] + u[1] * v[1] + u[2] * v[2];
const column = (direction: readonly number[], axis: number): number[] => direction.slice(axis * 3, axis * 3 + 3);
const fmt = (v: readonly number[]): string => `[${v.map((x) => +x.toFixed(4)).join(', ')}]`;

function expectGeometry(g: CornerstoneGeometry, what: string): void {
  const ok =
    g.dimensions?.length === 3 &&
    g.dimensions.every((n) => Number.isInteger(n) && n > 0) &&
    g.spacing?.length === 3 &&
    g.spacing.every((s) => s > 0) &&
    g.origin?.length === 3 &&
    g.origin.every(Number.isFinite) &&
    g.direction?.length === 9 &&
    g.direction.every(Number.isFinite);
  if (!ok) {
    throw new SdsError(
      'E_INVALID_ARGUMENT',
      `${what}: expected { dimensions: 3 positive integers, spacing: 3 positive numbers, origin: 3 numbers, direction: 9 numbers }, ` +
        `found dimensions ${JSON.stringify(g.dimensions)}, spacing ${JSON.stringify(g.spacing)}, origin ${JSON.stringify(g.origin)}, ` +
        `direction of ${g.direction?.length} numbers`,
    );
  }
}

/** How each target axis maps onto the source grid, or E_GRID_MISMATCH naming what differs. */
function axisMaps(source: CornerstoneGeometry, target: CornerstoneGeometry, tolerance: number): AxisMap[] {
  const mismatch = (what: string): never => {
    throw new SdsError(
      'E_GRID_MISMATCH',
      `toCornerstoneLabelmap: the target grid is not the label's grid up to a permutation/flip of axes (${what}); ` +
        `label: dimensions ${fmt(source.dimensions)}, spacing ${fmt(source.spacing)}, origin ${fmt(source.origin)} (LPS); ` +
        `target: dimensions ${fmt(target.dimensions)}, spacing ${fmt(target.spacing)}, origin ${fmt(target.origin)}. Resample the label first.`,
    );
  };
  const maps: AxisMap[] = [];
  for (let t = 0; t < 3; t++) {
    const dt = column(target.direction, t);
    const found = [0, 1, 2].find((a) => Math.abs(Math.abs(dot(dt, column(source.direction, a))) - 1) <= tolerance);
    if (found === undefined || maps.some((m) => m.axis === found)) mismatch(`target axis ${t} direction ${fmt(dt)} matches no label axis`);
    const a = found as number;
    if (target.dimensions[t] !== source.dimensions[a])
      mismatch(`target axis ${t} has ${target.dimensions[t]} voxels, label axis ${a} has ${source.dimensions[a]}`);
    if (Math.abs(target.spacing[t] - source.spacing[a]) > tolerance * source.spacing[a])
      mismatch(`target axis ${t} spacing ${target.spacing[t]} mm, label axis ${a} ${source.spacing[a]} mm`);
    maps.push({ axis: a, flip: dot(dt, column(source.direction, a)) < 0 });
  }
  // The target's voxel 0 must be a corner of the label grid: index 0 along an axis that keeps its
  // direction, the last index along a reversed one.
  const offset = [0, 1, 2].map((i) => target.origin[i] - source.origin[i]);
  for (let t = 0; t < 3; t++) {
    const { axis, flip } = maps[t];
    const index = dot(offset, column(source.direction, axis)) / source.spacing[axis];
    const expected = flip ? source.dimensions[axis] - 1 : 0;
    if (Math.abs(index - expected) > tolerance * Math.max(1, source.dimensions[axis]))
      mismatch(`the target origin lies at label index ${index.toFixed(3)} along axis ${axis}, expected ${expected}`);
  }
  return maps;
}

/**
 * The labelmap scalar array for Cornerstone3D: the label's voxels in Cornerstone's order (i fastest) on
 * `options.target`'s grid (default: the label's own grid, a plain copy), as Uint8Array (default),
 * Uint16Array or Float32Array.
 */
export function toCornerstoneLabelmap(label: Volume, options: CornerstoneLabelmapOptions = {}): CornerstoneLabelArray {
  const dtype = options.dtype ?? 'uint8';
  const tolerance = options.tolerance ?? 1e-3;
  if (!['uint8', 'uint16', 'float32'].includes(dtype))
    throw new SdsError(
      'E_INVALID_ARGUMENT',
      `toCornerstoneLabelmap: dtype: expected 'uint8', 'uint16' or 'float32', found ${String(dtype)}`,
    );
  const n = voxelCount(label.shape);
  const out = dtype === 'uint8' ? new Uint8Array(n) : dtype === 'uint16' ? new Uint16Array(n) : new Float32Array(n);
  const max = dtype === 'uint8' ? 255 : dtype === 'uint16' ? 65535 : Infinity;
  for (let i = 0; i < n; i++) {
    const v = label.data[i];
    if (!(v >= 0 && v <= max && Math.round(v) === v))
      throw new SdsError('E_INVALID_ARGUMENT', `toCornerstoneLabelmap: ${dtype} labels hold integers 0..${max}, found ${v} at voxel ${i}`);
  }
  const source = cornerstoneGeometry(label);
  const target = options.target ?? source;
  expectGeometry(target, 'toCornerstoneLabelmap: target');
  const maps = axisMaps(source, target, tolerance);
  const [X, Y] = label.shape;
  const stride: Vec3 = [1, X, X * Y];
  // Source index = base + sum over target axes of step_t * index_t (a flip walks backwards from the far end).
  let base = 0;
  const step = maps.map(({ axis, flip }) => {
    if (flip) base += (label.shape[axis] - 1) * stride[axis];
    return flip ? -stride[axis] : stride[axis];
  });
  const [I, J, K] = target.dimensions;
  let o = 0;
  for (let k = 0; k < K; k++) {
    for (let j = 0; j < J; j++) {
      let s = base + step[2] * k + step[1] * j;
      for (let i = 0; i < I; i++, s += step[0]) out[o++] = label.data[s];
    }
  }
  return out;
}
