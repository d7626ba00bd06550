// dw = conv3dBackwardFilter(x, dy) over the implicit-GEMM skeleton in conv3d-gemm.wgsl (included
// before this file): M = Co, columns = (ci, kd, kh, kw) in PyTorch weight order, and the long
// reduction K = (n, od, oh, ow) runs over every output voxel of the batch, split across workgroups
// (z) and summed by conv3d-split-reduce.wgsl in a fixed order.
//
//   dw[co, ci, kd, kh, kw] = sum over (n, o) of dy[n, co, o] * x[n, ci, o * stride - padding + k * dilation]
//
// Rows carry the batch offset and o * stride - padding, columns the channel offset and
// k * dilation; the skeleton adds the two and gathers x.

fn rowEntry(k: i32) -> RowEntry {
  let oVol = params.oD * params.oH * params.oW;
  let n = k / oVol;
  let s = k - n * oVol;
  let plane = params.oH * params.oW;
  let od = s / plane;
  let oh = (s - od * plane) / params.oW;
  let ow = s - od * plane - oh * params.oW;
  let corner = vec3<i32>(od, oh, ow) * vec3<i32>(params.sD, params.sH, params.sW) - vec3<i32>(params.pD, params.pH, params.pW);
  let xVol = params.gD * params.gH * params.gW;
  return RowEntry(n * params.M * oVol + s, vec4<i32>(n * params.gC * xVol, corner));
}

fn columnEntry(col: i32) -> vec4<i32> {
  if (col >= params.NCOLS) { return vec4<i32>(0, OUTSIDE, 0, 0); }
  let kVol = params.KD * params.KH * params.KW;
  let ci = col / kVol;
  let t = col - ci * kVol;
  let plane = params.KH * params.KW;
  let kd = t / plane;
  let kh = (t - kd * plane) / params.KW;
  let kw = t - kd * plane - kh * params.KW;
  let tap = vec3<i32>(kd, kh, kw) * vec3<i32>(params.dilD, params.dilH, params.dilW);
  return vec4<i32>(ci * params.gD * params.gH * params.gW, tap);
}

fn outputBase(col: i32) -> i32 {
  return select(-1, col, col < params.NCOLS);
}
