/** Checks shared by readers and transforms: finite voxels, and image/label grids that agree. */
import { SdsError } from '../core/errors.js';
import { affineDistance } from './affine.js';
import type { Volume, VolumeData } from './volume.js';

/** 'reject' throws E_NONFINITE; 'report' returns the count (also stored in metadata by readers). */
export type NonFinitePolicy = 'reject' | 'report';

/** Returns how many voxels are NaN or +-Inf; throws E_NONFINITE under 'reject' when there are any. */
export function checkFinite(data: VolumeData, fileName: string, policy: NonFinitePolicy): number {
  if (!(data instanceof Float32Array || data instanceof Float64Array)) return 0;
  let count = 0;
  let first = -1;
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) {
      if (first < 0) first = i;
      count++;
    }
  }
  if (count > 0 && policy === 'reject') {
    throw new SdsError(
      'E_NONFINITE',
      `${fileName}: expected finite voxel values, found ${count} NaN/Inf voxel(s), the first at index ${first} (value ${data[first]}); ` +
        `read with { nonFinite: 'report' } to keep them`,
      { fileName, count, firstIndex: first },
    );
  }
  return count;
}

/**
 * Image and label (or prediction and ground truth) must share a grid: the same shape, and affines equal
 * to within `tolerance` mm (float32 headers round at ~1e-5 relative).
 */
export function checkSameGrid(a: Volume, b: Volume, tolerance = 1e-3): void {
  const names = `${a.metadata.fileName || 'first volume'} and ${b.metadata.fileName || 'second volume'}`;
  if (a.shape[0] !== b.shape[0] || a.shape[1] !== b.shape[1] || a.shape[2] !== b.shape[2]) {
    throw new SdsError(
      'E_GRID_MISMATCH',
      `${names}: expected the same grid, found shapes [${a.shape.join(', ')}] and [${b.shape.join(', ')}]`,
      {
        shapes: [a.shape, b.shape],
      },
    );
  }
  const distance = affineDistance(a.affine, b.affine);
  if (distance > tolerance) {
    throw new SdsError(
      'E_GRID_MISMATCH',
      `${names}: expected the same voxel-to-world affine (within ${tolerance} mm), found entries differing by ${distance.toPrecision(4)}`,
      { affines: [a.affine, b.affine] },
    );
  }
}
