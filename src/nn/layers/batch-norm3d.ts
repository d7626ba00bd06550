import type { Backend } from '../../backend/backend.js';
import { SdsError } from '../../core/errors.js';
import type { Tensor } from '../../core/tensor.js';
import { assign, batchNormBackward, batchNormEval, batchNormReluBackward, batchNormReluTrain, batchNormTrain } from '../../ops/index.js';
import { filled } from '../init.js';
import type { Counter, Layer, Parameter, TensorBuffer } from '../layer.js';
import { LayerBase } from './base.js';

export interface BatchNorm3dOptions {
  readonly name: string;
  readonly channels: number;
  /** PyTorch defaults: momentum 0.1, eps 1e-5. */
  readonly momentum?: number;
  readonly eps?: number;
}

/** Batch statistics (mean, 1/std) of a training forward, or null where it normalised with the running ones. */
interface BatchNormCache {
  readonly x: Tensor;
  readonly batch: { readonly mean: Tensor; readonly invStd: Tensor } | null;
  /** The output of forwardRelu (owned by the caller, like a ReLU layer's cached output), else null. */
  readonly reluOutput: Tensor | null;
}

/**
 * What a training-mode forward normalises with:
 * - 'batch': the batch's own statistics, and the running ones follow them (PyTorch's train mode);
 * - 'frozen': the running statistics, left as they are; the layer is then a fixed per-channel affine map
 *   of x whose gamma and beta still learn (fine-tuning with "frozen batch norm", as detection and
 *   domain-adaptation recipes do with small batches: the network trained is the network evaluated).
 */
export type BatchNormStatistics = 'batch' | 'frozen';

/**
 * How running statistics follow batch ones: an exponential average with this momentum (PyTorch's
 * default 0.1), or 'cumulative', the plain mean over every batch since the last reset (PyTorch's
 * momentum=None; AdaBN's estimate).
 */
export type BatchNormMomentum = number | 'cumulative';

/** torch.nn.BatchNorm3d (affine, tracking running statistics); gamma 1, beta 0 as PyTorch initialises them. */
export class BatchNorm3d extends LayerBase implements Layer {
  readonly keepsInput = true;
  readonly keepsOutput = false;
  readonly gamma: Parameter;
  readonly beta: Parameter;
  readonly runningMean: TensorBuffer;
  readonly runningVar: TensorBuffer;
  readonly numBatchesTracked: Counter;
  private momentum: BatchNormMomentum;
  private statistics: BatchNormStatistics = 'batch';
  private readonly eps: number;
  private cache: BatchNormCache | null = null;

  constructor(backend: Backend, o: BatchNorm3dOptions) {
    super(backend, o.name);
    this.momentum = o.momentum ?? 0.1;
    this.eps = o.eps ?? 1e-5;
    this.gamma = this.addParameter('weight', filled(backend, [o.channels], 1));
    this.beta = this.addParameter('bias', filled(backend, [o.channels], 0));
    this.runningMean = { name: `${o.name}.running_mean`, value: filled(backend, [o.channels], 0) };
    this.runningVar = { name: `${o.name}.running_var`, value: filled(backend, [o.channels], 1) };
    this.numBatchesTracked = { name: `${o.name}.num_batches_tracked`, value: 0 };
  }

  override buffers(): TensorBuffer[] {
    return [this.runningMean, this.runningVar];
  }

  override counters(): Counter[] {
    return [this.numBatchesTracked];
  }

  /** What training forwards normalise with (see BatchNormStatistics); eval mode always uses the running ones. */
  setStatistics(statistics: BatchNormStatistics): void {
    this.releaseCache();
    this.statistics = statistics;
  }

  /** Sets how running statistics follow batch ones; returns the previous setting. */
  setMomentum(momentum: BatchNormMomentum): BatchNormMomentum {
    const previous = this.momentum;
    this.momentum = momentum;
    return previous;
  }

  /** PyTorch's reset_running_stats: mean 0, variance 1, no batches tracked. */
  resetRunningStats(): void {
    const c = this.runningMean.value.shape[0];
    for (const [buffer, value] of [
      [this.runningMean, 0],
      [this.runningVar, 1],
    ] as const) {
      const fill = filled(this.backend, [c], value);
      assign(this.backend, buffer.value, fill);
      this.backend.dispose(fill);
    }
    this.numBatchesTracked.value = 0;
  }

  private evalForward(x: Tensor): Tensor {
    return batchNormEval(this.backend, x, this.gamma.value, this.beta.value, this.runningMean.value, this.runningVar.value, {
      eps: this.eps,
    });
  }

  forward(x: Tensor): Tensor {
    this.releaseCache();
    if (!this.training) return this.evalForward(x);
    if (this.statistics === 'frozen') {
      this.cache = { x, batch: null, reluOutput: null };
      return this.evalForward(x);
    }
    return this.trainForward(x, false);
  }

  /**
   * Whether forwardRelu may stand for this layer followed by a ReLU: a training forward on batch
   * statistics. Eval mode and frozen statistics are affine maps that keep their own passes.
   */
  get fusesRelu(): boolean {
    return this.training && this.statistics === 'batch';
  }

  /**
   * relu(forward(x)) in one kernel (only where fusesRelu): the V-Net's norm -> ReLU stage without the
   * normalised values ever stored. Its backward takes d loss / d (ReLU output); the caller keeps that
   * output alive until then, as it would for the ReLU layer.
   */
  forwardRelu(x: Tensor): Tensor {
    if (!this.fusesRelu) {
      throw new SdsError('E_INVALID_ARGUMENT', `${this.name}: forwardRelu needs a training forward on batch statistics`);
    }
    this.releaseCache();
    return this.trainForward(x, true);
  }

  private trainForward(x: Tensor, relu: boolean): Tensor {
    this.numBatchesTracked.value++;
    // PyTorch with momentum=None: the factor 1/num_batches_tracked makes the running value the plain mean.
    const momentum = this.momentum === 'cumulative' ? 1 / this.numBatchesTracked.value : this.momentum;
    const r = (relu ? batchNormReluTrain : batchNormTrain)(
      this.backend,
      x,
      this.gamma.value,
      this.beta.value,
      this.runningMean.value,
      this.runningVar.value,
      { momentum, eps: this.eps },
    );
    this.cache = { x, batch: { mean: r.mean, invStd: r.invStd }, reluOutput: relu ? r.y : null };
    return r.y;
  }

  backward(dy: Tensor): Tensor {
    const c = this.expectCache(this.cache);
    const g =
      c.batch === null
        ? this.frozenBackward(dy, c.x)
        : c.reluOutput !== null
          ? batchNormReluBackward(this.backend, dy, c.x, c.reluOutput, this.gamma.value, c.batch.mean, c.batch.invStd)
          : batchNormBackward(this.backend, dy, c.x, this.gamma.value, c.batch.mean, c.batch.invStd);
    this.setGrad(this.gamma, g.dgamma);
    this.setGrad(this.beta, g.dbeta);
    this.releaseCache();
    return g.dx;
  }

  /**
   * Gradients of y = gamma * xhat + beta with xhat = (x - running mean) / sqrt(running var + eps) fixed
   * per channel: dx = gamma * dy / sqrt(var + eps) is batch norm's eval forward applied to dy with mean
   * and beta 0; dgamma = sum(dy * xhat) and dbeta = sum(dy) are what the train-mode backward computes for
   * input xhat, mean 0 and 1/std 1 (its dx, which would subtract the batch terms, is dropped).
   */
  private frozenBackward(dy: Tensor, x: Tensor): { dx: Tensor; dgamma: Tensor; dbeta: Tensor } {
    const be = this.backend;
    const c = this.gamma.value.shape[0];
    const zeros = filled(be, [c], 0);
    const ones = filled(be, [c], 1);
    try {
      const dx = batchNormEval(be, dy, this.gamma.value, zeros, zeros, this.runningVar.value, { eps: this.eps });
      const xhat = batchNormEval(be, x, ones, zeros, this.runningMean.value, this.runningVar.value, { eps: this.eps });
      const g = batchNormBackward(be, dy, xhat, ones, zeros, ones);
      be.dispose(xhat);
      be.dispose(g.dx);
      return { dx, dgamma: g.dgamma, dbeta: g.dbeta };
    } finally {
      be.dispose(zeros);
      be.dispose(ones);
    }
  }

  releaseCache(): void {
    if (this.cache === null) return;
    if (this.cache.batch !== null) {
      this.backend.dispose(this.cache.batch.mean);
      this.backend.dispose(this.cache.batch.invStd);
    }
    this.cache = null;
  }
}
