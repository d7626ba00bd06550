/**
 * Central finite differences over float64 host arrays, for checking the reference backward ops.
 * With step h the truncation error is O(h^2 f''') and the rounding error O(eps_64 |f| / h); h = 1e-5
 * balances them near 1e-10 for the O(1) losses used here. Linear maps (convolutions) have no truncation
 * error at all, so their differences are exact up to rounding.
 */
import { expect } from 'vitest';
import type { Dense } from '../../src/ops/dense.js';

export const FD_STEP = 1e-5;

/** d loss / d x by central differences, perturbing x.data in place and restoring it. */
export function numericGradient(x: Dense<Float64Array>, loss: () => number, h = FD_STEP): Float64Array {
  const grad = new Float64Array(x.data.length);
  for (let i = 0; i < x.data.length; i++) {
    const saved = x.data[i];
    x.data[i] = saved + h;
    const up = loss();
    x.data[i] = saved - h;
    const down = loss();
    x.data[i] = saved;
    grad[i] = (up - down) / (2 * h);
  }
  return grad;
}

export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let acc = 0;
  for (let i = 0; i < a.length; i++) acc += a[i] * b[i];
  return acc;
}

/** max |analytic - numeric| <= tolerance * max |numeric|, and the gradient is not trivially zero. */
export function expectGradientsClose(what: string, analytic: ArrayLike<number>, numeric: ArrayLike<number>, tolerance: number): void {
  expect(analytic.length, `${what}: length`).toBe(numeric.length);
  let scale = 0;
  let worst = 0;
  for (let i = 0; i < numeric.length; i++) {
    scale = Math.max(scale, Math.abs(numeric[i]));
    worst = Math.max(worst, Math.abs(analytic[i] - numeric[i]));
  }
  expect(scale, `${what}: gradient is identically zero, the check would be vacuous`).toBeGreaterThan(0);
  expect(worst / scale, `${what}: max |analytic - numeric| / max |numeric|`).toBeLessThanOrEqual(tolerance);
}
