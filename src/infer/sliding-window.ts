/**
 * MONAI's `sliding_window_inference` over any volume size, on any backend, with any model callable
 * from nn/ (`(x: Tensor NCDHW) => logits NCDHW`).
 *
 * Per batch of `swBatchSize` windows: cut the windows on the CPU, upload them as one [B, C, rd, rh, rw]
 * tensor, run the model (once per flip of the test-time augmentation, each result flipped back), take
 * the softmax on the device, read the probabilities back and add them, weighted by the importance map,
 * into Float32Array accumulators on the CPU. At the end, divide by the summed weights and crop the
 * padding away.
 *
 * Why accumulate on the CPU: the kernel table has no "add a weighted window into a region of a larger
 * tensor" op, and adding one means a WGSL, an AssemblyScript and a reference kernel for a step that
 * costs a few milliseconds next to a V-Net forward. Reading one window of probabilities back (2 x 1 M
 * floats = 8 MB for 112x112x80) is small against the forward, and the read of batch i overlaps the
 * forward of batch i + 1 (launched before the read is awaited), so lazy backends stay busy. Device
 * memory stays at one batch of windows, whatever the volume size.
 *
 * Model ownership follows nn/: the caller owns input and logits, so every tensor made here is
 * disposed here. The caller chooses the model's mode (a VNet should be in eval mode; see
 * `segmentVolume` in ./segment-volume.ts, which switches it).
 */
import type { Backend } from '../backend/backend.js';
import { SdsError } from '../core/errors.js';
import type { Vec3 } from '../core/shape.js';
import type { Tensor } from '../core/tensor.js';
import { add, flip, scale, softmax } from '../ops/index.js';
import type { SpatialAxis } from '../contract/params.js';
import { type BlendMode, DEFAULT_SIGMA_SCALE, importanceMap } from './importance.js';
import { accumulateWindow, extractWindow, normalizeAndCrop } from './window-io.js';
import { perAxis, planWindows } from './windows.js';

/** A model as inference sees it: logits [N, K, D, H, W] for an image [N, C, D, H, W]. */
export type Predictor = (x: Tensor) => Tensor;

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
  /** MONAI sw_batch_size: windows per model call. Default 1. */
  readonly swBatchSize?: number;
  /** Fraction of the roi shared by neighbouring windows. Default 0.25 (MONAI's). */
  readonly overlap?: number;
  /** Blending of overlapping windows. Default 'constant' (MONAI's). */
  readonly mode?: BlendMode;
  /** Gaussian sigma = sigmaScale * roi. Default 0.125 (MONAI's). */
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

export async function slidingWindowInference(
  backend: Backend,
  image: ChannelVolume,
  predictor: Predictor,
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
  const batchSize = options.swBatchSize ?? 1;
  if (!(Number.isInteger(batchSize) && batchSize >= 1)) {
    throw new SdsError('E_INVALID_ARGUMENT', `sliding window: swBatchSize: expected an integer >= 1, found ${batchSize}`);
  }
  const roi = options.roiSize;
  const plan = planWindows(size, roi, options.overlap ?? 0.25);
  const weights = importanceMap(roi, options.mode ?? 'constant', options.sigmaScale ?? DEFAULT_SIGMA_SCALE);
  const flips = flipSets(options.flipAxes ?? []);
  const signal = options.signal;
  signal?.throwIfAborted();

  const windowSize = roi[0] * roi[1] * roi[2];
  const paddedVoxels = plan.paddedSize[0] * plan.paddedSize[1] * plan.paddedSize[2];
  const count = new Float32Array(paddedVoxels);
  let acc: Float32Array | null = null;
  let classes = 0;
  const total = plan.starts.length;

  /** Uploads one batch, runs the model on it (with flips) and starts reading its probabilities. */
  const launch = (first: number): { starts: readonly Vec3[]; probs: Tensor; read: Promise<Float32Array> } => {
    const starts = plan.starts.slice(first, first + batchSize);
    const input = new Float32Array(starts.length * channels * windowSize);
    starts.forEach((s, b) => {
      const origin = perAxis((a) => s[a] - plan.padBefore[a]);
      extractWindow(image.data, { channels, size }, origin, roi, input, b * channels * windowSize);
    });
    const x = backend.upload(input, [starts.length, channels, ...roi]);
    let probs: Tensor;
    try {
      probs = averagedProbabilities(backend, x, predictor, flips);
    } finally {
      backend.dispose(x);
    }
    classes = probs.shape[1];
    return { starts, probs, read: backend.read(probs) as Promise<Float32Array> };
  };

  let pending: ReturnType<typeof launch> | null = null;
  try {
    const batches = Math.ceil(total / batchSize);
    for (let batch = 0; batch <= batches; batch++) {
      signal?.throwIfAborted();
      const next: ReturnType<typeof launch> | null = batch < batches ? launch(batch * batchSize) : null;
      if (pending !== null) {
        const done: ReturnType<typeof launch> = pending;
        // `next` is already reading: if this read fails (device lost), the finally must still await it
        pending = next;
        const probs = await done.read;
        backend.dispose(done.probs);
        acc ??= new Float32Array(classes * paddedVoxels);
        const perWindow = classes * windowSize;
        done.starts.forEach((s, b) => accumulateWindow(acc!, count, plan.paddedSize, classes, s, roi, weights, probs, b * perWindow));
        options.onProgress?.({ windowsDone: Math.min(batch * batchSize, total), windowsTotal: total });
      } else pending = next;
    }
  } finally {
    // On abort or error: let an in-flight read finish before freeing its tensor.
    if (pending !== null) {
      await pending.read.catch(() => undefined);
      backend.dispose(pending.probs);
    }
  }
  signal?.throwIfAborted();
  const data = normalizeAndCrop(acc!, count, plan.paddedSize, classes, size, plan.padBefore);
  return { data, shape: [classes, ...size] };
}

/** Softmax of the model's logits for x, averaged over the flips (each flipped back). Caller owns the result. */
function averagedProbabilities(backend: Backend, x: Tensor, predictor: Predictor, flips: readonly SpatialAxis[][]): Tensor {
  let sum: Tensor | null = null;
  for (const axes of flips) {
    const input = axes.length === 0 ? x : flip(backend, x, axes);
    const logits = predictor(input);
    if (input !== x) backend.dispose(input);
    expectLogits(logits, x);
    const p = softmax(backend, logits);
    backend.dispose(logits);
    const back = axes.length === 0 ? p : flip(backend, p, axes);
    if (back !== p) backend.dispose(p);
    if (sum === null) sum = back;
    else {
      const total = add(backend, sum, back);
      backend.dispose(sum);
      backend.dispose(back);
      sum = total;
    }
  }
  if (flips.length === 1) return sum!;
  const mean = scale(backend, sum!, 1 / flips.length);
  backend.dispose(sum!);
  return mean;
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
