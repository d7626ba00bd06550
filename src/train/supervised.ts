/**
 * Stage-1 supervised V-Net training on labeled Volumes (METHOD.md step 1 without cut-mix, which belongs
 * to the dual-student trainer): per-scan z-scoring, random patches, label-consistent flips, the
 * (CE + Dice) / 2 loss, SGD with momentum, weight decay and a step learning-rate schedule.
 *
 * Patch size for hippocampus (scans about 35x50x36, at most 43x59x46 voxels [X, Y, Z]): the default
 * patch is [D, H, W] = [48, 64, 48], i.e. 48x64x48 in [X, Y, Z] order, the smallest multiple of 16
 * (the V-Net's four down-samplings) that holds every scan whole. Cropping to 32x48x32 would be three
 * times cheaper but cuts off part of the structure in most scans, and the classes are positional
 * (anterior lies ~18 voxels along y from posterior): the network should see the whole hippocampus.
 */
import type { Backend } from '../backend/backend.js';
import { SdsError } from '../core/errors.js';
import { sizeOf, type Vec3 } from '../core/shape.js';
import { Sgd } from '../nn/sgd.js';
import { supervisedLoss } from '../nn/loss.js';
import type { VNet } from '../nn/vnet.js';
import { VNET_SIZE_MULTIPLE } from '../nn/vnet-config.js';
import {
  expectFlipAxes,
  type LabeledVolume,
  prepareScan,
  type PreparedScan,
  randomPlacement,
  type VolumeAxis,
  writePatch,
} from './patches.js';
import { RandomStream } from './random-stream.js';

/** Hippocampus default: every scan fits whole (see the module comment). Tensor order [D, H, W]. */
export const HIPPOCAMPUS_PATCH: Vec3 = [48, 64, 48];

/** lr * gamma^floor(iteration / stepSize), the StepLR of the BCP / SDS scripts (stepSize 2500, gamma 0.1). */
export interface LearningRateSchedule {
  readonly initial: number;
  readonly stepSize?: number;
  readonly gamma?: number;
}

export interface SupervisedProgress {
  /** Iterations finished, 1-based. */
  readonly iteration: number;
  readonly of: number;
  /** The batch's loss before this iteration's update. */
  readonly loss: number;
  /** The learning rate this iteration used. */
  readonly lr: number;
  /** Wall time of this iteration (sampling, forward, backward, update, reading the loss). */
  readonly ms: number;
}

export interface TrainSupervisedOptions {
  readonly backend: Backend;
  /** The network to train, in place; its nClasses fixes the label range. Left in training mode. */
  readonly net: VNet;
  readonly labeled: readonly LabeledVolume[];
  readonly iterations: number;
  readonly batchSize: number;
  /** Patch [D, H, W], multiples of 16; default HIPPOCAMPUS_PATCH. */
  readonly patch?: Vec3;
  /** Default { initial: 0.01 } with no decay. */
  readonly lr?: LearningRateSchedule;
  /** Default 0.9. */
  readonly momentum?: number;
  /** Default 1e-4. */
  readonly weightDecay?: number;
  /**
   * Volume axes that may be mirrored (each with probability 1/2). Default ['x']: for hippocampus only
   * left-right is label-consistent; flipping y or z swaps anterior and posterior.
   */
  readonly flipAxes?: readonly VolumeAxis[];
  /** Seed of the patch sampling (the network's own seed fixes weights and dropout). Default 0. */
  readonly seed?: number;
  readonly onProgress?: (progress: SupervisedProgress) => void;
  /** Checked between iterations: training stops there and the result says so. */
  readonly signal?: AbortSignal;
}

export interface SupervisedResult {
  /** Iterations run (fewer than asked when aborted). */
  readonly iterations: number;
  /** Loss per iteration. */
  readonly losses: readonly number[];
  readonly aborted: boolean;
  /** Mean wall time per iteration in ms (NaN when none ran). */
  readonly msPerIteration: number;
}

function expectPositiveInteger(what: string, v: number, min: number): void {
  if (!(Number.isInteger(v) && v >= min))
    throw new SdsError('E_INVALID_ARGUMENT', `trainSupervised: ${what}: expected an integer >= ${min}, found ${v}`);
}

function expectPatch(patch: Vec3): void {
  if (!(patch.length === 3 && patch.every((s) => Number.isInteger(s) && s > 0 && s % VNET_SIZE_MULTIPLE === 0))) {
    throw new SdsError(
      'E_INVALID_ARGUMENT',
      `trainSupervised: patch: expected [D, H, W] positive multiples of ${VNET_SIZE_MULTIPLE}, found [${patch.join(', ')}]`,
    );
  }
}

/**
 * Epoch-wise sampling without replacement (every scan once per epoch, shuffled per epoch), as a
 * PyTorch DataLoader with shuffle=True does, so small labeled sets are used evenly.
 */
class ScanSampler {
  private order: number[] = [];
  private next = 0;
  constructor(
    private readonly count: number,
    private readonly rng: RandomStream,
  ) {}

  take(): number {
    if (this.next >= this.order.length) {
      this.order = this.rng.permutation(this.count);
      this.next = 0;
    }
    return this.order[this.next++];
  }
}

/**
 * Trains `net` for `iterations` steps of `batchSize` patches. Deterministic given `seed`, the
 * network's seed and the backend (the kernels are deterministic; floating-point sums may differ
 * between backends).
 */
export async function trainSupervised(options: TrainSupervisedOptions): Promise<SupervisedResult> {
  const { backend: be, net, labeled, iterations, batchSize } = options;
  const patch = options.patch ?? HIPPOCAMPUS_PATCH;
  const flipAxes = options.flipAxes ?? ['x'];
  expectPositiveInteger('iterations', iterations, 0);
  expectPositiveInteger('batchSize', batchSize, 1);
  expectPatch(patch);
  expectFlipAxes(flipAxes);
  if (labeled.length === 0) throw new SdsError('E_INVALID_ARGUMENT', 'trainSupervised: labeled: expected at least one scan, found none');
  const schedule = options.lr ?? { initial: 0.01 };
  const scans: PreparedScan[] = labeled.map((pair, i) => prepareScan(pair, net.config.nClasses, `labeled[${i}]`));
  if (net.config.inChannels !== 1) {
    throw new SdsError('E_INVALID_ARGUMENT', `trainSupervised: expected a network with 1 input channel, found ${net.config.inChannels}`);
  }

  const sampler = new ScanSampler(scans.length, new RandomStream(options.seed ?? 0, 1));
  const placementRng = new RandomStream(options.seed ?? 0, 2);
  const voxels = sizeOf(patch);
  const images = new Float32Array(batchSize * voxels);
  const labels = new Uint8Array(batchSize * voxels);
  const optimizer = new Sgd(be, net.parameters(), {
    lr: schedule.initial,
    momentum: options.momentum ?? 0.9,
    weightDecay: options.weightDecay ?? 1e-4,
    ...(schedule.stepSize !== undefined ? { stepSize: schedule.stepSize } : {}),
    ...(schedule.gamma !== undefined ? { gamma: schedule.gamma } : {}),
  });
  net.train();
  const losses: number[] = [];
  let totalMs = 0;
  try {
    for (let it = 0; it < iterations; it++) {
      if (options.signal?.aborted) break;
      const start = performance.now();
      for (let n = 0; n < batchSize; n++) {
        const scan = scans[sampler.take()];
        writePatch(scan, patch, randomPlacement(scan.shape, patch, flipAxes, placementRng), images, labels, n * voxels);
      }
      const x = be.upload(images, [batchSize, 1, ...patch]);
      const y = be.upload(labels, [batchSize, ...patch]);
      const lr = optimizer.lr;
      const logits = net.forward(x);
      const { loss, grad } = supervisedLoss(be, logits, y);
      be.dispose(logits);
      net.backward(grad);
      optimizer.step();
      for (const t of [grad, x, y]) be.dispose(t);
      // Reading the loss waits for the step: the timing below is the real per-iteration cost.
      const value = (await be.read(loss))[0];
      be.dispose(loss);
      if (!Number.isFinite(value)) {
        throw new SdsError('E_NONFINITE', `trainSupervised: loss became ${value} at iteration ${it + 1} (lr ${lr}); try a lower learning rate`);
      }
      const ms = performance.now() - start;
      totalMs += ms;
      losses.push(value);
      options.onProgress?.({ iteration: it + 1, of: iterations, loss: value, lr, ms });
    }
  } finally {
    net.releaseCache();
    optimizer.dispose();
  }
  return {
    iterations: losses.length,
    losses,
    aborted: losses.length < iterations,
    msPerIteration: losses.length > 0 ? totalMs / losses.length : NaN,
  };
}
