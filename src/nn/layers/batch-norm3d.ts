import type { Backend } from '../../backend/backend.js';
import type { Tensor } from '../../core/tensor.js';
import { batchNormBackward, batchNormEval, batchNormTrain } from '../../ops/index.js';
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

interface BatchNormCache {
  readonly x: Tensor;
  readonly mean: Tensor;
  readonly invStd: Tensor;
}

/** torch.nn.BatchNorm3d (affine, tracking running statistics); gamma 1, beta 0 as PyTorch initialises them. */
export class BatchNorm3d extends LayerBase implements Layer {
  readonly keepsInput = true;
  readonly keepsOutput = false;
  readonly gamma: Parameter;
  readonly beta: Parameter;
  readonly runningMean: TensorBuffer;
  readonly runningVar: TensorBuffer;
  readonly numBatchesTracked: Counter;
  private readonly momentum: number;
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

  forward(x: Tensor): Tensor {
    this.releaseCache();
    if (!this.training) {
      return batchNormEval(this.backend, x, this.gamma.value, this.beta.value, this.runningMean.value, this.runningVar.value, {
        eps: this.eps,
      });
    }
    const r = batchNormTrain(this.backend, x, this.gamma.value, this.beta.value, this.runningMean.value, this.runningVar.value, {
      momentum: this.momentum,
      eps: this.eps,
    });
    this.numBatchesTracked.value++;
    this.cache = { x, mean: r.mean, invStd: r.invStd };
    return r.y;
  }

  backward(dy: Tensor): Tensor {
    const c = this.expectCache(this.cache);
    const g = batchNormBackward(this.backend, dy, c.x, this.gamma.value, c.mean, c.invStd);
    this.setGrad(this.gamma, g.dgamma);
    this.setGrad(this.beta, g.dbeta);
    this.releaseCache();
    return g.dx;
  }

  releaseCache(): void {
    if (this.cache === null) return;
    this.backend.dispose(this.cache.mean);
    this.backend.dispose(this.cache.invStd);
    this.cache = null;
  }
}
