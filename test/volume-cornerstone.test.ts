// The Cornerstone3D labelmap helper: voxel order on the label's own grid, LPS geometry that puts every
// voxel where the RAS affine does, and target grids that are permutations/flips of the label's axes
// checked voxel by voxel through world coordinates (not through the helper's index arithmetic).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SdsError } from '../src/core/errors.js';
import { type CornerstoneGeometry, cornerstoneGeometry, toCornerstoneLabelmap } from '../src/volume/cornerstone.js';
import { readNifti } from '../src/volume/nifti-read.js';
import { makeVolume, toLabelVolume, type Volume, voxelIndex } from '../src/volume/volume.js';

const label = toLabelVolume(
  readNifti(
    new Uint8Array(readFileSync(new URL('../examples/data/labels/hippocampus_003.nii.gz', import.meta.url))),
    'hippocampus_003.nii.gz',
  ),
);

/** RAS → LPS of voxel (x, y, z) through the Volume's affine. */
function worldLps(v: Volume, x: number, y: number, z: number): number[] {
  const a = v.affine;
  const ras = [0, 1, 2].map((r) => a[r * 4] * x + a[r * 4 + 1] * y + a[r * 4 + 2] * z + a[r * 4 + 3]);
  return [-ras[0], -ras[1], ras[2]];
}

/** Voxel (i, j, k) of a Cornerstone geometry in LPS. */
function worldOf(g: CornerstoneGeometry, i: number, j: number, k: number): number[] {
  const idx = [i, j, k];
  return [0, 1, 2].map((r) => g.origin[r] + idx.reduce((s, n, t) => s + n * g.spacing[t] * g.direction[t * 3 + r], 0));
}

const codeOf = (f: () => unknown): string | undefined => {
  try {
    f();
  } catch (e) {
    return e instanceof SdsError ? e.code : `not an SdsError: ${String(e)}`;
  }
  return undefined;
};

describe('toCornerstoneLabelmap', () => {
  it('copies a label on its own grid voxel for voxel, i fastest, as Uint8Array', () => {
    const out = toCornerstoneLabelmap(label);
    expect(out).toBeInstanceOf(Uint8Array);
    expect(Array.from(out)).toEqual(Array.from(label.data));
    expect(new Set(out)).toEqual(new Set([0, 1, 2]));
  });

  it('gives LPS geometry that places every voxel where the RAS affine does', () => {
    const g = cornerstoneGeometry(label);
    expect(g.dimensions).toEqual(label.shape);
    const [X, Y, Z] = label.shape;
    for (const [x, y, z] of [
      [0, 0, 0],
      [X - 1, 0, 0],
      [3, Y - 1, 7],
      [X - 1, Y - 1, Z - 1],
    ]) {
      const want = worldLps(label, x, y, z);
      worldOf(g, x, y, z).forEach((v, r) => expect(v).toBeCloseTo(want[r], 9));
    }
  });

  it('reverses an axis by hand-checked example', () => {
    // 2 x 3 x 1 voxels, identity RAS affine: LPS direction of x is -x. A target that runs along +x (LPS)
    // starts at voxel x = 1 and visits the voxels of each row in reverse.
    const tiny = makeVolume(new Uint8Array([1, 2, 3, 4, 5, 6]), [2, 3, 1], [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]);
    const target = { dimensions: [2, 3, 1], spacing: [1, 1, 1], origin: [-1, 0, 0], direction: [1, 0, 0, 0, -1, 0, 0, 0, 1] };
    expect(Array.from(toCornerstoneLabelmap(tiny, { target }))).toEqual([2, 1, 4, 3, 6, 5]);
  });

  it('maps onto permuted and flipped target grids (checked through world coordinates)', () => {
    const own = cornerstoneGeometry(label);
    const cases: { perm: number[]; flip: boolean[] }[] = [
      { perm: [0, 1, 2], flip: [false, false, true] },
      { perm: [2, 0, 1], flip: [true, false, false] },
      { perm: [1, 2, 0], flip: [true, true, true] },
    ];
    for (const { perm, flip } of cases) {
      // Target axis t runs along the label's axis perm[t], reversed when flip[t]; its voxel 0 is that corner.
      const corner = [0, 0, 0];
      perm.forEach((a, t) => (corner[a] = flip[t] ? label.shape[a] - 1 : 0));
      const target: CornerstoneGeometry = {
        dimensions: perm.map((a) => label.shape[a]),
        spacing: perm.map((a) => own.spacing[a]),
        origin: worldOf(own, corner[0], corner[1], corner[2]),
        direction: perm.flatMap((a, t) => own.direction.slice(a * 3, a * 3 + 3).map((c) => (flip[t] ? -c : c))),
      };
      const out = toCornerstoneLabelmap(label, { target, dtype: 'uint16' });
      expect(out).toBeInstanceOf(Uint16Array);
      const [I, J, K] = target.dimensions;
      let mismatches = 0;
      for (let k = 0; k < K; k++)
        for (let j = 0; j < J; j++)
          for (let i = 0; i < I; i++) {
            // The label voxel at the same world point: solve through the label's own geometry.
            const p = worldOf(target, i, j, k).map((v, r) => v - own.origin[r]);
            const idx = [0, 1, 2].map((a) =>
              Math.round(
                (p[0] * own.direction[a * 3] + p[1] * own.direction[a * 3 + 1] + p[2] * own.direction[a * 3 + 2]) / own.spacing[a],
              ),
            );
            if (out[i + I * (j + J * k)] !== label.data[voxelIndex(label.shape, idx[0], idx[1], idx[2])]) mismatches++;
          }
      expect(mismatches, `perm ${perm} flip ${flip}`).toBe(0);
    }
  });

  it('refuses grids that need resampling and labels the dtype cannot hold', () => {
    const own = cornerstoneGeometry(label);
    const shifted = { ...own, origin: own.origin.map((v, i) => (i === 2 ? v + own.spacing[2] * 0.5 : v)) };
    expect(codeOf(() => toCornerstoneLabelmap(label, { target: shifted }))).toBe('E_GRID_MISMATCH');
    const finer = { ...own, spacing: own.spacing.map((s) => s / 2) };
    expect(codeOf(() => toCornerstoneLabelmap(label, { target: finer }))).toBe('E_GRID_MISMATCH');
    const smaller = { ...own, dimensions: [own.dimensions[0] - 1, own.dimensions[1], own.dimensions[2]] };
    expect(codeOf(() => toCornerstoneLabelmap(label, { target: smaller }))).toBe('E_GRID_MISMATCH');
    expect(codeOf(() => toCornerstoneLabelmap(label, { target: { ...own, direction: [1, 0, 0] } }))).toBe('E_INVALID_ARGUMENT');
    const big = makeVolume(new Float32Array([0, 300]), [2, 1, 1], label.affine);
    expect(codeOf(() => toCornerstoneLabelmap(big))).toBe('E_INVALID_ARGUMENT');
    expect(Array.from(toCornerstoneLabelmap(big, { dtype: 'uint16' }))).toEqual([0, 300]);
  });
});
