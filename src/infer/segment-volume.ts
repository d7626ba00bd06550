/**
 * Volume in, label Volume out: sliding-window inference, argmax, per-class largest connected
 * component, on the input's own grid and voxel order (a Uint8Array with x fastest, ready for NiiVue
 * or Cornerstone3D as an overlay, or for writeLabelNifti).
 *
 * Axis mapping: a Volume [X, Y, Z] stored x fastest has the same memory order as a tensor
 * [1, 1, Z, Y, X] (W fastest), so the image is uploaded without a copy of its layout and the label map
 * comes back in the Volume's order. Options here speak Volume axes: `roiSize` is [X, Y, Z] (an LA
 * patch 112x112x80 over the HDF5 axes d0 x d1 x d2), `flipAxes` 0 = x, 1 = y, 2 = z; both are reversed
 * onto the tensor's [D, H, W] = [Z, Y, X].
 *
 * The image is used as given: normalise it first the way the model was trained (zScoreNormalize for
 * hippocampus; LA files are stored z-scored already).
 */
import type { Backend } from '../backend/backend.js';
import { SdsError } from '../core/errors.js';
import type { Vec3 } from '../core/shape.js';
import type { Tensor } from '../core/tensor.js';
import type { SpatialAxis } from '../contract/params.js';
import { withData, type Volume } from '../volume/volume.js';
import { type Connectivity, keepLargestComponent } from './connected-components.js';
import { argmaxReference } from '../ops/softmax.js';
import {
  type Predictor,
  type ProbabilityVolume,
  type SlidingWindowOptions,
  type WindowPredictor,
  slidingWindowInference,
  tensorPredictor,
} from './sliding-window.js';

/** A network with train / eval modes (VNet): run in eval mode, its mode restored afterwards. */
export interface SwitchableModel {
  forward(x: Tensor): Tensor;
  eval(): void;
  train(): void;
  readonly isTraining: boolean;
}

export interface SegmentVolumeOptions extends Omit<SlidingWindowOptions, 'roiSize' | 'flipAxes'> {
  /** Window size in Volume axes [X, Y, Z]. */
  readonly roiSize: Vec3;
  /** Flip test-time augmentation on Volume axes (0 = x, 1 = y, 2 = z). */
  readonly flipAxes?: readonly SpatialAxis[];
  /**
   * Keep only the largest connected component of each foreground class (true: every class; or a list
   * of classes). Default true.
   */
  readonly largestComponent?: boolean | readonly number[];
  /** Connectivity of that component. Default 26. */
  readonly connectivity?: Connectivity;
}

/**
 * Index of the largest probability per voxel, first on ties: [K, ...] -> uint8. It is ops' argmax
 * reference (the specification the argmax kernels are held to) on the host, not another argmax.
 */
export function argmaxClasses(probabilities: ProbabilityVolume): Uint8Array {
  const [classes, ...spatial] = probabilities.shape;
  if (classes > 256) throw new SdsError('E_SHAPE_MISMATCH', `argmaxClasses: expected at most 256 classes (uint8 labels), found ${classes}`);
  return argmaxReference({ data: probabilities.data, shape: [1, classes, ...spatial] }).data;
}

/** segmentVolume with a network of nn/ on `backend` (run in eval mode, its mode restored afterwards). */
export async function segmentVolume(
  backend: Backend,
  model: Predictor | SwitchableModel,
  image: Volume,
  options: SegmentVolumeOptions,
): Promise<Volume<Uint8Array>> {
  return withEvalMode(model, (predictor) => segmentVolumeWith(tensorPredictor(backend, predictor), image, options));
}

/** Sliding window, argmax and largest components with any WindowPredictor (an ONNX Runtime session, ...). */
export async function segmentVolumeWith(
  predictor: WindowPredictor,
  image: Volume,
  options: SegmentVolumeOptions,
): Promise<Volume<Uint8Array>> {
  const [X, Y, Z] = image.shape;
  const data = image.data instanceof Float32Array ? image.data : Float32Array.from(image.data);
  const tensorAxis = (a: SpatialAxis): SpatialAxis => (2 - a) as SpatialAxis;
  const probabilities = await slidingWindowInference({ data, shape: [1, Z, Y, X] }, predictor, {
    ...options,
    roiSize: [options.roiSize[2], options.roiSize[1], options.roiSize[0]],
    flipAxes: options.flipAxes?.map(tensorAxis),
  });
  options.signal?.throwIfAborted();
  let labels = argmaxClasses(probabilities);
  const lcc = options.largestComponent ?? true;
  if (lcc !== false) {
    labels = keepLargestComponent(labels, image.shape, { connectivity: options.connectivity, classes: lcc === true ? undefined : lcc });
  }
  return withData(image, labels);
}

async function withEvalMode<T>(model: Predictor | SwitchableModel, run: (predictor: Predictor) => Promise<T>): Promise<T> {
  if (typeof model === 'function') return run(model);
  const wasTraining = model.isTraining;
  model.eval();
  try {
    return await run((x) => model.forward(x));
  } finally {
    if (wasTraining) model.train();
  }
}
