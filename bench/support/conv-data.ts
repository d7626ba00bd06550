/**
 * The convolution geometry and the deterministic data every contender of bench/wasm.ts computes on,
 * so sds-web and each peer (in this process or a child process) see bit-identical inputs, and the
 * checks that gate a peer's ratio: its output against sds-web's on the bench input, and against the
 * float64 CPU reference on a small input of the same geometry.
 */
import type { Vec3 } from '../../src/core/shape.js';
import { conv3dBackwardDataReference, conv3dBackwardFilterReference } from '../../src/ops/conv3d-backward.js';
import { conv3dReference } from '../../src/ops/conv3d.js';
import { dense } from '../../src/ops/dense.js';

/** x [1, ci, spatial^3], w [co, ci, k^3], cubic stride s and padding p, dilation 1. */
export interface ConvGeometry {
  readonly ci: number;
  readonly co: number;
  readonly spatial: number;
  readonly k: number;
  readonly s: number;
  readonly p: number;
}

/** The kernel computed: conv3d, conv3dBackwardData or conv3dBackwardFilter of a geometry. */
export type ConvOp = 'forward' | 'backward-data' | 'backward-filter';

export const vec = (v: number): Vec3 => [v, v, v];
export const outSpatial = (g: ConvGeometry): number => Math.floor((g.spatial + 2 * g.p - g.k) / g.s) + 1;
export const macs = (g: ConvGeometry): number => g.co * g.ci * g.k ** 3 * outSpatial(g) ** 3;

/** Uniform in [-0.5, 0.5) from a 32-bit LCG: cheap, and the same in every process. */
export function benchRandom(n: number, seed: number): Float32Array {
  const a = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = s / 2 ** 32 - 0.5;
  }
  return a;
}

/** The operands of a geometry in NCDHW / [Co, Ci, k^3] order: x, w and the output gradient dy. */
export function convData(g: ConvGeometry): { x: Float32Array; w: Float32Array; dy: Float32Array } {
  return {
    x: benchRandom(g.ci * g.spatial ** 3, 1),
    w: benchRandom(g.co * g.ci * g.k ** 3, 2),
    dy: benchRandom(g.co * outSpatial(g) ** 3, 3),
  };
}

/**
 * The small verification input of a geometry: same kernel, stride and padding, few channels (3 and 5,
 * not multiples of any vector width) and a small odd-or-even volume the stride divides.
 */
export const smallGeometry = (g: ConvGeometry): ConvGeometry => ({ ...g, ci: 3, co: 5, spatial: g.s === 2 ? 8 : 7 });

/** The reference's answer for op on geometry g's data (float64 accumulation, float32 result). */
export function referenceOutput(g: ConvGeometry, op: ConvOp): Float32Array {
  const { x, w, dy } = convData(g);
  const params = { stride: vec(g.s), padding: vec(g.p), dilation: vec(1) };
  const xd = dense(x, [1, g.ci, ...vec(g.spatial)]);
  const wd = dense(w, [g.co, g.ci, ...vec(g.k)]);
  const dyd = dense(dy, [1, g.co, ...vec(outSpatial(g))]);
  if (op === 'forward') return conv3dReference(xd, wd, null, params).data;
  if (op === 'backward-data') return conv3dBackwardDataReference(dyd, wd, { ...params, inputSpatial: vec(g.spatial) }).data;
  return conv3dBackwardFilterReference(xd, dyd, { ...params, kernel: vec(g.k) }).data;
}

/**
 * max |peer - expected| / max |expected|. Summation order differs between libraries, so float32
 * results differ by ~1e-6 relative; a wrong layout, padding or stride differs by O(1).
 */
export function relativeError(expected: Float32Array, peer: Float32Array): number {
  if (expected.length !== peer.length) return Number.POSITIVE_INFINITY;
  let maxDiff = 0;
  let maxAbs = 0;
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(peer[i] - expected[i]);
    // NaN must fail the check, and `d > maxDiff` is false for NaN.
    if (!(d <= maxDiff)) maxDiff = Number.isNaN(d) ? Number.POSITIVE_INFINITY : d;
    maxAbs = Math.max(maxAbs, Math.abs(expected[i]));
  }
  return maxDiff / Math.max(maxAbs, 1e-30);
}

/** Agreement threshold for relativeError: loose enough for float32 reordering over ~10^5-term sums. */
export const AGREEMENT_TOLERANCE = 1e-3;

/** How long a peer may spend on one case: warm-up, then up to `repeats` runs within `budgetMs`. */
export interface PeerTiming {
  readonly repeats: number;
  readonly budgetMs: number;
}

/** One peer's measurement of one op: its time, and its outputs on the bench and small inputs. */
export interface PeerResult {
  readonly ms: number;
  readonly reps: number;
  /** CPU milliseconds of the fastest-by-CPU run (best-time.ts), where the peer reports it. */
  readonly cpuMs?: number;
  /** In sds-web's layout (NCDHW; filters [Co, Ci, k^3]), on convData(g). */
  readonly output: Float32Array;
  /** The same on convData(smallGeometry(g)). */
  readonly smallOutput: Float32Array;
  /** What the reader should know about this figure (threads seen busy, ...). */
  readonly note?: string;
}

/** A library measured beside sds-web, on the ops and thread counts it can run like-for-like. */
export interface ConvPeer {
  readonly name: string;
  supports(op: ConvOp, threads: number): boolean;
  measure(g: ConvGeometry, op: ConvOp, threads: number, timing: PeerTiming): Promise<PeerResult>;
}
