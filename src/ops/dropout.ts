import type { Backend } from '../backend/backend.js';
import type { Tensor } from '../core/tensor.js';
import { type Dense, put } from './dense.js';
import type { DropoutParams } from '../contract/params.js';
import { uniformAt } from './random.js';
import { expectInRange, expectInteger } from './validate.js';

/**
 * [N, C] float32 channel mask for Dropout3d: element (n, c) is kept iff uniformAt(seed, n * C + c) >= p,
 * and kept channels are scaled by 1 / (1 - p) so the expectation is unchanged.
 */
export function dropoutMask(backend: Backend, n: number, c: number, p: DropoutParams): Tensor {
  expectInteger('dropoutMask: n', n, 1);
  expectInteger('dropoutMask: c', c, 1);
  expectInRange('dropoutMask: p', p.p, 0, 1, true);
  // The seed is hashed as a u32 on every backend; anything outside that range would wrap differently.
  expectInteger('dropoutMask: seed', p.seed, 0, 0xffffffff);
  return backend.kernels.dropoutMask(n, c, p);
}

export function dropoutMaskReference(n: number, c: number, p: DropoutParams): Dense<Float32Array> {
  const data = new Float32Array(n * c);
  const keptValue = 1 / (1 - p.p);
  for (let i = 0; i < n * c; i++) put(data, i, uniformAt(p.seed, i) >= p.p ? keptValue : 0);
  return { data, shape: [n, c] };
}
