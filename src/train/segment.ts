/**
 * Whole-volume inference for small scans: the scan is z-scored like the training patches, zero-padded
 * (centred) to the next multiple of 16 per axis, run through the network in eval mode, reduced by
 * argmax and cropped back, so the label map lies on the input's own grid (x fastest, same affine).
 * Large scans (left atrium, CT) need sliding-window inference instead; this one refuses nothing but
 * costs memory in proportion to the padded volume.
 */
import type { Backend } from '../backend/backend.js';
import { SdsError } from '../core/errors.js';
import { argmax } from '../ops/index.js';
import type { VNet } from '../nn/vnet.js';
import { VNET_SIZE_MULTIPLE } from '../nn/vnet-config.js';
import { centredOffset, cropOrPad, makeVolume, withData, zScoreNormalize, type Vec3, type Volume } from '../volume/index.js';

/** The padded grid a scan is run on: each axis rounded up to a multiple of 16. */
export function paddedShape(shape: readonly number[]): Vec3 {
  return shape.map((s) => Math.ceil(s / VNET_SIZE_MULTIPLE) * VNET_SIZE_MULTIPLE) as Vec3;
}

/**
 * Segments `image` with `net` and returns a uint8 label Volume on the image's grid. The network's
 * mode (train / eval) is restored afterwards.
 */
export async function segmentVolume(backend: Backend, net: VNet, image: Volume): Promise<Volume<Uint8Array>> {
  if (net.config.inChannels !== 1) {
    throw new SdsError('E_INVALID_ARGUMENT', `segmentVolume: expected a network with 1 input channel, found ${net.config.inChannels}`);
  }
  const normalized = zScoreNormalize(image);
  for (let i = 0; i < normalized.data.length; i++) {
    if (!Number.isFinite(normalized.data[i])) {
      throw new SdsError('E_NONFINITE', `segmentVolume: ${image.metadata.fileName || 'image'}: expected finite intensities, found ${normalized.data[i]}`);
    }
  }
  const grid = paddedShape(image.shape);
  const offset = [0, 1, 2].map((a) => centredOffset(image.shape[a], grid[a])) as Vec3;
  const padded = cropOrPad(normalized, grid, { offset });
  const wasTraining = net.isTraining;
  net.eval();
  // Volume [X, Y, Z] with x fastest is tensor [1, 1, Z, Y, X] with W fastest: same memory order.
  const x = backend.upload(padded.data, [1, 1, grid[2], grid[1], grid[0]]);
  let labels: Uint8Array;
  try {
    const logits = net.forward(x);
    const classes = argmax(backend, logits);
    backend.dispose(logits);
    labels = (await backend.read(classes)) as Uint8Array;
    backend.dispose(classes);
  } finally {
    backend.dispose(x);
    if (wasTraining) net.train();
  }
  // Crop back: the inverse placement puts padded voxel `offset` at voxel 0 of the input grid.
  const full = makeVolume(labels, grid, padded.affine);
  const back = cropOrPad(full, [...image.shape] as Vec3, { offset: offset.map((o) => -o) as Vec3 });
  return withData(image, back.data);
}
