// Convolution forward and backward-data as rows of register tiles (conv-tile.ts). Work is split
// into independent units (one output row of 4 channels each); a thread runs units [begin, end).
// Every output is computed by the same code whatever the split, so results do not depend on the
// thread count.
import {
  G_CI, G_CO, G_D, G_DD, G_DH, G_DO, G_DW, G_H, G_HO, G_KD, G_KH, G_KW, G_N, G_PD, G_PH, G_PW,
  G_SD, G_SH, G_SW, G_W, G_WO, SLACK_FLOATS, blocksOf4, geo, phaseRowFloats,
} from './conv-geometry';
import { tapCount, writePhaseRow } from './conv-pack';
import { tileRow } from './conv-tile';

export function conv3dForwardUnits(g: usize): i32 {
  return geo(g, G_N) * blocksOf4(geo(g, G_CO)) * geo(g, G_DO) * geo(g, G_HO) * rowSegments(g);
}

/** Input bytes of a row segment's taps that should stay in L1 while every block of a group reads them. */
const SEGMENT_INPUT_BYTES: i32 = 24576;

/**
 * Outputs per row segment (a multiple of 8, or the whole row): the kD kH input rows of Ci channels
 * that a segment's tiles read fit in L1, so the blocks after the first find them there. At 16
 * channels and rows 112 wide (the left atrium's finest level) a whole row's input is 66 KB.
 */
function rowSegment(g: usize): i32 {
  const perColumn = geo(g, G_KD) * geo(g, G_KH) * geo(g, G_CI) * 4;
  const columns = SEGMENT_INPUT_BYTES / perColumn - (geo(g, G_KW) - 1) * geo(g, G_DW);
  const seg = max(8, (columns / geo(g, G_SW)) & ~7);
  return min(seg, geo(g, G_WO));
}

function rowSegments(g: usize): i32 {
  const seg = rowSegment(g);
  return (geo(g, G_WO) + seg - 1) / seg;
}

/**
 * Packed weight bytes of a group of output-channel blocks that the forward keeps cache-resident
 * while it walks every output row. 128->128 @8^3 has 1.77 MB of weights: cycling all 32 blocks per
 * row re-read them from beyond L1/L2 for every row (ratio to ORT-web 1.07-1.12 with it, 1.25-1.35
 * with 512 KB groups; 128 and 256 KB groups were no better, 1 MB worse). Shapes whose weights fit
 * in one group (64->64 k3 and smaller) keep the plain (row, block) order.
 */
const WEIGHT_GROUP_BYTES: i32 = 524288;

/** Output-channel blocks per group of conv3dForwardRange (at least 1). */
function forwardGroupBlocks(g: usize): i32 {
  const blockBytes = geo(g, G_CI) * geo(g, G_KD) * geo(g, G_KH) * geo(g, G_KW) * 16;
  return min(blocksOf4(geo(g, G_CO)), max(1, WEIGHT_GROUP_BYTES / blockBytes));
}

/**
 * Whether every input (z, y) row feeds at most one output row (kernel <= stride along D and H, no
 * dilation there: the k2 s2 down-convolutions, and 1x1x1 convolutions). Then the forward packs each output row's input rows
 * itself, into per-thread scratch that stays in L1 (packOutputRowInput), instead of packing the whole
 * input first: the 16->32 down-conv @64^3 would write and re-read a 16 MB packed copy
 * (docs/wasm-kernel-measurements.md).
 */
export function inputRowsUnshared(g: usize): bool {
  return geo(g, G_KD) <= geo(g, G_SD) && geo(g, G_KH) <= geo(g, G_SH) && geo(g, G_DD) == 1 && geo(g, G_DH) == 1;
}

/** Bytes of one thread's scratch for the forward when inputRowsUnshared: kD x kH rows of every channel, and slack. */
export function rowPackedScratchBytes(g: usize): usize {
  return (<usize>(geo(g, G_KD) * geo(g, G_KH) * geo(g, G_CI) * phaseRowFloats(g)) + SLACK_FLOATS) << 2;
}

/**
 * x rows of output row (n, od, oh) -> scratch [kD][kH][Ci][rowFloats] in the phase layout, zero where
 * the window leaves the input. `fill`: rows are longer than W (padding), so zero each before writing it.
 */
function packOutputRowInput(g: usize, x: usize, scratch: usize, n: i32, od: i32, oh: i32, fill: bool): void {
  const ci = geo(g, G_CI), d = geo(g, G_D), h = geo(g, G_H), w = geo(g, G_W), kd = geo(g, G_KD), kh = geo(g, G_KH);
  const sw = geo(g, G_SW), pw = geo(g, G_PW), rowFloats = phaseRowFloats(g), wq = rowFloats / sw;
  const rowBytes = <usize>rowFloats << 2, setBytes = <usize>ci * rowBytes;
  for (let a = 0; a < kd; a++) {
    const z = od * geo(g, G_SD) - geo(g, G_PD) + a;
    for (let b = 0; b < kh; b++) {
      const y = oh * geo(g, G_SH) - geo(g, G_PH) + b;
      let to = scratch + <usize>(a * kh + b) * setBytes;
      if (z < 0 || z >= d || y < 0 || y >= h) {
        memory.fill(to, 0, setBytes);
        continue;
      }
      let from = x + ((<usize>(((n * ci) * d + z) * h + y) * <usize>w) << 2);
      const channelBytes = <usize>(d * h * w) << 2;
      for (let c = 0; c < ci; c++) {
        if (fill) memory.fill(to, 0, rowBytes);
        writePhaseRow(from, to, w, pw, sw, wq);
        from += channelBytes;
        to += rowBytes;
      }
    }
  }
}

/**
 * y = conv(x, w) + bias over units (block group, n, od, oh, block in group), the block fastest:
 * consecutive units read the same input rows, so every block after the first finds them in L1/L2
 * (blocks outermost re-streamed the whole input once per block: 16 MB x 8 for the 16->32
 * down-conv), and a group's weights stay in cache across all rows (see WEIGHT_GROUP_BYTES).
 * `scratch` 0: `input` is the whole packed input (packInputInterleavedRange). Otherwise `input` is x
 * itself and each output row's input rows are packed into `scratch` when the row starts
 * (when inputRowsUnshared; taps from buildRowPackedTaps).
 */
export function conv3dForwardRange(
  g: usize, input: usize, wf: usize, bias: usize, taps: usize, taps_: i32, y: usize, scratch: usize, begin: i32, end: i32,
): void {
  const ci = geo(g, G_CI), co = geo(g, G_CO), dOut = geo(g, G_DO), hOut = geo(g, G_HO), wOut = geo(g, G_WO);
  const sd = geo(g, G_SD), sh = geo(g, G_SH), hp = geo(g, G_H) + 2 * geo(g, G_PH);
  const blocks = blocksOf4(co), rowFloats = phaseRowFloats(g), dp = geo(g, G_D) + 2 * geo(g, G_PD);
  // Input rows are [n][z][y][Ci][rowFloats] (packInputInterleavedRange), weights [block][T][Ci][4]
  // (packWeightsForwardRange): the inner loop over channels reads both as contiguous streams.
  const srcStrideA = <usize>rowFloats << 2, wStrideA: usize = 16, blockBytes = <usize>(ci * taps_) << 4;
  const outStrideC = <usize>(dOut * hOut * wOut) << 2;
  const segment = rowSegment(g), segments = rowSegments(g);
  const group = forwardGroupBlocks(g), rowsAll = geo(g, G_N) * dOut * hOut * segments, groupUnits = group * rowsAll;
  const fill = rowFloats != geo(g, G_W);
  // Ghost lanes of a partial tile may read the scratch's slack: never a stale NaN there.
  if (scratch != 0) memory.fill(scratch + rowPackedScratchBytes(g) - (SLACK_FLOATS << 2), 0, SLACK_FLOATS << 2);
  let packedRow = -1;
  for (let u = begin; u < end; u++) {
    // Every group but the last is full, so a partial last group still maps units one to one.
    const first = (u / groupUnits) * group, within = u % groupUnits, size = min(group, blocks - first);
    const b = first + within % size;
    const rowSeg = within / size, row = rowSeg / segments, s0 = (rowSeg % segments) * segment;
    let rest = row;
    const oh = rest % hOut;
    rest /= hOut;
    const od = rest % dOut, n = rest / dOut;
    let src = scratch;
    if (scratch == 0) {
      src = input + ((<usize>((n * dp + od * sd) * hp + oh * sh) * <usize>ci * <usize>rowFloats) << 2);
    } else if (row != packedRow) {
      packOutputRowInput(g, input, scratch, n, od, oh, fill);
      packedRow = row;
    }
    const out = y + ((<usize>(((n * co + b * 4) * dOut + od) * hOut + oh) * <usize>wOut + <usize>s0) << 2);
    tileRow(src + (<usize>s0 << 2), srcStrideA, ci, taps, taps_, wf + <usize>b * blockBytes, wStrideA, bias + (<usize>b << 4),
      out, outStrideC, 4, min(segment, wOut - s0), min(4, co - b * 4));
  }
}

/** Zero columns left of dy's data in the backward-data layout: the most negative tap offset. */
export function backwardDataLeft(g: usize): i32 {
  const reach = (geo(g, G_KW) - 1) * geo(g, G_DW) - geo(g, G_PW);
  return reach > 0 ? (reach + geo(g, G_SW) - 1) / geo(g, G_SW) : 0;
}

/** Row length of the backward-data dy layout: data, both margins and a tile's overrun. */
export function backwardDataRowFloats(g: usize): i32 {
  const sw = geo(g, G_SW);
  return backwardDataLeft(g) + geo(g, G_WO) + (geo(g, G_W) + sw - 1) / sw + (sw - 1 + geo(g, G_PW)) / sw + 16;
}

/** Units of conv3dBackwardDataRange: rows (n, input-channel block, id, ih), every W phase inside. */
export function conv3dBackwardDataUnits(g: usize): i32 {
  return geo(g, G_N) * blocksOf4(geo(g, G_CI)) * geo(g, G_D) * geo(g, G_H);
}

/** Bytes of one thread's phase rows for conv3dBackwardDataRange when sW > 1: [4 channels][sW][J]. */
export function backwardDataPhaseScratchBytes(g: usize): usize {
  const sw = geo(g, G_SW);
  return (<usize>(4 * sw * ((geo(g, G_W) + sw - 1) / sw)) + SLACK_FLOATS) << 2;
}

/**
 * dx = conv_transpose(dy, w) over units (n, input-channel block, id, ih), each covering every W phase.
 * dx[i] gathers dy[o] * w[k] where i = o * s - p + k * dil, i.e. o = (i + p - k * dil) / s when that
 * divides exactly and lands inside dy. Along D and H that selects taps per row; along W, the inputs
 * of one phase (iw = j * sW + r) all use the same kw set, each reading dy at o = j + (r + pW - kw dW) / sW:
 * contiguous in j, which is what a register tile needs. `scratch` holds a phase's tap list.
 * With sW > 1 the tiles write each phase's outputs contiguously into this thread's `phased` rows
 * ([4][sW][J], J = ceil(W / sW): whole-vector stores instead of strided lanes), and the unit then
 * interleaves them into dx while they are in L1. A separate pass over a phase-split copy of the
 * whole dx would write and re-read 16 MB at the 16->32 k2 s2 down-conv's backward.
 */
export function conv3dBackwardDataRange(
  g: usize, dyp: usize, wb: usize, zeroBias: usize, dx: usize, scratch: usize, phased: usize, begin: i32, end: i32,
): void {
  const ci = geo(g, G_CI), co = geo(g, G_CO), d = geo(g, G_D), h = geo(g, G_H), w = geo(g, G_W);
  const dOut = geo(g, G_DO), hOut = geo(g, G_HO), kd = geo(g, G_KD), kh = geo(g, G_KH), kw = geo(g, G_KW);
  const sd = geo(g, G_SD), sh = geo(g, G_SH), sw = geo(g, G_SW);
  const pd = geo(g, G_PD), ph = geo(g, G_PH), pw = geo(g, G_PW), dd = geo(g, G_DD), dh = geo(g, G_DH), dw = geo(g, G_DW);
  const blocks = blocksOf4(ci), left = backwardDataLeft(g), rowFloats = backwardDataRowFloats(g);
  const allTaps = tapCount(g);
  const srcStrideA = <usize>(dOut * hOut * rowFloats) << 2, wStrideA = <usize>allTaps << 4;
  const phaseLen = (w + sw - 1) / sw;
  const dxStrideC = <usize>(d * h * w) << 2, phasedStrideC = <usize>(sw * phaseLen) << 2;
  for (let u = begin; u < end; u++) {
    const ih = u % h;
    let rest = u / h;
    const id = rest % d;
    rest /= d;
    const b = rest % blocks, n = rest / blocks;
    const validC = min(4, ci - b * 4);
    const dxRow = dx + ((<usize>(((n * ci + b * 4) * d + id) * h + ih) * <usize>w) << 2);
    for (let r = 0; r < sw; r++) {
      const count = (w - r + sw - 1) / sw;
      if (count <= 0) continue;
      let taps = 0;
      for (let a = 0; a < kd; a++) {
        const numD = id + pd - a * dd;
        if (numD < 0 || numD % sd != 0 || numD / sd >= dOut) continue;
        for (let c = 0; c < kh; c++) {
          const numH = ih + ph - c * dh;
          if (numH < 0 || numH % sh != 0 || numH / sh >= hOut) continue;
          const rowBase = ((numD / sd) * hOut + numH / sh) * rowFloats + left;
          for (let e = 0; e < kw; e++) {
            const numW = r + pw - e * dw;
            if (numW % sw != 0) continue;
            const entry = scratch + (<usize>taps << 3);
            store<i32>(entry, (rowBase + numW / sw) << 2);
            store<i32>(entry, ((a * kh + c) * kw + e) << 4, 4);
            taps++;
          }
        }
      }
      const src = dyp + (<usize>n * <usize>co * srcStrideA);
      const out = sw == 1 ? dxRow : phased + (<usize>(r * phaseLen) << 2);
      tileRow(src, srcStrideA, co, scratch, taps, wb + <usize>(b * co) * wStrideA, wStrideA, zeroBias,
        out, sw == 1 ? dxStrideC : phasedStrideC, 4, count, validC);
    }
    if (sw > 1) {
      for (let c = 0; c < validC; c++) unphaseRow(phased + <usize>c * phasedStrideC, dxRow + <usize>c * dxStrideC, w, sw, phaseLen);
    }
  }
}

/** to[iw] = from[iw % sW][iw / sW] for one row of w floats, from [sW][phaseLen]. */
function unphaseRow(from: usize, to: usize, w: i32, sw: i32, phaseLen: i32): void {
  let i = 0;
  if (sw == 2) {
    // Interleave 4 even and 4 odd columns into 8 with two shuffles.
    const odd = from + (<usize>phaseLen << 2);
    for (; i + 8 <= w; i += 8) {
      const a = v128.load(from + (<usize>i << 1)), b = v128.load(odd + (<usize>i << 1));
      v128.store(to + (<usize>i << 2), i8x16.shuffle(a, b, 0, 1, 2, 3, 16, 17, 18, 19, 4, 5, 6, 7, 20, 21, 22, 23));
      v128.store(to + (<usize>i << 2), i8x16.shuffle(a, b, 8, 9, 10, 11, 24, 25, 26, 27, 12, 13, 14, 15, 28, 29, 30, 31), 16);
    }
  }
  for (; i < w; i++) store<f32>(to + (<usize>i << 2), load<f32>(from + (<usize>((i % sw) * phaseLen + i / sw) << 2)));
}
