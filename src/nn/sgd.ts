import type { Backend } from '../backend/backend.js';
import { SdsError } from '../core/errors.js';
import type { Tensor } from '../core/tensor.js';
import { add, scale, sgdStep } from '../ops/index.js';
import type { Parameter } from './layer.js';

export interface SgdOptions {
  readonly lr: number;
  readonly momentum?: number;
  readonly weightDecay?: number;
  /** Step schedule: lr * gamma^floor(iteration / stepSize). Default: no decay. */
  readonly stepSize?: number;
  readonly gamma?: number;
  /**
   * L2-SP (Li, Grandvalet, Davoine 2018): adds weight / 2 * ||w - w0||^2 to the loss, pulling each
   * parameter towards its starting value w0 (values[i] belongs to params[i]) instead of towards zero, so
   * fine-tuning on a few labeled scans cannot wander far from the pretrained weights.
   */
  readonly anchor?: { readonly weight: number; readonly values: readonly Tensor[] };
}

/**
 * torch.optim.SGD (momentum, weight decay, no dampening or Nesterov) with StepLR folded in:
 * step k (counted from 0) uses lr * gamma^floor(k / stepSize), as the BCP / SDS scripts do with
 * stepSize 2500 and gamma 0.1. Momentum buffers start at zero, which equals PyTorch's first step.
 */
export class Sgd {
  readonly params: readonly Parameter[];
  private readonly backend: Backend;
  private readonly options: Required<Omit<SgdOptions, 'anchor'>>;
  private readonly momentumBuffers: Tensor[];
  /** -weight * w0 per parameter (L2-SP's constant part), or null without an anchor. */
  private readonly anchorTerms: Tensor[] | null;
  private readonly anchorWeight: number;
  private steps = 0;

  constructor(backend: Backend, params: readonly Parameter[], options: SgdOptions) {
    const { anchor, ...rest } = options;
    const o = { momentum: 0, weightDecay: 0, stepSize: Number.POSITIVE_INFINITY, gamma: 1, ...rest };
    if (!(o.stepSize > 0)) throw new SdsError('E_INVALID_ARGUMENT', `Sgd: stepSize: expected a number > 0, found ${o.stepSize}`);
    if (!(o.gamma > 0 && Number.isFinite(o.gamma)))
      throw new SdsError('E_INVALID_ARGUMENT', `Sgd: gamma: expected a finite number > 0, found ${o.gamma}`);
    this.backend = backend;
    this.params = params;
    this.options = o;
    this.momentumBuffers = params.map((p) => backend.zeros(p.value.shape, 'float32'));
    this.anchorWeight = 0;
    this.anchorTerms = null;
    if (anchor !== undefined && anchor.weight !== 0) {
      if (!(anchor.weight > 0 && Number.isFinite(anchor.weight)))
        throw new SdsError('E_INVALID_ARGUMENT', `Sgd: anchor.weight: expected a finite number >= 0, found ${anchor.weight}`);
      if (anchor.values.length !== params.length)
        throw new SdsError(
          'E_INVALID_ARGUMENT',
          `Sgd: anchor.values: expected ${params.length} tensors (one per parameter), found ${anchor.values.length}`,
        );
      anchor.values.forEach((v, i) => {
        const want = params[i].value.shape;
        if (v.shape.length !== want.length || v.shape.some((d, k) => d !== want[k]))
          throw new SdsError(
            'E_SHAPE_MISMATCH',
            `Sgd: anchor.values[${i}] (${params[i].name}): expected shape [${want}], found [${v.shape}]`,
          );
      });
      this.anchorWeight = anchor.weight;
      this.anchorTerms = anchor.values.map((v) => scale(backend, v, -anchor.weight));
    }
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
    // L2-SP's gradient weight * (w - w0) = weight * w + (-weight * w0): the first part joins the weight
    // decay, the second is added to the gradient.
    const p = { lr: this.lr, momentum: this.options.momentum, weightDecay: this.options.weightDecay + this.anchorWeight };
    this.params.forEach((param, i) => {
      const grad = param.grad as Tensor;
      if (this.anchorTerms === null) {
        sgdStep(this.backend, param.value, grad, this.momentumBuffers[i], p);
        return;
      }
      const anchored = add(this.backend, grad, this.anchorTerms[i]);
      sgdStep(this.backend, param.value, anchored, this.momentumBuffers[i], p);
      this.backend.dispose(anchored);
    });
    this.steps++;
  }

  dispose(): void {
    for (const b of this.momentumBuffers) this.backend.dispose(b);
    for (const t of this.anchorTerms ?? []) this.backend.dispose(t);
  }
}
