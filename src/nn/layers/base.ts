import type { Backend } from '../../backend/backend.js';
import { SdsError } from '../../core/errors.js';
import type { Tensor } from '../../core/tensor.js';
import type { Counter, Parameter, TensorBuffer } from '../layer.js';

/** Bookkeeping every layer shares: its parameter list, gradient replacement, mode and disposal. */
export abstract class LayerBase {
  protected readonly backend: Backend;
  protected readonly name: string;
  protected training = true;
  protected readonly params: Parameter[] = [];

  constructor(backend: Backend, name: string) {
    this.backend = backend;
    this.name = name;
  }

  protected addParameter(suffix: string, value: Tensor): Parameter {
    const p: Parameter = { name: `${this.name}.${suffix}`, value, grad: null };
    this.params.push(p);
    return p;
  }

  /** Each parameter is used once per forward, so a new gradient replaces the old one. */
  protected setGrad(p: Parameter, grad: Tensor): void {
    if (p.grad !== null) this.backend.dispose(p.grad);
    p.grad = grad;
  }

  protected expectCache<T>(cache: T | null): T {
    if (cache === null) {
      throw new SdsError(
        'E_INVALID_ARGUMENT',
        `${this.name}: backward needs a training-mode forward first (found ${this.training ? 'no cached forward' : 'eval mode'})`,
      );
    }
    return cache;
  }

  parameters(): Parameter[] {
    return [...this.params];
  }

  buffers(): TensorBuffer[] {
    return [];
  }

  counters(): Counter[] {
    return [];
  }

  setTraining(training: boolean): void {
    this.training = training;
    if (!training) this.releaseCache();
  }

  abstract releaseCache(): void;

  dispose(): void {
    this.releaseCache();
    for (const p of this.params) {
      this.backend.dispose(p.value);
      if (p.grad !== null) this.backend.dispose(p.grad);
      p.grad = null;
    }
    for (const b of this.buffers()) this.backend.dispose(b.value);
  }
}
