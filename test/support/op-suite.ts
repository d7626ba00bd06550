/**
 * One op suite for every backend: each case in OP_CASES (./op-cases.ts) uploads the same seeded data to
 * the backend under test and to the reference backend, runs the op through its dispatch function on
 * both, and compares every output (and, for in-place kernels, every mutated input). Each backend's test
 * file calls `describeOpSuite(name, makeBackend, tolerance)`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../../src/backend/backend.js';
import { createReferenceBackend } from '../../src/ops/reference/index.js';
import type { TypedArray } from '../../src/core/dtype.js';
import { SdsError } from '../../src/core/errors.js';
import type { Tensor } from '../../src/core/tensor.js';
import * as ops from '../../src/ops/index.js';
import type { KernelName } from '../../src/contract/kernels.js';
import { OP_CASES, type OpCase } from './op-cases.js';
import { randomFloat32, randomLabels } from './random-data.js';

/**
 * Default error budgets: max |got - ref| / max |ref| over each output. Reference values are float64
 * sums rounded once to float32; a float32 backend rounds at every step, so reductions over many terms
 * (convolutions, batch statistics, losses) get wider budgets than elementwise ops, which should be
 * within a few ulps. Integer outputs (argmax, masks, labels) must match exactly whatever the budget.
 */
const CONV = 1e-4;
const REDUCTION = 1e-5;
const ELEMENTWISE = 1e-6;
export const DEFAULT_OP_TOLERANCES: Readonly<Record<KernelName, number>> = {
  conv3d: CONV,
  conv3dBackwardData: CONV,
  conv3dBackwardFilter: CONV,
  batchNormTrain: CONV,
  batchNormEval: ELEMENTWISE * 4,
  batchNormBackward: CONV,
  batchNormReluTrain: CONV,
  batchNormReluBackward: CONV,
  channelSum: REDUCTION,
  sum: REDUCTION,
  mean: REDUCTION,
  diceCeLoss: REDUCTION,
  disagreementMse: REDUCTION,
  agreementCrossEntropy: REDUCTION,
  softmax: ELEMENTWISE * 2,
  laEmaAlpha: ELEMENTWISE,
  addChannelBias: ELEMENTWISE,
  relu: ELEMENTWISE,
  reluBackward: ELEMENTWISE,
  dropoutMask: ELEMENTWISE,
  channelScale: ELEMENTWISE,
  add: ELEMENTWISE,
  scale: ELEMENTWISE,
  argmax: 0,
  confidentArgmax: 0,
  sgdStep: ELEMENTWISE,
  emaUpdate: ELEMENTWISE,
  cubeMask: 0,
  cutMix: 0,
  flip: 0,
  rot90: 0,
  copy: 0,
  concat: 0,
  assign: 0,
};

/** max |got - ref| relative to max |ref| (absolute when ref is all zeros). */
export function relativeError(got: ArrayLike<number>, ref: ArrayLike<number>): number {
  let maxRef = 0;
  let maxDiff = 0;
  for (let i = 0; i < ref.length; i++) {
    maxRef = Math.max(maxRef, Math.abs(ref[i]));
    maxDiff = Math.max(maxDiff, Math.abs(got[i] - ref[i]));
  }
  return maxRef > 0 ? maxDiff / maxRef : maxDiff;
}

interface RunResult {
  readonly outputs: Record<string, { shape: readonly number[]; dtype: string; data: TypedArray }>;
}

/** Uploads the inputs, runs the case, reads every output, then disposes everything it made. */
async function runCase(backend: Backend, c: OpCase, inputs: ReturnType<OpCase['inputs']>): Promise<RunResult> {
  const uploaded = Object.fromEntries(Object.entries(inputs).map(([k, h]) => [k, backend.upload(h.data as TypedArray, h.shape)]));
  const made = new Set<Tensor>(Object.values(uploaded));
  try {
    const produced = c.run(backend, uploaded);
    for (const t of Object.values(produced)) made.add(t);
    const outputs: RunResult['outputs'] = {};
    for (const [k, t] of Object.entries(produced)) outputs[k] = { shape: t.shape, dtype: t.dtype, data: await backend.read(t) };
    return { outputs };
  } finally {
    for (const t of made) if (!t.disposed) backend.dispose(t);
  }
}

function expectSdsError(fn: () => unknown, code: string): void {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught, `expected ${code}`).toBeInstanceOf(SdsError);
  expect((caught as SdsError).code).toBe(code);
}

export function describeOpSuite(
  name: string,
  makeBackend: () => Promise<Backend>,
  tolerance: Partial<Record<KernelName, number>> = {},
): void {
  const budgets = { ...DEFAULT_OP_TOLERANCES, ...tolerance };
  describe(`op suite on ${name}`, () => {
    let backend: Backend | undefined;
    const reference = createReferenceBackend();
    const under = (): Backend => {
      if (!backend) throw new Error(`op suite: backend '${name}' was not created (see the beforeAll error)`);
      return backend;
    };
    beforeAll(async () => {
      backend = await makeBackend();
    });
    afterAll(() => {
      backend?.destroy();
      reference.destroy();
    });

    it('covers every kernel', () => {
      const covered = new Set(OP_CASES.map((c) => c.kernel));
      expect(Object.keys(reference.kernels).filter((k) => !covered.has(k as KernelName))).toEqual([]);
    });

    it.each(OP_CASES.map((c) => [`${c.kernel}: ${c.name}`, c] as const))('%s', async (_label, c) => {
      const inputs = c.inputs();
      const want = await runCase(reference, c, inputs);
      const got = await runCase(under(), c, inputs);
      const budget = budgets[c.kernel];
      for (const [k, ref] of Object.entries(want.outputs)) {
        const out = got.outputs[k];
        expect(out, `output ${k}`).toBeDefined();
        expect(out.shape, `shape of ${k}`).toEqual(ref.shape);
        expect(out.dtype, `dtype of ${k}`).toBe(ref.dtype);
        if (ref.dtype !== 'float32') {
          expect(Array.from(out.data), `${k} (exact)`).toEqual(Array.from(ref.data));
          continue;
        }
        const nonFinite = out.data.findIndex((v) => !Number.isFinite(v));
        expect(nonFinite, `${k}: first non-finite value at index ${nonFinite}`).toBe(-1);
        const error = relativeError(out.data, ref.data);
        expect(error, `${k}: max |got - ref| / max |ref| = ${error.toExponential(2)}, budget ${budget}`).toBeLessThanOrEqual(budget);
      }
    });

    describe('dispatch validation', () => {
      const upload = (b: Backend, s: readonly number[]): Tensor => b.upload(randomFloat32(1, s).data, s);

      it('rejects a channel mismatch in conv3d with E_SHAPE_MISMATCH', () => {
        const b = under();
        const x = upload(b, [1, 3, 4, 4, 4]);
        const w = upload(b, [2, 4, 3, 3, 3]);
        const geometry = { stride: [1, 1, 1], padding: [1, 1, 1], dilation: [1, 1, 1] } as const;
        expectSdsError(() => ops.conv3d(b, x, w, null, geometry), 'E_SHAPE_MISMATCH');
        [x, w].forEach((t) => b.dispose(t));
      });

      it('refuses grouped convolutions in all three directions with an error that says so', () => {
        const b = under();
        const x = upload(b, [1, 4, 4, 4, 4]);
        const grouped = upload(b, [4, 2, 3, 3, 3]);
        const w = upload(b, [4, 4, 3, 3, 3]);
        const dy = upload(b, [1, 4, 4, 4, 4]);
        const geometry = { stride: [1, 1, 1], padding: [1, 1, 1], dilation: [1, 1, 1] } as const;
        const refused = (run: () => unknown, code: string, message: RegExp): void => {
          expectSdsError(run, code);
          expect(() => run()).toThrow(message);
        };
        refused(() => ops.conv3d(b, x, grouped, null, geometry), 'E_SHAPE_MISMATCH', /groups = 2\? grouped convolutions are not supported/);
        const groups = { ...geometry, groups: 2 };
        const notSupported = /groups: expected 1, found 2: grouped convolutions are not supported/;
        refused(() => ops.conv3d(b, x, w, null, groups), 'E_INVALID_ARGUMENT', notSupported);
        refused(() => ops.conv3dBackwardData(b, dy, grouped, { ...groups, inputSpatial: [4, 4, 4] }), 'E_INVALID_ARGUMENT', notSupported);
        refused(() => ops.conv3dBackwardFilter(b, x, dy, { ...groups, kernel: [3, 3, 3] }), 'E_INVALID_ARGUMENT', notSupported);
        [x, grouped, w, dy].forEach((t) => b.dispose(t));
      });

      it('rejects float labels in diceCeLoss with E_DTYPE_MISMATCH and an empty conv output with E_INVALID_ARGUMENT', () => {
        const b = under();
        const logits = upload(b, [1, 2, 3, 3, 3]);
        const floatLabels = upload(b, [1, 3, 3, 3]);
        expectSdsError(() => ops.diceCeLoss(b, logits, floatLabels, null, { weight: 1, region: 'outside' }), 'E_DTYPE_MISMATCH');
        const w = upload(b, [1, 2, 5, 5, 5]);
        const geometry = { stride: [1, 1, 1], padding: [0, 0, 0], dilation: [1, 1, 1] } as const;
        expectSdsError(() => ops.conv3d(b, logits, w, null, geometry), 'E_INVALID_ARGUMENT');
        [logits, floatLabels, w].forEach((t) => b.dispose(t));
      });

      it('rejects concat of mixed dtypes or shapes, and agreementCrossEntropy labels of another shape, saying what was found', () => {
        const b = under();
        const a = upload(b, [2, 3, 4]);
        const narrower = upload(b, [1, 3, 5]);
        const labels = b.upload(randomLabels(3, [2, 3, 4], 2).data, [2, 3, 4]);
        const refused = (run: () => unknown, code: string, message: RegExp): void => {
          expectSdsError(run, code);
          expect(() => run()).toThrow(message);
        };
        refused(
          () => ops.concat(b, [a, narrower]),
          'E_SHAPE_MISMATCH',
          /concat: xs\[1\]: expected shape \[\*, 3, 4\] like xs\[0\] \[2, 3, 4\], found \[1, 3, 5\]/,
        );
        refused(() => ops.concat(b, [a, labels]), 'E_DTYPE_MISMATCH', /concat: xs\[1\]: expected dtype float32 \(xs\[0\]'s\), found uint8/);
        refused(() => ops.concat(b, []), 'E_INVALID_ARGUMENT', /expected at least one tensor/);
        const logits = upload(b, [1, 2, 3, 3, 3]);
        const wrong = b.upload(randomLabels(4, [1, 3, 3, 2], 2).data, [1, 3, 3, 2]);
        const right = b.upload(randomLabels(5, [1, 3, 3, 3], 2).data, [1, 3, 3, 3]);
        refused(
          () => ops.agreementCrossEntropy(b, logits, right, wrong),
          'E_SHAPE_MISMATCH',
          /agreementCrossEntropy: other: expected shape \[1, 3, 3, 3\], found \[1, 3, 3, 2\]/,
        );
        [a, narrower, labels, logits, wrong, right].forEach((t) => b.dispose(t));
      });

      it('rejects disposed tensors with E_DISPOSED and foreign ones with E_WRONG_BACKEND', () => {
        const b = under();
        const x = upload(b, [1, 2, 3, 3, 3]);
        b.dispose(x);
        expectSdsError(() => ops.relu(b, x), 'E_DISPOSED');
        if (b.name !== reference.name) {
          const foreign = reference.upload(randomLabels(2, [1, 3, 3, 3], 2).data, [1, 3, 3, 3]);
          expectSdsError(() => ops.copy(b, foreign), 'E_WRONG_BACKEND');
          reference.dispose(foreign);
        }
      });
    });
  });
}
