import type { Backend } from '../../backend/backend.js';
import type { Tensor } from '../../core/tensor.js';
import type { Counter, Layer, Parameter, TensorBuffer } from '../layer.js';

/**
 * Layers applied in order (torch.nn.Sequential). It owns the tensors between its layers: in training
 * mode it keeps an intermediate only while a neighbour needs it for backward (the producer keeps its
 * output, or the consumer keeps its input), so conv -> BN -> ReLU keeps the conv output and the ReLU
 * output but frees the BN output at once. In eval mode every intermediate dies as soon as it is used.
 */
export class Sequential implements Layer {
  readonly layers: readonly Layer[];
  readonly keepsInput: boolean;
  readonly keepsOutput: boolean;
  private readonly backend: Backend;
  private training = true;
  /** Intermediates kept for backward, disposed when backward (or the next forward) is done with them. */
  private retained: Tensor[] = [];

  constructor(backend: Backend, layers: readonly Layer[]) {
    this.backend = backend;
    this.layers = layers;
    this.keepsInput = layers.length > 0 && layers[0].keepsInput;
    this.keepsOutput = layers.length > 0 && layers[layers.length - 1].keepsOutput;
  }

  forward(x: Tensor): Tensor {
    this.releaseCache();
    let current = x;
    for (let i = 0; i < this.layers.length; i++) {
      const next = this.layers[i].forward(current);
      if (current !== x) {
        const needed = this.training && (this.layers[i].keepsInput || this.layers[i - 1].keepsOutput);
        if (needed) this.retained.push(current);
        else this.backend.dispose(current);
      }
      current = next;
    }
    return current;
  }

  backward(dy: Tensor): Tensor | null {
    let grad: Tensor | null = dy;
    for (let i = this.layers.length - 1; i >= 0 && grad !== null; i--) {
      const next: Tensor | null = this.layers[i].backward(grad);
      if (grad !== dy) this.backend.dispose(grad);
      grad = next;
    }
    this.releaseCache();
    return grad;
  }

  parameters(): Parameter[] {
    return this.layers.flatMap((l) => l.parameters());
  }

  buffers(): TensorBuffer[] {
    return this.layers.flatMap((l) => l.buffers());
  }

  counters(): Counter[] {
    return this.layers.flatMap((l) => l.counters());
  }

  setTraining(training: boolean): void {
    this.training = training;
    for (const l of this.layers) l.setTraining(training);
    if (!training) this.releaseCache();
  }

  releaseCache(): void {
    for (const l of this.layers) l.releaseCache();
    for (const t of this.retained) this.backend.dispose(t);
    this.retained = [];
  }

  dispose(): void {
    this.releaseCache();
    for (const l of this.layers) l.dispose();
  }
}
