/**
 * MONAI's `sliding_window_inference` over any volume size, with any model that turns a batch of windows
 * into class probabilities: a WindowPredictor. `tensorPredictor` makes one from a network of nn/ on a
 * backend (softmax on the device); onnx/ makes one from an ONNX Runtime session. Everything else — the
 * window plan, cutting windows (zero padding), flip test-time augmentation, importance-weighted blending,
 * cropping back — lives here once, for every engine.
 *
 * Per batch of `swBatchSize` windows: cut the windows on the CPU and hand them to the predictor (once per
 * flip of the test-time augmentation, the windows flipped and the probabilities flipped back on the
 * CPU), then add the averaged probabilities, weighted by the importance map, into Float32Array
 * accumulators on the CPU. At the end, divide by the summed weights and crop the padding away.
 *
 * Why accumulate on the CPU: the kernel table has no "add a weighted window into a region of a larger
 * tensor" op, and adding one means a WGSL, an AssemblyScript and a reference kernel for a step that
 * costs a few milliseconds next to a V-Net forward. Reading one window of probabilities back (2 x 1 M
 * floats = 8 MB for 112x112x80) is small against the forward. The predictor of batch i + 1 is called
 * before batch i's probabilities are awaited, so a lazy backend reads batch i while it runs batch i + 1,
 * and device memory stays at about two batches of windows, whatever the volume size.
 *
 * Model ownership follows nn/: tensorPredictor disposes every tensor it makes. The caller chooses the
 * model's mode (a VNet should be in eval mode; see `segmentVolume` in ./segment-volume.ts, which
 * switches it).
 */
import type { Backend } from '../backend/backend.js';
import { SdsError } from '../core/errors.js';
import type { Vec3 } from '../core/shape.js';
import type { Tensor } from '../core/tensor.js';
import { flipReference, softmax } from '../ops/index.js';
import type { SpatialAxis } from '../contract/params.js';
import { type BlendMode, DEFAULT_SIGMA_SCALE, importanceMap } from './importance.js';
import { accumulateWindow, extractWindow, normalizeAndCrop } from './window-io.js';
import { perAxis, planWindows } from './windows.js';

/** A network as nn/ runs it: logits [N, K, D, H, W] for an image [N, C, D, H, W] (tensors on one backend). */
export type Predictor = (x: Tensor) => Tensor;

/** A batch of windows on the CPU: [B, C, rd, rh, rw] row-major. */
export interface WindowBatch {
  readonly data: Float32Array;
  readonly shape: readonly [number, number, number, number, number];
}

/**
 * A model as the sliding window sees it: the softmax probabilities [B, K, rd, rh, rw] of a batch of
 * windows, on the CPU. It may start its work before it returns (the next batch is asked for before the
 * previous one is awaited) and owns whatever device memory it uses.
 */
export type WindowPredictor = (windows: WindowBatch) => Promise<Float32Array>;

/** MONAI's sliding_window_inference defaults (roi aside): what infer/ does when an option is left out. */
export const MONAI_DEFAULTS = { swBatchSize: 1, overlap: 0.25, mode: 'constant', sigmaScale: DEFAULT_SIGMA_SCALE } as const;

/** Row-major [C, D, H, W] on the CPU (a batch-free NCDHW image, W fastest). */
export interface ChannelVolume {
  readonly data: Float32Array;
  readonly shape: readonly [number, number, number, number];
}

export interface SlidingWindowProgress {
  readonly windowsDone: number;
  readonly windowsTotal: number;
}

export interface SlidingWindowOptions {
  /** MONAI roi_size: the window size on the tensor's spatial axes [D, H, W]. */
  readonly roiSize: Vec3;
  /** MONAI sw_batch_size: windows per model call. Default MONAI_DEFAULTS.swBatchSize (1). */
  readonly swBatchSize?: number;
  /** Fraction of the roi shared by neighbouring windows. Default MONAI_DEFAULTS.overlap (0.25). */
  readonly overlap?: number;
  /** Blending of overlapping windows. Default MONAI_DEFAULTS.mode ('constant'). */
  readonly mode?: BlendMode;
  /** Gaussian sigma = sigmaScale * roi. Default MONAI_DEFAULTS.sigmaScale (0.125). */
  readonly sigmaScale?: number;
  /**
   * Flip test-time augmentation on tensor spatial axes (0 = D, 1 = H, 2 = W): the model also runs on
   * the window flipped along every non-empty subset of these axes, and the probabilities (flipped
   * back) are averaged. 2^k forward passes per window. Default none.
   */
  readonly flipAxes?: readonly SpatialAxis[];
  readonly signal?: AbortSignal;
  readonly onProgress?: (progress: SlidingWindowProgress) => void;
}

/** Probabilities [K, D, H, W] on the input's spatial grid. */
export interface ProbabilityVolume {
  readonly data: Float32Array;
  readonly shape: readonly [number, number, number, number];
}

/** Every subset of `axes`, the empty one (no flip) first. */
export function flipSets(axes: readonly SpatialAxis[]): SpatialAxis[][] {
  if (new Set(axes).size !== axes.length || axes.some((a) => a !== 0 && a !== 1 && a !== 2)) {
    throw new SdsError('E_INVALID_ARGUMENT', `sliding window: flipAxes: expected distinct axes from {0, 1, 2}, found [${axes.join(', ')}]`);
  }
  return Array.from({ length: 1 << axes.length }, (_, mask) => axes.filter((_, i) => (mask >> i) & 1));
}

/**
 * Probabilities [K, D, H, W] of `image` [C, D, H, W] from `predictor`, MONAI's sliding window. The
 * windows of a batch go to the predictor once per flip set (2^k for k flip axes), flipped on the CPU,
 * and the flipped-back probabilities are averaged.
 */
export async function slidingWindowInference(
  image: ChannelVolume,
  predictor: WindowPredictor,
  options: SlidingWindowOptions,
): Promise<ProbabilityVolume> {
  const [channels, ...spatial] = image.shape;
  const size = spatial as unknown as Vec3;
  if (image.shape.length !== 4 || image.data.length !== image.shape.reduce((a, b) => a * b, 1)) {
    throw new SdsError(
      'E_SHAPE_MISMATCH',
      `sliding window: image: expected data of length C*D*H*W for shape [${image.shape.join(', ')}], found ${image.data.length}`,
    );
  }
  const batchSize = options.swBatchSize ?? MONAI_DEFAULTS.swBatchSize;
  if (!(Number.isInteger(batchSize) && batchSize >= 1)) {
    throw new SdsError('E_INVALID_ARGUMENT', `sliding window: swBatchSize: expected an integer >= 1, found ${batchSize}`);
  }
  const roi = options.roiSize;
  const plan = planWindows(size, roi, options.overlap ?? MONAI_DEFAULTS.overlap);
  const weights = importanceMap(roi, options.mode ?? MONAI_DEFAULTS.mode, options.sigmaScale ?? MONAI_DEFAULTS.sigmaScale);
  const flips = flipSets(options.flipAxes ?? []);
  const signal = options.signal;
  signal?.throwIfAborted();

  const windowSize = roi[0] * roi[1] * roi[2];
  const paddedVoxels = plan.paddedSize[0] * plan.paddedSize[1] * plan.paddedSize[2];
  const count = new Float32Array(paddedVoxels);
  let acc: Float32Array | null = null;
  const total = plan.starts.length;

  /** Cuts one batch and asks the predictor for it, once per flip set. */
  const launch = (first: number): { starts: readonly Vec3[]; probabilities: Promise<Float32Array>[] } => {
    const starts = plan.starts.slice(first, first + batchSize);
    const input = new Float32Array(starts.length * channels * windowSize);
    starts.forEach((s, b) => {
      const origin = perAxis((a) => s[a] - plan.padBefore[a]);
      extractWindow(image.data, { channels, size }, origin, roi, input, b * channels * windowSize);
    });
    const shape = [starts.length, channels, ...roi] as const;
    const probabilities = flips.map((axes) => {
      const windows = axes.length === 0 ? input : flipReference({ data: input, shape }, axes).data;
      return predictor({ data: windows, shape }).then((p) => (axes.length === 0 ? p : flipProbabilities(p, starts.length, roi, axes)));
    });
    return { starts, probabilities };
  };

  let pending: ReturnType<typeof launch> | null = null;
  try {
    const batches = Math.ceil(total / batchSize);
    for (let batch = 0; batch <= batches; batch++) {
      signal?.throwIfAborted();
      const next: ReturnType<typeof launch> | null = batch < batches ? launch(batch * batchSize) : null;
      if (pending !== null) {
        const done: ReturnType<typeof launch> = pending;
        // `next` is already running: if this batch fails, the finally must still wait for it.
        pending = next;
        const probs = averaged(await Promise.all(done.probabilities));
        const classes = probs.length / (done.starts.length * windowSize);
        expectProbabilities(probs, done.starts.length, roi);
        acc ??= new Float32Array(classes * paddedVoxels);
        const perWindow = classes * windowSize;
        done.starts.forEach((s, b) => accumulateWindow(acc!, count, plan.paddedSize, classes, s, roi, weights, probs, b * perWindow));
        options.onProgress?.({ windowsDone: Math.min(batch * batchSize, total), windowsTotal: total });
      } else pending = next;
    }
  } finally {
    // On abort or error: let the work in flight finish before returning (its device memory is freed then).
    if (pending !== null) await Promise.allSettled(pending.probabilities);
  }
  signal?.throwIfAborted();
  const classes = acc!.length / paddedVoxels;
  const data = normalizeAndCrop(acc!, count, plan.paddedSize, classes, size, plan.padBefore);
  return { data, shape: [classes, ...size] };
}

/** The mean of the flip sets' probabilities (the first array is reused). */
function averaged(sets: Float32Array[]): Float32Array {
  if (sets.length === 1) return sets[0];
  const sum = sets[0];
  for (let s = 1; s < sets.length; s++) {
    const other = sets[s];
    if (other.length !== sum.length)
      throw new SdsError('E_SHAPE_MISMATCH', `sliding window: flipped windows gave ${other.length} probabilities, unflipped ${sum.length}`);
    for (let i = 0; i < sum.length; i++) sum[i] += other[i];
  }
  const scale = 1 / sets.length;
  for (let i = 0; i < sum.length; i++) sum[i] *= scale;
  return sum;
}

/** Probabilities [B, K, roi] of the flipped windows, flipped back along the same axes. */
function flipProbabilities(p: Float32Array, batch: number, roi: Vec3, axes: readonly SpatialAxis[]): Float32Array {
  const classes = p.length / (batch * roi[0] * roi[1] * roi[2]);
  if (!Number.isInteger(classes)) return p; // expectProbabilities reports it
  return flipReference({ data: p, shape: [batch, classes, ...roi] }, axes).data;
}

function expectProbabilities(p: Float32Array, batch: number, roi: Vec3): void {
  const per = batch * roi[0] * roi[1] * roi[2];
  if (!(p.length >= per && p.length % per === 0)) {
    throw new SdsError(
      'E_SHAPE_MISMATCH',
      `sliding window: predictor output: expected probabilities [${batch}, K, ${roi.join(', ')}] (a multiple of ${per} values), found ${p.length}`,
    );
  }
}

/**
 * A WindowPredictor from a network on a backend: uploads the windows, runs the network, takes the
 * softmax on the device and reads it back. The device work starts when it is called; every tensor it
 * makes is disposed once the read is done.
 */
export function tensorPredictor(backend: Backend, model: Predictor): WindowPredictor {
  return async (windows) => {
    const x = backend.upload(windows.data, windows.shape);
    let probs: Tensor;
    try {
      const logits = model(x);
      try {
        expectLogits(logits, x);
        probs = softmax(backend, logits);
      } finally {
        backend.dispose(logits);
      }
    } finally {
      backend.dispose(x);
    }
    try {
      return (await backend.read(probs)) as Float32Array;
    } finally {
      backend.dispose(probs);
    }
  };
}

function expectLogits(logits: Tensor, x: Tensor): void {
  const s = logits.shape;
  const ok = s.length === 5 && s[0] === x.shape[0] && s[1] >= 1 && s[2] === x.shape[2] && s[3] === x.shape[3] && s[4] === x.shape[4];
  if (!ok || logits.dtype !== 'float32') {
    throw new SdsError(
      'E_SHAPE_MISMATCH',
      `sliding window: model output: expected float32 logits [${x.shape[0]}, K, ${x.shape.slice(2).join(', ')}], found ${logits.dtype} [${s.join(', ')}]`,
    );
  }
}
