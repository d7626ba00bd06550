// Convolution backward-filter: dw[co][m] = sum over positions s of dy[co][s] * X_m[s], where m = (ci, t)
// pairs an input channel with a tap and X_m[s] is the input that tap reads for output position s.
// Per chunk of output planes, the X_m rows are copied into a contiguous block (im2col restricted to a
// chunk: whole-row copies, about 2/Co of the arithmetic) so the inner loop is one long stream over
// the chunk for both operands; short rows (8^3 volumes) no longer mean short loops. The reduction
// runs in vector lanes; a tile of 4 output channels x 2 pairs (8 accumulators, see conv-tile.ts) keeps
// its lane-wise partial sums in `partial` between chunks. Units are pair blocks: each thread copies
// only the rows of its own pairs, and the summation order of every output is fixed by the geometry,
// never by the thread split.
import {
  G_CI, G_CO, G_D, G_DD, G_DH, G_DO, G_DW, G_H, G_HO, G_KH, G_KW, G_N, G_PD, G_PH, G_PW, G_SD, G_SH, G_SW, G_W,
  G_WO, blocksOf4, geo, phaseChannelFloats, phaseRowFloats,
} from './conv-geometry';
import { hsum, madd } from './simd';

/** Pairs whose rows one thread copies at a time: 32 x 4 KiB chunk rows stay within L2. */
const PAIRS_PER_BLOCK = 32;

/** Pair blocks of one pass (conv3dBackwardFilterRange streams dy once per pass): threads claim at least this many. */
export function filterPairBlocksPerPass(): i32 {
  return PAIRS_PER_BLOCK / 2;
}

/** Reduction pairs (ci, t) are tiled by 2. */
export function filterPairBlocks(g: usize, taps: i32): i32 {
  return (geo(g, G_CI) * taps + 1) >> 1;
}

export function conv3dBackwardFilterUnits(g: usize, taps: i32): i32 {
  return filterPairBlocks(g, taps);
}

/** Output-gradient rows are padded to whole vectors with zeros, so ghost lanes add nothing. */
export function filterRowVectors(g: usize): i32 {
  return (geo(g, G_WO) + 3) >> 2;
}

/** Output planes per chunk: about 1024 positions, so a chunk's copied rows fit in cache. */
export function filterPlanesPerChunk(g: usize): i32 {
  const plane = geo(g, G_HO) * filterRowVectors(g) * 4;
  return min(geo(g, G_DO), max(1, (1024 + plane - 1) / plane));
}

/** Scratch bytes one thread needs for its copied rows. */
export function filterScratchBytes(g: usize): usize {
  return (<usize>PAIRS_PER_BLOCK * <usize>(filterPlanesPerChunk(g) * geo(g, G_HO) * filterRowVectors(g)) << 4) + 64;
}

/** Bytes of the lane-wise partial sums: [4 ceil(Co/4)][2 pairBlocks][4]. */
export function filterPartialBytes(g: usize, taps: i32): usize {
  return <usize>(blocksOf4(geo(g, G_CO)) * 4 * filterPairBlocks(g, taps) * 2) << 4;
}

/**
 * dy [N][Co][Do][Ho][Wo] -> [N][ceil(Co/4)][Do][Ho][row vectors][4 channels][4 positions], zero
 * padded: the tile reads a block's 4 channels at one position vector from one 64-byte line, one
 * address instead of four streams. Measured against four channel-plane streams, same process,
 * 1 thread, 2026-11-27: 1.20x at 64->64 @16^3, 1.19x at 128->128 @8^3, 1.15x at 16->16 @64^3, 1.11x
 * at the 16->32 k2 s2 down-conv, bit-identical. (Smaller chunks or pair blocks for L1, and vector
 * row copies instead of memory.copy, gained nothing.) Units: (n, channel block) pairs, [begin, end);
 * the last zeroes the slack.
 */
export function packFilterOutputRange(g: usize, dy: usize, dst: usize, begin: i32, end: i32): void {
  const co = geo(g, G_CO), wo = geo(g, G_WO), rows = geo(g, G_DO) * geo(g, G_HO), vecs = filterRowVectors(g);
  const coBlocks = blocksOf4(co), blockBytes = (<usize>rows * <usize>vecs) << 6;
  for (let u = begin; u < end; u++) {
    const to = dst + <usize>u * blockBytes;
    memory.fill(to, 0, blockBytes);
    const n = u / coBlocks, cb = u % coBlocks;
    for (let c = 0; c < min(4, co - cb * 4); c++) {
      const from = dy + ((<usize>(n * co + cb * 4 + c) * <usize>rows * <usize>wo) << 2);
      for (let r = 0; r < rows; r++) {
        const row = to + ((<usize>r * <usize>vecs) << 6) + (<usize>c << 4);
        for (let p = 0; p < wo; p++) {
          store<f32>(row + (<usize>(p >> 2) << 6) + (<usize>(p & 3) << 2), load<f32>(from + (<usize>(r * wo + p) << 2)));
        }
      }
    }
  }
  if (end == geo(g, G_N) * coBlocks) memory.fill(dst + <usize>end * blockBytes, 0, 64);
}

/** acc[c][j] += sum over `bytes` of x_j of dy_c, lane-wise, into the partial sums at `part`; dy is blocked (packFilterOutputRange). */
// @ts-ignore: decorator
@inline
function tileStream(dy: usize, x0: usize, x1: usize, bytes: usize, part: usize, partStrideC: usize): void {
  const p1 = part + partStrideC, p2 = part + 2 * partStrideC, p3 = part + 3 * partStrideC;
  let a00 = v128.load(part), a01 = v128.load(part, 16);
  let a10 = v128.load(p1), a11 = v128.load(p1, 16);
  let a20 = v128.load(p2), a21 = v128.load(p2, 16);
  let a30 = v128.load(p3), a31 = v128.load(p3, 16);
  let d = dy;
  for (let v: usize = 0; v < bytes; v += 16) {
    const q0 = v128.load(x0 + v), q1 = v128.load(x1 + v);
    let g = v128.load(d);
    a00 = madd(g, q0, a00); a01 = madd(g, q1, a01);
    g = v128.load(d, 16);
    a10 = madd(g, q0, a10); a11 = madd(g, q1, a11);
    g = v128.load(d, 32);
    a20 = madd(g, q0, a20); a21 = madd(g, q1, a21);
    g = v128.load(d, 48);
    a30 = madd(g, q0, a30); a31 = madd(g, q1, a31);
    d += 64;
  }
  v128.store(part, a00); v128.store(part, a01, 16);
  v128.store(p1, a10); v128.store(p1, a11, 16);
  v128.store(p2, a20); v128.store(p2, a21, 16);
  v128.store(p3, a30); v128.store(p3, a31, 16);
}

/**
 * dst[j] = x[c0 + j sW] for the j < count whose column lies in [0, w), zero elsewhere up to `floats`:
 * one tap's input row for a row of output positions, read straight from x. `xRow` 0: the row is
 * outside the input.
 */
function gatherTapRow(dst: usize, xRow: usize, w: i32, c0: i32, sw: i32, count: i32, floats: i32): void {
  let lo = c0 >= 0 ? 0 : (sw - 1 - c0) / sw;
  let hi = xRow == 0 || c0 > w - 1 ? 0 : min(count, (w - 1 - c0) / sw + 1);
  if (hi <= lo) {
    lo = 0;
    hi = 0;
  }
  if (lo > 0) memory.fill(dst, 0, <usize>lo << 2);
  let j = lo;
  if (sw == 1) {
    // (memory.copy bounds-checks its source even for 0 bytes, and c0 + lo may be -1 when hi == 0.)
    if (hi > lo) memory.copy(dst + (<usize>lo << 2), xRow + (<usize>(c0 + lo) << 2), <usize>(hi - lo) << 2);
    j = hi;
  } else if (sw == 2) {
    // Even columns of 8 at a time (from c0 + 2j) with one shuffle.
    for (; j + 4 <= hi && c0 + 2 * j + 8 <= w; j += 4) {
      const from = xRow + (<usize>(c0 + 2 * j) << 2);
      const a = v128.load(from), b = v128.load(from, 16);
      v128.store(dst + (<usize>j << 2), i8x16.shuffle(a, b, 0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27));
    }
  }
  for (; j < hi; j++) store<f32>(dst + (<usize>j << 2), load<f32>(xRow + (<usize>(c0 + j * sw) << 2)));
  if (floats > hi) memory.fill(dst + (<usize>hi << 2), 0, <usize>(floats - hi) << 2);
}

/**
 * Pair blocks [begin, end) of dw. dyq: dy blocked by 4 channels (packFilterOutputRange); rows: this
 * thread's scratch. The pairs' input rows come from `xp`, x in the phase layout (packInputPhasesRange),
 * one memory.copy per row at the offsets of the tap list `taps`; or, when `xp` is 0, straight from `x`
 * (gatherTapRow). Straight is for geometries whose input rows feed one output row each
 * (inputRowsUnshared: the k2 s2 down-convs), where the phase copy moved as many bytes as the row
 * copies: 1.12x at 16->32 k2 s2 @64^3 (1 thread, same process, alternating, 2026-11-27). Where rows
 * are reused (k3 s1), the phase copy is 1/27 of the row copies and the bounds-checked gather lost
 * 9-12% to memory.copy of padded rows.
 */
export function conv3dBackwardFilterRange(
  g: usize, x: usize, xp: usize, dyq: usize, taps: usize, taps_: i32, partial: usize, dw: usize, rows: usize, begin: i32, end: i32,
): void {
  const n = geo(g, G_N), ci = geo(g, G_CI), co = geo(g, G_CO), dOut = geo(g, G_DO), hOut = geo(g, G_HO), wOut = geo(g, G_WO);
  const d = geo(g, G_D), h = geo(g, G_H), w = geo(g, G_W), kh = geo(g, G_KH), kw = geo(g, G_KW);
  const sd = geo(g, G_SD), sh = geo(g, G_SH), sw = geo(g, G_SW), pd = geo(g, G_PD), ph = geo(g, G_PH), pw = geo(g, G_PW);
  const dd = geo(g, G_DD), dh = geo(g, G_DH), dwl = geo(g, G_DW);
  const coBlocks = blocksOf4(co), pairs = ci * taps_, pairBlocks = filterPairBlocks(g, taps_);
  const rowBytes = <usize>filterRowVectors(g) << 4, planeBytes = <usize>hOut * rowBytes;
  const rowFloatsOut = filterRowVectors(g) * 4;
  const dyBlockBytes = <usize>dOut * planeBytes << 2;
  const hp = h + 2 * ph, rowFloats = phaseRowFloats(g), chFloats = phaseChannelFloats(g);
  const partStrideC = <usize>(pairBlocks * 2) << 4;
  const planesPerChunk = filterPlanesPerChunk(g);
  for (let cb = 0; cb < coBlocks; cb++) {
    for (let c = 0; c < 4; c++) memory.fill(partial + <usize>(cb * 4 + c) * partStrideC + (<usize>begin << 5), 0, <usize>(end - begin) << 5);
  }
  for (let b = 0; b < n; b++) {
    for (let od0 = 0; od0 < dOut; od0 += planesPerChunk) {
      const planes = min(planesPerChunk, dOut - od0);
      const chunkBytes = <usize>planes * planeBytes;
      for (let pb0 = begin; pb0 < end; pb0 += PAIRS_PER_BLOCK / 2) {
        const pb1 = min(end, pb0 + PAIRS_PER_BLOCK / 2);
        // Copy the rows of pairs [2 pb0, 2 pb1) for this chunk; ghost pairs repeat the last real one.
        for (let j = 0; j < (pb1 - pb0) * 2; j++) {
          const m = min(pb0 * 2 + j, pairs - 1);
          const c = m / taps_, t = m % taps_;
          let dst = rows + <usize>j * chunkBytes;
          if (xp != 0) {
            const src = xp + ((<usize>(b * ci + c) * <usize>chFloats) << 2) + <usize>load<i32>(taps + (<usize>t << 3));
            for (let od = od0; od < od0 + planes; od++) {
              for (let oh = 0; oh < hOut; oh++) {
                memory.copy(dst, src + (<usize>((od * sd * hp + oh * sh) * rowFloats) << 2), rowBytes);
                dst += rowBytes;
              }
            }
            continue;
          }
          const ta = t / (kh * kw), tb = (t / kw) % kh, tc = t % kw;
          const plane = x + ((<usize>(b * ci + c) * <usize>(d * h * w)) << 2);
          const c0 = tc * dwl - pw;
          for (let od = od0; od < od0 + planes; od++) {
            const z = od * sd - pd + ta * dd;
            for (let oh = 0; oh < hOut; oh++) {
              const y = oh * sh - ph + tb * dh;
              const inside = z >= 0 && z < d && y >= 0 && y < h;
              gatherTapRow(dst, inside ? plane + ((<usize>(z * h + y) * <usize>w) << 2) : 0, w, c0, sw, wOut, rowFloatsOut);
              dst += rowBytes;
            }
          }
        }
        for (let cb = 0; cb < coBlocks; cb++) {
          const dy = dyq + <usize>(b * coBlocks + cb) * dyBlockBytes + (<usize>od0 * planeBytes << 2);
          for (let pb = pb0; pb < pb1; pb++) {
            const x0 = rows + <usize>((pb - pb0) * 2) * chunkBytes;
            tileStream(dy, x0, x0 + chunkBytes, chunkBytes, partial + <usize>(cb * 4) * partStrideC + (<usize>pb << 5), partStrideC);
          }
        }
      }
    }
  }
  for (let pb = begin; pb < end; pb++) {
    for (let o = 0; o < co; o++) {
      for (let j = 0; j < 2; j++) {
        const m = pb * 2 + j;
        if (m >= pairs) break;
        store<f32>(dw + (<usize>(o * pairs + m) << 2), hsum(v128.load(partial + <usize>o * partStrideC + (<usize>m << 4))));
      }
    }
  }
}
