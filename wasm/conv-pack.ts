// Packing: copies that put operands in the layout the register tiles read, zero-padded so that the
// tiles never test bounds. Each costs one pass over its tensor, small next to the convolution.
import {
  G_CI, G_CO, G_D, G_DD, G_DH, G_DO, G_DW, G_H, G_HO, G_KD, G_KH, G_KW, G_N, G_PD, G_PH, G_PW,
  G_SW, G_W, G_WO, SLACK_FLOATS, blocksOf4, geo, phaseChannelFloats, phaseRowFloats,
} from './conv-geometry';

export function phaseInputBytes(g: usize): usize {
  return (<usize>geo(g, G_N) * <usize>geo(g, G_CI) * <usize>phaseChannelFloats(g) + SLACK_FLOATS) << 2;
}

/**
 * One input row of w floats at `from` -> a padded phase row at `row` (zeros already there): padded
 * column p = i + pW goes to phase p % sW at q = p / sW, each phase `wq` floats long.
 */
// @ts-ignore: decorator
@inline
export function writePhaseRow(from: usize, row: usize, w: i32, pw: i32, sw: i32, wq: i32): void {
  if (sw == 1) {
    memory.copy(row + (<usize>pw << 2), from, <usize>w << 2);
    return;
  }
  let i = 0;
  if (sw == 2) {
    // Stride 2 (down-sampling convs): split 8 columns at a time into even and odd with shuffles.
    // x[2j] lands in phase pw % 2 at q = j + pw / 2, x[2j + 1] in the other at j + (pw + 1) / 2.
    const evenRow = row + (<usize>((pw & 1) * wq + (pw >> 1)) << 2);
    const oddRow = row + (<usize>((1 - (pw & 1)) * wq + ((pw + 1) >> 1)) << 2);
    for (; i + 8 <= w; i += 8) {
      const a = v128.load(from + (<usize>i << 2)), b = v128.load(from + (<usize>i << 2), 16);
      v128.store(evenRow + (<usize>i << 1), i8x16.shuffle(a, b, 0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27));
      v128.store(oddRow + (<usize>i << 1), i8x16.shuffle(a, b, 4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23, 28, 29, 30, 31));
    }
  }
  for (; i < w; i++) {
    const col = i + pw;
    store<f32>(row + (<usize>((col % sw) * wq + col / sw) << 2), load<f32>(from + (<usize>i << 2)));
  }
}

export function phaseInputUnits(g: usize): i32 {
  return geo(g, G_N) * geo(g, G_CI) * (geo(g, G_D) + 2 * geo(g, G_PD));
}

/**
 * x [N][Ci][D][H][W] -> the phase layout of conv-geometry.ts, for padded planes [begin, end) (units
 * of phaseInputUnits, so threads can share the copy). The last unit also zeroes the slack: ghost
 * lanes read it and must never meet a stale NaN.
 */
export function packInputPhasesRange(g: usize, x: usize, dst: usize, begin: i32, end: i32): void {
  const d = geo(g, G_D), h = geo(g, G_H), w = geo(g, G_W);
  const pd = geo(g, G_PD), ph = geo(g, G_PH), pw = geo(g, G_PW), sw = geo(g, G_SW);
  const rowFloats = phaseRowFloats(g), wq = rowFloats / sw;
  const hp = h + 2 * ph, dp = d + 2 * pd;
  const planeBytes = <usize>(hp * rowFloats) << 2;
  for (let u = begin; u < end; u++) {
    const plane = dst + <usize>u * planeBytes;
    memory.fill(plane, 0, planeBytes);
    const c = u / dp, z = u % dp - pd;
    if (z < 0 || z >= d) continue;
    for (let y = 0; y < h; y++) {
      const from = x + ((<usize>((c * d + z) * h + y) * w) << 2);
      writePhaseRow(from, plane + (<usize>((y + ph) * rowFloats) << 2), w, pw, sw, wq);
    }
  }
  if (end == phaseInputUnits(g)) memory.fill(dst + <usize>end * planeBytes, 0, SLACK_FLOATS << 2);
}

export function interleavedInputUnits(g: usize): i32 {
  return geo(g, G_N) * (geo(g, G_D) + 2 * geo(g, G_PD));
}

/**
 * x [N][Ci][D][H][W] -> [N][D + 2pD][H + 2pH][Ci][sW][Wq]: the phase rows of conv-geometry.ts with
 * the channels innermost but one, for the forward. A tile's inner loop walks the channels, so its
 * input is then one stream, rowFloats apart, instead of one row per channel plane (4 KB - 1 MB
 * apart); it pays most on the deep, many-channel layers (docs/wasm-kernel-measurements.md).
 * Units: padded planes of each n, [begin, end); the last zeroes the slack.
 */
export function packInputInterleavedRange(g: usize, x: usize, dst: usize, begin: i32, end: i32): void {
  const ci = geo(g, G_CI), d = geo(g, G_D), h = geo(g, G_H), w = geo(g, G_W);
  const pd = geo(g, G_PD), ph = geo(g, G_PH), pw = geo(g, G_PW), sw = geo(g, G_SW);
  const rowFloats = phaseRowFloats(g), wq = rowFloats / sw;
  const hp = h + 2 * ph, dp = d + 2 * pd;
  const planeBytes = <usize>(hp * ci * rowFloats) << 2;
  for (let u = begin; u < end; u++) {
    const plane = dst + <usize>u * planeBytes;
    memory.fill(plane, 0, planeBytes);
    const n = u / dp, z = u % dp - pd;
    if (z < 0 || z >= d) continue;
    for (let c = 0; c < ci; c++) {
      for (let y = 0; y < h; y++) {
        const from = x + ((<usize>(((n * ci + c) * d + z) * h + y) * w) << 2);
        writePhaseRow(from, plane + (<usize>(((y + ph) * ci + c) * rowFloats) << 2), w, pw, sw, wq);
      }
    }
  }
  if (end == interleavedInputUnits(g)) memory.fill(dst + <usize>end * planeBytes, 0, SLACK_FLOATS << 2);
}

export function tapCount(g: usize): i32 {
  return geo(g, G_KD) * geo(g, G_KH) * geo(g, G_KW);
}

/**
 * Taps (kd, kh, kw) -> (byte offset into a packed input relative to an output row's origin, byte offset
 * of the tap's weights), for an input whose (z, y) rows each hold `rowChannels` channels of rowFloats
 * (1: the phase layout; Ci: the channel-interleaved layout), a kd step `zRows` (z, y) rows apart and a
 * kh step `yRows` apart, and weights whose taps are `rowChannels` 4-float groups apart. Returns the
 * tap count.
 */
function buildTaps(g: usize, taps: usize, rowChannels: i32, zRows: i32, yRows: i32): i32 {
  const kd = geo(g, G_KD), kh = geo(g, G_KH), kw = geo(g, G_KW);
  const dw = geo(g, G_DW), sw = geo(g, G_SW);
  const rowFloats = phaseRowFloats(g), wq = rowFloats / sw;
  let t = 0;
  for (let a = 0; a < kd; a++) {
    for (let b = 0; b < kh; b++) {
      for (let c = 0; c < kw; c++) {
        const col = c * dw;
        const off = (a * zRows + b * yRows) * rowChannels * rowFloats + (col % sw) * wq + col / sw;
        store<i32>(taps + (<usize>t << 3), off << 2);
        store<i32>(taps + (<usize>t << 3) + 4, (t * rowChannels) << 4);
        t++;
      }
    }
  }
  return t;
}

/** Taps on the phase layout (packInputPhasesRange), 4 weights per tap: the backward-filter's. */
export function buildForwardTaps(g: usize, taps: usize): i32 {
  const hp = geo(g, G_H) + 2 * geo(g, G_PH);
  return buildTaps(g, taps, 1, geo(g, G_DD) * hp, geo(g, G_DH));
}

/**
 * The forward's taps on the interleaved input (packInputInterleavedRange) and tap-major weights
 * (packWeightsForwardRange).
 */
export function buildInterleavedTaps(g: usize, taps: usize): i32 {
  const hp = geo(g, G_H) + 2 * geo(g, G_PH);
  return buildTaps(g, taps, geo(g, G_CI), geo(g, G_DD) * hp, geo(g, G_DH));
}

/** The forward's taps on one output row's private input rows ([kD][kH][Ci][rowFloats], packOutputRowInput in conv.ts). */
export function buildRowPackedTaps(g: usize, taps: usize): i32 {
  return buildTaps(g, taps, geo(g, G_CI), geo(g, G_KH), 1);
}

/**
 * Blocks [begin, end) of w [Co][Ci][T] -> [blocks of 4 m][r][T][4] (or [T][r][4] when `tapMajor`):
 * channel m = 4 b + lane of block b, r the other channel, lanes past `m` zero. Element (m, r)
 * starts at (m sM + r sR) T floats; with `flip` tap t reads the source's tap T - 1 - t.
 * Split over blocks so threads share it: 128->128 k3 has 1.8 MB of weights, about 0.7 ms on one
 * thread, which was 8% of the 2-thread forward while the other thread waited.
 */
function packWeightBlocksRange(
  w: usize, dst: usize, m: i32, r: i32, sM: i32, sR: i32, taps: i32, tapMajor: bool, flip: bool, begin: i32, end: i32,
): void {
  const rStep: usize = tapMajor ? 16 : <usize>taps << 4, tStep: usize = tapMajor ? <usize>r << 4 : 16;
  const blockBytes = <usize>(r * taps) << 4;
  for (let b = begin; b < end; b++) {
    const base = dst + <usize>b * blockBytes, lanes = min(4, m - b * 4);
    if (lanes < 4) memory.fill(base, 0, blockBytes);
    // Chunks of 16 r, tap outermost inside a chunk: each tap's output (16 r x 16 bytes) is written
    // in order and the chunk's source rows stay in L1. Walking all taps of one (r, lane) instead
    // wrote 27 lines 2 KB apart, which share two L1 sets: 2-2.6 ms of a 20-30 ms 128->128 forward.
    for (let r0 = 0; r0 < r; r0 += 16) {
      const r1 = min(r, r0 + 16);
      let t = 0;
      if (tapMajor && lanes == 4) {
        // Four taps of the four lanes at once: four vector loads along the source's taps and a 4 x 4
        // transpose give the four taps' outputs (3x faster than a float at a time: the packing cost
        // 4 ms a call at 256 -> 256, the coarse level's whole forward being 6-12 ms).
        const laneBytes = <usize>(sM * taps) << 2;
        for (; t + 4 <= taps; t += 4) {
          // Flipped, source taps T - 4 - t .. T - 1 - t land on taps t + 3 .. t, in reverse.
          const from = flip ? taps - 4 - t : t;
          for (let rr = r0; rr < r1; rr++) {
            const row = w + (<usize>((b * 4 * sM + rr * sR) * taps + from) << 2);
            const l0 = v128.load(row), l1 = v128.load(row + laneBytes);
            const l2 = v128.load(row + 2 * laneBytes), l3 = v128.load(row + 3 * laneBytes);
            const a0 = i32x4.shuffle(l0, l1, 0, 4, 1, 5), a1 = i32x4.shuffle(l2, l3, 0, 4, 1, 5);
            const a2 = i32x4.shuffle(l0, l1, 2, 6, 3, 7), a3 = i32x4.shuffle(l2, l3, 2, 6, 3, 7);
            const to = base + <usize>rr * rStep;
            const first = flip ? t + 3 : t, step: isize = flip ? -(<isize>tStep) : <isize>tStep;
            const at = to + <usize>first * tStep;
            v128.store(at, i64x2.shuffle(a0, a1, 0, 2));
            v128.store(at + step, i64x2.shuffle(a0, a1, 1, 3));
            v128.store(at + 2 * step, i64x2.shuffle(a2, a3, 0, 2));
            v128.store(at + 3 * step, i64x2.shuffle(a2, a3, 1, 3));
          }
        }
      }
      for (; t < taps; t++) {
        const from = flip ? taps - 1 - t : t;
        for (let rr = r0; rr < r1; rr++) {
          const to = base + <usize>rr * rStep + <usize>t * tStep;
          for (let c = 0; c < lanes; c++) {
            store<f32>(to + (<usize>c << 2), load<f32>(w + (<usize>((((b * 4 + c) * sM + rr * sR) * taps) + from) << 2)));
          }
        }
      }
    }
  }
}

/**
 * w [Co][Ci][T] -> [ceil(Co/4)][T][Ci][4]: the 4 output channels of a tile side by side, tap-major
 * so that the tile's inner loop (over Ci) reads its weights as one contiguous stream. Units: Co blocks.
 */
export function packWeightsForwardRange(g: usize, w: usize, dst: usize, begin: i32, end: i32): void {
  const ci = geo(g, G_CI);
  packWeightBlocksRange(w, dst, geo(g, G_CO), ci, ci, 1, tapCount(g), true, false, begin, end);
}

/**
 * The forward's weight layout for stride-1 backward-data run as a forward convolution (g: that
 * forward, whose Ci and Co are w's Co and Ci): the weights w [Ci_g][Co_g][T] transposed, with the
 * taps reversed (every kernel axis flipped), packed in one pass. Units: Co_g blocks.
 */
export function packWeightsFlippedForwardRange(g: usize, w: usize, dst: usize, begin: i32, end: i32): void {
  const co = geo(g, G_CO);
  packWeightBlocksRange(w, dst, co, geo(g, G_CI), 1, co, tapCount(g), true, true, begin, end);
}

/** w [Co][Ci][T] -> [ceil(Ci/4)][Co][T][4]: backward-data tiles run over 4 input channels. Units: Ci blocks. */
export function packWeightsBackwardDataRange(g: usize, w: usize, dst: usize, begin: i32, end: i32): void {
  const ci = geo(g, G_CI);
  packWeightBlocksRange(w, dst, ci, geo(g, G_CO), 1, ci, tapCount(g), false, false, begin, end);
}

/** bias [Co] (or 0 for none) -> [4 * ceil(Co/4)] zero-padded. */
export function packBias(g: usize, bias: usize, dst: usize): void {
  const co = geo(g, G_CO);
  memory.fill(dst, 0, <usize>blocksOf4(co) << 4);
  if (bias != 0) memory.copy(dst, bias, <usize>co << 2);
}

/**
 * dy [N][Co][Do][Ho][Wo] -> [N][channels][Do][Ho][rowFloats] with the data at column `left` and
 * zeros around it; `channels` >= Co pads whole zero channels (backward-filter tiles read 4 at once).
 * Units are (n, channel) blocks of the output, [begin, end) of N * channels; the last zeroes the slack.
 */
export function packOutputRowsRange(
  g: usize, dy: usize, dst: usize, channels: i32, left: i32, rowFloats: i32, begin: i32, end: i32,
): void {
  const co = geo(g, G_CO), rows = geo(g, G_DO) * geo(g, G_HO), wo = geo(g, G_WO);
  const blockBytes = <usize>rows * <usize>rowFloats << 2;
  for (let u = begin; u < end; u++) {
    const to = dst + <usize>u * blockBytes;
    memory.fill(to, 0, blockBytes);
    const b = u / channels, c = u % channels;
    if (c >= co) continue;
    const from = dy + (<usize>(b * co + c) * <usize>rows * <usize>wo << 2);
    for (let r = 0; r < rows; r++) {
      memory.copy(to + ((<usize>r * <usize>rowFloats + <usize>left) << 2), from + (<usize>r * <usize>wo << 2), <usize>wo << 2);
    }
  }
  if (end == geo(g, G_N) * channels) memory.fill(dst + <usize>end * blockBytes, 0, SLACK_FLOATS << 2);
}
