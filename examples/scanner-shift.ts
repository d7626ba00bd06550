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
 * 3. partial-volume blur (optional `blur`): a Gaussian point-spread function with a sigma per axis in
 *    voxels, e.g. thick slices along one axis (a 3 mm slice resampled to 1 mm spreads each voxel over its
 *    neighbours along z; sigma = FWHM / 2.355);
 * 4. noise: Rician, sqrt((v + n1)^2 + n2^2) with n1, n2 ~ N(0, noise^2) (magnitude images of complex
 *    Gaussian noise; for noise 0 nothing changes);
 * 5. intensity scale (optional `scale`): the scanner's arbitrary units (the stored values times this).
 *
 * Deterministic: the output is a pure function of the scan, the options and `seed` (counter-based
 * random numbers, src/ops/random.ts). Give each scan its own seed so the bias fields differ; gamma and
 * the noise level are the scanner's and stay fixed.
 */
import { SdsError } from '../src/core/errors.js';
import { uniformAt } from '../src/ops/random.js';
import { percentiles, type Volume, withData } from '../src/volume/index.js';
import { BIAS_MONOMIALS, gaussianBlur, polynomialBiasField } from '../src/volume/mri-artifacts.js';

export interface ScannerShift {
  /** Contrast curve exponent (> 0; 1: none). */
  readonly gamma: number;
  /** Largest |log| of the multiplicative bias field over the scan (0: none; 0.4: x0.67 .. x1.5). */
  readonly biasStrength: number;
  /** Rician noise sigma as a fraction of the scan's 99.5th percentile (0: none). */
  readonly noise: number;
  /** Gaussian point-spread sigma in voxels along [x, y, z] (partial volume; default none). */
  readonly blur?: readonly [number, number, number];
  /** Factor on the output intensities (the scanner's units; default 1). */
  readonly scale?: number;
}

/** The demo's new scanner: measured to drop the pretrained model's held-out Dice clearly (README). */
export const DEMO_SCANNER: ScannerShift = { gamma: 0.5, biasStrength: 0.5, noise: 0.06 };

/**
 * A thick-slice, low-field acquisition: 3 mm slices along z (FWHM 3 voxels, sigma 1.27), a little
 * in-plane blur, a darker contrast curve, weaker bias, more noise, and other units.
 */
export const THICK_SLICE_SCANNER: ScannerShift = { gamma: 1.4, biasStrength: 0.3, noise: 0.08, blur: [0.5, 0.5, 1.27], scale: 0.25 };

/**
 * A multi-channel head coil with strong shading and a bright contrast: strong bias field, a gentler
 * curve than the demo's, little noise, sharp images, 12-bit units.
 */
export const STRONG_BIAS_SCANNER: ScannerShift = { gamma: 0.7, biasStrength: 0.9, noise: 0.03, scale: 4 };

/** No shift at all: the original scanner, as a control (what adaptation does when nothing changed). */
export const SOURCE_SCANNER: ScannerShift = { gamma: 1, biasStrength: 0, noise: 0 };

/** The named scanners of the adaptation benchmark (scripts/experiment-adapt.ts). */
export const SCANNERS: Readonly<Record<string, ScannerShift>> = {
  demo: DEMO_SCANNER,
  'thick-slice': THICK_SLICE_SCANNER,
  'strong-bias': STRONG_BIAS_SCANNER,
  source: SOURCE_SCANNER,
};

/** A standard normal draw from two uniforms of the counter stream (Box-Muller). */
function normalAt(seed: number, index: number): number {
  const u1 = uniformAt(seed, 2 * index) + 2 ** -25; // never 0: log(0) is -inf
  const u2 = uniformAt(seed, 2 * index + 1);
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
}

/** The log bias field b over the scan's grid (x fastest), max |b| = strength. */
export function biasField(shape: readonly [number, number, number], strength: number, seed: number): Float32Array {
  // Coefficients uniform in [-1, 1], from a stream apart from the noise's (seed ^ a constant).
  const coefficients = BIAS_MONOMIALS.map((_, k) => 2 * uniformAt((seed ^ 0x5bd1e995) >>> 0, k) - 1);
  return polynomialBiasField(shape, coefficients, strength);
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
  const blur = shift.blur ?? [0, 0, 0];
  const scale = shift.scale ?? 1;
  if (!(blur.length === 3 && blur.every((s) => s >= 0 && s <= 10)))
    throw new SdsError('E_INVALID_ARGUMENT', `scanner shift: blur: expected three sigmas in [0, 10] voxels, found ${JSON.stringify(blur)}`);
  if (!(scale > 0 && Number.isFinite(scale)))
    throw new SdsError('E_INVALID_ARGUMENT', `scanner shift: scale: expected a number > 0, found ${scale}`);
  const field = biasField(image.shape, biasStrength, seed);
  const shaded = new Float32Array(image.data.length);
  for (let i = 0; i < shaded.length; i++) shaded[i] = Math.max(0, Number(image.data[i]) / top) ** gamma * Math.exp(field[i]);
  gaussianBlur(shaded, image.shape, blur);
  const out = new Float32Array(image.data.length);
  const noiseSeed = seed >>> 0;
  for (let i = 0; i < out.length; i++) {
    const n1 = noise > 0 ? noise * normalAt(noiseSeed, 2 * i) : 0;
    const n2 = noise > 0 ? noise * normalAt(noiseSeed, 2 * i + 1) : 0;
    out[i] = Math.hypot(shaded[i] + n1, n2) * top * scale;
  }
  return withData(image, out);
}
