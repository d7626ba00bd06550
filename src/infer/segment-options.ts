/**
 * The segmentation options of the SDK's own surface — the API's `segment`, the `sds segment` command and
 * the ONNX Runtime engine — and their one mapping onto segmentVolume's MONAI-style options. The API's
 * defaults (overlap 0.5, Gaussian blending) differ from MONAI's low-level ones (MONAI_DEFAULTS: 0.25,
 * constant) on purpose: both are named, and each applies where it is documented.
 */
import type { Vec3 } from '../core/shape.js';
import type { SegmentVolumeOptions } from './segment-volume.js';

/** What `segment` does when an option is left out (README, api/types.ts SegmentOptions). */
export const SEGMENT_DEFAULTS = { overlap: 0.5, blend: 'gaussian', tta: false, largestComponent: true } as const;

export interface SegmentProgress {
  readonly fraction: number;
  readonly window: number;
  readonly windows: number;
}

/** The engine-independent part of the API's SegmentOptions. */
export interface SegmentWindowOptions {
  /** Sliding-window overlap in [0, 1). Default SEGMENT_DEFAULTS.overlap. */
  readonly overlap?: number;
  /** Window blending. Default SEGMENT_DEFAULTS.blend. */
  readonly blend?: 'gaussian' | 'constant';
  /** Left-right (Volume x) flip test-time augmentation. Default SEGMENT_DEFAULTS.tta. */
  readonly tta?: boolean;
  /** Keep the largest connected component per class. Default SEGMENT_DEFAULTS.largestComponent. */
  readonly largestComponent?: boolean;
  readonly signal?: AbortSignal;
  readonly onProgress?: (progress: SegmentProgress) => void;
}

/** segmentVolume's options for `o` with the window `roiSize` (Volume axes [X, Y, Z]). */
export function segmentVolumeOptions(o: SegmentWindowOptions, roiSize: Vec3): SegmentVolumeOptions {
  const onProgress = o.onProgress;
  return {
    roiSize,
    overlap: o.overlap ?? SEGMENT_DEFAULTS.overlap,
    mode: o.blend ?? SEGMENT_DEFAULTS.blend,
    flipAxes: (o.tta ?? SEGMENT_DEFAULTS.tta) ? [0] : undefined,
    largestComponent: o.largestComponent ?? SEGMENT_DEFAULTS.largestComponent,
    signal: o.signal,
    onProgress:
      onProgress === undefined
        ? undefined
        : (p) =>
            onProgress({
              fraction: p.windowsTotal > 0 ? p.windowsDone / p.windowsTotal : 1,
              window: p.windowsDone,
              windows: p.windowsTotal,
            }),
  };
}
