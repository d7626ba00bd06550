/**
 * Crop and/or pad a volume to a target shape, keeping world geometry: the affine is shifted so every
 * kept voxel stays where it was in millimetres.
 *
 * `offset[a]` is where source voxel 0 lands in the output along axis a (negative: the source is cropped
 * by that many voxels at the start). Centred default, per axis, as MONAI does it:
 *   pad  (target > size): offset = floor((target - size) / 2)          (SpatialPad, method "symmetric")
 *   crop (target < size): offset = -(floor(size / 2) - floor(target / 2)) (CenterSpatialCrop)
 */
import { SdsError } from '../core/errors.js';
import { multiplyAffines, translationAffine } from './affine.js';
import { allocateVolumeData, makeVolume, type Vec3, type Volume } from './volume.js';

export interface CropPadOptions {
  /** position of source voxel 0 in the output; default centred */
  offset?: Vec3;
  /** value for voxels outside the source, default 0 */
  padValue?: number;
}

export function centredOffset(size: number, target: number): number {
  return target >= size ? Math.floor((target - size) / 2) : -(Math.floor(size / 2) - Math.floor(target / 2));
}

export function cropOrPad<V extends Volume>(volume: V, target: Vec3, options: CropPadOptions = {}): V {
  if (target.length !== 3 || target.some((n) => !Number.isInteger(n) || n < 1)) {
    throw new SdsError('E_INVALID_ARGUMENT', `target shape must be three positive integers, found [${target.join(', ')}]`);
  }
  const offset = options.offset ?? ([0, 1, 2].map((a) => centredOffset(volume.shape[a], target[a])) as Vec3);
  if (offset.some((o) => !Number.isInteger(o)))
    throw new SdsError('E_INVALID_ARGUMENT', `offset must be integers, found [${offset.join(', ')}]`);
  const [X, Y] = volume.shape;
  const [TX, TY, TZ] = target;
  const out = allocateVolumeData(volume.dtype, TX * TY * TZ);
  const padValue = options.padValue ?? 0;
  if (padValue !== 0) out.fill(padValue);
  // the overlap of source and output along x, as source x range [x0, x1)
  const x0 = Math.max(0, -offset[0]);
  const x1 = Math.min(X, TX - offset[0]);
  for (let z = 0; z < TZ; z++) {
    const sz = z - offset[2];
    if (sz < 0 || sz >= volume.shape[2]) continue;
    for (let y = 0; y < TY; y++) {
      const sy = y - offset[1];
      if (sy < 0 || sy >= Y || x1 <= x0) continue;
      const src = X * (sy + Y * sz);
      out.set(volume.data.subarray(src + x0, src + x1), x0 + offset[0] + TX * (y + TY * z));
    }
  }
  // output voxel i is source voxel i - offset
  const affine = multiplyAffines(volume.affine, translationAffine([-offset[0], -offset[1], -offset[2]]));
  return makeVolume(out, target, affine, { ...volume.metadata, format: 'derived', header: { ...volume.metadata.header } }) as V;
}
