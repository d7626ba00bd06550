import type { Backend } from '../backend/backend.js';
import type { Shape } from '../core/shape.js';
import { sizeOf } from '../core/shape.js';
import type { Tensor } from '../core/tensor.js';
import { mix32, uniformAt } from '../ops/random.js';

/**
 * PyTorch's default initialisation, reproducibly: Conv3d / ConvTranspose3d weights use
 * kaiming_uniform_(a = sqrt(5)), which is U(-1/sqrt(fan_in), 1/sqrt(fan_in)), and biases the same bound.
 * The uniforms come from the counter-based generator of ops/random.ts with one stream per parameter,
 * keyed by a hash of its state_dict name, so the same seed gives the same weights whatever order layers
 * are built in, and scripts/make-golden-vnet.py reproduces them bit for bit in Python.
 */

/** 32-bit FNV-1a of the UTF-8 bytes of `text`. */
export function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(text)) {
    h ^= byte;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

export const tensorSeed = (seed: number, name: string): number => mix32((seed ^ fnv1a(name)) >>> 0);

/** fan_in as torch.nn.init computes it: weight.size(1) * prod(kernel). For ConvTranspose3d dim 1 is Cout. */
export const fanIn = (weightShape: Shape): number => sizeOf(weightShape.slice(1));

/** Values (2u - 1) * bound, computed in float64 and rounded once to float32 (as the Python script does). */
export function uniformValues(seed: number, name: string, count: number, bound: number): Float32Array {
  const stream = tensorSeed(seed, name);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = (2 * uniformAt(stream, i) - 1) * bound;
  return out;
}

export function uniformTensor(backend: Backend, seed: number, name: string, shape: Shape, bound: number): Tensor {
  return backend.upload(uniformValues(seed, name, sizeOf(shape), bound), shape);
}

export const filled = (backend: Backend, shape: Shape, value: number): Tensor =>
  backend.upload(new Float32Array(sizeOf(shape)).fill(value), shape);
