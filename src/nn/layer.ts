import type { Tensor } from '../core/tensor.js';

/**
 * A trainable tensor. `name` is its PyTorch state_dict name, so checkpoints map one to one.
 * `grad` is set (replacing the previous one) by the backward pass of the layer that owns it: in the
 * V-Net every parameter is used once per forward, so there is nothing to accumulate.
 */
export interface Parameter {
  readonly name: string;
  readonly value: Tensor;
  grad: Tensor | null;
}

/** Non-trainable state that checkpoints carry: BatchNorm's running_mean and running_var. */
export interface TensorBuffer {
  readonly name: string;
  readonly value: Tensor;
}

/** An integer checkpoint entry that lives on the host: BatchNorm's num_batches_tracked (I64 in PyTorch). */
export interface Counter {
  readonly name: string;
  value: number;
}

/**
 * A layer with an explicit backward pass (DESIGN.md: no autograd tape for a fixed architecture).
 *
 * Ownership, the one rule every layer follows:
 * - `forward(x)` returns a new tensor the caller owns. In training mode the layer may keep references
 *   to `x` (`keepsInput`) or to its output (`keepsOutput`) for backward: the caller keeps those alive
 *   until `backward` has run. Tensors the layer makes for itself (BN statistics, dropout masks) it
 *   disposes itself.
 * - `backward(dy)` uses the last forward's cache, sets its parameters' `grad`, releases the cache and
 *   returns d loss / d x as a new tensor the caller owns, or null when the layer was built with
 *   `inputGrad: false` (the first layer: nobody needs the image gradient). `dy` stays the caller's.
 * - In eval mode nothing is cached and `backward` is an error.
 */
export interface Layer {
  readonly keepsInput: boolean;
  readonly keepsOutput: boolean;
  forward(x: Tensor): Tensor;
  backward(dy: Tensor): Tensor | null;
  parameters(): Parameter[];
  buffers(): TensorBuffer[];
  counters(): Counter[];
  setTraining(training: boolean): void;
  /** Forgets the forward cache without running backward (e.g. a forward whose loss was only logged). */
  releaseCache(): void;
  /** Disposes parameters, gradients and buffers; the layer is unusable afterwards. */
  dispose(): void;
}
