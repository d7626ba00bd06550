/**
 * Where the sliding windows go: MONAI's `sliding_window_inference` geometry, axis by axis.
 *
 * - Padding: an axis shorter than the roi is padded to the roi, `floor(diff / 2)` before and the rest
 *   after (MONAI's `pad_size`, constant 0), and cropped back the same way at the end.
 * - Scan interval (`_get_scan_interval`): `roi` when the roi covers the (padded) axis exactly, else
 *   `floor(roi * (1 - overlap))`, at least 1.
 * - Start positions (`dense_patch_slices`): `i * interval` for i = 0 .. n-1, with n the first count whose
 *   last window reaches the end, each start pulled back so that no window passes the end. So windows
 *   always cover the axis and the last one is flush with its end (it may overlap more than asked).
 * - Order: the first spatial axis slowest, as numpy's `meshgrid(..., indexing="ij")`.
 *
 * Everything here is on tensor spatial axes [D, H, W]; the Volume API maps its [X, Y, Z] onto them.
 */
import { SdsError } from '../core/errors.js';
import type { Vec3 } from '../core/shape.js';

export interface WindowPlan {
  /** The spatial size after padding: max(image, roi) per axis. */
  readonly paddedSize: Vec3;
  /** Voxels added before the image on each axis (the rest of the padding goes after). */
  readonly padBefore: Vec3;
  readonly scanInterval: Vec3;
  /** Start corner of every window in the padded grid, first axis slowest. */
  readonly starts: readonly Vec3[];
}

export const perAxis = (f: (axis: number) => number): Vec3 => [f(0), f(1), f(2)];

/** MONAI `_get_scan_interval`: the stride between window starts on each axis. */
export function scanInterval(paddedSize: readonly number[], roi: readonly number[], overlap: number): Vec3 {
  return perAxis((a) => {
    if (roi[a] === paddedSize[a]) return roi[a];
    const interval = Math.floor(roi[a] * (1 - overlap));
    return interval > 0 ? interval : 1;
  });
}

/** MONAI `dense_patch_slices` on one axis: the window starts along an axis of length `size`. */
export function axisStarts(size: number, roi: number, interval: number): number[] {
  const count = Math.ceil(size / interval);
  let scans = 1;
  for (let i = 0; i < count; i++) {
    if (i * interval + roi >= size) {
      scans = i + 1;
      break;
    }
  }
  return Array.from({ length: scans }, (_, i) => {
    const start = i * interval;
    return start - Math.max(start + roi - size, 0);
  });
}

export function planWindows(imageSize: readonly number[], roi: readonly number[], overlap: number): WindowPlan {
  expectSize('image size', imageSize);
  expectSize('roi', roi);
  if (!(overlap >= 0 && overlap < 1)) {
    throw new SdsError('E_INVALID_ARGUMENT', `sliding window: overlap: expected a number in [0, 1), found ${overlap}`);
  }
  const paddedSize = perAxis((a) => Math.max(imageSize[a], roi[a]));
  const padBefore = perAxis((a) => Math.floor((paddedSize[a] - imageSize[a]) / 2));
  const interval = scanInterval(paddedSize, roi, overlap);
  const [d, h, w] = [0, 1, 2].map((a) => axisStarts(paddedSize[a], roi[a], interval[a]));
  const starts: Vec3[] = [];
  for (const sd of d) for (const sh of h) for (const sw of w) starts.push([sd, sh, sw]);
  return { paddedSize, padBefore, scanInterval: interval, starts };
}

function expectSize(what: string, size: readonly number[]): void {
  if (size.length !== 3 || size.some((s) => !Number.isInteger(s) || s < 1)) {
    throw new SdsError('E_INVALID_ARGUMENT', `sliding window: ${what}: expected three positive integers, found [${size.join(', ')}]`);
  }
}
