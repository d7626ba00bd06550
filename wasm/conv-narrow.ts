// The forward for narrow rows: output rows shorter than the 8-wide register tile (the V-Net's coarse
// levels, 4 and 2 voxels wide at hippocampus scale, its k3 convolutions and the k2 s2 down-convolutions
// into them) left half or three quarters of every tile empty, at 6-14 GFLOP/s on 2 threads against
// 27 on the fine levels (bench:vnet profile and isolated calls, 2026-12-06, machine loaded). Here a
// tile covers 8 consecutive outputs of a whole (oh, ow) plane instead of one row. That needs, for each
// (kh, kw) shift s, a copy of the input in which the values a tap reads for consecutive plane positions
// are contiguous: X[n][z][s][ci][oh Wo + ow] = x[n][ci][z - pD][oh sH + kh dH - pH][ow sW + kw dW - pW]
// (zero outside x), with z over the D-padded planes. kH kW copies of small tensors cost little next to
// the convolution they make dense. The tile, the weights (packWeightsForwardRange) and the bias are
// the forward's own; as the weights are tap-major ([T][Ci][4] per block), (s, ci) is one contiguous
// reduction of kH kW Ci steps for each kd, which also serves inputs of 1-3 channels (the V-Net's
// first convolution), where one tap per channel left the tile's reduction loop 1-3 steps long.
import {
  G_CI, G_CO, G_D, G_DD, G_DH, G_DO, G_DW, G_H, G_HO, G_KD, G_KH, G_KW, G_N, G_PD, G_PH, G_PW, G_SD, G_SH, G_SW,
  G_W, G_WO, SLACK_FLOATS, blocksOf4, geo,
} from './conv-geometry';
import { tileRow } from './conv-tile';

/**
 * Largest input of one output plane (kD padded planes of the copies) for tiling planes: every block
 * of output channels re-reads it, so it must stay in L2. Larger planes keep the row tiles, whose
 * input is a few rows.
 */
const MAX_PLANE_INPUT_BYTES: usize = 512 << 10;

// @ts-ignore: decorator
@inline
function planeFloats(g: usize): i32 {
  return geo(g, G_HO) * geo(g, G_WO);
}

// @ts-ignore: decorator
@inline
function paddedDepth(g: usize): i32 {
  return geo(g, G_D) + 2 * geo(g, G_PD);
}

// @ts-ignore: decorator
@inline
function shifts(g: usize): i32 {
  return geo(g, G_KH) * geo(g, G_KW);
}

/** Floats of one padded plane z of one sample: [kH kW][Ci][Ho Wo]. */
// @ts-ignore: decorator
@inline
function zFloats(g: usize): usize {
  return <usize>(shifts(g) * geo(g, G_CI)) * <usize>planeFloats(g);
}

export function shiftedInputBytes(g: usize): usize {
  return (<usize>(geo(g, G_N) * paddedDepth(g)) * zFloats(g) + SLACK_FLOATS) << 2;
}

/** Outputs computed per stored output by 8-wide tiles over `count` outputs (1 = every lane used). */
// @ts-ignore: decorator
@inline
function tileWaste(count: i32): f64 {
  return <f64>(((count + 7) >> 3) << 3) / <f64>count;
}

/**
 * Whether the forward tiles whole planes (conv3dForwardPlanesRange) rather than rows: when that
 * fills the tiles better, or the input has under 4 channels, and a plane's input stays in L2.
 */
export function forwardTilesPlanes(g: usize): bool {
  const better = tileWaste(planeFloats(g)) < tileWaste(geo(g, G_WO)) || geo(g, G_CI) < 4;
  return better && (<usize>geo(g, G_KD) * zFloats(g)) << 2 <= MAX_PLANE_INPUT_BYTES;
}

/** Units of packShiftedInputRange: (n, padded plane, shift). */
export function shiftedInputUnits(g: usize): i32 {
  return geo(g, G_N) * paddedDepth(g) * shifts(g);
}

/** x -> the shifted copies, units [begin, end) of shiftedInputUnits; the last also zeroes the slack. */
export function packShiftedInputRange(g: usize, x: usize, dst: usize, begin: i32, end: i32): void {
  const ci = geo(g, G_CI), d = geo(g, G_D), h = geo(g, G_H), w = geo(g, G_W);
  const hOut = geo(g, G_HO), wOut = geo(g, G_WO), kw = geo(g, G_KW), dp = paddedDepth(g), ns = shifts(g);
  const sh = geo(g, G_SH), sw = geo(g, G_SW), plane = planeFloats(g);
  const setBytes = <usize>(ci * plane) << 2;
  for (let u = begin; u < end; u++) {
    const to = dst + <usize>u * setBytes;
    const shift = u % ns, rest = u / ns;
    const z = rest % dp - geo(g, G_PD), b = rest / dp;
    if (z < 0 || z >= d) {
      memory.fill(to, 0, setBytes);
      continue;
    }
    const y0 = (shift / kw) * geo(g, G_DH) - geo(g, G_PH), c0 = (shift % kw) * geo(g, G_DW) - geo(g, G_PW);
    // Output columns [lo, hi) read inside x (col = ow sW + c0 in [0, W)); the rest are zero.
    const lo = c0 >= 0 ? 0 : min(wOut, (sw - 1 - c0) / sw);
    const hi = max(lo, min(wOut, w - 1 - c0 >= 0 ? (w - 1 - c0) / sw + 1 : 0));
    for (let c = 0; c < ci; c++) {
      const from = x + ((<usize>((b * ci + c) * d + z) * <usize>(h * w)) << 2);
      let o = to + (<usize>(c * plane) << 2);
      for (let oh = 0; oh < hOut; oh++, o += <usize>wOut << 2) {
        const y = oh * sh + y0;
        if (y < 0 || y >= h) {
          memory.fill(o, 0, <usize>wOut << 2);
          continue;
        }
        const row = from + (<usize>(y * w) << 2);
        if (lo > 0) memory.fill(o, 0, <usize>lo << 2);
        if (sw == 1) {
          if (hi > lo) memory.copy(o + (<usize>lo << 2), row + (<usize>(lo + c0) << 2), <usize>(hi - lo) << 2);
        } else {
          for (let ow = lo; ow < hi; ow++) store<f32>(o + (<usize>ow << 2), load<f32>(row + (<usize>(ow * sw + c0) << 2)));
        }
        if (hi < wOut) memory.fill(o + (<usize>hi << 2), 0, <usize>(wOut - hi) << 2);
      }
    }
  }
  if (end == shiftedInputUnits(g)) memory.fill(dst + <usize>end * setBytes, 0, SLACK_FLOATS << 2);
}

/**
 * One tap per kd: (byte offset into the shifted copies from a unit's first plane, byte offset of the
 * weights of taps (kd, 0, 0) ..), each reducing over the kH kW Ci values of (s, ci). Returns kD.
 */
export function buildShiftedTaps(g: usize, taps: usize): i32 {
  const kd = geo(g, G_KD), rowTaps = shifts(g) * geo(g, G_CI), zStep = <usize>geo(g, G_DD) * zFloats(g);
  for (let a = 0; a < kd; a++) {
    store<i32>(taps + (<usize>a << 3), <i32>((<usize>a * zStep) << 2));
    store<i32>(taps + (<usize>a << 3) + 4, (a * rowTaps) << 4);
  }
  return kd;
}

/** Units of conv3dForwardPlanesRange: (n, od, output-channel block). */
export function conv3dForwardPlaneUnits(g: usize): i32 {
  return geo(g, G_N) * geo(g, G_DO) * blocksOf4(geo(g, G_CO));
}

/**
 * y = conv(x, w) + bias over units (n, od, block), the block fastest so consecutive units share their
 * input planes; each unit covers the Ho Wo outputs of one plane with 8-wide tiles. `input`: the shifted
 * copies; `taps`: buildShiftedTaps's kD entries. Weights of every block fit the caches at the coarse
 * levels this serves, so there is no block grouping as in conv3dForwardRange.
 */
export function conv3dForwardPlanesRange(
  g: usize, input: usize, wf: usize, bias: usize, taps: usize, y: usize, begin: i32, end: i32,
): void {
  const ci = geo(g, G_CI), co = geo(g, G_CO), dOut = geo(g, G_DO), sd = geo(g, G_SD), dp = paddedDepth(g);
  const plane = planeFloats(g), blocks = blocksOf4(co), reduce = shifts(g) * ci, kd = geo(g, G_KD);
  const blockBytes = <usize>(kd * reduce) << 4, srcStrideA = <usize>plane << 2, outStrideC = <usize>(dOut * plane) << 2;
  for (let u = begin; u < end; u++) {
    const b = u % blocks, rest = u / blocks;
    const od = rest % dOut, n = rest / dOut;
    const src = input + ((<usize>(n * dp + od * sd) * zFloats(g)) << 2);
    const out = y + ((<usize>((n * co + b * 4) * dOut + od) * <usize>plane) << 2);
    tileRow(src, srcStrideA, reduce, taps, kd, wf + <usize>b * blockBytes, 16, bias + (<usize>b << 4),
      out, outStrideC, 4, plane, min(4, co - b * 4));
  }
}
