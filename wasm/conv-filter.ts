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
  G_CI, G_CO, G_DO, G_H, G_HO, G_N, G_PH, G_SD, G_SH, G_WO, blocksOf4, geo, phaseChannelFloats, phaseRowFloats,
} from './conv-geometry';
import { hsum, madd } from './simd';

/** Pairs whose rows one thread copies at a time: 32 x 4 KiB chunk rows stay within L2. */
const PAIRS_PER_BLOCK = 32;

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
 * Pair blocks [begin, end) of dw. xp: input in the phase layout; dyq: dy blocked by 4 channels
 * (packFilterOutputRange); taps: the forward tap list; rows: this thread's scratch.
 */
export function conv3dBackwardFilterRange(
  g: usize, xp: usize, dyq: usize, taps: usize, taps_: i32, partial: usize, dw: usize, rows: usize, begin: i32, end: i32,
): void {
  const n = geo(g, G_N), ci = geo(g, G_CI), co = geo(g, G_CO), dOut = geo(g, G_DO), hOut = geo(g, G_HO);
  const sd = geo(g, G_SD), sh = geo(g, G_SH), hp = geo(g, G_H) + 2 * geo(g, G_PH);
  const coBlocks = blocksOf4(co), pairs = ci * taps_, pairBlocks = filterPairBlocks(g, taps_);
  const rowBytes = <usize>filterRowVectors(g) << 4, planeBytes = <usize>hOut * rowBytes;
  const dyBlockBytes = <usize>dOut * planeBytes << 2;
  const rowFloats = phaseRowFloats(g), chFloats = phaseChannelFloats(g);
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
          const src = xp + ((<usize>(b * ci + c) * <usize>chFloats) << 2) + <usize>load<i32>(taps + (<usize>t << 3));
          let dst = rows + <usize>j * chunkBytes;
          for (let od = od0; od < od0 + planes; od++) {
            for (let oh = 0; oh < hOut; oh++) {
              memory.copy(dst, src + (<usize>((od * sd * hp + oh * sh) * rowFloats) << 2), rowBytes);
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
