/**
 * TENT's objective (Wang et al., ICLR 2021): the mean Shannon entropy of the softmax over every voxel of
 * a batch, H = -mean_v sum_c p_c log p_c, and its logit gradient dH/dz_c = -p_c (log p_c + h_v) / V with
 * h_v the voxel's own entropy. Computed on the host in float64 from one read-back of the logits: the
 * TENT baseline runs a few dozen steps, and no other loss needs an entropy kernel on three backends.
 */
import type { Backend } from '../backend/backend.js';
import { SdsError } from '../core/errors.js';
import { shapeString } from '../core/shape.js';
import type { Tensor } from '../core/tensor.js';
import type { LossAndGrad } from '../contract/kernels.js';

/** Host reference: loss and gradient of the mean voxel entropy of NCDHW logits. */
export function entropyLossHost(logits: Float32Array, shape: readonly number[]): { loss: number; grad: Float32Array } {
  if (shape.length !== 5 || logits.length !== shape.reduce((a, b) => a * b, 1))
    throw new SdsError('E_SHAPE_MISMATCH', `entropyLoss: expected NCDHW logits, found ${logits.length} values for ${shapeString(shape)}`);
  const [N, C] = shape;
  const voxels = shape[2] * shape[3] * shape[4];
  const count = N * voxels;
  const grad = new Float32Array(logits.length);
  const p = new Float64Array(C);
  const logp = new Float64Array(C);
  let total = 0;
  for (let n = 0; n < N; n++)
    for (let v = 0; v < voxels; v++) {
      const base = n * C * voxels + v;
      let max = -Infinity;
      for (let c = 0; c < C; c++) max = Math.max(max, logits[base + c * voxels]);
      let z = 0;
      for (let c = 0; c < C; c++) z += Math.exp(logits[base + c * voxels] - max);
      const logZ = Math.log(z);
      let h = 0;
      for (let c = 0; c < C; c++) {
        logp[c] = logits[base + c * voxels] - max - logZ;
        p[c] = Math.exp(logp[c]);
        h -= p[c] * logp[c];
      }
      total += h;
      for (let c = 0; c < C; c++) grad[base + c * voxels] = (-p[c] * (logp[c] + h)) / count;
    }
  return { loss: total / count, grad };
}

/** The mean voxel entropy of `logits` [N, C, D, H, W] and its gradient, as new tensors the caller owns. */
export async function entropyLoss(
  backend: Backend,
  logits: Tensor,
  read: (t: Tensor) => Promise<unknown> = (t) => backend.read(t),
): Promise<LossAndGrad> {
  if (logits.dtype !== 'float32' || logits.shape.length !== 5)
    throw new SdsError('E_SHAPE_MISMATCH', `entropyLoss: expected float32 logits [N, C, D, H, W], found ${logits}`);
  const values = (await read(logits)) as Float32Array;
  const { loss, grad } = entropyLossHost(values, logits.shape);
  return { loss: backend.upload(new Float32Array([loss]), []), grad: backend.upload(grad, logits.shape) };
}
