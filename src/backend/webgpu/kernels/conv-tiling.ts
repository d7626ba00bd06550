import { SdsError } from '../../../core/errors.js';

/**
 * Tile shapes for the implicit-GEMM convolutions (shaders/conv3d-gemm.wgsl). A workgroup of
 * WG_X x WG_Y threads computes a (4 * WG_Y) x (4 * WG_X) block of the output matrix, each thread
 * a 4 x 4 block in registers, walking the reduction in slices of TILE_K staged in workgroup memory.
 */
export interface ConvTile {
  readonly WG_X: number;
  readonly WG_Y: number;
  readonly TILE_K: number;
}

/** Outputs each thread holds along M and along N (fixed by the shader's vec4 accumulators). */
export const OUTPUTS_PER_THREAD = 4;

/**
 * Thread grids by the height M of the output matrix (Co for forward and filter gradient, Ci for
 * backward data). All use 256 threads, WebGPU's guaranteed maxComputeInvocationsPerWorkgroup. V-Net
 * has M = 16 at full resolution, where a 64-row tile would idle three quarters of its threads; there
 * a 16 x 256 tile keeps every thread busy and still reuses each gathered input value 16 times.
 */
const GRIDS_BY_HEIGHT: readonly { readonly maxM: number; readonly WG_X: number; readonly WG_Y: number }[] = [
  { maxM: 16, WG_X: 64, WG_Y: 4 },
  { maxM: 32, WG_X: 32, WG_Y: 8 },
  { maxM: Infinity, WG_X: 16, WG_Y: 16 },
];

/** Deepest K slice tried; halved until the tiles fit the adapter's workgroup memory. */
const MAX_TILE_K = 32;
const VEC4_BYTES = 16;
/** Row entries per K row in workgroup memory: an i32 and a vec4<i32>, double-buffered. */
const ROW_ENTRY_BYTES = 2 * (4 + 16);

export function tileWorkgroupBytes(t: ConvTile): number {
  const a = t.TILE_K * (t.WG_Y + 1) * VEC4_BYTES;
  const b = t.TILE_K * t.WG_X * VEC4_BYTES;
  return a + b + t.TILE_K * ROW_ENTRY_BYTES;
}

/** The tile for an output matrix of height `m` on this adapter (deepest TILE_K that fits). */
export function chooseConvTile(limits: GPUSupportedLimits, m: number): ConvTile {
  const grid = GRIDS_BY_HEIGHT.find((g) => m <= g.maxM)!;
  const threads = grid.WG_X * grid.WG_Y;
  if (
    threads > limits.maxComputeInvocationsPerWorkgroup ||
    grid.WG_X > limits.maxComputeWorkgroupSizeX ||
    grid.WG_Y > limits.maxComputeWorkgroupSizeY
  ) {
    throw new SdsError(
      'E_LIMIT_EXCEEDED',
      `conv3d needs workgroups of ${grid.WG_X} x ${grid.WG_Y} invocations; the adapter allows ${limits.maxComputeInvocationsPerWorkgroup} ` +
        `(x <= ${limits.maxComputeWorkgroupSizeX}, y <= ${limits.maxComputeWorkgroupSizeY})`,
    );
  }
  // Each thread stages one B column for TILE_K / (WG_Y / 4) rows, so TILE_K must divide evenly.
  const rowGroups = grid.WG_Y / OUTPUTS_PER_THREAD;
  for (let k = MAX_TILE_K; k >= rowGroups && k >= 4; k /= 2) {
    const tile = { WG_X: grid.WG_X, WG_Y: grid.WG_Y, TILE_K: k };
    if (tileWorkgroupBytes(tile) <= limits.maxComputeWorkgroupStorageSize) return tile;
  }
  throw new SdsError(
    'E_LIMIT_EXCEEDED',
    `conv3d tiles of ${grid.WG_Y * 4} x ${grid.WG_X * 4} need at least ` +
      `${tileWorkgroupBytes({ ...grid, TILE_K: Math.max(4, rowGroups) })} bytes of workgroup memory; ` +
      `the adapter's maxComputeWorkgroupStorageSize is ${limits.maxComputeWorkgroupStorageSize}`,
  );
}

/**
 * Workgroups worth launching before splitting the reduction stops paying: enough to fill a large
 * discrete GPU (100+ compute units with a few resident workgroups each). Deep V-Net layers
 * (128 channels at 8^3) have only ~16 output tiles and a K of thousands; the filter gradient has few
 * tiles and a K of a whole volume. Splitting K over workgroups (then summing the slices in a fixed
 * order) keeps such layers from running on a handful of cores.
 */
export const TARGET_WORKGROUPS = 512;
/** A split walks at least this many K slices, so its partial-output write stays small beside its math. */
export const MIN_SLICES_PER_SPLIT = 8;
/** Cap on the split-K scratch buffer: bounded memory whatever the shape. */
export const MAX_PARTIAL_BYTES = 256 * 1024 * 1024;

export interface SplitPlan {
  /** Number of K ranges (workgroups along z); 1 writes the output directly. */
  readonly splits: number;
  /** Length of each K range, a multiple of TILE_K. */
  readonly kChunk: number;
}

/**
 * How to split a reduction of length `k` for `tiles` output tiles writing `outputElements` values.
 * `kChunkFor` rounds per dispatch when several dispatches (residue classes) share one split count.
 */
export function planSplit(tile: ConvTile, tiles: number, k: number, outputElements: number, limits: GPUSupportedLimits): SplitPlan {
  const byOccupancy = Math.floor(TARGET_WORKGROUPS / Math.max(1, tiles));
  const byDepth = Math.floor(k / (MIN_SLICES_PER_SPLIT * tile.TILE_K));
  const byMemory = Math.floor(Math.min(MAX_PARTIAL_BYTES, limits.maxStorageBufferBindingSize, limits.maxBufferSize) / (outputElements * 4));
  const wanted = Math.max(1, Math.min(byOccupancy, byDepth, byMemory, limits.maxComputeWorkgroupsPerDimension));
  const kChunk = kChunkFor(tile, k, wanted);
  return { splits: Math.max(1, Math.ceil(k / kChunk)), kChunk };
}

export function kChunkFor(tile: ConvTile, k: number, splits: number): number {
  return Math.max(tile.TILE_K, Math.ceil(Math.ceil(k / splits) / tile.TILE_K) * tile.TILE_K);
}
