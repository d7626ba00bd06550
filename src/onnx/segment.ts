/**
 * Volume in, label Volume out with onnxruntime-web as the network: an ORT InferenceSession on an
 * exported V-Net becomes one more WindowPredictor of infer/'s sliding window, so the window plan, flip
 * test-time augmentation, blending, argmax and largest components are the ones of every other engine
 * (segmentVolumeWith), with the API's defaults (SEGMENT_DEFAULTS). ORT's outputs live on the CPU, so the
 * softmax is ops' softmax reference there.
 *
 * Axes as in segmentVolume: `roiSize` is in Volume axes [X, Y, Z]; the tensor is [1, 1, Z, Y, X].
 */
import { SdsError } from '../core/errors.js';
import type { Vec3 } from '../core/shape.js';
import { type SegmentWindowOptions, segmentVolumeOptions } from '../infer/segment-options.js';
import { segmentVolumeWith } from '../infer/segment-volume.js';
import type { WindowPredictor } from '../infer/sliding-window.js';
import { softmaxReference } from '../ops/softmax.js';
import type { Volume } from '../volume/volume.js';
import { type OrtExecutionProvider, type OrtVNetSession, createOrtSession } from './ort-session.js';

/** The API's segment options this engine reads (onnx/ is below api/: the engine-independent part). */
export interface OnnxSegmentOptions extends SegmentWindowOptions {
  /** Window size in Volume axes [X, Y, Z] (multiples of 16 for a V-Net). */
  readonly roiSize: Vec3;
  /** Threads of ORT's wasm provider (effective for the first session of the realm only). */
  readonly threads?: number;
  /** Default 'wasm'. 'webgpu' needs a model exported with upsampling 'webgpu-compatible'. */
  readonly executionProvider?: OrtExecutionProvider;
}

/**
 * A WindowPredictor on an ORT session: softmax probabilities of each batch of windows. ORT runs one
 * request at a time per session, so batches asked for early wait for the one before.
 */
export function ortPredictor(session: OrtVNetSession): WindowPredictor {
  let previous: Promise<unknown> = Promise.resolve();
  return (windows) => {
    const run = previous.then(async () => {
      const out = await session.run(windows.data, windows.shape);
      const [batch, , ...roi] = windows.shape;
      const classes = out.shape[1];
      const expected = [batch, classes, ...roi];
      if (out.shape.length !== 5 || out.shape.join() !== expected.join() || out.data.length !== expected.reduce((a, b) => a * b, 1)) {
        throw new SdsError('E_ONNX', `model output: expected logits [${batch}, K, ${roi.join(', ')}], found [${out.shape.join(', ')}]`);
      }
      return softmaxReference({ data: out.data, shape: expected }).data;
    });
    previous = run.catch(() => undefined);
    return run;
  };
}

export async function segmentWithOnnxRuntime(model: Uint8Array, image: Volume, options: OnnxSegmentOptions): Promise<Volume<Uint8Array>> {
  options.signal?.throwIfAborted();
  const session = await createOrtSession(model, { threads: options.threads, executionProvider: options.executionProvider });
  try {
    if (session.inputChannels !== 1) {
      throw new SdsError(
        'E_ONNX',
        `segmentWithOnnxRuntime: expected a model with 1 input channel (a single-channel scan), found ${session.inputChannels}`,
      );
    }
    return await segmentVolumeWith(ortPredictor(session), image, segmentVolumeOptions(options, options.roiSize));
  } finally {
    await session.release();
  }
}
