import type { Backend } from '../backend/backend.js';
import { SdsError } from '../core/errors.js';
import type { Tensor } from '../core/tensor.js';
import { expectRank } from '../core/shape.js';
import { convInputIndex, convOutputSpatial, expectConvParams, spatialOf } from './conv-geometry.js';
import { type Dense, type FloatArray, Layout5, at, put, zerosLike } from './dense.js';
import type { Conv3dParams } from '../contract/params.js';
import { expectChannelVector, expectImage, expectTensorsOn } from './validate.js';

/** y = conv3d(x, w) + bias: x [N, Ci, D, H, W], w [Co, Ci, kD, kH, kW], bias [Co] or null (PyTorch Conv3d). */
export function conv3d(backend: Backend, x: Tensor, w: Tensor, bias: Tensor | null, p: Conv3dParams): Tensor {
  expectTensorsOn(backend, 'conv3d', { x, w, bias });
  expectImage('conv3d: x', x);
  expectImage('conv3d: w', w);
  expectConvParams('conv3d', p);
  if (x.shape[1] !== w.shape[1]) {
    const groups = x.shape[1] / w.shape[1];
    // A weight of Ci / g input channels is a grouped convolution's: say so rather than "wrong channel count".
    const grouped =
      Number.isInteger(groups) && groups > 1 && w.shape[0] % groups === 0
        ? ` (a grouped weight, groups = ${groups}? grouped convolutions are not supported)`
        : '';
    throw new SdsError(
      'E_SHAPE_MISMATCH',
      `conv3d: w [Co, Ci, k...] expects Ci = ${w.shape[1]} input channels, x has ${x.shape[1]}${grouped}`,
    );
  }
  if (bias !== null) expectChannelVector('conv3d: bias', bias, w.shape[0]);
  convOutputSpatial('conv3d', spatialOf(x.shape), spatialOf(w.shape), p);
  return backend.kernels.conv3d(x, w, bias, p);
}

export function conv3dReference<F extends FloatArray>(x: Dense<F>, w: Dense<F>, bias: Dense<F> | null, p: Conv3dParams): Dense<F> {
  expectRank('conv3dReference: x', x.shape, 5);
  const xl = new Layout5(x.shape);
  const wl = new Layout5(w.shape);
  const [od, oh, ow] = convOutputSpatial('conv3dReference', spatialOf(x.shape), spatialOf(w.shape), p);
  const y = zerosLike(x.data, [xl.n, wl.n, od, oh, ow]);
  const yl = new Layout5(y.shape);
  const [sd, sh, sw] = p.stride;
  const [pd, ph, pw] = p.padding;
  const [dd, dh, dw] = p.dilation;
  for (let n = 0; n < yl.n; n++)
    for (let co = 0; co < yl.c; co++)
      for (let a = 0; a < od; a++)
        for (let b = 0; b < oh; b++)
          for (let c = 0; c < ow; c++) {
            let acc = bias === null ? 0 : at(bias.data, co);
            for (let ci = 0; ci < xl.c; ci++)
              for (let kd = 0; kd < wl.d; kd++) {
                const id = convInputIndex(a, kd, sd, pd, dd);
                if (id < 0 || id >= xl.d) continue;
                for (let kh = 0; kh < wl.h; kh++) {
                  const ih = convInputIndex(b, kh, sh, ph, dh);
                  if (ih < 0 || ih >= xl.h) continue;
                  // Rows are range-checked per coordinate once; the column stays in range by the test below.
                  const wRow = wl.offset(co, ci, kd, kh, 0);
                  const xRow = xl.offset(n, ci, id, ih, 0);
                  for (let kw = 0; kw < wl.w; kw++) {
                    const iw = convInputIndex(c, kw, sw, pw, dw);
                    if (iw < 0 || iw >= xl.w) continue;
                    acc += at(w.data, wRow + kw) * at(x.data, xRow + iw);
                  }
                }
              }
            put(y.data, yl.offset(n, co, a, b, c), acc);
          }
  return y;
}
