/**
 * Whole-scan inference for small scans (hippocampus): the scan is z-scored like the training patches
 * and run as ONE window covering the scan padded to the next multiple of 16 per axis — the sliding
 * window of infer/ with roi = that padded grid, so padding, cropping back and the voxel order are the
 * ones every other inference path uses. No largest-component step: evaluation scores the raw argmax.
 * Large scans (left atrium, CT) call infer's segmentVolume with a training-sized roi instead.
 */
import type { Backend } from '../backend/backend.js';
import { SdsError } from '../core/errors.js';
import { segmentVolume } from '../infer/segment-volume.js';
import type { VNet } from '../nn/vnet.js';
import { VNET_SIZE_MULTIPLE } from '../nn/vnet-config.js';
import { type Vec3, type Volume, zScoreForModel } from '../volume/index.js';

/** The padded grid a scan is run on: each axis rounded up to a multiple of 16. */
export function paddedShape(shape: readonly number[]): Vec3 {
  return shape.map((s) => Math.ceil(s / VNET_SIZE_MULTIPLE) * VNET_SIZE_MULTIPLE) as Vec3;
}

/** Segments `image` with `net` and returns a uint8 label Volume on the image's grid (net mode restored). */
export async function segmentWholeScan(backend: Backend, net: VNet, image: Volume): Promise<Volume<Uint8Array>> {
  if (net.config.inChannels !== 1) {
    throw new SdsError('E_INVALID_ARGUMENT', `segmentWholeScan: expected a network with 1 input channel, found ${net.config.inChannels}`);
  }
  const normalized = zScoreForModel(image, 'segmentWholeScan');
  return segmentVolume(backend, net, normalized, { roiSize: paddedShape(image.shape), mode: 'constant', largestComponent: false });
}
