/** METHOD.md stage 2, step 8: the teacher follows the selected student, theta_T <- alpha theta_T + (1 - alpha) theta_S. */
import type { Backend } from '../../backend/backend.js';
import { SdsError } from '../../core/errors.js';
import type { Tensor } from '../../core/tensor.js';
import type { StateEntry, VNet } from '../../nn/vnet.js';
import { emaUpdate, laEmaAlpha } from '../../ops/index.js';

/**
 * LA-EMA's alpha_t = 1 - max(1/(1+t), floor) * exp(-temperature * L^s), on the device from the selected
 * student's loss tensor (no read-back needed to update the teacher). The caller owns the scalar.
 */
export function laEmaAlphaFor(backend: Backend, loss: Tensor, t: number, temperature: number, floor: number): Tensor {
  return laEmaAlpha(backend, loss, { t, temperature, floor });
}

/** The baselines' fixed EMA (BCP / mean teacher): alpha_t = min(1 - 1/(t+1), alphaMax), t from 1. */
export function fixedEmaAlpha(t: number, alphaMax: number): number {
  if (!(Number.isInteger(t) && t >= 1)) throw new SdsError('E_INVALID_ARGUMENT', `fixedEmaAlpha: t: expected an integer >= 1, found ${t}`);
  return Math.min(1 - 1 / (t + 1), alphaMax);
}

/**
 * theta_T <- alpha * theta_T + (1 - alpha) * theta_S for every parameter and, when `batchNormStats`,
 * every BatchNorm running mean and variance (num_batches_tracked is not averaged: it is a counter).
 * Entries are matched by state_dict name, so a teacher of another architecture fails loudly.
 */
export function laEmaUpdate(backend: Backend, teacher: VNet, student: VNet, alpha: Tensor, batchNormStats = true): void {
  const source = new Map(student.stateEntries().map((e) => [e.name, e]));
  for (const e of teacher.stateEntries()) {
    if (e.kind === 'counter' || (e.kind === 'buffer' && !batchNormStats)) continue;
    const s = source.get(e.name);
    if (s === undefined || s.kind !== e.kind)
      throw new SdsError('E_SHAPE_MISMATCH', `laEmaUpdate: the student has no ${e.kind} '${e.name}' to average into the teacher`);
    emaUpdate(backend, entryTensor(e), entryTensor(s), alpha);
  }
}

/** The tensor a parameter or buffer entry holds. */
export function entryTensor(e: StateEntry): Tensor {
  if (e.kind === 'parameter') return e.parameter.value;
  if (e.kind === 'buffer') return e.buffer.value;
  throw new SdsError('E_INVALID_ARGUMENT', `entryTensor: '${e.name}' is a host counter, not a tensor`);
}
