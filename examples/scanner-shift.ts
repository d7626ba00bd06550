/**
 * A simulated "new scanner" for the demo: the same anatomy seen through a different MRI acquisition, so
 * a model trained on the original scans meets a domain shift that SDS can adapt to. Three effects, in
 * the order a real acquisition produces them (intensities first mapped to [0, 1] by the scan's 99.5th
 * percentile, mapped back to the scan's scale at the end):
 *
 * 1. contrast curve: v -> v^gamma (a different sequence / reconstruction windowing; gamma < 1 brightens
 *    dark tissue and compresses the bright end, so grey/white matter contrast changes non-linearly);
 * 2. bias field: v -> v * exp(b(x, y, z)), b a smooth random quadratic polynomial in the voxel
 *    coordinates scaled to [-biasStrength, biasStrength] over the scan (coil sensitivity / B1
 *    inhomogeneity, the N4-corrected kind of shading);
 * 3. noise: Rician, sqrt((v + n1)^2 + n2^2) with n1, n2 ~ N(0, noise^2) (magnitude images of complex
 *    Gaussian noise; for noise 0 nothing changes).
 *
 * Deterministic: the output is a pure function of the scan, the options and `seed` (counter-based
 * random numbers, src/ops/random.ts). Give each scan its own seed so the bias fields differ; gamma and
 * the noise level are the scanner's and stay fixed.
 */
import { SdsError } from '../src/core/errors.js';
import { uniformAt } from '../src/ops/random.js';
import { percentiles, type Volume, withData } from '../src/volume/index.js';

export interface ScannerShift {
  /** Contrast curve exponent (> 0; 1: none). */
  readonly gamma: number;
  /** Largest |log| of the multiplicative bias field over the scan (0: none; 0.4: x0.67 .. x1.5). */
  readonly biasStrength: number;
  /** Rician noise sigma as a fraction of the scan's 99.5th percentile (0: none). */
  readonly noise: number;
}

/** The demo's new scanner: measured to drop the pretrained model's held-out Dice clearly (README). */
export const DEMO_SCANNER: ScannerShift = { gamma: 0.5, biasStrength: 0.5, noise: 0.06 };

/** The nine non-constant monomials x^i y^j z^k with i + j + k <= 2 of the bias polynomial. */
const MONOMIALS: readonly (readonly [number, number, number])[] = [
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

/** A standard normal draw from two uniforms of the counter stream (Box-Muller). */
function normalAt(seed: number, index: number): number {
  const u1 = uniformAt(seed, 2 * index) + 2 ** -25; // never 0: log(0) is -inf
  const u2 = uniformAt(seed, 2 * index + 1);
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
}

/** The log bias field b over the scan's grid (x fastest), max |b| = strength. */
export function biasField(shape: readonly [number, number, number], strength: number, seed: number): Float32Array {
  const [X, Y, Z] = shape;
  // Coefficients uniform in [-1, 1], from a stream apart from the noise's (seed ^ a constant).
  const coeff = MONOMIALS.map((_, k) => 2 * uniformAt((seed ^ 0x5bd1e995) >>> 0, k) - 1);
  const b = new Float32Array(X * Y * Z);
  // Coordinates in [-1, 1] per axis so the field's smoothness does not depend on the scan's size.
  const c = (i: number, n: number): number => (n > 1 ? (2 * i) / (n - 1) - 1 : 0);
  let peak = 0;
  for (let z = 0, i = 0; z < Z; z++)
    for (let y = 0; y < Y; y++)
      for (let x = 0; x < X; x++, i++) {
        const p = [c(x, X), c(y, Y), c(z, Z)];
        let v = 0;
        for (let k = 0; k < MONOMIALS.length; k++) {
          const [a, bb, cc] = MONOMIALS[k];
          v += coeff[k] * p[0] ** a * p[1] ** bb * p[2] ** cc;
        }
        b[i] = v;
        peak = Math.max(peak, Math.abs(v));
      }
  const scale = peak > 0 ? strength / peak : 0;
  for (let i = 0; i < b.length; i++) b[i] *= scale;
  return b;
}

/** `image` as the simulated scanner would have recorded it (float32, same grid and metadata). */
export function simulateScanner(image: Volume, shift: ScannerShift, seed: number): Volume<Float32Array> {
  const { gamma, biasStrength, noise } = shift;
  if (!(gamma > 0 && Number.isFinite(gamma)))
    throw new SdsError('E_INVALID_ARGUMENT', `scanner shift: gamma: expected a number > 0, found ${gamma}`);
  if (!(biasStrength >= 0 && biasStrength <= 5))
    throw new SdsError('E_INVALID_ARGUMENT', `scanner shift: biasStrength: expected a number in [0, 5], found ${biasStrength}`);
  if (!(noise >= 0 && noise <= 1))
    throw new SdsError('E_INVALID_ARGUMENT', `scanner shift: noise: expected a number in [0, 1], found ${noise}`);
  if (!(Number.isInteger(seed) && seed >= 0))
    throw new SdsError('E_INVALID_ARGUMENT', `scanner shift: seed: expected an integer >= 0, found ${seed}`);
  const [top] = percentiles(image, [99.5]);
  if (!(top > 0))
    throw new SdsError(
      'E_INVALID_ARGUMENT',
      `scanner shift: expected an image with positive intensities, found a 99.5th percentile of ${top}`,
    );
  const field = biasField(image.shape, biasStrength, seed);
  const out = new Float32Array(image.data.length);
  const noiseSeed = seed >>> 0;
  for (let i = 0; i < out.length; i++) {
    const v = Math.max(0, Number(image.data[i]) / top);
    const shaded = v ** gamma * Math.exp(field[i]);
    const n1 = noise > 0 ? noise * normalAt(noiseSeed, 2 * i) : 0;
    const n2 = noise > 0 ? noise * normalAt(noiseSeed, 2 * i + 1) : 0;
    out[i] = Math.hypot(shaded + n1, n2) * top;
  }
  return withData(image, out);
}
