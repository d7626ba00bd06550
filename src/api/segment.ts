/**
 * segment(): validates the options, z-scores the image as the models were trained (per scan, over the
 * whole volume: src/train/patches.ts prepareScan and src/train/segment.ts), and runs the sliding window
 * with the segmenter's patch as the window.
 */
import type { Backend } from '../backend/backend.js';
import { SdsError } from '../core/errors.js';
import type { Vec3 } from '../core/shape.js';
import { segmentVolume } from '../infer/segment-volume.js';
import { segmentVolumeOptions } from '../infer/segment-options.js';
import type { VNet } from '../nn/vnet.js';
import { NETWORK_NAMES } from '../train/checkpoint/checkpoint.js';
import { zScoreForModel } from '../volume/normalize.js';
import type { Volume } from '../volume/volume.js';
import { describe } from './values.js';
import type { SegmentOptions } from './types.js';

export function expectSegmentOptions(o: SegmentOptions): void {
  if (o === null || typeof o !== 'object')
    throw new SdsError('E_INVALID_ARGUMENT', `segment: options: expected an object, found ${describe(o)}`);
  const bad = (what: string, expected: string, found: unknown): never => {
    throw new SdsError('E_INVALID_ARGUMENT', `segment: ${what}: expected ${expected}, found ${describe(found)}`);
  };
  if (o.overlap !== undefined && !(typeof o.overlap === 'number' && o.overlap >= 0 && o.overlap < 1))
    bad('overlap', 'a number in [0, 1)', o.overlap);
  if (o.blend !== undefined && o.blend !== 'gaussian' && o.blend !== 'constant') bad('blend', "'gaussian' or 'constant'", o.blend);
  if (o.tta !== undefined && typeof o.tta !== 'boolean') bad('tta', 'a boolean', o.tta);
  if (o.largestComponent !== undefined && typeof o.largestComponent !== 'boolean') bad('largestComponent', 'a boolean', o.largestComponent);
  if (o.network !== undefined && !NETWORK_NAMES.includes(o.network)) bad('network', `one of ${NETWORK_NAMES.join(', ')}`, o.network);
  if (o.engine !== undefined && o.engine !== 'sds' && o.engine !== 'onnxruntime') bad('engine', "'sds' or 'onnxruntime'", o.engine);
  if (o.signal !== undefined && !(typeof o.signal === 'object' && o.signal !== null && typeof o.signal.aborted === 'boolean'))
    bad('signal', 'an AbortSignal', o.signal);
  if (o.onProgress !== undefined && typeof o.onProgress !== 'function') bad('onProgress', 'a function', o.onProgress);
}

/** The image z-scored over the whole scan; non-finite voxels are an error (volume/normalize.ts zScoreForModel). */
export function normalizeForModel(image: Volume): Volume<Float32Array> {
  return zScoreForModel(image, 'segment');
}

export function abortedError(what: string): SdsError {
  return new SdsError('E_ABORTED', `${what}: cancelled through its AbortSignal`);
}

/** Sliding-window segmentation of an already normalised image with `net` (Volume-axes window `patch`). */
export async function segmentNormalized(
  backend: Backend,
  net: VNet,
  normalized: Volume,
  patch: Vec3,
  o: SegmentOptions,
): Promise<Volume<Uint8Array>> {
  try {
    return await segmentVolume(backend, net, normalized, segmentVolumeOptions(o, patch));
  } catch (e) {
    if (o.signal?.aborted && !(e instanceof SdsError && e.code === 'E_ABORTED')) throw abortedError('segment');
    throw e;
  }
}
