/**
 * Resample a volume to a new voxel spacing, MONAI `Spacing` convention (default align_corners=False,
 * scale_extent=False, padding_mode "border"):
 * - the centre of voxel 0 stays where it is in world space;
 * - output size per axis = round((n - 1) * s_in / s_out) + 1, so the grid spans the same centres;
 * - output voxel i samples input continuous coordinate i * s_out / s_in; coordinates past the last
 *   voxel take edge values ("border");
 * - the affine's columns are scaled by s_out / s_in, so the output spacing is exactly the one asked.
 * Images use trilinear interpolation; labels use nearest neighbour, rounding half up (floor(c + 0.5)).
 * (MONAI/torch round half to even for nearest; the two differ only on exact .5 coordinates.)
 */
import { SdsError } from '../core/errors.js';
import { multiplyAffines, scaleAffine } from './affine.js';
import { allocateVolumeData, makeVolume, type Vec3, type Volume } from './volume.js';

export type Interpolation = 'linear' | 'nearest';

export function resampledShape(shape: Vec3, spacing: Vec3, target: Vec3): Vec3 {
  return [0, 1, 2].map((a) => Math.round(((shape[a] - 1) * spacing[a]) / target[a]) + 1) as Vec3;
}

/** Trilinear for images (float32 out), nearest for label maps (dtype kept). */
export function resampleToSpacing<V extends Volume>(volume: V, target: Vec3, interpolation: Interpolation): V {
  if (target.length !== 3 || target.some((s) => !(s > 0) || !Number.isFinite(s))) {
    throw new SdsError('E_INVALID_ARGUMENT', `target spacing must be three positive numbers (mm), found [${target.join(', ')}]`);
  }
  const shape = resampledShape(volume.shape, volume.spacing, target);
  const ratio = [0, 1, 2].map((a) => target[a] / volume.spacing[a]) as Vec3;
  if (shape[0] * shape[1] * shape[2] > 2 ** 30) {
    throw new SdsError(
      'E_LIMIT_EXCEEDED',
      `resampling to [${target.join(', ')}] mm would make [${shape.join(', ')}] voxels; expected at most 2^30`,
    );
  }
  const data = interpolation === 'linear' ? trilinear(volume, shape, ratio) : nearest(volume, shape, ratio);
  const affine = multiplyAffines(volume.affine, scaleAffine(ratio));
  return makeVolume(data, shape, affine, { ...volume.metadata, format: 'derived', header: { ...volume.metadata.header } }) as V;
}

/** Per output index along one axis: the lower input index, the upper one (clamped) and the weight. */
function axisTaps(outSize: number, inSize: number, ratio: number): { lo: Int32Array; hi: Int32Array; w: Float64Array } {
  const lo = new Int32Array(outSize);
  const hi = new Int32Array(outSize);
  const w = new Float64Array(outSize);
  for (let i = 0; i < outSize; i++) {
    const c = Math.min(i * ratio, inSize - 1); // "border": past the last centre, hold the edge
    const f = Math.floor(c);
    lo[i] = f;
    hi[i] = Math.min(f + 1, inSize - 1);
    w[i] = c - f;
  }
  return { lo, hi, w };
}

function trilinear(volume: Volume, shape: Vec3, ratio: Vec3): Float32Array {
  const [X, Y] = volume.shape;
  // one concrete array type keeps the hot loop monomorphic (the VolumeData union is slow to index)
  const src = volume.data instanceof Float32Array ? volume.data : Float32Array.from(volume.data);
  const tx = axisTaps(shape[0], volume.shape[0], ratio[0]);
  const ty = axisTaps(shape[1], volume.shape[1], ratio[1]);
  const tz = axisTaps(shape[2], volume.shape[2], ratio[2]);
  const out = new Float32Array(shape[0] * shape[1] * shape[2]);
  let o = 0;
  for (let k = 0; k < shape[2]; k++) {
    const z0 = X * Y * tz.lo[k];
    const z1 = X * Y * tz.hi[k];
    const wz = tz.w[k];
    for (let j = 0; j < shape[1]; j++) {
      const r00 = z0 + X * ty.lo[j];
      const r01 = z0 + X * ty.hi[j];
      const r10 = z1 + X * ty.lo[j];
      const r11 = z1 + X * ty.hi[j];
      const wy = ty.w[j];
      for (let i = 0; i < shape[0]; i++, o++) {
        const x0 = tx.lo[i];
        const x1 = tx.hi[i];
        const wx = tx.w[i];
        const c00 = src[r00 + x0] + (src[r00 + x1] - src[r00 + x0]) * wx;
        const c01 = src[r01 + x0] + (src[r01 + x1] - src[r01 + x0]) * wx;
        const c10 = src[r10 + x0] + (src[r10 + x1] - src[r10 + x0]) * wx;
        const c11 = src[r11 + x0] + (src[r11 + x1] - src[r11 + x0]) * wx;
        const a = c00 + (c01 - c00) * wy;
        const b = c10 + (c11 - c10) * wy;
        out[o] = a + (b - a) * wz;
      }
    }
  }
  return out;
}

function nearest(volume: Volume, shape: Vec3, ratio: Vec3): Volume['data'] {
  const [X, Y] = volume.shape;
  const pick = (a: number): Int32Array =>
    Int32Array.from({ length: shape[a] }, (_, i) => Math.min(Math.floor(i * ratio[a] + 0.5), volume.shape[a] - 1));
  const ix = pick(0);
  const iy = pick(1);
  const iz = pick(2);
  const out = allocateVolumeData(volume.dtype, shape[0] * shape[1] * shape[2]);
  let o = 0;
  for (let k = 0; k < shape[2]; k++) {
    for (let j = 0; j < shape[1]; j++) {
      const base = X * (iy[j] + Y * iz[k]);
      for (let i = 0; i < shape[0]; i++) out[o++] = volume.data[base + ix[i]];
    }
  }
  return out;
}
