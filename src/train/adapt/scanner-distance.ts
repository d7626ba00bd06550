/**
 * How differently two sets of scans look, label-free: the mean absolute difference between the two
 * sets' average quantile curves of z-scored intensity (the 1st .. 99th percentiles of each scan,
 * averaged per set), which is the 1-Wasserstein distance between the averaged intensity distributions
 * in units of the scans' standard deviation. Z-scoring removes a scanner's units and overall
 * brightness; what stays is the shape of the histogram, which a contrast curve, a bias field, blur
 * and noise all change. The recipe's `augmentLabeled: 'auto'` reads it to tell whether its labeled
 * scans come from the unlabeled scans' scanner (a site's own labels) or from another one (the
 * original scanner's shipped scans).
 */
import { SdsError } from '../../core/errors.js';

/** Percentiles 1..99 of each scan's values, averaged over the scans. */
export function meanQuantileCurve(scans: readonly Float32Array[]): Float64Array {
  if (scans.length === 0) throw new SdsError('E_INVALID_ARGUMENT', 'meanQuantileCurve: expected at least one scan, found none');
  const curve = new Float64Array(99);
  for (const scan of scans) {
    if (scan.length === 0) throw new SdsError('E_INVALID_ARGUMENT', 'meanQuantileCurve: expected scans with voxels, found an empty one');
    const sorted = Float32Array.from(scan).sort();
    for (let p = 1; p <= 99; p++) {
      // Linear interpolation between order statistics (numpy's default 'linear' method).
      const at = (p / 100) * (sorted.length - 1);
      const lo = Math.floor(at);
      const hi = Math.min(sorted.length - 1, lo + 1);
      curve[p - 1] += (sorted[lo] + (at - lo) * (sorted[hi] - sorted[lo])) / scans.length;
    }
  }
  return curve;
}

/** The distance above between two sets of z-scored scans (0 for identical sets; symmetric). */
export function scannerDistance(a: readonly Float32Array[], b: readonly Float32Array[]): number {
  return curveGap(meanQuantileCurve(a), meanQuantileCurve(b));
}

/** Mean absolute difference of two quantile curves. */
function curveGap(a: Float64Array, b: Float64Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i] - b[i]);
  return sum / a.length;
}

/** The answer of `labeledLookForeign`: the labeled set's distance, the null's 95th percentile, the verdict. */
export interface ScannerCheck {
  readonly distance: number;
  readonly threshold: number;
  readonly foreign: boolean;
}

/** Unlabeled scans the permutation test needs (4 give 4-6 distinct subsets for one or two labeled scans). */
export const MIN_UNLABELED_FOR_CHECK = 4;

/**
 * Whether the labeled scans come from another scanner than the unlabeled ones: a permutation test.
 * The labeled set's distance to the unlabeled set is compared with `draws` distances between a random
 * subset of the unlabeled scans (as many as there are labeled ones, at most all but one) and the rest;
 * the labeled scans are foreign when their distance exceeds the 95th percentile of those. Scans of one
 * scanner differ too (anatomy, each scan's own bias field), and a mean over fewer scans varies more:
 * the null has the labeled set's size, so one local labeled scan is held to a single scan's spread and
 * eight shipped scans to an eight-scan mean's. With fewer than `MIN_UNLABELED_FOR_CHECK` unlabeled scans
 * the null has too few distinct subsets to say anything: the verdict is then 'not foreign' (threshold
 * Infinity), the paper's behaviour.
 */
export function labeledLookForeign(
  labeled: readonly Float32Array[],
  unlabeled: readonly Float32Array[],
  rng: { permutation(n: number): number[] },
  draws = 200,
): ScannerCheck {
  if (labeled.length === 0 || unlabeled.length < MIN_UNLABELED_FOR_CHECK) return { distance: 0, threshold: Infinity, foreign: false };
  const curves = unlabeled.map((scan) => meanQuantileCurve([scan]));
  const mean = (set: readonly Float64Array[]): Float64Array => {
    const out = new Float64Array(99);
    for (const c of set) for (let i = 0; i < 99; i++) out[i] += c[i] / set.length;
    return out;
  };
  const distance = curveGap(meanQuantileCurve(labeled), mean(curves));
  const k = Math.min(labeled.length, unlabeled.length - 1);
  const nulls: number[] = [];
  for (let d = 0; d < draws; d++) {
    const order = rng.permutation(curves.length);
    nulls.push(curveGap(mean(order.slice(0, k).map((i) => curves[i])), mean(order.slice(k).map((i) => curves[i]))));
  }
  nulls.sort((a, b) => a - b);
  const threshold = nulls[Math.min(nulls.length - 1, Math.floor(0.95 * nulls.length))];
  return { distance, threshold, foreign: distance > threshold };
}
