import type { Backend } from '../backend/backend.js';
import type { Tensor } from '../core/tensor.js';
import { type Dense, type FloatArray, at, put } from './dense.js';
import type { LaEmaParams, SgdParams } from '../contract/params.js';
import { scalarLike } from './reduce.js';
import { expectFloat, expectInRange, expectInteger, expectSameShape, expectScalar, expectTensorsOn } from './validate.js';

/** Parameter updates: SGD for the students, (LA-)EMA for the teacher (METHOD.md steps 6 and 8). */

/**
 * torch.optim.SGD (dampening 0, no Nesterov), in place: g = grad + weightDecay * param,
 * buf = momentum * buf + g, param -= lr * buf. PyTorch's first step sets buf = g; a zero-initialised
 * buf gives the same value, so no first-step flag is needed.
 */
export function sgdStep(backend: Backend, param: Tensor, grad: Tensor, momentumBuffer: Tensor, p: SgdParams): void {
  expectTensorsOn(backend, 'sgdStep', { param, grad, momentumBuffer });
  expectFloat('sgdStep: param', param);
  expectFloat('sgdStep: grad', grad);
  expectFloat('sgdStep: momentumBuffer', momentumBuffer);
  expectSameShape('sgdStep: grad', param, grad);
  expectSameShape('sgdStep: momentumBuffer', param, momentumBuffer);
  expectInRange('sgdStep: lr', p.lr, 0, Number.MAX_VALUE);
  expectInRange('sgdStep: momentum', p.momentum, 0, 1);
  expectInRange('sgdStep: weightDecay', p.weightDecay, 0, Number.MAX_VALUE);
  backend.kernels.sgdStep(param, grad, momentumBuffer, p);
}

/** alpha_t = 1 - max(1 / (1 + t), floor) * exp(-temperature * loss), as a scalar tensor left on the device. */
export function laEmaAlpha(backend: Backend, loss: Tensor, p: LaEmaParams): Tensor {
  expectTensorsOn(backend, 'laEmaAlpha', { loss });
  expectScalar('laEmaAlpha: loss', loss);
  expectInteger('laEmaAlpha: t', p.t, 1);
  expectInRange('laEmaAlpha: temperature', p.temperature, 0, Number.MAX_VALUE);
  expectInRange('laEmaAlpha: floor', p.floor, 0, 1);
  return backend.kernels.laEmaAlpha(loss, p);
}

/** target = alpha * target + (1 - alpha) * source in place; alpha is a scalar tensor (from laEmaAlpha). */
export function emaUpdate(backend: Backend, target: Tensor, source: Tensor, alpha: Tensor): void {
  expectTensorsOn(backend, 'emaUpdate', { target, source, alpha });
  expectFloat('emaUpdate: target', target);
  expectFloat('emaUpdate: source', source);
  expectSameShape('emaUpdate: source', target, source);
  expectScalar('emaUpdate: alpha', alpha);
  backend.kernels.emaUpdate(target, source, alpha);
}

/** Updates param and momentumBuffer in place. */
export function sgdStepReference<F extends FloatArray>(param: Dense<F>, grad: Dense<F>, momentumBuffer: Dense<F>, p: SgdParams): void {
  for (let i = 0; i < param.data.length; i++) {
    const g = at(grad.data, i) + p.weightDecay * at(param.data, i);
    put(momentumBuffer.data, i, p.momentum * at(momentumBuffer.data, i) + g);
    // Read the stored buffer back so param moves by the same (rounded) step the buffer remembers.
    put(param.data, i, at(param.data, i) - p.lr * at(momentumBuffer.data, i));
  }
}

export function laEmaAlphaReference<F extends FloatArray>(loss: Dense<F>, p: LaEmaParams): Dense<F> {
  const globalWeight = Math.max(1 / (1 + p.t), p.floor);
  const localWeight = Math.exp(-p.temperature * at(loss.data, 0));
  return scalarLike(loss.data, 1 - globalWeight * localWeight);
}

/** Updates target in place. */
export function emaUpdateReference<F extends FloatArray>(target: Dense<F>, source: Dense<F>, alpha: Dense<F>): void {
  const a = at(alpha.data, 0);
  for (let i = 0; i < target.data.length; i++) put(target.data, i, a * at(target.data, i) + (1 - a) * at(source.data, i));
}
