import type { Backend } from '../backend/backend.js';
import { SdsError } from '../core/errors.js';
import { expectShape } from '../core/shape.js';
import type { Tensor } from '../core/tensor.js';
import { channelLayout } from './channel.js';
import { type Dense, type FloatArray, at, put, zerosLike } from './dense.js';
import { reluBackwardReference, reluReference } from './relu.js';
import type { BatchNormGrads, BatchNormTrainResult } from '../contract/kernels.js';
import type { BatchNormEvalParams, BatchNormTrainParams } from '../contract/params.js';
import { expectChannelVector, expectImage, expectInRange, expectTensorsOn } from './validate.js';

/** BatchNorm3d over NCDHW, PyTorch semantics: statistics per channel over N, D, H, W. */

function expectEps(op: string, eps: number): void {
  if (!(Number.isFinite(eps) && eps > 0))
    throw new SdsError('E_INVALID_ARGUMENT', `${op}: eps: expected a finite number > 0, found ${eps}`);
}

function expectAffine(op: string, x: Tensor, vectors: Record<string, Tensor>): void {
  expectImage(`${op}: x`, x);
  for (const [name, v] of Object.entries(vectors)) expectChannelVector(`${op}: ${name}`, v, x.shape[1]);
}

function expectTrainArguments(backend: Backend, op: string, x: Tensor, vectors: Record<string, Tensor>, p: BatchNormTrainParams): void {
  expectTensorsOn(backend, op, { x, ...vectors });
  expectAffine(op, x, vectors);
  expectInRange(`${op}: momentum`, p.momentum, 0, 1);
  expectEps(op, p.eps);
  // The unbiased variance divides by count - 1; PyTorch refuses a single value per channel too.
  if (x.size / x.shape[1] < 2) {
    throw new SdsError('E_SHAPE_MISMATCH', `${op}: expected more than 1 value per channel, found x of shape [${x.shape.join(', ')}]`);
  }
}

/** Normalises with batch statistics (biased variance) and updates the running ones in place (unbiased variance). */
export function batchNormTrain(
  backend: Backend,
  x: Tensor,
  gamma: Tensor,
  beta: Tensor,
  runningMean: Tensor,
  runningVar: Tensor,
  p: BatchNormTrainParams,
): BatchNormTrainResult {
  expectTrainArguments(backend, 'batchNormTrain', x, { gamma, beta, runningMean, runningVar }, p);
  return backend.kernels.batchNormTrain(x, gamma, beta, runningMean, runningVar, p);
}

/** relu(batchNormTrain(...).y) in one kernel, with the same statistics and running-statistics update. */
export function batchNormReluTrain(
  backend: Backend,
  x: Tensor,
  gamma: Tensor,
  beta: Tensor,
  runningMean: Tensor,
  runningVar: Tensor,
  p: BatchNormTrainParams,
): BatchNormTrainResult {
  expectTrainArguments(backend, 'batchNormReluTrain', x, { gamma, beta, runningMean, runningVar }, p);
  return backend.kernels.batchNormReluTrain(x, gamma, beta, runningMean, runningVar, p);
}

export function batchNormEval(
  backend: Backend,
  x: Tensor,
  gamma: Tensor,
  beta: Tensor,
  runningMean: Tensor,
  runningVar: Tensor,
  p: BatchNormEvalParams,
): Tensor {
  expectTensorsOn(backend, 'batchNormEval', { x, gamma, beta, runningMean, runningVar });
  expectAffine('batchNormEval', x, { gamma, beta, runningMean, runningVar });
  expectEps('batchNormEval', p.eps);
  return backend.kernels.batchNormEval(x, gamma, beta, runningMean, runningVar, p);
}

/** Gradients of batchNormTrain's output with respect to x, gamma and beta, from its saved mean and invStd. */
export function batchNormBackward(backend: Backend, dy: Tensor, x: Tensor, gamma: Tensor, mean: Tensor, invStd: Tensor): BatchNormGrads {
  expectTensorsOn(backend, 'batchNormBackward', { dy, x, gamma, mean, invStd });
  expectAffine('batchNormBackward', x, { gamma, mean, invStd });
  expectImage('batchNormBackward: dy', dy);
  expectShape('batchNormBackward: dy', dy.shape, x.shape);
  return backend.kernels.batchNormBackward(dy, x, gamma, mean, invStd);
}

/** Gradients of y = batchNormReluTrain(x).y from dy = d loss / d y and y itself (the ReLU mask is y > 0). */
export function batchNormReluBackward(
  backend: Backend,
  dy: Tensor,
  x: Tensor,
  y: Tensor,
  gamma: Tensor,
  mean: Tensor,
  invStd: Tensor,
): BatchNormGrads {
  expectTensorsOn(backend, 'batchNormReluBackward', { dy, x, y, gamma, mean, invStd });
  expectAffine('batchNormReluBackward', x, { gamma, mean, invStd });
  for (const [name, t] of Object.entries({ dy, y })) {
    expectImage(`batchNormReluBackward: ${name}`, t);
    expectShape(`batchNormReluBackward: ${name}`, t.shape, x.shape);
  }
  return backend.kernels.batchNormReluBackward(dy, x, y, gamma, mean, invStd);
}

export interface BatchNormTrainReferenceResult<F extends FloatArray> {
  readonly y: Dense<F>;
  readonly mean: Dense<F>;
  readonly invStd: Dense<F>;
}

/** Also updates runningMean and runningVar in place, like the kernel. */
export function batchNormTrainReference<F extends FloatArray>(
  x: Dense<F>,
  gamma: Dense<F>,
  beta: Dense<F>,
  runningMean: Dense<F>,
  runningVar: Dense<F>,
  p: BatchNormTrainParams,
): BatchNormTrainReferenceResult<F> {
  const l = channelLayout(x.shape);
  const count = l.n * l.w;
  const y = zerosLike(x.data, x.shape);
  const mean = zerosLike(x.data, [l.c]);
  const invStd = zerosLike(x.data, [l.c]);
  for (let c = 0; c < l.c; c++) {
    let sum = 0;
    for (let n = 0; n < l.n; n++) for (let v = 0; v < l.w; v++) sum += at(x.data, l.offset(n, c, 0, 0, v));
    const mu = sum / count;
    // Two passes: the centred sum of squares does not cancel catastrophically in float64.
    let squares = 0;
    for (let n = 0; n < l.n; n++) for (let v = 0; v < l.w; v++) squares += (at(x.data, l.offset(n, c, 0, 0, v)) - mu) ** 2;
    const biasedVar = squares / count;
    const inv = 1 / Math.sqrt(biasedVar + p.eps);
    const g = at(gamma.data, c);
    const b = at(beta.data, c);
    for (let n = 0; n < l.n; n++)
      for (let v = 0; v < l.w; v++) {
        const i = l.offset(n, c, 0, 0, v);
        put(y.data, i, g * (at(x.data, i) - mu) * inv + b);
      }
    put(mean.data, c, mu);
    put(invStd.data, c, inv);
    put(runningMean.data, c, (1 - p.momentum) * at(runningMean.data, c) + p.momentum * mu);
    put(runningVar.data, c, (1 - p.momentum) * at(runningVar.data, c) + p.momentum * (squares / (count - 1)));
  }
  return { y, mean, invStd };
}

export function batchNormEvalReference<F extends FloatArray>(
  x: Dense<F>,
  gamma: Dense<F>,
  beta: Dense<F>,
  runningMean: Dense<F>,
  runningVar: Dense<F>,
  p: BatchNormEvalParams,
): Dense<F> {
  const l = channelLayout(x.shape);
  const y = zerosLike(x.data, x.shape);
  for (let c = 0; c < l.c; c++) {
    const scale = at(gamma.data, c) / Math.sqrt(at(runningVar.data, c) + p.eps);
    const mu = at(runningMean.data, c);
    const b = at(beta.data, c);
    for (let n = 0; n < l.n; n++)
      for (let v = 0; v < l.w; v++) {
        const i = l.offset(n, c, 0, 0, v);
        put(y.data, i, (at(x.data, i) - mu) * scale + b);
      }
  }
  return y;
}

export interface BatchNormReferenceGrads<F extends FloatArray> {
  readonly dx: Dense<F>;
  readonly dgamma: Dense<F>;
  readonly dbeta: Dense<F>;
}

/**
 * With xhat = (x - mean) * invStd and M values per channel: dbeta = sum dy, dgamma = sum dy * xhat,
 * dx = gamma * invStd / M * (M * dy - dbeta - xhat * dgamma) (mean and variance depend on x too).
 */
export function batchNormBackwardReference<F extends FloatArray>(
  dy: Dense<F>,
  x: Dense<F>,
  gamma: Dense<F>,
  mean: Dense<F>,
  invStd: Dense<F>,
): BatchNormReferenceGrads<F> {
  const l = channelLayout(x.shape);
  const count = l.n * l.w;
  const dx = zerosLike(x.data, x.shape);
  const dgamma = zerosLike(x.data, [l.c]);
  const dbeta = zerosLike(x.data, [l.c]);
  for (let c = 0; c < l.c; c++) {
    const mu = at(mean.data, c);
    const inv = at(invStd.data, c);
    let sumDy = 0;
    let sumDyXhat = 0;
    for (let n = 0; n < l.n; n++)
      for (let v = 0; v < l.w; v++) {
        const i = l.offset(n, c, 0, 0, v);
        const g = at(dy.data, i);
        sumDy += g;
        sumDyXhat += g * (at(x.data, i) - mu) * inv;
      }
    const k = (at(gamma.data, c) * inv) / count;
    for (let n = 0; n < l.n; n++)
      for (let v = 0; v < l.w; v++) {
        const i = l.offset(n, c, 0, 0, v);
        const xhat = (at(x.data, i) - mu) * inv;
        put(dx.data, i, k * (count * at(dy.data, i) - sumDy - xhat * sumDyXhat));
      }
    put(dgamma.data, c, sumDyXhat);
    put(dbeta.data, c, sumDy);
  }
  return { dx, dgamma, dbeta };
}

/** The specification of batchNormReluTrain: the two references composed. */
export function batchNormReluTrainReference<F extends FloatArray>(
  x: Dense<F>,
  gamma: Dense<F>,
  beta: Dense<F>,
  runningMean: Dense<F>,
  runningVar: Dense<F>,
  p: BatchNormTrainParams,
): BatchNormTrainReferenceResult<F> {
  const r = batchNormTrainReference(x, gamma, beta, runningMean, runningVar, p);
  return { ...r, y: reluReference(r.y) };
}

/** The specification of batchNormReluBackward: the two references composed. */
export function batchNormReluBackwardReference<F extends FloatArray>(
  dy: Dense<F>,
  x: Dense<F>,
  y: Dense<F>,
  gamma: Dense<F>,
  mean: Dense<F>,
  invStd: Dense<F>,
): BatchNormReferenceGrads<F> {
  return batchNormBackwardReference(reluBackwardReference(dy, y), x, gamma, mean, invStd);
}
