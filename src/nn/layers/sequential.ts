import type { Backend } from '../../backend/backend.js';
import type { Tensor } from '../../core/tensor.js';
import type { Counter, Layer, Parameter, TensorBuffer } from '../layer.js';
import { BatchNorm3d } from './batch-norm3d.js';
import { ReLU } from './relu.js';

/**
 * The batch norm at `i` when layers i and i + 1 are a batch norm -> ReLU pair that runs as one fused
 * kernel now (BatchNorm3d.forwardRelu: training on batch statistics), else null. The pair's backward
 * is the batch norm's, given the gradient of the ReLU's output.
 */
export function fusedNormReluAt(layers: readonly Layer[], i: number): BatchNorm3d | null {
  const norm = layers[i];
  return norm instanceof BatchNorm3d && layers[i + 1] instanceof ReLU && norm.fusesRelu ? norm : null;
}

/**
 * Layers applied in order (torch.nn.Sequential). It owns the tensors between its layers: in training
 * mode it keeps an intermediate only while a neighbour needs it for backward (the producer keeps its
 * output, or the consumer keeps its input), so conv -> BN -> ReLU keeps the conv output and the ReLU
 * output but frees the BN output at once. In eval mode every intermediate dies as soon as it is used.
 * A training batch norm -> ReLU pair runs as one kernel (fusedNormReluAt), which never makes the BN
 * output at all; the pair keeps what the two layers would (the BN input and the ReLU output).
 */
export class Sequential implements Layer {
  readonly layers: readonly Layer[];
  readonly keepsInput: boolean;
  readonly keepsOutput: boolean;
  private readonly backend: Backend;
  private training = true;
  /** Intermediates kept for backward, disposed when backward (or the next forward) is done with them. */
  private retained: Tensor[] = [];
  /** Indices of the batch norms the last forward fused with the ReLU after them. */
  private readonly fused = new Set<number>();

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
      const norm = fusedNormReluAt(this.layers, i);
      const next = norm !== null ? norm.forwardRelu(current) : this.layers[i].forward(current);
      if (current !== x) {
        const needed = this.training && (this.layers[i].keepsInput || this.layers[i - 1].keepsOutput);
        if (needed) this.retained.push(current);
        else this.backend.dispose(current);
      }
      current = next;
      // The pair's output is the ReLU's: the next layer's retention then asks layers[i + 1].keepsOutput.
      if (norm !== null) this.fused.add(i++);
    }
    return current;
  }

  backward(dy: Tensor): Tensor | null {
    let grad: Tensor | null = dy;
    for (let i = this.layers.length - 1; i >= 0 && grad !== null; i--) {
      // A fused pair's ReLU has no cache: the batch norm's backward covers both.
      if (this.fused.has(i - 1)) i--;
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
    this.fused.clear();
    for (const l of this.layers) l.releaseCache();
    for (const t of this.retained) this.backend.dispose(t);
    this.retained = [];
  }

  dispose(): void {
    this.releaseCache();
    for (const l of this.layers) l.dispose();
  }
}
