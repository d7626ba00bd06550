/**
 * AdaBN (Li et al. 2016; METHOD.md "Adapting a pretrained model"): every BatchNorm's running mean and
 * variance re-estimated on a new scanner's scans, weights untouched. The estimate is PyTorch's
 * momentum=None average: the plain mean of the batch statistics over every patch, not a momentum of the
 * last few. Dropout stays on, as in the training that produced the statistics being replaced: the
 * layer after the V-Net's bottleneck dropout was trained (and validated) with statistics of dropped-out
 * inputs, and statistics gathered without dropout cost the shipped model what AdaBN gains (measured:
 * demo scanner, validation scans, 0.598 unadapted, 0.595 with dropout off).
 */
import type { Backend } from '../../backend/backend.js';
import { SdsError } from '../../core/errors.js';
import { sizeOf, type Vec3 } from '../../core/shape.js';
import type { VNet } from '../../nn/vnet.js';
import type { PreparedScan, VolumeAxis } from '../patches.js';
import { randomPlacement, writePatch } from '../patches.js';
import { RandomStream } from '../random-stream.js';
import { yieldToEventLoop } from '../yield.js';

export interface RecalibrationOptions {
  /** Patch [D, H, W] (the training patch). */
  readonly patch: Vec3;
  /** Random patches taken from each scan. */
  readonly patchesPerScan: number;
  /** Patches per forward pass. */
  readonly batch: number;
  /** Axes patches may be mirrored along (as in training). */
  readonly flipAxes: readonly VolumeAxis[];
  readonly seed: number;
}

/**
 * Replaces `net`'s BatchNorm running statistics by their mean over random patches of `scans`, in place.
 * The network's mode (train / eval) and its layers' momentum are restored afterwards.
 */
export async function recalibrateBatchNorm(
  backend: Backend,
  net: VNet,
  scans: readonly PreparedScan[],
  o: RecalibrationOptions,
): Promise<{ readonly patches: number }> {
  const norms = net.batchNorms();
  if (norms.length === 0)
    throw new SdsError(
      'E_INVALID_ARGUMENT',
      `recalibrateBatchNorm: expected a network with batch norm, found normalization '${net.config.normalization}'`,
    );
  if (scans.length === 0) throw new SdsError('E_INVALID_ARGUMENT', 'recalibrateBatchNorm: expected at least one scan, found none');
  const wasTraining = net.isTraining;
  const rng = new RandomStream(o.seed, 0xada8);
  // Every scan patchesPerScan times, in a shuffled order so each batch mixes scans.
  const order = rng.permutation(scans.length * o.patchesPerScan).map((i) => i % scans.length);
  const voxels = sizeOf(o.patch);
  const images = new Float32Array(o.batch * voxels);
  const labels = new Uint8Array(o.batch * voxels);
  const momenta = norms.map((bn) => bn.setMomentum('cumulative'));
  for (const bn of norms) {
    bn.setStatistics('batch');
    bn.resetRunningStats();
  }
  net.train();
  try {
    for (let start = 0; start < order.length; start += o.batch) {
      const n = Math.min(o.batch, order.length - start);
      for (let k = 0; k < n; k++) {
        const scan = scans[order[start + k]];
        writePatch(scan, o.patch, randomPlacement(scan.shape, o.patch, o.flipAxes, rng), images, labels, k * voxels);
      }
      const x = backend.upload(images.subarray(0, n * voxels), [n, 1, ...o.patch]);
      try {
        backend.dispose(net.forward(x));
      } finally {
        net.releaseCache();
        backend.dispose(x);
      }
      await yieldToEventLoop();
    }
  } finally {
    norms.forEach((bn, i) => bn.setMomentum(momenta[i]));
    if (wasTraining) net.train();
    else net.eval();
  }
  return { patches: order.length };
}
