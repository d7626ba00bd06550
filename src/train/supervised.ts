/**
 * Stage-1 supervised V-Net training on labeled Volumes (METHOD.md step 1 without cut-mix, which belongs
 * to the dual-student trainer): per-scan z-scoring, random patches, label-consistent flips, the
 * (CE + Dice) / 2 loss, SGD with momentum, weight decay and a step learning-rate schedule.
 *
 * Patch size for hippocampus (scans about 35x50x36, at most 43x59x46 voxels [X, Y, Z]; foreground
 * extent at most 27x48x34): the default patch is [D, H, W] = [32, 48, 32], i.e. 32x48x32 in [X, Y, Z],
 * a random crop of nearly every scan. Measured on the 200 Decathlon scans, a centred crop of that size
 * keeps all but 0.01 % of the foreground on average (0.7 % at worst), while the patch that holds every
 * scan whole, 48x64x48 (sizes must divide by 16 for the V-Net's four down-samplings), costs three
 * times as much per iteration (wasm, 2 threads, nFilters 8, batch 2: about 3.7 s against 1.1 s).
 * Inference (segmentVolume) still sees the whole scan, padded to multiples of 16.
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
import { augmentPatch, expectAugmentation, type PatchAugmentation } from './augment.js';
import { RandomStream } from './random-stream.js';
import { yieldToEventLoop } from './yield.js';

/** Hippocampus default (see the module comment). Tensor order [D, H, W]. */
export const HIPPOCAMPUS_PATCH: Vec3 = [32, 48, 32];

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
  /**
   * Rotation, scaling and intensity transforms per patch after the crop and flips (augment.ts, e.g.
   * NNUNET_AUGMENTATION), drawn from a stream of their own: without it a run is the same as before.
   */
  readonly augmentation?: PatchAugmentation;
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
 * A supervised training run that can be continued: `run(n)` trains n more iterations with the same
 * optimiser state (momentum, schedule position) and the same sampling streams, so a caller can
 * evaluate or save a checkpoint between chunks and get exactly the run it would have had in one go.
 */
export class SupervisedTrainer {
  private readonly options: TrainSupervisedOptions;
  private readonly patch: Vec3;
  private readonly flipAxes: readonly VolumeAxis[];
  private readonly scans: PreparedScan[];
  private readonly sampler: ScanSampler;
  private readonly placementRng: RandomStream;
  private readonly augmentRng: RandomStream;
  private readonly images: Float32Array;
  private readonly labels: Uint8Array;
  readonly optimizer: Sgd;

  constructor(options: TrainSupervisedOptions) {
    const { backend: be, net, labeled, batchSize } = options;
    this.patch = options.patch ?? HIPPOCAMPUS_PATCH;
    this.flipAxes = options.flipAxes ?? ['x'];
    expectPositiveInteger('iterations', options.iterations, 0);
    expectPositiveInteger('batchSize', batchSize, 1);
    expectPatch(this.patch);
    expectFlipAxes(this.flipAxes);
    if (labeled.length === 0) throw new SdsError('E_INVALID_ARGUMENT', 'trainSupervised: labeled: expected at least one scan, found none');
    if (net.config.inChannels !== 1) {
      throw new SdsError('E_INVALID_ARGUMENT', `trainSupervised: expected a network with 1 input channel, found ${net.config.inChannels}`);
    }
    this.options = options;
    this.scans = labeled.map((pair, i) => prepareScan(pair, net.config.nClasses, `labeled[${i}]`));
    this.sampler = new ScanSampler(this.scans.length, new RandomStream(options.seed ?? 0, 1));
    this.placementRng = new RandomStream(options.seed ?? 0, 2);
    this.augmentRng = new RandomStream(options.seed ?? 0, 3);
    if (options.augmentation) expectAugmentation(options.augmentation);
    const voxels = sizeOf(this.patch);
    this.images = new Float32Array(batchSize * voxels);
    this.labels = new Uint8Array(batchSize * voxels);
    const schedule = options.lr ?? { initial: 0.01 };
    this.optimizer = new Sgd(be, net.parameters(), {
      lr: schedule.initial,
      momentum: options.momentum ?? 0.9,
      weightDecay: options.weightDecay ?? 1e-4,
      ...(schedule.stepSize !== undefined ? { stepSize: schedule.stepSize } : {}),
      ...(schedule.gamma !== undefined ? { gamma: schedule.gamma } : {}),
    });
  }

  /** Iterations trained so far over every `run`. */
  get iteration(): number {
    return this.optimizer.iteration;
  }

  /** Trains `iterations` more steps (default: the options' count); progress counts across runs. */
  async run(iterations = this.options.iterations, of = this.options.iterations): Promise<SupervisedResult> {
    expectPositiveInteger('iterations', iterations, 0);
    const { backend: be, net, batchSize, signal, onProgress } = this.options;
    const voxels = sizeOf(this.patch);
    net.train();
    const losses: number[] = [];
    let totalMs = 0;
    try {
      for (let k = 0; k < iterations; k++) {
        await yieldToEventLoop();
        if (signal?.aborted) break;
        const start = performance.now();
        for (let n = 0; n < batchSize; n++) {
          const scan = this.scans[this.sampler.take()];
          const placement = randomPlacement(scan.shape, this.patch, this.flipAxes, this.placementRng);
          writePatch(scan, this.patch, placement, this.images, this.labels, n * voxels);
          if (this.options.augmentation)
            augmentPatch(this.images, this.labels, n * voxels, this.patch, this.options.augmentation, this.augmentRng);
        }
        const x = be.upload(this.images, [batchSize, 1, ...this.patch]);
        const y = be.upload(this.labels, [batchSize, ...this.patch]);
        const lr = this.optimizer.lr;
        const logits = net.forward(x);
        const { loss, grad } = supervisedLoss(be, logits, y);
        be.dispose(logits);
        net.backward(grad);
        this.optimizer.step();
        for (const t of [grad, x, y]) be.dispose(t);
        // Reading the loss waits for the step: the timing below is the real per-iteration cost.
        const value = (await be.read(loss))[0];
        be.dispose(loss);
        if (!Number.isFinite(value)) {
          throw new SdsError(
            'E_NONFINITE',
            `trainSupervised: loss became ${value} at iteration ${this.iteration} (lr ${lr}); try a lower learning rate`,
          );
        }
        const ms = performance.now() - start;
        totalMs += ms;
        losses.push(value);
        onProgress?.({ iteration: this.iteration, of: Math.max(of, this.iteration), loss: value, lr, ms });
      }
    } finally {
      net.releaseCache();
    }
    return {
      iterations: losses.length,
      losses,
      aborted: losses.length < iterations,
      msPerIteration: losses.length > 0 ? totalMs / losses.length : NaN,
    };
  }

  /** Frees the optimiser state (the network stays the caller's). */
  dispose(): void {
    this.optimizer.dispose();
  }
}

/**
 * Trains `net` for `iterations` steps of `batchSize` patches. Deterministic given `seed`, the
 * network's seed and the backend (floating-point sums may differ between backends).
 */
export async function trainSupervised(options: TrainSupervisedOptions): Promise<SupervisedResult> {
  const trainer = new SupervisedTrainer(options);
  try {
    return await trainer.run();
  } finally {
    trainer.dispose();
  }
}
