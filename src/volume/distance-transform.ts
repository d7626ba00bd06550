/**
 * Exact Euclidean distance transform, Felzenszwalb & Huttenlocher ("Distance Transforms of Sampled
 * Functions", 2012): the squared EDT is separable, so three 1-D passes (x, then y, then z) of a lower
 * envelope of parabolas give exact distances in O(n). Anisotropic spacing enters as the sample
 * positions q * s of each 1-D pass. Same result as scipy.ndimage.distance_transform_edt(~features,
 * sampling=spacing): distance (mm) from each voxel to the nearest feature voxel.
 */
import type { Vec3 } from './volume.js';

/**
 * Squared distances (mm^2) from every voxel to the nearest voxel where `features[i]` is non-zero.
 * Layout x fastest, shape [X, Y, Z]. With no feature voxels at all, every distance is +Infinity.
 */
export function squaredDistanceTransform(features: ArrayLike<number>, shape: Vec3, spacing: Vec3 = [1, 1, 1]): Float64Array {
  const [X, Y, Z] = shape;
  const d = new Float64Array(X * Y * Z);
  for (let i = 0; i < d.length; i++) d[i] = features[i] ? 0 : Infinity;
  const longest = Math.max(X, Y, Z);
  const scratch = {
    f: new Float64Array(longest),
    out: new Float64Array(longest),
    v: new Int32Array(longest),
    z: new Float64Array(longest + 1),
  };
  // one 1-D pass over the line of n samples starting at `start`, neighbours `stride` apart
  const line = (start: number, n: number, stride: number, s: number): void => {
    for (let q = 0; q < n; q++) scratch.f[q] = d[start + q * stride];
    envelope1d(n, s, scratch);
    for (let q = 0; q < n; q++) d[start + q * stride] = scratch.out[q];
  };
  for (let z = 0; z < Z; z++) for (let y = 0; y < Y; y++) line(X * (y + Y * z), X, 1, spacing[0]);
  for (let z = 0; z < Z; z++) for (let x = 0; x < X; x++) line(x + X * Y * z, Y, X, spacing[1]);
  for (let y = 0; y < Y; y++) for (let x = 0; x < X; x++) line(x + X * y, Z, X * Y, spacing[2]);
  return d;
}

/** Distances (mm), the square root of squaredDistanceTransform. */
export function distanceTransform(features: ArrayLike<number>, shape: Vec3, spacing: Vec3 = [1, 1, 1]): Float64Array {
  const d = squaredDistanceTransform(features, shape, spacing);
  for (let i = 0; i < d.length; i++) d[i] = Math.sqrt(d[i]);
  return d;
}

/**
 * out[p] = min_q ((p - q) * s)^2 + f[q] over the n samples of one line. Sites with f = Infinity are
 * skipped (they can never be a minimum), so lines without a finite site stay at Infinity.
 */
function envelope1d(n: number, s: number, w: { f: Float64Array; out: Float64Array; v: Int32Array; z: Float64Array }): void {
  const { f, out, v, z } = w;
  let k = -1; // index of the rightmost parabola in the envelope
  for (let q = 0; q < n; q++) {
    if (f[q] === Infinity) continue;
    const pq = q * s;
    while (k >= 0) {
      const pr = v[k] * s;
      // where parabola q overtakes parabola v[k]
      const cross = (f[q] + pq * pq - (f[v[k]] + pr * pr)) / (2 * (pq - pr));
      if (cross <= z[k]) k--;
      else {
        k++;
        v[k] = q;
        z[k] = cross;
        z[k + 1] = Infinity;
        break;
      }
    }
    if (k < 0) {
      k = 0;
      v[0] = q;
      z[0] = -Infinity;
      z[1] = Infinity;
    }
  }
  if (k < 0) {
    out.fill(Infinity, 0, n);
    return;
  }
  let j = 0;
  for (let p = 0; p < n; p++) {
    const pp = p * s;
    while (z[j + 1] < pp) j++;
    const dq = pp - v[j] * s;
    out[p] = dq * dq + f[v[j]];
  }
}
