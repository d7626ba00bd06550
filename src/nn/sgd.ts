import type { Backend } from '../backend/backend.js';
import { SdsError } from '../core/errors.js';
import type { Tensor } from '../core/tensor.js';
import { sgdStep } from '../ops/index.js';
import type { Parameter } from './layer.js';

export interface SgdOptions {
  readonly lr: number;
  readonly momentum?: number;
  readonly weightDecay?: number;
  /** Step schedule: lr * gamma^floor(iteration / stepSize). Default: no decay. */
  readonly stepSize?: number;
  readonly gamma?: number;
}

/**
 * torch.optim.SGD (momentum, weight decay, no dampening or Nesterov) with StepLR folded in:
 * step k (counted from 0) uses lr * gamma^floor(k / stepSize), as the BCP / SDS scripts do with
 * stepSize 2500 and gamma 0.1. Momentum buffers start at zero, which equals PyTorch's first step.
 */
export class Sgd {
  readonly params: readonly Parameter[];
  private readonly backend: Backend;
  private readonly options: Required<SgdOptions>;
  private readonly momentumBuffers: Tensor[];
  private steps = 0;

  constructor(backend: Backend, params: readonly Parameter[], options: SgdOptions) {
    const o = { momentum: 0, weightDecay: 0, stepSize: Number.POSITIVE_INFINITY, gamma: 1, ...options };
    if (!(o.stepSize > 0)) throw new SdsError('E_INVALID_ARGUMENT', `Sgd: stepSize: expected a number > 0, found ${o.stepSize}`);
    if (!(o.gamma > 0 && Number.isFinite(o.gamma)))
      throw new SdsError('E_INVALID_ARGUMENT', `Sgd: gamma: expected a finite number > 0, found ${o.gamma}`);
    this.backend = backend;
    this.params = params;
    this.options = o;
    this.momentumBuffers = params.map((p) => backend.zeros(p.value.shape, 'float32'));
  }

  /** Steps taken so far (the schedule's iteration counter; a checkpoint's "iteration"). */
  get iteration(): number {
    return this.steps;
  }

  /** Resumes the schedule at `iteration` (after loading a checkpoint). */
  set iteration(value: number) {
    if (!(Number.isInteger(value) && value >= 0))
      throw new SdsError('E_INVALID_ARGUMENT', `Sgd: iteration: expected an integer >= 0, found ${value}`);
    this.steps = value;
  }

  /**
   * The momentum buffers, one per parameter in `params` order (zero before the first step). Checkpoints
   * read them and a resumed run writes them back, so its next steps equal an uninterrupted run's.
   */
  get buffers(): readonly Tensor[] {
    return this.momentumBuffers;
  }

  /** The learning rate the next step will use. */
  get lr(): number {
    return this.options.lr * this.options.gamma ** Math.floor(this.steps / this.options.stepSize);
  }

  /** Updates every parameter from its `grad`; all of them must have one. */
  step(): void {
    const missing = this.params.filter((p) => p.grad === null).map((p) => p.name);
    if (missing.length > 0) {
      throw new SdsError(
        'E_INVALID_ARGUMENT',
        `Sgd: expected a gradient for every parameter, found none for ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ` and ${missing.length - 5} more` : ''}`,
      );
    }
    const p = { lr: this.lr, momentum: this.options.momentum, weightDecay: this.options.weightDecay };
    this.params.forEach((param, i) => sgdStep(this.backend, param.value, param.grad as Tensor, this.momentumBuffers[i], p));
    this.steps++;
  }

  dispose(): void {
    for (const b of this.momentumBuffers) this.backend.dispose(b);
  }
}
