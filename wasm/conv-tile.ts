// The register tile every convolution is built from: 4 output channels x 2 vectors of 4 contiguous
// outputs: 8 accumulators + 2 inputs + 1 weight fit V8's 15 usable xmm registers (a wider tile spills).
// Its work is a list of taps: for every tap t and reduction channel a (a innermost),
//   acc[c][v] += w[a][t][c] * src[a][off(t) + 4v .. 4v + 3]
// Tap-major order: the inner loop walks the channels with two pointer increments and no list loads,
// and it is long (Ci iterations rather than kD kH kW); channel-major (one list pass per channel) spends
// two list loads, two adds and two stack reloads per tap.
// Forward and backward-data differ only in how the caller lays out `src` and builds the tap list,
// so both share this code. Taps are (source byte offset, weight byte offset) i32 pairs.
//
// Not done, because TurboFan's code got no faster or spilled (docs/wasm-kernel-measurements.md has the
// figures): unrolling a kernel row (every load of the unrolled body is placed before the arithmetic,
// and 18 live loads + 8 accumulators spill); load32_splat with offsets (V8 does not fold them) or
// pre-splatted weights (four times the weight bytes); passes over chunks of 32 channels.
import { madd, storeLanes } from './simd';

/** Writes the accumulators of one channel: whole vectors when the tile is complete and dense. */
// @ts-ignore: decorator
@inline
function storeRow(out: usize, v0: v128, v1: v128, valid: i32, elemStride: usize): void {
  if (elemStride == 4 && valid >= 8) {
    v128.store(out, v0);
    v128.store(out, v1, 16);
    return;
  }
  storeLanes(out, v0, min(valid, 4), elemStride);
  storeLanes(out + 4 * elemStride, v1, min(valid - 4, 4), elemStride);
}

/**
 * 4 channels x 8 outputs. `bias` points at 4 floats (the channels' initial values). Only `validC`
 * channels and `valid` outputs are stored, `elemStride` bytes apart, channels `outStrideC` apart.
 */
export function tile4x8(
  src: usize, srcStrideA: usize, reduce: i32, taps: usize, tapCount: i32, w: usize, wStrideA: usize,
  bias: usize, out: usize, outStrideC: usize, elemStride: usize, valid: i32, validC: i32,
): void {
  let a00 = v128.load32_splat(bias), a01 = a00;
  let a10 = v128.load32_splat(bias, 4), a11 = a10;
  let a20 = v128.load32_splat(bias, 8), a21 = a20;
  let a30 = v128.load32_splat(bias, 12), a31 = a30;
  const tapEnd = taps + (<usize>tapCount << 3);
  const srcEnd = src + <usize>reduce * srcStrideA;
  for (let tp = taps; tp < tapEnd; tp += 8) {
    const off = <usize>load<i32>(tp);
    let wp = w + <usize>load<i32>(tp, 4);
    for (let sa = src; sa < srcEnd; sa += srcStrideA) {
      const p = sa + off;
      const x0 = v128.load(p), x1 = v128.load(p, 16);
      let wv = v128.load32_splat(wp);
      a00 = madd(x0, wv, a00); a01 = madd(x1, wv, a01);
      wv = v128.load32_splat(wp, 4);
      a10 = madd(x0, wv, a10); a11 = madd(x1, wv, a11);
      wv = v128.load32_splat(wp, 8);
      a20 = madd(x0, wv, a20); a21 = madd(x1, wv, a21);
      wv = v128.load32_splat(wp, 12);
      a30 = madd(x0, wv, a30); a31 = madd(x1, wv, a31);
      wp += wStrideA;
    }
  }
  storeRow(out, a00, a01, valid, elemStride);
  if (validC > 1) storeRow(out + outStrideC, a10, a11, valid, elemStride);
  if (validC > 2) storeRow(out + 2 * outStrideC, a20, a21, valid, elemStride);
  if (validC > 3) storeRow(out + 3 * outStrideC, a30, a31, valid, elemStride);
}

/** Covers `count` outputs of a row with 8-wide tiles; the last one stores only what is valid. */
export function tileRow(
  src: usize, srcStrideA: usize, reduce: i32, taps: usize, tapCount: i32, w: usize, wStrideA: usize,
  bias: usize, out: usize, outStrideC: usize, elemStride: usize, count: i32, validC: i32,
): void {
  let done = 0;
  while (done < count) {
    const off = <usize>done;
    tile4x8(src + off * 4, srcStrideA, reduce, taps, tapCount, w, wStrideA, bias, out + off * elemStride, outStrideC, elemStride, count - done, validC);
    done += 8;
  }
}
