import type { Backend } from '../../src/backend/backend.js';
import { Tensor } from '../../src/core/tensor.js';
import type { Kernels } from '../../src/contract/kernels.js';

export interface TrackedBackend {
  readonly backend: Backend;
  /** Elements in allocations made and not yet disposed (views share their allocation). */
  liveElements(): number;
  liveCount(): number;
}

/**
 * Wraps a backend to count live allocations, keyed by storage so that a reshaped view and its source
 * count once and disposing either frees it. Used to hold the ownership rules (layer.ts) and memoryPlan
 * to what the code actually keeps.
 */
export function trackAllocations(inner: Backend): TrackedBackend {
  const live = new Map<unknown, number>();
  const record = (value: unknown): void => {
    if (value instanceof Tensor) live.set(value.storage, value.size);
    else if (value !== null && typeof value === 'object')
      for (const v of Object.values(value)) if (v instanceof Tensor) live.set(v.storage, v.size);
  };
  const kernels = Object.fromEntries(
    Object.entries(inner.kernels).map(([name, fn]) => [
      name,
      (...args: unknown[]) => {
        const out = (fn as (...a: unknown[]) => unknown)(...args);
        record(out);
        return out;
      },
    ]),
  ) as unknown as Kernels;
  const backend: Backend = {
    name: inner.name,
    kernels,
    upload: (data, shape) => {
      const t = inner.upload(data, shape);
      record(t);
      return t;
    },
    zeros: (shape, dtype) => {
      const t = inner.zeros(shape, dtype);
      record(t);
      return t;
    },
    read: (t) => inner.read(t),
    dispose: (t) => {
      if (!live.has(t.storage)) throw new Error(`dispose of ${t}: not a live allocation (double dispose?)`);
      live.delete(t.storage);
      inner.dispose(t);
    },
    sync: () => inner.sync(),
    info: () => inner.info(),
    destroy: () => inner.destroy(),
  };
  return {
    backend,
    liveElements: () => [...live.values()].reduce((a, b) => a + b, 0),
    liveCount: () => live.size,
  };
}
