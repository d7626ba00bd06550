/**
 * Volume in, label Volume out with onnxruntime-web as the network: the same pipeline as
 * segmentVolume (infer/segment-volume.ts) — MONAI sliding windows from infer/windows.ts, the same
 * importance map, window cutting and accumulation (infer/window-io.ts), softmax, blending, argmax and
 * per-class largest connected component — with an exported V-Net in an ORT InferenceSession instead of
 * sds-web's kernels. ORT runs are asynchronous and their outputs live on the CPU, so the loop is a
 * plain await per window and softmax is computed here on the CPU.
 *
 * Axes as in segmentVolume: `roiSize` is in Volume axes [X, Y, Z]; the tensor is [1, 1, Z, Y, X].
 */
import { SdsError } from '../core/errors.js';
import type { Vec3 } from '../core/shape.js';
import { keepLargestComponent } from '../infer/connected-components.js';
import { importanceMap } from '../infer/importance.js';
import { argmaxClasses } from '../infer/segment-volume.js';
import { accumulateWindow, extractWindow, normalizeAndCrop } from '../infer/window-io.js';
import { perAxis, planWindows } from '../infer/windows.js';
import { type Volume, withData } from '../volume/volume.js';
import { type OrtExecutionProvider, type OrtVNetSession, createOrtSession } from './ort-session.js';

/** The API's segment options this engine reads (onnx/ is below api/: the shape is restated, not imported). */
export interface OnnxSegmentOptions {
  /** Sliding-window overlap 0..1 (MONAI). Default 0.5. */
  readonly overlap?: number;
  /** Window blending. Default 'gaussian'. */
  readonly blend?: 'gaussian' | 'constant';
  /** Flip test-time augmentation (left-right). Default false. */
  readonly tta?: boolean;
  /** Keep the largest connected component per class. Default true. */
  readonly largestComponent?: boolean;
  readonly signal?: AbortSignal;
  readonly onProgress?: (progress: { readonly fraction: number; readonly window: number; readonly windows: number }) => void;
  /** Window size in Volume axes [X, Y, Z] (multiples of 16 for a V-Net). */
  readonly roiSize: Vec3;
  /** Threads of ORT's wasm provider (effective for the first session of the realm only). */
  readonly threads?: number;
  /** Default 'wasm'. 'webgpu' needs a model exported with upsampling 'webgpu-compatible'. */
  readonly executionProvider?: OrtExecutionProvider;
}

/** In-place softmax over the K channels of one window [K, n]. */
function softmaxChannels(logits: Float32Array, classes: number, n: number): void {
  for (let i = 0; i < n; i++) {
    let max = -Infinity;
    for (let k = 0, o = i; k < classes; k++, o += n) max = Math.max(max, logits[o]);
    let sum = 0;
    for (let k = 0, o = i; k < classes; k++, o += n) sum += logits[o] = Math.exp(logits[o] - max);
    for (let k = 0, o = i; k < classes; k++, o += n) logits[o] /= sum;
  }
}

/** Reverses the W axis (the Volume's x, left-right) of [C, D, H, W] data. */
function flipW(src: Float32Array, w: number): Float32Array {
  const out = new Float32Array(src.length);
  for (let row = 0; row < src.length; row += w) for (let i = 0; i < w; i++) out[row + i] = src[row + w - 1 - i];
  return out;
}

/** Softmax probabilities of one window [K, rd, rh, rw], averaged with the left-right flip when tta. */
async function windowProbabilities(
  session: OrtVNetSession,
  x: Float32Array,
  roi: Vec3,
  tta: boolean,
): Promise<{ probs: Float32Array; classes: number }> {
  const shape = [1, 1, ...roi];
  const n = roi[0] * roi[1] * roi[2];
  const run = async (input: Float32Array): Promise<{ probs: Float32Array; classes: number }> => {
    const out = await session.run(input, shape);
    const classes = out.shape[1];
    if (out.shape.length !== 5 || out.data.length !== classes * n) {
      throw new SdsError('E_ONNX', `model output: expected logits [1, K, ${roi.join(', ')}], found [${out.shape.join(', ')}]`);
    }
    const probs = out.data.slice();
    softmaxChannels(probs, classes, n);
    return { probs, classes };
  };
  const plain = await run(x);
  if (!tta) return plain;
  const flipped = await run(flipW(x, roi[2]));
  const back = flipW(flipped.probs, roi[2]);
  for (let i = 0; i < back.length; i++) plain.probs[i] = (plain.probs[i] + back[i]) / 2;
  return plain;
}

export async function segmentWithOnnxRuntime(model: Uint8Array, image: Volume, options: OnnxSegmentOptions): Promise<Volume<Uint8Array>> {
  const [X, Y, Z] = image.shape;
  const size: Vec3 = [Z, Y, X];
  const roi: Vec3 = [options.roiSize[2], options.roiSize[1], options.roiSize[0]];
  // SegmentOptions' documented defaults (the API's), not MONAI's.
  const plan = planWindows(size, roi, options.overlap ?? 0.5);
  const weights = importanceMap(roi, options.blend ?? 'gaussian');
  const signal = options.signal;
  signal?.throwIfAborted();
  const data = image.data instanceof Float32Array ? image.data : Float32Array.from(image.data);

  const session = await createOrtSession(model, { threads: options.threads, executionProvider: options.executionProvider });
  let probabilities: { data: Float32Array; classes: number };
  try {
    if (session.inputChannels !== 1) {
      throw new SdsError(
        'E_ONNX',
        `segmentWithOnnxRuntime: expected a model with 1 input channel (a single-channel scan), found ${session.inputChannels}`,
      );
    }
    const windowSize = roi[0] * roi[1] * roi[2];
    const padded = plan.paddedSize[0] * plan.paddedSize[1] * plan.paddedSize[2];
    const count = new Float32Array(padded);
    let acc: Float32Array | null = null;
    let classes = 0;
    const total = plan.starts.length;
    for (const [index, start] of plan.starts.entries()) {
      signal?.throwIfAborted();
      const x = new Float32Array(windowSize);
      extractWindow(
        data,
        { channels: 1, size },
        perAxis((a) => start[a] - plan.padBefore[a]),
        roi,
        x,
        0,
      );
      const w = await windowProbabilities(session, x, roi, options.tta ?? false);
      classes = w.classes;
      acc ??= new Float32Array(classes * padded);
      accumulateWindow(acc, count, plan.paddedSize, classes, start, roi, weights, w.probs, 0);
      options.onProgress?.({ fraction: (index + 1) / total, window: index + 1, windows: total });
    }
    probabilities = { data: normalizeAndCrop(acc!, count, plan.paddedSize, classes, size, plan.padBefore), classes };
  } finally {
    await session.release();
  }
  signal?.throwIfAborted();
  let labels = argmaxClasses({ data: probabilities.data, shape: [probabilities.classes, ...size] });
  if (options.largestComponent ?? true) labels = keepLargestComponent(labels, image.shape, {});
  return withData(image, labels);
}
