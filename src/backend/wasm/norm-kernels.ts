/**
 * The JavaScript half of batch norm on wasm (train, eval, backward, and the fused batch norm -> ReLU
 * pair): each is a few passes over chunks of channel planes (wasm/batch-norm.ts), split across the
 * pool like the convolutions, with a short single-threaded finalize between them that turns the
 * per-chunk sums into per-channel coefficients. Small tensors run every pass on the calling thread
 * (rangeStep).
 */
import { sizeOf } from '../../core/shape.js';
import type { Tensor } from '../../core/tensor.js';
import type { Kernels } from '../../contract/kernels.js';
import { type WasmRuntime, rangeStep } from './runtime.js';
import { newTensor, ptr } from './storage.js';

type NormKernels = Pick<
  Kernels,
  'batchNormTrain' | 'batchNormReluTrain' | 'batchNormEval' | 'batchNormBackward' | 'batchNormReluBackward'
>;

export function wasmNormKernels(rt: WasmRuntime): NormKernels {
  const { k, heap } = rt;
  const layout = (x: Tensor) => {
    const [n, c] = x.shape;
    const inner = sizeOf(x.shape.slice(2));
    return { n, c, inner, units: k.normUnits(n, c, inner), floats: x.size };
  };

  /** Train forward, with the ReLU fused when `relu` is 1. */
  const train =
    (relu: 0 | 1): NormKernels['batchNormTrain'] =>
    (x, gamma, beta, runningMean, runningVar, p) => {
      const { n, c, inner, units, floats } = layout(x);
      const y = newTensor(rt, x.shape);
      const mean = newTensor(rt, [c]);
      const invStd = newTensor(rt, [c]);
      // Two f64 per unit, one f64 mean and four f32 coefficients per channel.
      const partial = heap.alloc(units * 16);
      const mean64 = heap.alloc(c * 8);
      const coef = heap.alloc(c * 16);
      rt.submit(
        rangeStep('normSumRange', units, floats, [ptr(x), partial, inner]),
        { run: () => k.normMeans(partial, mean64, n, c, inner) },
        rangeStep('normSquaresRange', units, floats, [ptr(x), mean64, partial, c, inner]),
        {
          run: () =>
            k.normTrainFinalize(
              partial,
              mean64,
              ptr(gamma),
              ptr(beta),
              ptr(runningMean),
              ptr(runningVar),
              ptr(mean),
              ptr(invStd),
              coef,
              n,
              c,
              inner,
              p.momentum,
              p.eps,
            ),
        },
        rangeStep('normApplyRange', units, floats, [ptr(x), ptr(y), coef, c, inner, relu]),
      );
      rt.release(partial, mean64, coef);
      return { y, mean, invStd };
    };

  /** Gradients; `y` is the fused ReLU's output, or null for plain batch norm. */
  const backward = (dy: Tensor, x: Tensor, y: Tensor | null, gamma: Tensor, mean: Tensor, invStd: Tensor) => {
    const { n, c, inner, units, floats } = layout(x);
    const dx = newTensor(rt, x.shape);
    const dgamma = newTensor(rt, [c]);
    const dbeta = newTensor(rt, [c]);
    const partial = heap.alloc(units * 16);
    const coef = heap.alloc(c * 16);
    const yp = y ? ptr(y) : 0;
    rt.submit(
      rangeStep('normGradSumsRange', units, floats, [ptr(dy), ptr(x), yp, ptr(mean), partial, c, inner]),
      { run: () => k.normBackwardFinalize(partial, ptr(gamma), ptr(mean), ptr(invStd), ptr(dgamma), ptr(dbeta), coef, n, c, inner) },
      rangeStep('normGradApplyRange', units, floats, [ptr(dy), ptr(x), yp, coef, ptr(dx), c, inner]),
    );
    rt.release(partial, coef);
    return { dx, dgamma, dbeta };
  };

  return {
    batchNormTrain: train(0),
    batchNormReluTrain: train(1),
    batchNormEval: (x, gamma, beta, runningMean, runningVar, p) => {
      const { c, inner, units, floats } = layout(x);
      const y = newTensor(rt, x.shape);
      const coef = heap.alloc(c * 16);
      rt.submit(
        { run: () => k.normEvalCoefficients(ptr(gamma), ptr(beta), ptr(runningMean), ptr(runningVar), coef, c, p.eps) },
        rangeStep('normApplyRange', units, floats, [ptr(x), ptr(y), coef, c, inner, 0]),
      );
      rt.release(coef);
      return y;
    },
    batchNormBackward: (dy, x, gamma, mean, invStd) => backward(dy, x, null, gamma, mean, invStd),
    batchNormReluBackward: (dy, x, y, gamma, mean, invStd) => backward(dy, x, y, gamma, mean, invStd),
  };
}
