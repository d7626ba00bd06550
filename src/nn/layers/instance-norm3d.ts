import type { Backend } from '../../backend/backend.js';
import type { Tensor } from '../../core/tensor.js';
import { batchNormBackward, batchNormTrain } from '../../ops/index.js';
import { filled } from '../init.js';
import type { Layer } from '../layer.js';
import { viewAs } from '../view.js';
import { LayerBase } from './base.js';

export interface InstanceNorm3dOptions {
  readonly name: string;
  readonly eps?: number;
}

interface InstanceNormCache {
  readonly xView: Tensor;
  readonly mean: Tensor;
  readonly invStd: Tensor;
  readonly ones: Tensor;
}

/**
 * torch.nn.InstanceNorm3d with PyTorch's defaults, which the UA-MT / BCP V-Net uses: affine = false and
 * track_running_stats = false, so it has no parameters, no state_dict entries, and normalises with each
 * sample's own statistics in training and in eval alike.
 *
 * No kernel of its own: instance norm of x [N, C, D, H, W] is batch norm of the same memory viewed as
 * [1, N*C, D, H, W] (each (n, c) slice becomes a channel), with gamma = 1, beta = 0 and scratch running
 * statistics that are thrown away. The backward is batchNormBackward on the same views; dgamma and
 * dbeta are discarded.
 */
export class InstanceNorm3d extends LayerBase implements Layer {
  readonly keepsInput = true;
  readonly keepsOutput = false;
  private readonly eps: number;
  private cache: InstanceNormCache | null = null;

  constructor(backend: Backend, o: InstanceNorm3dOptions) {
    super(backend, o.name);
    this.eps = o.eps ?? 1e-5;
  }

  forward(x: Tensor): Tensor {
    this.releaseCache();
    const slices = x.shape[0] * x.shape[1];
    const xView = viewAs(x, [1, slices, ...x.shape.slice(2)]);
    const ones = filled(this.backend, [slices], 1);
    const zeros = filled(this.backend, [slices], 0);
    const scratchMean = filled(this.backend, [slices], 0);
    const scratchVar = filled(this.backend, [slices], 1);
    const r = batchNormTrain(this.backend, xView, ones, zeros, scratchMean, scratchVar, { momentum: 0, eps: this.eps });
    for (const t of [zeros, scratchMean, scratchVar]) this.backend.dispose(t);
    if (this.training) {
      this.cache = { xView, mean: r.mean, invStd: r.invStd, ones };
    } else {
      for (const t of [ones, r.mean, r.invStd]) this.backend.dispose(t);
    }
    // The caller owns the [N, C, ...] handle; the [1, N*C, ...] one is dropped without disposing.
    return viewAs(r.y, x.shape);
  }

  backward(dy: Tensor): Tensor {
    const c = this.expectCache(this.cache);
    const g = batchNormBackward(this.backend, viewAs(dy, c.xView.shape), c.xView, c.ones, c.mean, c.invStd);
    this.backend.dispose(g.dgamma);
    this.backend.dispose(g.dbeta);
    this.releaseCache();
    return viewAs(g.dx, dy.shape);
  }

  releaseCache(): void {
    if (this.cache === null) return;
    for (const t of [this.cache.mean, this.cache.invStd, this.cache.ones]) this.backend.dispose(t);
    this.cache = null;
  }
}
