import { SdsError } from '../core/errors.js';
import { type Vec3, shapeString } from '../core/shape.js';
import { DROPOUT_P, VNET_SIZE_MULTIPLE, type VNetConfig, resolveVNetConfig, vnetBlocks } from './vnet-config.js';

/** Every backend stores 4 bytes per element (WebGPU has no 8-bit storage, so labels take 4 too). */
const BYTES_PER_ELEMENT = 4;

export interface MemoryPlan {
  readonly parameterCount: number;
  /** Bytes by purpose; `total` is their sum, the estimate of a training step's device footprint. */
  readonly bytes: {
    readonly parameters: number;
    readonly gradients: number;
    /** SGD momentum buffers (one per parameter). */
    readonly optimizer: number;
    /** BatchNorm running statistics. */
    readonly buffers: number;
    /** Input image, labels, logits and d loss / d logits. */
    readonly io: number;
    /** What the forward pass keeps for backward (see Sequential and VNet for the rule). */
    readonly activations: number;
    /** Extra tensors alive at the backward pass's peak: the four skip gradients plus a few transients. */
    readonly backwardWorkspace: number;
    readonly total: number;
  };
  /** The largest single tensor, to hold against maxStorageBufferBindingSize. */
  readonly largestTensorBytes: number;
}

/**
 * Estimates the device memory of one V-Net training step for a patch [D, H, W] and a batch size,
 * before any work starts, so a user can choose a patch that fits. It mirrors what the code keeps:
 * per conv stage the conv output (when a norm layer needs it) and the ReLU output; per up block also
 * the skip sum; the dropout outputs; BN's per-channel statistics.
 */
export function memoryPlan(config: Partial<VNetConfig>, patch: Vec3, batch: number): MemoryPlan {
  const c = resolveVNetConfig(config);
  if (!(patch.length === 3 && patch.every((s) => Number.isInteger(s) && s > 0 && s % VNET_SIZE_MULTIPLE === 0))) {
    throw new SdsError(
      'E_INVALID_ARGUMENT',
      `memoryPlan: patch: expected 3 positive multiples of ${VNET_SIZE_MULTIPLE}, found ${shapeString(patch)}`,
    );
  }
  if (!(Number.isInteger(batch) && batch >= 1))
    throw new SdsError('E_INVALID_ARGUMENT', `memoryPlan: batch: expected an integer >= 1, found ${batch}`);
  const voxels0 = patch[0] * patch[1] * patch[2];
  const voxels = (level: number): number => voxels0 / 8 ** level;
  const hasNorm = c.normalization !== 'none';

  let params = 0;
  let bnState = 0;
  let activations = 0;
  let largest = 0;
  const keep = (elements: number): void => {
    activations += elements;
    largest = Math.max(largest, elements);
  };
  for (const b of vnetBlocks(c)) {
    const kernel = b.kind === 'conv' ? 27 : 8;
    const map = batch * b.outChannels * voxels(b.level);
    for (let stage = 0; stage < b.convs; stage++) {
      const cin = stage === 0 ? b.inChannels : b.outChannels;
      params += b.outChannels * cin * kernel + b.outChannels;
      if (c.normalization === 'batch') {
        params += 2 * b.outChannels;
        bnState += 2 * b.outChannels;
      }
      if (hasNorm) keep(map); // conv output, the norm's saved input
      // Saved statistics: BN keeps mean and invStd per channel; instance norm per (n, c) plus its gamma of ones.
      if (c.normalization === 'batch') activations += 2 * b.outChannels;
      if (c.normalization === 'instance') activations += 3 * batch * b.outChannels;
      keep(map); // ReLU output
    }
    if (b.kind === 'up') keep(map); // block output + skip
  }
  params += c.nClasses * c.nFilters + c.nClasses;
  if (c.dropout && DROPOUT_P > 0) {
    keep(batch * 16 * c.nFilters * voxels(4));
    keep(batch * c.nFilters * voxels0);
    activations += batch * 16 * c.nFilters + batch * c.nFilters; // the two [N, C] masks
  }
  const io = batch * voxels0 * (c.inChannels + 1 + 2 * c.nClasses);
  const skipGradients = batch * voxels0 * c.nFilters * (1 + 2 / 8 + 4 / 64 + 8 / 512);
  const transient = 3 * batch * voxels0 * Math.max(c.nFilters, c.nClasses);
  largest = Math.max(largest, batch * voxels0 * Math.max(c.inChannels, c.nClasses));

  const bytes = (elements: number): number => elements * BYTES_PER_ELEMENT;
  const parts = {
    parameters: bytes(params),
    gradients: bytes(params),
    optimizer: bytes(params),
    buffers: bytes(bnState),
    io: bytes(io),
    activations: bytes(activations),
    backwardWorkspace: bytes(skipGradients + transient),
  };
  const total = Object.values(parts).reduce((a, b) => a + b, 0);
  return { parameterCount: params, bytes: { ...parts, total }, largestTensorBytes: bytes(largest) };
}
