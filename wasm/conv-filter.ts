// Convolution backward-filter: dw[co][m] = sum over positions s of dy[co][s] * X_m[s], where m = (ci, t)
// pairs an input channel with a tap and X_m[s] is the input that tap reads for output position s.
// It is the forward's register tile with the roles swapped: 8 output channels of dy at one position
// are two vectors (dy packed [position][8 channels] once per call), each pair's X_m[s] is one
// broadcast, and 4 pairs x 8 channels make the 8 accumulators (conv-tile.ts says why 8). Per
// position: 2 vector loads and 4 broadcasts for 8 multiply-adds, the forward's ratio. The lanes
// hold output channels, so a sum needs no horizontal add and runs over positions in one fixed
// order whatever the thread split (faster than reducing along lanes with a horizontal sum at the end:
// docs/wasm-kernel-measurements.md).
// Unpadded geometries read x in place. Padded ones copy, per chunk of output positions, each pair's
// input into a block where pair j of a group of 4 lies at a fixed 4 KiB stride (the tile's
// broadcasts then read constant offsets). Units are pair groups; each thread copies only its own
// pairs' rows.
// Positions run over the whole batch, (n, od, oh, ow) with n slowest, and chunks span samples: at
// the V-Net's coarse levels one sample has 12-96 positions, and chunks of one sample each reloaded
// and stored every tile's 8 accumulators (7 MB of sums at 256 channels) four times per call for a
// dozen multiply-adds each.
import {
  G_CI, G_CO, G_D, G_DD, G_DH, G_DO, G_DW, G_H, G_HO, G_KH, G_KW, G_N, G_PD, G_PH, G_PW, G_SD, G_SH, G_SW, G_W,
  G_WO, geo, phaseChannelFloats, phaseRowFloats,
} from './conv-geometry';
import { madd } from './simd';

/** Output positions per chunk; a pair's copied row is one chunk long, 4 KiB (the tile's constant stride). */
const CHUNK = 1024;
/** Bytes between the rows of consecutive pairs in a group (the tile's broadcast offsets below). */
const PAIR_STRIDE: usize = 4096;
/** Pair groups one thread copies at a time: 8 groups x 4 pairs x 4 KiB = 128 KiB stays within L2. */
const GROUPS_PER_PASS = 8;

/** Output channels per tile: two vectors. */
// @ts-ignore: decorator
@inline
function blocksOf8(c: i32): i32 {
  return (c + 7) >> 3;
}

/** Pair groups of one pass (conv3dBackwardFilterRange streams dy once per pass): threads claim at least this many. */
export function filterGroupsPerPass(): i32 {
  return GROUPS_PER_PASS;
}

/** Reduction pairs (ci, t) are tiled by 4: the pair groups. */
export function conv3dBackwardFilterUnits(g: usize, taps: i32): i32 {
  return (geo(g, G_CI) * taps + 3) >> 2;
}

function outputPositions(g: usize): i32 {
  return geo(g, G_DO) * geo(g, G_HO) * geo(g, G_WO);
}

/** Fewer pair groups than this also split the positions (filterSlabs). */
const MIN_GROUPS = 32;

/**
 * Slabs of positions summed apart, then added in slab order (filterReduceSlabsRange): 1, except
 * where there are too few pair groups to share among threads. The V-Net's first convolution (1 -> 16)
 * has 7 groups and its last (16 -> 2, k1) 4: one thread claimed them all while the others waited.
 * Geometry alone sets the count, so results do not depend on the threads.
 */
export function filterSlabs(g: usize, taps: i32): i32 {
  const groups = conv3dBackwardFilterUnits(g, taps);
  if (groups >= MIN_GROUPS) return 1;
  const chunks = (geo(g, G_N) * outputPositions(g) + CHUNK - 1) / CHUNK;
  return max(1, min(chunks, (MIN_GROUPS + groups - 1) / groups));
}

/** Units of conv3dBackwardFilterRange: (slab, pair group), the group fastest. */
export function filterWorkUnits(g: usize, taps: i32): i32 {
  return filterSlabs(g, taps) * conv3dBackwardFilterUnits(g, taps);
}

/** Positions of one slab: whole chunks. */
// @ts-ignore: decorator
@inline
function slabPositions(g: usize, taps: i32): i32 {
  const chunks = (geo(g, G_N) * outputPositions(g) + CHUNK - 1) / CHUNK, slabs = filterSlabs(g, taps);
  return ((chunks + slabs - 1) / slabs) * CHUNK;
}

/** Bytes of one slab's sums: [groups][4 pairs][8 ceil(Co/8) channels] floats. */
// @ts-ignore: decorator
@inline
function slabBytes(g: usize, taps: i32): usize {
  return (<usize>conv3dBackwardFilterUnits(g, taps) * <usize>blocksOf8(geo(g, G_CO))) << 7;
}

/** Bytes of dy packed by packFilterOutputRange: [ceil(Co/8)][N][positions][8]. */
export function filterOutputBytes(g: usize): usize {
  return (<usize>(geo(g, G_N) * blocksOf8(geo(g, G_CO))) * <usize>outputPositions(g)) << 5;
}

/** Scratch bytes one thread needs for its copied rows (copyTapRuns may write 3 floats past the last). */
export function filterScratchBytes(g: usize): usize {
  return <usize>(GROUPS_PER_PASS * 4) * PAIR_STRIDE + 16;
}

/** Bytes of the sums: [slabs][groups][4 pairs][8 ceil(Co/8) channels] floats. */
export function filterPartialBytes(g: usize, taps: i32): usize {
  return <usize>filterSlabs(g, taps) * slabBytes(g, taps);
}

/**
 * dy [N][Co][positions] -> [ceil(Co/8)][N][positions][8 channels], channels past Co zero: each block
 * of 8 channels holds the whole batch's positions in order. Four channels at four positions move as
 * one 4 x 4 transpose. Units: (n, block of 8) pairs, [begin, end).
 */
export function packFilterOutputRange(g: usize, dy: usize, dst: usize, begin: i32, end: i32): void {
  const co = geo(g, G_CO), s = outputPositions(g), blocks = blocksOf8(co);
  const blockBytes = <usize>s << 5, channelBytes = <usize>s << 2;
  for (let u = begin; u < end; u++) {
    const n = u / blocks, block = u % blocks, c0 = block * 8;
    const to = dst + <usize>(block * geo(g, G_N) + n) * blockBytes;
    for (let half = 0; half < 2; half++) {
      const first = c0 + half * 4, count = min(4, co - first);
      const out = to + (<usize>half << 4);
      if (count <= 0) {
        for (let p = 0; p < s; p++) v128.store(out + (<usize>p << 5), f32x4.splat(0));
        continue;
      }
      const from = dy + <usize>(n * co + first) * channelBytes;
      let p = 0;
      if (count == 4) {
        for (; p + 4 <= s; p += 4) {
          const at = from + (<usize>p << 2);
          const r0 = v128.load(at), r1 = v128.load(at + channelBytes);
          const r2 = v128.load(at + 2 * channelBytes), r3 = v128.load(at + 3 * channelBytes);
          // 4 x 4 transpose: column j holds the 4 channels at position p + j.
          const t0 = i32x4.shuffle(r0, r1, 0, 4, 1, 5), t1 = i32x4.shuffle(r2, r3, 0, 4, 1, 5);
          const t2 = i32x4.shuffle(r0, r1, 2, 6, 3, 7), t3 = i32x4.shuffle(r2, r3, 2, 6, 3, 7);
          const o = out + (<usize>p << 5);
          v128.store(o, i64x2.shuffle(t0, t1, 0, 2));
          v128.store(o, i64x2.shuffle(t0, t1, 1, 3), 32);
          v128.store(o, i64x2.shuffle(t2, t3, 0, 2), 64);
          v128.store(o, i64x2.shuffle(t2, t3, 1, 3), 96);
        }
      }
      for (; p < s; p++) {
        const o = out + (<usize>p << 5);
        for (let c = 0; c < 4; c++) {
          store<f32>(o + (<usize>c << 2), c < count ? load<f32>(from + <usize>c * channelBytes + (<usize>p << 2)) : 0);
        }
      }
    }
  }
}

/**
 * sums[j][c] += sum over `count` positions of X_j * dy_c for 4 pairs j (rows PAIR_STRIDE apart from
 * `x`) and 8 channels c (packed dy from `dy`); the sums of pair j are at part + j * partStride.
 */
function filterTile(dy: usize, x: usize, count: i32, part: usize, partStride: usize): void {
  const p1 = part + partStride, p2 = p1 + partStride, p3 = p2 + partStride;
  let a00 = v128.load(part), a01 = v128.load(part, 16);
  let a10 = v128.load(p1), a11 = v128.load(p1, 16);
  let a20 = v128.load(p2), a21 = v128.load(p2, 16);
  let a30 = v128.load(p3), a31 = v128.load(p3, 16);
  const end = dy + (<usize>count << 5);
  let xp = x;
  for (let d = dy; d < end; d += 32) {
    const d0 = v128.load(d), d1 = v128.load(d, 16);
    let xv = v128.load32_splat(xp);
    a00 = madd(d0, xv, a00); a01 = madd(d1, xv, a01);
    xv = v128.load32_splat(xp, PAIR_STRIDE);
    a10 = madd(d0, xv, a10); a11 = madd(d1, xv, a11);
    xv = v128.load32_splat(xp, 2 * PAIR_STRIDE);
    a20 = madd(d0, xv, a20); a21 = madd(d1, xv, a21);
    xv = v128.load32_splat(xp, 3 * PAIR_STRIDE);
    a30 = madd(d0, xv, a30); a31 = madd(d1, xv, a31);
    xp += 4;
  }
  v128.store(part, a00); v128.store(part, a01, 16);
  v128.store(p1, a10); v128.store(p1, a11, 16);
  v128.store(p2, a20); v128.store(p2, a21, 16);
  v128.store(p3, a30); v128.store(p3, a31, 16);
}

/**
 * filterTile reading the 4 pairs' input in place, for unpadded geometries (every tap reads inside x):
 * pair j's value at a position lies at a fixed byte offset `offJ` from pair 0's, and pair 0's moves
 * `colStep` per output column, `rowStep` per output row, `planeStep` per output plane. The walk
 * starts at output (od, oh, ow) and follows the positions of the packed dy.
 * Exported only so that binaryen keeps it a function of its own: inlined into its one caller, TurboFan
 * reloads the walk's state from the stack inside the row loop (several times slower in the relaxed
 * build). filterTile is the other way round: out of line it is slower, so it stays inlined.
 */
export function filterTileDirect(
  dy: usize, x0: usize, off1: usize, off2: usize, off3: usize, od: i32, oh: i32, ow: i32, count: i32, hOut: i32, wOut: i32,
  colStep: usize, rowStep: usize, planeStep: usize, part: usize, partStride: usize,
): void {
  const p1 = part + partStride, p2 = p1 + partStride, p3 = p2 + partStride;
  let a00 = v128.load(part), a01 = v128.load(part, 16);
  let a10 = v128.load(p1), a11 = v128.load(p1, 16);
  let a20 = v128.load(p2), a21 = v128.load(p2, 16);
  let a30 = v128.load(p3), a31 = v128.load(p3, 16);
  let rowStart = x0 + <usize>od * planeStep + <usize>oh * rowStep;
  let xp = rowStart + <usize>ow * colStep;
  let left = count, d = dy;
  while (left > 0) {
    const run = min(wOut - ow, left);
    const end = d + (<usize>run << 5);
    for (; d < end; d += 32) {
      const d0 = v128.load(d), d1 = v128.load(d, 16);
      let xv = v128.load32_splat(xp);
      a00 = madd(d0, xv, a00); a01 = madd(d1, xv, a01);
      xv = v128.load32_splat(xp + off1);
      a10 = madd(d0, xv, a10); a11 = madd(d1, xv, a11);
      xv = v128.load32_splat(xp + off2);
      a20 = madd(d0, xv, a20); a21 = madd(d1, xv, a21);
      xv = v128.load32_splat(xp + off3);
      a30 = madd(d0, xv, a30); a31 = madd(d1, xv, a31);
      xp += colStep;
    }
    left -= run;
    ow = 0;
    if (++oh == hOut) {
      oh = 0;
      od++;
      rowStart = x0 + <usize>od * planeStep;
    } else {
      rowStart += rowStep;
    }
    xp = rowStart;
  }
  v128.store(part, a00); v128.store(part, a01, 16);
  v128.store(p1, a10); v128.store(p1, a11, 16);
  v128.store(p2, a20); v128.store(p2, a21, 16);
  v128.store(p3, a30); v128.store(p3, a31, 16);
}

/** 1 when no tap reads padding, so the tile can read x in place (filterTileDirect). */
export function filterReadsInPlace(g: usize): i32 {
  return i32(geo(g, G_PD) == 0 && geo(g, G_PH) == 0 && geo(g, G_PW) == 0);
}

/** Byte offset in x of pair m's input at output position 0 of batch item b. */
// @ts-ignore: decorator
@inline
function pairBase(g: usize, b: i32, m: i32, taps: i32): usize {
  const ci = geo(g, G_CI), d = geo(g, G_D), h = geo(g, G_H), w = geo(g, G_W), kh = geo(g, G_KH), kw = geo(g, G_KW);
  const c = m / taps, t = m % taps;
  const ta = t / (kh * kw), tb = (t / kw) % kh, tc = t % kw;
  return (<usize>(b * ci + c) * <usize>(d * h * w) + <usize>((ta * geo(g, G_DD) * h + tb * geo(g, G_DH)) * w + tc * geo(g, G_DW))) << 2;
}

/**
 * dst[j] = x[c0 + j sW] for the j < count whose column lies in [0, w), zero elsewhere: one tap's
 * input for a run of output positions along a row, read straight from x. `xRow` 0: the row is
 * outside the input.
 */
function gatherTapRow(dst: usize, xRow: usize, w: i32, c0: i32, sw: i32, count: i32): void {
  // (Divisions only where they are needed: an i32 division costs as much as several gathered floats.)
  let lo = c0 >= 0 ? 0 : (sw - 1 - c0) / sw;
  const span = w - 1 - c0;
  let hi = xRow == 0 || span < 0 ? 0 : min(count, (sw == 1 ? span : sw == 2 ? span >> 1 : span / sw) + 1);
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
  if (count > hi) memory.fill(dst + (<usize>hi << 2), 0, <usize>(count - hi) << 2);
}

/**
 * dst[0, count) = the tap's input for `count` output positions from (od, oh, ow) on: runs along
 * output rows, each a contiguous piece of a phase row (`planeBytes`, `rowBytes`: the source step per
 * output plane and row). Vector moves rather than memory.copy (a call) for the short rows of small
 * volumes; they may read up to 3 floats past a run (the phase copy has slack) and write as far past
 * it (the next run or pair overwrites them; the scratch has slack).
 */
function copyTapRuns(dst: usize, src: usize, od: i32, oh: i32, ow: i32, count: i32, hOut: i32, wOut: i32, planeBytes: usize, rowBytes: usize): void {
  let left = count, to = dst;
  let rowStart = src + <usize>od * planeBytes + <usize>oh * rowBytes;
  let from = rowStart + (<usize>ow << 2);
  while (left > 0) {
    const run = min(wOut - ow, left);
    const bytes = <usize>run << 2;
    for (let v: usize = 0; v < bytes; v += 16) v128.store(to + v, v128.load(from + v));
    to += bytes;
    left -= run;
    ow = 0;
    if (++oh == hOut) {
      oh = 0;
      od++;
      rowStart = src + <usize>od * planeBytes;
    } else {
      rowStart += rowBytes;
    }
    from = rowStart;
  }
}

/**
 * dst[0, count) = the input of tap `t` for `count` output positions from (od, oh, ow) on, gathered
 * run by run along output rows from `plane` (one channel of x), zero outside it. The position
 * advances without divisions: one per run had cost about 3 cycles a float at Wo 32.
 */
function gatherTapRuns(g: usize, dst: usize, plane: usize, t: i32, od: i32, oh: i32, ow: i32, count: i32): void {
  const d = geo(g, G_D), h = geo(g, G_H), w = geo(g, G_W), kh = geo(g, G_KH), kw = geo(g, G_KW);
  const hOut = geo(g, G_HO), wOut = geo(g, G_WO), sw = geo(g, G_SW);
  const zt = (t / (kh * kw)) * geo(g, G_DD) - geo(g, G_PD), yt = ((t / kw) % kh) * geo(g, G_DH) - geo(g, G_PH);
  const ct = (t % kw) * geo(g, G_DW) - geo(g, G_PW);
  let left = count, to = dst;
  while (left > 0) {
    const run = min(wOut - ow, left);
    const z = od * geo(g, G_SD) + zt, y = oh * geo(g, G_SH) + yt;
    const inside = z >= 0 && z < d && y >= 0 && y < h;
    gatherTapRow(to, inside ? plane + ((<usize>(z * h + y) * <usize>w) << 2) : 0, w, ct + ow * sw, sw, run);
    to += <usize>run << 2;
    left -= run;
    ow = 0;
    if (++oh == hOut) {
      oh = 0;
      od++;
    }
  }
}

/**
 * Pair groups [begin, end) of dw. dyq: dy packed by packFilterOutputRange; rows: this thread's
 * scratch. Where no tap reads padding (filterReadsInPlace), the tile reads x in place and nothing is
 * copied (a row gather costs the k2 s2 down-conv a third of its time). Otherwise (`xp` given) each
 * pair's positions come from x in the phase layout (packInputPhasesRange) at the offsets of the tap
 * list `taps` (copyTapRuns), or, when `xp` is 0, are gathered straight from `x` (gatherTapRow: padded
 * geometries whose input rows feed one output row each, where a phase copy would move as many bytes
 * as the row copies).
 */
export function conv3dBackwardFilterRange(
  g: usize, x: usize, xp: usize, dyq: usize, taps: usize, taps_: i32, partial: usize, dw: usize, rows: usize, begin: i32, end: i32,
): void {
  const groups = conv3dBackwardFilterUnits(g, taps_), slabs = filterSlabs(g, taps_), span = slabPositions(g, taps_);
  const total = geo(g, G_N) * outputPositions(g);
  for (let u = begin; u < end; ) {
    const slab = u / groups, g0 = u % groups, g1 = min(groups, g0 + end - u);
    const part = partial + <usize>slab * slabBytes(g, taps_);
    accumulatePairs(g, x, xp, dyq, taps, taps_, part, rows, g0, g1, slab * span, min(total, (slab + 1) * span));
    if (slabs == 1) storeSums(g, part, 1, 0, taps_, dw, g0, g1);
    u += g1 - g0;
  }
}

/** dw from the slabs' sums added in slab order, pair groups [begin, end) (only when filterSlabs > 1). */
export function filterReduceSlabsRange(g: usize, partial: usize, dw: usize, taps_: i32, begin: i32, end: i32): void {
  storeSums(g, partial, filterSlabs(g, taps_), slabBytes(g, taps_), taps_, dw, begin, end);
}

/**
 * dw[o][m] = the sum over slabs of sums[slab][m][o] for the pairs of groups [g0, g1): 16 pairs at a
 * time, so each channel's 16 values are one contiguous store run and the 16 sum rows stay in L1
 * across the channels (pair by pair, every store hit another line pairs * 4 bytes away: 1.8 M
 * scattered stores at 256 -> 256).
 */
function storeSums(g: usize, partial: usize, slabs: i32, slabStride: usize, taps_: i32, dw: usize, g0: i32, g1: i32): void {
  const co = geo(g, G_CO), pairs = geo(g, G_CI) * taps_, partStride = <usize>blocksOf8(co) << 5;
  const mEnd = min(pairs, g1 * 4);
  for (let m0 = g0 * 4; m0 < mEnd; m0 += 16) {
    const m1 = min(mEnd, m0 + 16);
    for (let o = 0; o < co; o++) {
      for (let m = m0; m < m1; m++) {
        const at = partial + <usize>m * partStride + (<usize>o << 2);
        let sum = load<f32>(at);
        for (let sl = 1; sl < slabs; sl++) sum += load<f32>(at + <usize>sl * slabStride);
        store<f32>(dw + (<usize>(o * pairs + m) << 2), sum);
      }
    }
  }
}

/**
 * Adds positions [sBegin, sEnd) (whole chunks, over the batch) of pair groups [begin, end) to their
 * sums at `partial`, zeroed first.
 */
function accumulatePairs(
  g: usize, x: usize, xp: usize, dyq: usize, taps: usize, taps_: i32, partial: usize, rows: usize, begin: i32, end: i32,
  sBegin: i32, sEnd: i32,
): void {
  const n = geo(g, G_N), ci = geo(g, G_CI), co = geo(g, G_CO), hOut = geo(g, G_HO), wOut = geo(g, G_WO);
  const d = geo(g, G_D), h = geo(g, G_H), w = geo(g, G_W), sd = geo(g, G_SD), sh = geo(g, G_SH), sw = geo(g, G_SW);
  const positions = outputPositions(g), pairs = ci * taps_;
  const coBlocks = blocksOf8(co), partStride = <usize>coBlocks << 5;
  const dyBlockBytes = <usize>(n * positions) << 5;
  const hp = h + 2 * geo(g, G_PH), rowFloats = phaseRowFloats(g), chFloats = phaseChannelFloats(g);
  const inPlace = xp == 0 && filterReadsInPlace(g) != 0;
  const colStep = <usize>sw << 2, rowStep = <usize>(sh * w) << 2, planeStep = <usize>(sd * h * w) << 2;
  const planeOut = hOut * wOut;
  memory.fill(partial + <usize>begin * 4 * partStride, 0, <usize>(end - begin) * 4 * partStride);
  for (let s0 = sBegin; s0 < sEnd; s0 += CHUNK) {
    const count = min(CHUNK, sEnd - s0), s1 = s0 + count;
    for (let g0 = begin; g0 < end; g0 += GROUPS_PER_PASS) {
      const g1 = min(end, g0 + GROUPS_PER_PASS);
      if (inPlace) {
        // Sample by sample (the pairs' offsets in x depend on it); groups outside, channel blocks
        // inside: each group's pair offsets are computed once per piece (the other order runs as
        // fast but recomputes them per channel block).
        for (let s = s0; s < s1; ) {
          const b = s / positions, local = s % positions, run = min(positions - local, s1 - s);
          const od0 = local / planeOut, oh0 = (local / wOut) % hOut, ow0 = local % wOut;
          for (let gi = g0; gi < g1; gi++) {
            // Ghost pairs of the last group repeat the last real one; their sums are never stored.
            const base0 = pairBase(g, b, min(gi * 4, pairs - 1), taps_);
            const off1 = pairBase(g, b, min(gi * 4 + 1, pairs - 1), taps_) - base0;
            const off2 = pairBase(g, b, min(gi * 4 + 2, pairs - 1), taps_) - base0;
            const off3 = pairBase(g, b, min(gi * 4 + 3, pairs - 1), taps_) - base0;
            for (let cb = 0; cb < coBlocks; cb++) {
              const dy = dyq + <usize>cb * dyBlockBytes + (<usize>s << 5);
              filterTileDirect(
                dy, x + base0, off1, off2, off3, od0, oh0, ow0, run, hOut, wOut, colStep, rowStep, planeStep,
                partial + <usize>gi * 4 * partStride + (<usize>cb << 5), partStride,
              );
            }
          }
          s += run;
        }
        continue;
      }
      // Copy positions [s0, s1) of the rows of pairs [4 g0, 4 g1), sample by sample; ghost pairs are zero.
      for (let j = 0; j < (g1 - g0) * 4; j++) {
        const m = g0 * 4 + j;
        const row = rows + <usize>j * PAIR_STRIDE;
        if (m >= pairs) {
          memory.fill(row, 0, <usize>count << 2);
          continue;
        }
        const c = m / taps_, t = m % taps_;
        for (let s = s0; s < s1; ) {
          const b = s / positions, local = s % positions, run = min(positions - local, s1 - s);
          const od0 = local / planeOut, oh0 = (local / wOut) % hOut, ow0 = local % wOut;
          const to = row + (<usize>(s - s0) << 2);
          if (xp != 0) {
            const src = xp + ((<usize>(b * ci + c) * <usize>chFloats) << 2) + <usize>load<i32>(taps + (<usize>t << 3));
            copyTapRuns(to, src, od0, oh0, ow0, run, hOut, wOut, <usize>(sd * hp * rowFloats) << 2, <usize>(sh * rowFloats) << 2);
          } else {
            gatherTapRuns(g, to, x + ((<usize>(b * ci + c) * <usize>(d * h * w)) << 2), t, od0, oh0, ow0, run);
          }
          s += run;
        }
      }
      for (let cb = 0; cb < coBlocks; cb++) {
        const dy = dyq + <usize>cb * dyBlockBytes + (<usize>s0 << 5);
        for (let gi = g0; gi < g1; gi++) {
          filterTile(dy, rows + <usize>((gi - g0) * 4) * PAIR_STRIDE, count, partial + <usize>gi * 4 * partStride + (<usize>cb << 5), partStride);
        }
      }
    }
  }
}
