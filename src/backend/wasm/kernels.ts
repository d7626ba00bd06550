/**
 * The wasm kernel table. Each kernel allocates its outputs now (so it can return handles at once)
 * and submits the steps that fill them; see runtime.ts for when those run and why scratch is freed as
 * soon as its last step is submitted. Validation happened in ops/: nothing here checks shapes.
 */
import type { Shape } from '../../core/shape.js';
import { concatShape, sizeOf } from '../../core/shape.js';
import type { Tensor } from '../../core/tensor.js';
import type { Kernels } from '../../contract/kernels.js';
import type { SpatialAxis } from '../../contract/params.js';
import { conv3dBackwardDataWasm, conv3dBackwardFilterWasm, conv3dWasm } from './conv-kernels.js';
import { wasmNormKernels } from './norm-kernels.js';
import type { SplitKernelName } from './exports.js';
import { type WasmRuntime, rangeStep } from './runtime.js';
import { bytesPerElement, newTensor, ptr } from './storage.js';

/** [N, C, inner] view of an NC... tensor. */
const channels = (t: Tensor): [number, number, number] => [t.shape[0], t.shape[1], sizeOf(t.shape.slice(2))];
const labelBytes = (t: Tensor): number => bytesPerElement(t.dtype);

/** Signed element strides of the D, H, W axes in the input, and the offset of output voxel (0, 0, 0). */
interface Gather {
  outSpatial: [number, number, number];
  base: number;
  coeff: [number, number, number];
}

function spatialGather(shape: Shape, mapTo: (inSize: number[], stride: number[], g: Gather) => void): Gather {
  const size = shape.slice(-3);
  const stride = [size[1] * size[2], size[2], 1];
  const g: Gather = { outSpatial: [size[0], size[1], size[2]], base: 0, coeff: [stride[0], stride[1], stride[2]] };
  mapTo(size, stride, g);
  return g;
}

/** Flip: output i on a flipped axis reads size - 1 - i. */
const flipGather = (shape: Shape, axes: readonly SpatialAxis[]): Gather =>
  spatialGather(shape, (size, stride, g) => {
    for (const a of new Set(axes)) {
      g.coeff[a] = -stride[a];
      g.base += (size[a] - 1) * stride[a];
    }
  });

/** numpy.rot90, the source voxels of src/ops/spatial.ts's rot90Reference as strides (P, Q: sizes on a0, a1). */
const rot90Gather = (shape: Shape, k: number, [a0, a1]: readonly [SpatialAxis, SpatialAxis]): Gather =>
  spatialGather(shape, (size, stride, g) => {
    const turns = ((k % 4) + 4) % 4;
    const [P, Q] = [size[a0], size[a1]];
    if (turns === 1) {
      // source (a0, a1) = (o[a1], Q - 1 - o[a0])
      g.coeff[a1] = stride[a0];
      g.coeff[a0] = -stride[a1];
      g.base = (Q - 1) * stride[a1];
    } else if (turns === 2) {
      g.coeff[a0] = -stride[a0];
      g.coeff[a1] = -stride[a1];
      g.base = (P - 1) * stride[a0] + (Q - 1) * stride[a1];
    } else if (turns === 3) {
      // source (a0, a1) = (P - 1 - o[a1], o[a0])
      g.coeff[a1] = -stride[a0];
      g.coeff[a0] = stride[a1];
      g.base = (P - 1) * stride[a0];
    }
    if (turns % 2 === 1) [g.outSpatial[a0], g.outSpatial[a1]] = [Q, P];
  });

function gather(rt: WasmRuntime, x: Tensor, g: Gather): Tensor {
  const lead = x.shape.slice(0, -3);
  const y = newTensor(rt, [...lead, ...g.outSpatial], x.dtype);
  const outer = sizeOf(lead);
  const planeIn = sizeOf(x.shape.slice(-3));
  const [s0, s1, s2] = g.coeff;
  rt.submit({
    run: () => rt.k.gatherSpatial(ptr(x), ptr(y), bytesPerElement(x.dtype), outer, planeIn, ...g.outSpatial, g.base, s0, s1, s2),
  });
  return y;
}

/** Copies `bytes` bytes inside the memory when the step runs (the buffer may have grown by then). */
function copyStep(rt: WasmRuntime, dst: number, src: number, bytes: number): void {
  rt.submit({ run: () => new Uint8Array(rt.memory.buffer).copyWithin(dst, src, src + bytes) });
}

const bytesOf = (t: Tensor): number => t.size * bytesPerElement(t.dtype);

export function wasmKernels(rt: WasmRuntime): Kernels {
  const { k } = rt;
  const unary = (x: Tensor, body: (y: Tensor) => void, shape: Shape = x.shape): Tensor => {
    const y = newTensor(rt, shape);
    rt.submit({ run: () => body(y) });
    return y;
  };
  const scratch = (bytes: number): number => rt.heap.alloc(bytes);
  /** y = fn(...args(y), x.size) over chunks of x, shared by the pool for big tensors. */
  const elementwise = (x: Tensor, fn: SplitKernelName, args: (y: Tensor) => number[]): Tensor => {
    const y = newTensor(rt, x.shape);
    rt.submit(rangeStep(fn, k.elementUnits(x.size), x.size, [...args(y), x.size]));
    return y;
  };
  /** addChannelBias (multiply 0: v per channel) and channelScale (multiply 1: v per (n, c)), per plane. */
  const perPlane = (x: Tensor, v: Tensor, multiply: 0 | 1): Tensor => {
    const [n, c, inner] = channels(x);
    const y = newTensor(rt, x.shape);
    rt.submit(rangeStep('channelAffineRange', n * c, x.size, [ptr(x), ptr(v), ptr(y), c, inner, multiply]));
    return y;
  };

  return {
    conv3d: (x, w, bias, p) => conv3dWasm(rt, x, w, bias, p),
    conv3dBackwardData: (dy, w, p) => conv3dBackwardDataWasm(rt, dy, w, p),
    conv3dBackwardFilter: (x, dy, p) => conv3dBackwardFilterWasm(rt, x, dy, p),
    channelSum: (x) => {
      const [n, c, inner] = channels(x);
      const y = newTensor(rt, [c]);
      const partial = scratch(n * c * 8);
      rt.submit(rangeStep('planeSumsRange', n * c, x.size, [ptr(x), partial, inner]), {
        run: () => k.channelSumFinalize(partial, ptr(y), n, c),
      });
      rt.release(partial);
      return y;
    },
    addChannelBias: (x, b) => perPlane(x, b, 0),
    ...wasmNormKernels(rt),
    relu: (x) => elementwise(x, 'reluRange', (y) => [ptr(x), ptr(y)]),
    reluBackward: (dy, y) => elementwise(dy, 'reluBackwardRange', (dx) => [ptr(dy), ptr(y), ptr(dx)]),
    dropoutMask: (n, c, p) => {
      const y = newTensor(rt, [n, c]);
      rt.submit({ run: () => k.dropoutMaskF32(ptr(y), n * c, p.p, p.seed >>> 0) });
      return y;
    },
    channelScale: (x, s) => perPlane(x, s, 1),
    add: (a, b) => elementwise(a, 'addRange', (y) => [ptr(a), ptr(b), ptr(y)]),
    scale: (x, a) => unary(x, (y) => k.scaleF32(ptr(x), ptr(y), x.size, a)),
    softmax: (x) => {
      const probs = scratch(x.shape[1] * 8);
      const y = unary(x, (out) => k.softmaxF32(ptr(x), ptr(out), ...channels(x), probs));
      rt.release(probs);
      return y;
    },
    argmax: (x) => {
      const y = newTensor(rt, [x.shape[0], ...x.shape.slice(2)], 'uint8');
      rt.submit({ run: () => k.argmaxU8(ptr(x), ptr(y), ...channels(x)) });
      return y;
    },
    confidentArgmax: (x, threshold) => {
      const y = newTensor(rt, [x.shape[0], ...x.shape.slice(2)], 'uint8');
      rt.submit({ run: () => k.confidentArgmaxU8(ptr(x), ptr(y), ...channels(x), threshold) });
      return y;
    },
    diceCeLoss: (logits, labels, mask, p) => {
      const [n, c, s] = channels(logits);
      const loss = newTensor(rt, []);
      const grad = newTensor(rt, logits.shape);
      const units = k.diceCeUnits(n, s);
      const partial = scratch(k.diceCePartialBytes(n, c, s));
      const stats = scratch((2 * n * c + 1) * 8);
      // Per thread: softmax probabilities and the Dice derivatives of one voxel.
      const probs = Array.from({ length: rt.threads }, () => scratch(c * 16));
      const common = [ptr(logits), ptr(labels), labelBytes(labels), mask ? ptr(mask) : 0, p.region === 'outside' ? 1 : 0];
      rt.submit(
        { split: { fn: 'diceCePartialsRange', units, args: (thread) => [...common, partial, c, s, probs[thread]] } },
        { run: () => k.diceCeFinalize(partial, stats, ptr(loss), n, c, s, p.weight) },
        {
          split: {
            fn: 'diceCeGradRange',
            units,
            args: (thread) => [...common, ptr(grad), stats, n, c, s, p.weight, probs[thread]],
          },
        },
      );
      rt.release(partial, stats, ...probs);
      return { loss, grad };
    },
    disagreementMse: (logits, other, target, mask, p) => {
      const [n, c, s] = channels(logits);
      const loss = newTensor(rt, []);
      const grad = newTensor(rt, logits.shape);
      const probs = scratch(c * 8);
      rt.submit({
        run: () =>
          k.disagreementMseF32(
            ptr(logits),
            ptr(other),
            ptr(target),
            labelBytes(target),
            ptr(mask),
            ptr(loss),
            ptr(grad),
            n,
            c,
            s,
            p.weightOutside,
            p.weightInside,
            probs,
          ),
      });
      rt.release(probs);
      return { loss, grad };
    },
    agreementCrossEntropy: (logits, target, other) => {
      const [n, c, s] = channels(logits);
      return unary(
        logits,
        (y) => k.agreementCeF32(ptr(logits), ptr(target), labelBytes(target), ptr(other), labelBytes(other), ptr(y), n, c, s),
        [],
      );
    },
    sgdStep: (param, grad, momentumBuffer, p) =>
      rt.submit(
        rangeStep('sgdStepRange', k.elementUnits(param.size), param.size, [
          ptr(param),
          ptr(grad),
          ptr(momentumBuffer),
          param.size,
          p.lr,
          p.momentum,
          p.weightDecay,
        ]),
      ),
    laEmaAlpha: (loss, p) => unary(loss, (y) => k.laEmaAlphaF32(ptr(loss), ptr(y), p.t, p.temperature, p.floor), []),
    emaUpdate: (target, source, alpha) =>
      rt.submit(
        rangeStep('emaUpdateRange', k.elementUnits(target.size), target.size, [ptr(target), ptr(source), ptr(alpha), target.size]),
      ),
    cubeMask: (spatial, cube) => {
      const y = newTensor(rt, spatial, 'uint8');
      rt.submit({ run: () => k.cubeMask(ptr(y), ...spatial, ...cube.start, ...cube.size) });
      return y;
    },
    cutMix: (a, b, mask) => {
      const y = newTensor(rt, a.shape, a.dtype);
      rt.submit({ run: () => k.cutMix(ptr(a), ptr(b), ptr(mask), ptr(y), a.size, mask.size, bytesPerElement(a.dtype)) });
      return y;
    },
    flip: (x, axes) => gather(rt, x, flipGather(x.shape, axes)),
    rot90: (x, turns, axes) => gather(rt, x, rot90Gather(x.shape, turns, axes)),
    sum: (x) => unary(x, (y) => k.reduceF32(ptr(x), ptr(y), x.size, 0), []),
    mean: (x) => unary(x, (y) => k.reduceF32(ptr(x), ptr(y), x.size, 1), []),
    copy: (x) => {
      const y = newTensor(rt, x.shape, x.dtype);
      copyStep(rt, ptr(y), ptr(x), bytesOf(x));
      return y;
    },
    concat: (xs) => {
      const y = newTensor(
        rt,
        concatShape(xs.map((x) => x.shape)),
        xs[0].dtype,
      );
      let offset = 0;
      for (const x of xs) {
        copyStep(rt, ptr(y) + offset, ptr(x), bytesOf(x));
        offset += bytesOf(x);
      }
      return y;
    },
    assign: (dst, src) => copyStep(rt, ptr(dst), ptr(src), bytesOf(dst)),
  };
}
