/**
 * 4x4 affine helpers (row-major number[16]) and the NIfTI qform quaternion algebra, following nibabel
 * (nifti1.py get_qform / set_qform, quaternions.py quat2mat / mat2quat) so our affines match it.
 */
import { SdsError } from '../core/errors.js';
import type { Vec3 } from './volume.js';

export function multiplyAffines(a: readonly number[], b: readonly number[]): number[] {
  const out = new Array<number>(16).fill(0);
  for (let r = 0; r < 4; r++) {
    for (let c = 0; c < 4; c++) {
      let s = 0;
      for (let k = 0; k < 4; k++) s += a[r * 4 + k] * b[k * 4 + c];
      out[r * 4 + c] = s;
    }
  }
  return out;
}

/** Affine of voxel (i, j, k) -> (i + t0, j + t1, k + t2): re-indexes a grid after a crop or pad. */
export function translationAffine(t: Vec3): number[] {
  return [1, 0, 0, t[0], 0, 1, 0, t[1], 0, 0, 1, t[2], 0, 0, 0, 1];
}

export function scaleAffine(s: Vec3): number[] {
  return [s[0], 0, 0, 0, 0, s[1], 0, 0, 0, 0, s[2], 0, 0, 0, 0, 1];
}

/** Largest absolute difference between two affines; grids "match" when this is tiny. */
export function affineDistance(a: readonly number[], b: readonly number[]): number {
  let worst = 0;
  for (let i = 0; i < 16; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

// nibabel's Nifti1Header.quaternion_threshold: a slightly negative w^2 from float32 rounding is 0.
const QUATERNION_THRESHOLD = -3 * 1.1920929e-7;

/**
 * NIfTI method 2 (qform): rotation from quaternion (b, c, d) with a = sqrt(1 - b²-c²-d²), zooms from
 * pixdim[1..3], qfac = pixdim[0] flipping the third axis (any value but -1 counts as 1, as the standard
 * says for 0), offsets from qoffset_{x,y,z}.
 */
export function qformAffine(quatern: Vec3, pixdim: readonly number[], qoffset: Vec3, fileName: string): number[] {
  const [b, c, d] = quatern;
  let w2 = 1 - (b * b + c * c + d * d);
  if (w2 < 0) {
    if (w2 < QUATERNION_THRESHOLD) {
      throw new SdsError('E_NIFTI_CORRUPT', `${fileName}: qform quaternion (${b}, ${c}, ${d}) has norm > 1 (1 - b²-c²-d² = ${w2})`, {
        fileName,
      });
    }
    w2 = 0;
  }
  const a = Math.sqrt(w2);
  const rot = [
    [a * a + b * b - c * c - d * d, 2 * (b * c - a * d), 2 * (b * d + a * c)],
    [2 * (b * c + a * d), a * a + c * c - b * b - d * d, 2 * (c * d - a * b)],
    [2 * (b * d - a * c), 2 * (c * d + a * b), a * a + d * d - c * c - b * b],
  ];
  const qfac = pixdim[0] === -1 ? -1 : 1;
  const zooms = [pixdim[1], pixdim[2], pixdim[3] * qfac];
  if (zooms.some((z) => !(Math.abs(z) > 0) || !Number.isFinite(z))) {
    throw new SdsError(
      'E_NIFTI_CORRUPT',
      `${fileName}: pixdim[1..3] must be finite and non-zero, found [${pixdim.slice(1, 4).join(', ')}]`,
      { fileName },
    );
  }
  const out: number[] = [];
  for (let r = 0; r < 3; r++) out.push(rot[r][0] * zooms[0], rot[r][1] * zooms[1], rot[r][2] * zooms[2], qoffset[r]);
  out.push(0, 0, 0, 1);
  return out;
}

/**
 * nibabel's fallback when neither qform nor sform is set (Analyze "base affine"): x flipped, origin
 * at the centre of the grid. The NIfTI standard's method 1 would be a plain diagonal; we follow
 * nibabel so both libraries agree on the same file.
 */
export function baseAffine(shape: Vec3, zooms: Vec3): number[] {
  const origin = shape.map((n) => (n - 1) / 2);
  return [-zooms[0], 0, 0, zooms[0] * origin[0], 0, zooms[1], 0, -zooms[1] * origin[1], 0, 0, zooms[2], -zooms[2] * origin[2], 0, 0, 0, 1];
}

/**
 * The qform fields representing `affine` (nibabel set_qform): zooms are the column norms, a negative
 * determinant flips the third axis into qfac = -1, and the rotation becomes a quaternion with a >= 0.
 * A sheared affine has no exact qform; Gram-Schmidt gives the nearest right-handed rotation in the
 * column order (nibabel uses the SVD polar factor; the two agree when there is no shear, and the sform
 * always carries the exact affine).
 */
export function qformFromAffine(affine: readonly number[]): { quatern: Vec3; qoffset: Vec3; zooms: Vec3; qfac: 1 | -1 } {
  const cols = [0, 1, 2].map((j) => [affine[j], affine[4 + j], affine[8 + j]]);
  const zooms = cols.map((v) => Math.hypot(v[0], v[1], v[2])) as Vec3;
  if (zooms.some((z) => !(z > 0))) {
    throw new SdsError(
      'E_INVALID_ARGUMENT',
      `affine has a zero-length voxel axis (column norms ${zooms.join(', ')}); it cannot be written as a qform`,
    );
  }
  const det =
    cols[0][0] * (cols[1][1] * cols[2][2] - cols[1][2] * cols[2][1]) -
    cols[1][0] * (cols[0][1] * cols[2][2] - cols[0][2] * cols[2][1]) +
    cols[2][0] * (cols[0][1] * cols[1][2] - cols[0][2] * cols[1][1]);
  const qfac: 1 | -1 = det < 0 ? -1 : 1;
  const u = normalize(cols[0]);
  const v = normalize(sub(cols[1], scale(u, dot(u, cols[1]))));
  const w = scale(cross(u, v), 1); // right-handed third column; qfac carries the flip
  // rotation matrix R with columns u, v, w; row-major r[row][col]
  const r = [
    [u[0], v[0], w[0]],
    [u[1], v[1], w[1]],
    [u[2], v[2], w[2]],
  ];
  const q = quaternionFromRotation(r);
  return { quatern: [q[1], q[2], q[3]], qoffset: [affine[3], affine[7], affine[11]], zooms, qfac };
}

/** Shepperd's method; sign fixed so a >= 0 (NIfTI stores b, c, d only and derives a >= 0). */
function quaternionFromRotation(r: number[][]): [number, number, number, number] {
  const trace = r[0][0] + r[1][1] + r[2][2];
  let a: number, b: number, c: number, d: number;
  if (trace > 0) {
    const s = Math.sqrt(trace + 1) * 2;
    a = s / 4;
    b = (r[2][1] - r[1][2]) / s;
    c = (r[0][2] - r[2][0]) / s;
    d = (r[1][0] - r[0][1]) / s;
  } else if (r[0][0] > r[1][1] && r[0][0] > r[2][2]) {
    const s = Math.sqrt(1 + r[0][0] - r[1][1] - r[2][2]) * 2;
    a = (r[2][1] - r[1][2]) / s;
    b = s / 4;
    c = (r[0][1] + r[1][0]) / s;
    d = (r[0][2] + r[2][0]) / s;
  } else if (r[1][1] > r[2][2]) {
    const s = Math.sqrt(1 + r[1][1] - r[0][0] - r[2][2]) * 2;
    a = (r[0][2] - r[2][0]) / s;
    b = (r[0][1] + r[1][0]) / s;
    c = s / 4;
    d = (r[1][2] + r[2][1]) / s;
  } else {
    const s = Math.sqrt(1 + r[2][2] - r[0][0] - r[1][1]) * 2;
    a = (r[1][0] - r[0][1]) / s;
    b = (r[0][2] + r[2][0]) / s;
    c = (r[1][2] + r[2][1]) / s;
    d = s / 4;
  }
  return a < 0 ? [-a, -b, -c, -d] : [a, b, c, d];
}

const dot = (a: number[], b: number[]): number => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
const scale = (a: number[], s: number): number[] => [a[0] * s, a[1] * s, a[2] * s];
const sub = (a: number[], b: number[]): number[] => [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
const cross = (a: number[], b: number[]): number[] => [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
const normalize = (a: number[]): number[] => scale(a, 1 / Math.hypot(a[0], a[1], a[2]));
