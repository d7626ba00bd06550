/**
 * The golden suite: every backend's ops, through the dispatch layer, against PyTorch/numpy values from
 * scripts/make-golden.py. Each backend's test file calls `describeGolden(name, makeBackend)`; the
 * fixtures are float64, the backends compute in float32, so the tolerances below are float32 error
 * budgets, not fudge factors (the reference backend, accumulating in float64, lands around 1e-7).
 */
import { afterAll, beforeAll, describe } from 'vitest';
import type { Backend } from '../../src/backend/backend.js';
import { describeGoldenConvolution } from './golden-cases-conv.js';
import { describeGoldenDataOps } from './golden-cases-data.js';
import { describeGoldenTraining } from './golden-cases-train.js';

export interface GoldenTolerances {
  /** conv3d, conv3dBackwardData, conv3dBackwardFilter, transposed conv, channelSum: error vs max |expected|. */
  readonly conv: number;
  /** batchNormTrain/Eval/Backward outputs and running statistics. */
  readonly batchNorm: number;
  /** diceCeLoss and disagreementMse: the loss value and d loss / d logits. */
  readonly loss: number;
  /** softmax, relu, reluBackward, cutMix of images. */
  readonly elementwise: number;
  /** sgdStep, laEmaAlpha, emaUpdate. */
  readonly optimizer: number;
}

export const DEFAULT_GOLDEN_TOLERANCES: GoldenTolerances = {
  conv: 1e-4,
  batchNorm: 1e-5,
  loss: 1e-5,
  elementwise: 1e-6,
  optimizer: 1e-6,
};

/** What each section of the suite needs: the backend (created in beforeAll) and the tolerances. */
export interface GoldenContext {
  readonly backend: () => Backend;
  readonly tolerance: GoldenTolerances;
}

export function describeGolden(name: string, makeBackend: () => Promise<Backend>, tolerance: Partial<GoldenTolerances> = {}): void {
  describe(`golden (PyTorch) on ${name}`, () => {
    let backend: Backend | undefined;
    beforeAll(async () => {
      backend = await makeBackend();
    });
    afterAll(() => backend?.destroy());
    const ctx: GoldenContext = {
      backend: () => {
        if (!backend) throw new Error(`golden: backend '${name}' was not created (see the beforeAll error)`);
        return backend;
      },
      tolerance: { ...DEFAULT_GOLDEN_TOLERANCES, ...tolerance },
    };
    describeGoldenConvolution(ctx);
    describeGoldenTraining(ctx);
    describeGoldenDataOps(ctx);
  });
}
