// The register tiles every convolution is built from. A tile accumulates 4 output channels x V
// vectors of 4 contiguous outputs (8 or 12 accumulators: what 16 xmm registers hold with room for
// the operands). Its work is a list of taps: for every reduction channel a and tap t,
//   acc[c][v] += w[a][t][c] * src[a][off(t) + 4v .. 4v + 3]
// Forward and backward-data differ only in how the caller lays out `src` and builds the tap list,
// so both share this code. Taps are (source byte offset, weight byte offset) i32 pairs.
import { madd, storeLanes } from './simd';

/** Writes the accumulators of one channel: whole vectors when the tile is complete and dense. */
// @ts-ignore: decorator
@inline
function storeRow(out: usize, v0: v128, v1: v128, v2: v128, vectors: i32, valid: i32, elemStride: usize): void {
  if (elemStride == 4 && valid >= vectors * 4) {
    v128.store(out, v0);
    v128.store(out, v1, 16);
    if (vectors > 2) v128.store(out, v2, 32);
    return;
  }
  storeLanes(out, v0, min(valid, 4), elemStride);
  storeLanes(out + 4 * elemStride, v1, min(valid - 4, 4), elemStride);
  if (vectors > 2) storeLanes(out + 8 * elemStride, v2, min(valid - 8, 4), elemStride);
}

/**
 * 4 channels x 12 outputs. `bias` points at 4 floats (the channels' initial values). Only `validC`
 * channels and `valid` outputs are stored, `elemStride` bytes apart, channels `outStrideC` apart.
 */
export function tile4x12(
  src: usize, srcStrideA: usize, reduce: i32, taps: usize, tapCount: i32, w: usize, wStrideA: usize,
  bias: usize, out: usize, outStrideC: usize, elemStride: usize, valid: i32, validC: i32,
): void {
  let a00 = v128.load32_splat(bias), a01 = a00, a02 = a00;
  let a10 = v128.load32_splat(bias, 4), a11 = a10, a12 = a10;
  let a20 = v128.load32_splat(bias, 8), a21 = a20, a22 = a20;
  let a30 = v128.load32_splat(bias, 12), a31 = a30, a32 = a30;
  const tapEnd = taps + (<usize>tapCount << 3);
  for (let a = 0; a < reduce; a++) {
    const sa = src + <usize>a * srcStrideA;
    const wa = w + <usize>a * wStrideA;
    for (let tp = taps; tp < tapEnd; tp += 8) {
      const p = sa + <usize>load<i32>(tp);
      const wp = wa + <usize>load<i32>(tp, 4);
      const x0 = v128.load(p), x1 = v128.load(p, 16), x2 = v128.load(p, 32);
      let wv = v128.load32_splat(wp);
      a00 = madd(x0, wv, a00); a01 = madd(x1, wv, a01); a02 = madd(x2, wv, a02);
      wv = v128.load32_splat(wp, 4);
      a10 = madd(x0, wv, a10); a11 = madd(x1, wv, a11); a12 = madd(x2, wv, a12);
      wv = v128.load32_splat(wp, 8);
      a20 = madd(x0, wv, a20); a21 = madd(x1, wv, a21); a22 = madd(x2, wv, a22);
      wv = v128.load32_splat(wp, 12);
      a30 = madd(x0, wv, a30); a31 = madd(x1, wv, a31); a32 = madd(x2, wv, a32);
    }
  }
  storeRow(out, a00, a01, a02, 3, valid, elemStride);
  if (validC > 1) storeRow(out + outStrideC, a10, a11, a12, 3, valid, elemStride);
  if (validC > 2) storeRow(out + 2 * outStrideC, a20, a21, a22, 3, valid, elemStride);
  if (validC > 3) storeRow(out + 3 * outStrideC, a30, a31, a32, 3, valid, elemStride);
}

/** 4 channels x 8 outputs: row tails and narrow rows, where 12 would waste a third of the work. */
export function tile4x8(
  src: usize, srcStrideA: usize, reduce: i32, taps: usize, tapCount: i32, w: usize, wStrideA: usize,
  bias: usize, out: usize, outStrideC: usize, elemStride: usize, valid: i32, validC: i32,
): void {
  let a00 = v128.load32_splat(bias), a01 = a00;
  let a10 = v128.load32_splat(bias, 4), a11 = a10;
  let a20 = v128.load32_splat(bias, 8), a21 = a20;
  let a30 = v128.load32_splat(bias, 12), a31 = a30;
  const tapEnd = taps + (<usize>tapCount << 3);
  for (let a = 0; a < reduce; a++) {
    const sa = src + <usize>a * srcStrideA;
    const wa = w + <usize>a * wStrideA;
    for (let tp = taps; tp < tapEnd; tp += 8) {
      const p = sa + <usize>load<i32>(tp);
      const wp = wa + <usize>load<i32>(tp, 4);
      const x0 = v128.load(p), x1 = v128.load(p, 16);
      let wv = v128.load32_splat(wp);
      a00 = madd(x0, wv, a00); a01 = madd(x1, wv, a01);
      wv = v128.load32_splat(wp, 4);
      a10 = madd(x0, wv, a10); a11 = madd(x1, wv, a11);
      wv = v128.load32_splat(wp, 8);
      a20 = madd(x0, wv, a20); a21 = madd(x1, wv, a21);
      wv = v128.load32_splat(wp, 12);
      a30 = madd(x0, wv, a30); a31 = madd(x1, wv, a31);
    }
  }
  const z = f32x4.splat(0);
  storeRow(out, a00, a01, z, 2, valid, elemStride);
  if (validC > 1) storeRow(out + outStrideC, a10, a11, z, 2, valid, elemStride);
  if (validC > 2) storeRow(out + 2 * outStrideC, a20, a21, z, 2, valid, elemStride);
  if (validC > 3) storeRow(out + 3 * outStrideC, a30, a31, z, 2, valid, elemStride);
}

/**
 * Covers `count` outputs of a row with 12-wide tiles, finishing with an 8-wide one when at most 8
 * remain. The choice depends only on `count`, so every thread split computes each output the same way.
 */
export function tileRow(
  src: usize, srcStrideA: usize, reduce: i32, taps: usize, tapCount: i32, w: usize, wStrideA: usize,
  bias: usize, out: usize, outStrideC: usize, elemStride: usize, count: i32, validC: i32,
): void {
  let done = 0;
  while (count - done > 8) {
    const off = <usize>done;
    tile4x12(src + off * 4, srcStrideA, reduce, taps, tapCount, w, wStrideA, bias, out + off * elemStride, outStrideC, elemStride, count - done, validC);
    done += 12;
  }
  if (done < count) {
    const off = <usize>done;
    tile4x8(src + off * 4, srcStrideA, reduce, taps, tapCount, w, wStrideA, bias, out + off * elemStride, outStrideC, elemStride, count - done, validC);
  }
}
