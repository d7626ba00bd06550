import { SdsError } from '../../../core/errors.js';
import type { GpuProfile } from '../profile.js';

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
 * Direct skeleton (shaders/conv3d-direct.wgsl, profile 'cpu'): no workgroup memory, so the
 * workgroup is small, only a unit of scheduling (SwiftShader hands workgroups to CPU threads, and
 * runs each as WG / 4 SIMD groups); each invocation holds DIRECT_ROWS x 4 outputs in registers.
 */
export const DIRECT_WG = 64;
/** Rows of M per invocation by height M: all 16 rows at V-Net's top level, so each gathered B value feeds 16 outputs. */
const DIRECT_ROWS_BY_HEIGHT: readonly { readonly maxM: number; readonly RM: number }[] = [
  { maxM: 4, RM: 4 },
  { maxM: 8, RM: 8 },
  { maxM: Infinity, RM: 16 },
];

/**
 * How one convolution program is launched: the skeleton, its override constants, the output block
 * a unit of work computes (a workgroup's tile, or one invocation's block) and how K may be split.
 */
export interface ConvLayout {
  readonly skeleton: 'tiled' | 'direct';
  readonly constants: Readonly<Record<string, number>>;
  /** Output rows (of M) and columns one block covers. */
  readonly blockM: number;
  readonly blockN: number;
  /** Blocks per workgroup: 1 for a tile, DIRECT_WG for the direct skeleton. */
  readonly blocksPerWorkgroup: number;
  /** Split K ranges are multiples of this (the tiled skeleton stages TILE_K rows at a time). */
  readonly kStep: number;
  /** Split K until this many workgroups run, but give each split at least minKPerSplit rows. */
  readonly targetWorkgroups: number;
  readonly minKPerSplit: number;
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
/** On a CPU adapter a workgroup is a task for one of a few CPU threads: a few per core suffice. */
export const CPU_TARGET_WORKGROUPS = 32;
/** K rows per split on a CPU adapter: the partial write and reduce pass stay small beside the math. */
export const CPU_MIN_K_PER_SPLIT = 256;
/** Cap on the split-K scratch buffer: bounded memory whatever the shape. */
export const MAX_PARTIAL_BYTES = 256 * 1024 * 1024;

/** The layout for an output matrix of height `m` under `profile` on this adapter. */
export function chooseConvLayout(profile: GpuProfile, limits: GPUSupportedLimits, m: number): ConvLayout {
  if (profile === 'cpu') {
    const { RM } = DIRECT_ROWS_BY_HEIGHT.find((g) => m <= g.maxM)!;
    return {
      skeleton: 'direct',
      constants: { WG: DIRECT_WG, RM },
      blockM: RM,
      blockN: OUTPUTS_PER_THREAD,
      blocksPerWorkgroup: DIRECT_WG,
      kStep: 1,
      targetWorkgroups: CPU_TARGET_WORKGROUPS,
      minKPerSplit: CPU_MIN_K_PER_SPLIT,
    };
  }
  const tile = chooseConvTile(limits, m);
  return {
    skeleton: 'tiled',
    constants: { WG_X: tile.WG_X, WG_Y: tile.WG_Y, TILE_K: tile.TILE_K },
    blockM: tile.WG_Y * OUTPUTS_PER_THREAD,
    blockN: tile.WG_X * OUTPUTS_PER_THREAD,
    blocksPerWorkgroup: 1,
    kStep: tile.TILE_K,
    targetWorkgroups: TARGET_WORKGROUPS,
    minKPerSplit: MIN_SLICES_PER_SPLIT * tile.TILE_K,
  };
}

export interface SplitPlan {
  /** Number of K ranges (workgroups along z); 1 writes the output directly. */
  readonly splits: number;
  /** Length of each K range, a multiple of kStep. */
  readonly kChunk: number;
}

/**
 * How to split a reduction of length `k` for `blocks` output blocks writing `outputElements` values.
 * `kChunkFor` rounds per dispatch when several dispatches (residue classes) share one split count.
 */
export function planSplit(layout: ConvLayout, blocks: number, k: number, outputElements: number, limits: GPUSupportedLimits): SplitPlan {
  const workgroups = Math.ceil(blocks / layout.blocksPerWorkgroup);
  const byOccupancy = Math.floor(layout.targetWorkgroups / Math.max(1, workgroups));
  const byDepth = Math.floor(k / layout.minKPerSplit);
  const byMemory = Math.floor(Math.min(MAX_PARTIAL_BYTES, limits.maxStorageBufferBindingSize, limits.maxBufferSize) / (outputElements * 4));
  const wanted = Math.max(1, Math.min(byOccupancy, byDepth, byMemory, limits.maxComputeWorkgroupsPerDimension));
  const kChunk = kChunkFor(layout, k, wanted);
  return { splits: Math.max(1, Math.ceil(k / kChunk)), kChunk };
}

export function kChunkFor(layout: ConvLayout, k: number, splits: number): number {
  return Math.max(layout.kStep, Math.ceil(Math.ceil(k / splits) / layout.kStep) * layout.kStep);
}
