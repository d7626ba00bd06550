import type { Backend } from '../backend/backend.js';
import { SdsError } from '../core/errors.js';
import type { Tensor } from '../core/tensor.js';
import { expectShape } from '../core/shape.js';
import { convInputIndex, convOutputSpatial, expectConvParams, spatialOf, transposedTap } from './conv-geometry.js';
import { type Dense, type FloatArray, Layout5, at, put, zerosLike } from './dense.js';
import type { Conv3dBackwardDataParams, Conv3dBackwardFilterParams } from '../contract/params.js';
import { expectImage, expectTensorsOn, expectVec3 } from './validate.js';

/**
 * dx = d(sum y*dy)/dx for y = conv3d(x, w): dy [N, Co, oD, oH, oW], w [Co, Ci, k...] -> [N, Ci, inputSpatial].
 * Also ConvTranspose3d's forward: its weight [Cin_t, Cout_t, k...] is read as w [Co, Ci, k...].
 */
export function conv3dBackwardData(backend: Backend, dy: Tensor, w: Tensor, p: Conv3dBackwardDataParams): Tensor {
  expectTensorsOn(backend, 'conv3dBackwardData', { dy, w });
  expectImage('conv3dBackwardData: dy', dy);
  expectImage('conv3dBackwardData: w', w);
  expectConvParams('conv3dBackwardData', p);
  expectVec3('conv3dBackwardData: inputSpatial', p.inputSpatial, 1);
  if (dy.shape[1] !== w.shape[0]) {
    throw new SdsError('E_SHAPE_MISMATCH', `conv3dBackwardData: w [Co, Ci, k...] has Co = ${w.shape[0]}, dy has ${dy.shape[1]} channels`);
  }
  const out = convOutputSpatial('conv3dBackwardData', p.inputSpatial, spatialOf(w.shape), p);
  expectShape('conv3dBackwardData: dy (the conv output for inputSpatial)', dy.shape, [dy.shape[0], dy.shape[1], ...out]);
  return backend.kernels.conv3dBackwardData(dy, w, p);
}

/** dw = d(sum y*dy)/dw for y = conv3d(x, w): x [N, Ci, ...], dy [N, Co, ...] -> [Co, Ci, kernel]. */
export function conv3dBackwardFilter(backend: Backend, x: Tensor, dy: Tensor, p: Conv3dBackwardFilterParams): Tensor {
  expectTensorsOn(backend, 'conv3dBackwardFilter', { x, dy });
  expectImage('conv3dBackwardFilter: x', x);
  expectImage('conv3dBackwardFilter: dy', dy);
  expectConvParams('conv3dBackwardFilter', p);
  expectVec3('conv3dBackwardFilter: kernel', p.kernel, 1);
  const out = convOutputSpatial('conv3dBackwardFilter', spatialOf(x.shape), p.kernel, p);
  expectShape('conv3dBackwardFilter: dy (the conv output of x)', dy.shape, [x.shape[0], dy.shape[1], ...out]);
  return backend.kernels.conv3dBackwardFilter(x, dy, p);
}

/** Gather form of the transposed convolution; the index algebra is derived at transposedTap. */
export function conv3dBackwardDataReference<F extends FloatArray>(dy: Dense<F>, w: Dense<F>, p: Conv3dBackwardDataParams): Dense<F> {
  const yl = new Layout5(dy.shape);
  const wl = new Layout5(w.shape);
  const dx = zerosLike(dy.data, [yl.n, wl.c, ...p.inputSpatial]);
  const wFilterSize = wl.c * wl.spatialSize;
  const xl = new Layout5(dx.shape);
  const [sd, sh, sw] = p.stride;
  const [pd, ph, pw] = p.padding;
  const [dd, dh, dw] = p.dilation;
  for (let n = 0; n < xl.n; n++)
    for (let ci = 0; ci < xl.c; ci++)
      for (let id = 0; id < xl.d; id++)
        for (let ih = 0; ih < xl.h; ih++)
          for (let iw = 0; iw < xl.w; iw++) {
            let acc = 0;
            for (let kd = 0; kd < wl.d; kd++) {
              const a = transposedTap(id, kd, sd, pd, dd, yl.d);
              if (a < 0) continue;
              for (let kh = 0; kh < wl.h; kh++) {
                const b = transposedTap(ih, kh, sh, ph, dh, yl.h);
                if (b < 0) continue;
                for (let kw = 0; kw < wl.w; kw++) {
                  const c = transposedTap(iw, kw, sw, pw, dw, yl.w);
                  if (c < 0) continue;
                  // co steps over whole [Ci, k...] filters in w and whole volumes in dy; the taps are checked once.
                  const wTap = wl.offset(0, ci, kd, kh, kw);
                  const yTap = yl.offset(n, 0, a, b, c);
                  for (let co = 0; co < yl.c; co++) acc += at(w.data, wTap + co * wFilterSize) * at(dy.data, yTap + co * yl.spatialSize);
                }
              }
            }
            put(dx.data, xl.offset(n, ci, id, ih, iw), acc);
          }
  return dx;
}

/** dw[co, ci, k] = sum over n and output positions o of dy[n, co, o] * x[n, ci, o*s - p + k*dil]. */
export function conv3dBackwardFilterReference<F extends FloatArray>(x: Dense<F>, dy: Dense<F>, p: Conv3dBackwardFilterParams): Dense<F> {
  const xl = new Layout5(x.shape);
  const yl = new Layout5(dy.shape);
  const dwt = zerosLike(x.data, [yl.c, xl.c, ...p.kernel]);
  const wl = new Layout5(dwt.shape);
  const [sd, sh, sw] = p.stride;
  const [pd, ph, pw] = p.padding;
  const [dd, dh, dw] = p.dilation;
  for (let co = 0; co < wl.n; co++)
    for (let ci = 0; ci < wl.c; ci++)
      for (let kd = 0; kd < wl.d; kd++)
        for (let kh = 0; kh < wl.h; kh++)
          for (let kw = 0; kw < wl.w; kw++) {
            let acc = 0;
            for (let n = 0; n < xl.n; n++)
              for (let a = 0; a < yl.d; a++) {
                const id = convInputIndex(a, kd, sd, pd, dd);
                if (id < 0 || id >= xl.d) continue;
                for (let b = 0; b < yl.h; b++) {
                  const ih = convInputIndex(b, kh, sh, ph, dh);
                  if (ih < 0 || ih >= xl.h) continue;
                  // Rows are range-checked per coordinate once; the column stays in range by the test below.
                  const yRow = yl.offset(n, co, a, b, 0);
                  const xRow = xl.offset(n, ci, id, ih, 0);
                  for (let c = 0; c < yl.w; c++) {
                    const iw = convInputIndex(c, kw, sw, pw, dw);
                    if (iw < 0 || iw >= xl.w) continue;
                    acc += at(dy.data, yRow + c) * at(x.data, xRow + iw);
                  }
                }
              }
            put(dwt.data, wl.offset(co, ci, kd, kh, kw), acc);
          }
  return dwt;
}
