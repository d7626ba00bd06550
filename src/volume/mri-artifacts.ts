/**
 * Two MRI acquisition effects on a voxel grid, shared by the demo's simulated scanners
 * (examples/scanner-shift.ts) and the training-time appearance augmentation (src/train/appearance.ts):
 * a partial-volume blur (a Gaussian point-spread function, one sigma per axis) and a smooth
 * multiplicative bias field (coil sensitivity / B1 inhomogeneity) as a quadratic polynomial of the
 * voxel coordinates, the model TorchIO's RandomBiasField and N4 use.
 *
 * Grids are [X, Y, Z] with x fastest, which is also a [D, H, W] patch with W fastest read backwards.
 */

/** Separable Gaussian blur of an [X, Y, Z] grid (x fastest), edges clamped, in place; sigma 0 skips an axis. */
export function gaussianBlur(data: Float32Array, shape: readonly [number, number, number], sigma: readonly [number, number, number]): void {
  const [X, Y, Z] = shape;
  const strides = [1, X, X * Y];
  const line = new Float32Array(Math.max(X, Y, Z));
  for (let axis = 0; axis < 3; axis++) {
    const s = sigma[axis];
    if (!(s > 0)) continue;
    const radius = Math.ceil(3 * s);
    const kernel = Array.from({ length: 2 * radius + 1 }, (_, k) => Math.exp(-((k - radius) ** 2) / (2 * s * s)));
    const norm = kernel.reduce((a, b) => a + b, 0);
    const n = shape[axis];
    const stride = strides[axis];
    for (let start = 0; start < data.length; start++) {
      // Visit each line once: starts are the voxels whose coordinate along `axis` is 0.
      if (Math.floor(start / stride) % n !== 0) continue;
      for (let i = 0; i < n; i++) line[i] = data[start + i * stride];
      for (let i = 0; i < n; i++) {
        let acc = 0;
        for (let k = -radius; k <= radius; k++) acc += kernel[k + radius] * line[Math.min(n - 1, Math.max(0, i + k))];
        data[start + i * stride] = acc / norm;
      }
    }
  }
}

/** The nine non-constant monomials x^i y^j z^k with i + j + k <= 2 of the bias polynomial. */
export const BIAS_MONOMIALS: readonly (readonly [number, number, number])[] = [
  [1, 0, 0],
  [0, 1, 0],
  [0, 0, 1],
  [2, 0, 0],
  [0, 2, 0],
  [0, 0, 2],
  [1, 1, 0],
  [1, 0, 1],
  [0, 1, 1],
];

/**
 * The log bias field b = sum_k coefficients[k] * monomial_k(x, y, z) over an [X, Y, Z] grid (x fastest),
 * coordinates in [-1, 1] per axis (so its smoothness does not depend on the grid's size), then scaled
 * so that max |b| = strength (all zeros when the polynomial is flat).
 */
export function polynomialBiasField(
  shape: readonly [number, number, number],
  coefficients: readonly number[],
  strength: number,
): Float32Array {
  const [X, Y, Z] = shape;
  const b = new Float32Array(X * Y * Z);
  const c = (i: number, n: number): number => (n > 1 ? (2 * i) / (n - 1) - 1 : 0);
  let peak = 0;
  for (let z = 0, i = 0; z < Z; z++)
    for (let y = 0; y < Y; y++)
      for (let x = 0; x < X; x++, i++) {
        const p = [c(x, X), c(y, Y), c(z, Z)];
        let v = 0;
        for (let k = 0; k < BIAS_MONOMIALS.length; k++) {
          const [a, bb, cc] = BIAS_MONOMIALS[k];
          v += coefficients[k] * p[0] ** a * p[1] ** bb * p[2] ** cc;
        }
        b[i] = v;
        peak = Math.max(peak, Math.abs(v));
      }
  const scale = peak > 0 ? strength / peak : 0;
  for (let i = 0; i < b.length; i++) b[i] *= scale;
  return b;
}
