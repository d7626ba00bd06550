// Gather convolution: conv3d forward and conv3dBackwardData (= ConvTranspose3d forward), one
// program over the implicit-GEMM skeleton in conv3d-gemm.wgsl (included before this file).
//
// Columns are output positions q of a grid qD x qH x qW (times the batch); rows k enumerate
// (channel c of the gathered tensor, kernel tap). Along each axis, column q and tap kd read the
// gathered tensor at
//
//     g = q * gs + go + (dOff + kd * dMul) / dDiv
//
// and write the output at q * os + oo. Forward: gather x, gs = stride, go = -padding, delta
// kd * dilation (dOff 0, dMul dilation, dDiv 1), os 1, oo 0. Backward data: one dispatch per
// residue class r of the input position i = q * stride + r (os stride, oo r); gather dy at
// o = q + (r + padding - kd * dilation) / stride (gs 1, go 0), over only the taps kd = fD + t * tD
// for which that division is exact (see conv.ts for the derivation). Then no tap is wasted:
// ConvTranspose3d k2 s2 runs as eight dense GEMMs of K = channels.

fn rowEntry(k: i32) -> RowEntry {
  let taps = params.cD * params.cH * params.cW;
  let c = k / taps;
  let t = k - c * taps;
  let plane = params.cH * params.cW;
  let td = t / plane;
  let th = (t - td * plane) / params.cW;
  let tw = t - td * plane - th * params.cW;
  let kd = params.fD + td * params.tD;
  let kh = params.fH + th * params.tH;
  let kw = params.fW + tw * params.tW;
  let delta = vec3<i32>(
    (params.dOffD + kd * params.dMulD) / params.dDivD,
    (params.dOffH + kh * params.dMulH) / params.dDivH,
    (params.dOffW + kw * params.dMulW) / params.dDivW,
  );
  let gVol = params.gD * params.gH * params.gW;
  return RowEntry(c * params.aChanStride + (kd * params.KH + kh) * params.KW + kw, vec4<i32>(c * gVol, delta));
}

/** (n, q) of column `col`: q = (qd, qh, qw) within the column grid. */
fn columnPosition(col: i32) -> vec4<i32> {
  let qVol = params.qD * params.qH * params.qW;
  let n = col / qVol;
  let q = col - n * qVol;
  let plane = params.qH * params.qW;
  let qd = q / plane;
  let qh = (q - qd * plane) / params.qW;
  let qw = q - qd * plane - qh * params.qW;
  return vec4<i32>(n, qd, qh, qw);
}

fn columnEntry(col: i32) -> vec4<i32> {
  if (col >= params.NCOLS) { return vec4<i32>(0, OUTSIDE, 0, 0); }
  let p = columnPosition(col);
  let g = p.yzw * vec3<i32>(params.gsD, params.gsH, params.gsW) + vec3<i32>(params.goD, params.goH, params.goW);
  return vec4<i32>(p.x * params.gC * params.gD * params.gH * params.gW, g);
}

fn outputBase(col: i32) -> i32 {
  if (col >= params.NCOLS) { return -1; }
  let p = columnPosition(col);
  let o = p.yzw * vec3<i32>(params.osD, params.osH, params.osW) + vec3<i32>(params.ooD, params.ooH, params.ooW);
  let oVol = params.oD * params.oH * params.oW;
  return p.x * params.M * oVol + (o.x * params.oH + o.y) * params.oW + o.z;
}
