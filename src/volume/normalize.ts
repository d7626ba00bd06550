/**
 * Per-volume intensity normalisation. Statistics come from the whole volume or from the voxels where
 * `mask` is non-zero; the transform is applied to every voxel. Output is float32 on the same grid.
 * Conventions match numpy / MONAI: population standard deviation (ddof 0), a zero std divides by 1
 * (MONAI NormalizeIntensity), percentiles by linear interpolation (np.percentile's default).
 */
import { SdsError } from '../core/errors.js';
import { checkSameGrid } from './validate.js';
import { withData, type Volume, type VolumeData } from './volume.js';

export interface NormalizeOptions {
  /** statistics only over voxels where mask != 0 (must share the image's grid) */
  mask?: Volume;
}

export interface PercentileOptions extends NormalizeOptions {
  /** lower percentile, 0..100, default 0.5 */
  lower?: number;
  /** upper percentile, 0..100, default 99.5 */
  upper?: number;
  /** clip the result to [0, 1], default true */
  clip?: boolean;
}

/** Voxel values taken into the statistics, in float64. */
function sampleValues(volume: Volume, mask: Volume | undefined): Float64Array {
  if (!mask) return Float64Array.from(volume.data);
  checkSameGrid(volume, mask);
  let n = 0;
  for (let i = 0; i < mask.data.length; i++) if (mask.data[i] !== 0) n++;
  if (n === 0)
    throw new SdsError('E_INVALID_ARGUMENT', `${mask.metadata.fileName || 'mask'}: expected at least one non-zero mask voxel, found none`);
  const out = new Float64Array(n);
  for (let i = 0, j = 0; i < mask.data.length; i++) if (mask.data[i] !== 0) out[j++] = volume.data[i];
  return out;
}

export function meanAndStd(values: ArrayLike<number>): { mean: number; std: number } {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i];
  const mean = sum / values.length;
  let sq = 0;
  for (let i = 0; i < values.length; i++) sq += (values[i] - mean) ** 2;
  return { mean, std: Math.sqrt(sq / values.length) };
}

/** (v - mean) / std with statistics over the (masked) volume. */
export function zScoreNormalize(volume: Volume, options: NormalizeOptions = {}): Volume<Float32Array> {
  const { mean, std } = meanAndStd(sampleValues(volume, options.mask));
  const divisor = std > 0 ? std : 1;
  return withData(volume, affineMap(volume.data, 1 / divisor, -mean / divisor));
}

/**
 * The image as the models were trained on it: z-scored over the whole scan. A non-finite voxel is an
 * E_NONFINITE error naming `what`, the file and the voxel (it would poison every window it falls in).
 * Every inference path (the API's segment, whole-scan evaluation in train/) normalises through this.
 */
export function zScoreForModel(image: Volume, what: string): Volume<Float32Array> {
  const normalized = zScoreNormalize(image);
  for (let i = 0; i < normalized.data.length; i++)
    if (!Number.isFinite(normalized.data[i]))
      throw new SdsError(
        'E_NONFINITE',
        `${what}: ${image.metadata.fileName || 'image'}: expected finite intensities, found ${normalized.data[i]} at voxel ${i}`,
      );
  return normalized;
}

/** np.percentile(values, q) with linear interpolation; `sorted` must be ascending. */
export function percentileOfSorted(sorted: Float64Array, q: number): number {
  if (!(q >= 0 && q <= 100)) throw new SdsError('E_INVALID_ARGUMENT', `percentile must be in 0..100, found ${q}`);
  const pos = (q / 100) * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

export function percentiles(volume: Volume, qs: number[], mask?: Volume): number[] {
  const values = sampleValues(volume, mask).sort();
  return qs.map((q) => percentileOfSorted(values, q));
}

/** (v - p_lower) / (p_upper - p_lower), optionally clipped to [0, 1] (MONAI ScaleIntensityRangePercentiles). */
export function percentileNormalize(volume: Volume, options: PercentileOptions = {}): Volume<Float32Array> {
  const lower = options.lower ?? 0.5;
  const upper = options.upper ?? 99.5;
  if (!(lower < upper)) throw new SdsError('E_INVALID_ARGUMENT', `lower percentile must be below upper, found ${lower} and ${upper}`);
  const [lo, hi] = percentiles(volume, [lower, upper], options.mask);
  const range = hi - lo > 0 ? hi - lo : 1;
  const out = affineMap(volume.data, 1 / range, -lo / range);
  if (options.clip ?? true) for (let i = 0; i < out.length; i++) out[i] = Math.min(1, Math.max(0, out[i]));
  return withData(volume, out);
}

function affineMap(data: VolumeData, scale: number, shift: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = data[i] * scale + shift;
  return out;
}
