import type { Kernels } from '../../../contract/kernels.js';
import type { WebGpuContext } from '../context.js';
import { makeBatchNormKernels } from './batch-norm.js';
import { makeConvKernels } from './conv.js';
import { makeElementwiseKernels } from './elementwise.js';
import { makeGeometryKernels } from './spatial.js';
import { makeLossKernels } from './losses.js';
import { makeOptimKernels } from './optimizer.js';
import { makeReduceKernels } from './reduce.js';
import { makeSoftmaxKernels } from './softmax.js';

/** The WebGPU kernel table; `Kernels` makes a missing entry a type error. */
export function makeWebGpuKernels(ctx: WebGpuContext): Kernels {
  return {
    ...makeConvKernels(ctx),
    ...makeElementwiseKernels(ctx),
    ...makeReduceKernels(ctx),
    ...makeBatchNormKernels(ctx),
    ...makeSoftmaxKernels(ctx),
    ...makeLossKernels(ctx),
    ...makeOptimKernels(ctx),
    ...makeGeometryKernels(ctx),
  };
}
