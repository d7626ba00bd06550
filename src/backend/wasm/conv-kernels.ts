/**
 * The JavaScript half of the three convolutions: allocate the output and the packed operands, write
 * the geometry block (wasm/conv-geometry.ts reads the same 21 values in the same order), then submit
 * the packing and tile steps. Activation-sized packing is split across threads like the tiles, and
 * so is weight packing (1.8 MB at 128->128 k3: on one thread it idled the others). Sizes and unit
 * counts are computed now from the runtime's query block (`q`); the steps read their own geometry
 * block (`g`), whose write is queued like theirs.
 * Scratch is freed right after the last step using it is submitted (see runtime.ts).
 */
import type { Vec3 } from '../../core/shape.js';
import type { Tensor } from '../../core/tensor.js';
import { convOutputSize } from '../../contract/conv-size.js';
import type { Conv3dBackwardDataParams, Conv3dBackwardFilterParams, Conv3dParams } from '../../contract/params.js';
import type { Step, WasmRuntime } from './runtime.js';
import { newTensor, ptr } from './storage.js';

const blocksOf4 = (c: number): number => Math.ceil(c / 4);

interface Geometry {
  /** The steps' geometry block, written in queue order. */
  readonly g: number;
  /** The same values in the runtime's query block, for size and count exports called now. */
  readonly q: number;
}

/** [N, Ci, D, H, W, Co, Do, Ho, Wo, kD, kH, kW, sD, sH, sW, pD, pH, pW, dD, dH, dW]. */
function geometry(rt: WasmRuntime, x: readonly number[], co: number, out: Vec3, kernel: Vec3, p: Conv3dParams): Geometry {
  const values = [...x, co, ...out, ...kernel, ...p.stride, ...p.padding, ...p.dilation];
  return { g: rt.int32Block(values), q: rt.queryBlock(values) };
}

function outputSpatial(input: Vec3, kernel: Vec3, p: Conv3dParams): Vec3 {
  const at = (a: number): number => convOutputSize(input[a], kernel[a], p.stride[a], p.padding[a], p.dilation[a]);
  return [at(0), at(1), at(2)];
}

const spatialOf = (shape: readonly number[]): Vec3 => [shape[2], shape[3], shape[4]];

/** x into the phase layout at xp, split over padded planes. */
const packInput = (rt: WasmRuntime, { g, q }: Geometry, x: Tensor, xp: number): Step => ({
  split: { fn: 'packInputPhasesRange', units: rt.k.phaseInputUnits(q), args: () => [g, ptr(x), xp] },
});

/** dy into padded rows at dst, split over (n, channel) blocks. */
const packRows = (g: number, dy: Tensor, dst: number, channels: number, left: number, rowFloats: number): Step => ({
  split: { fn: 'packOutputRowsRange', units: dy.shape[0] * channels, args: () => [g, ptr(dy), dst, channels, left, rowFloats] },
});

/**
 * The forward convolution. `flipped`: w is [Ci, Co, k...] and the convolution uses it transposed with
 * every kernel axis reversed (backwardDataAsForward), packed that way in one pass.
 */
export function conv3dWasm(rt: WasmRuntime, x: Tensor, w: Tensor, bias: Tensor | null, p: Conv3dParams, flipped = false): Tensor {
  const [n, ci] = x.shape;
  const co = w.shape[flipped ? 1 : 0];
  const kernel = spatialOf(w.shape);
  const out = outputSpatial(spatialOf(x.shape), kernel, p);
  const y = newTensor(rt, [n, co, ...out]);
  const { k, heap } = rt;
  const geo = geometry(rt, x.shape.slice(0, 5), co, out, kernel, p);
  const { g, q } = geo;
  const taps = k.tapCount(q);
  const wf = heap.alloc(blocksOf4(co) * ci * taps * 16);
  const packedBias = heap.alloc(blocksOf4(co) * 16);
  const tapList = heap.alloc(taps * 8);
  const weightSteps: Step[] = [
    { split: { fn: flipped ? 'packWeightsFlippedForwardRange' : 'packWeightsForwardRange', units: blocksOf4(co), args: () => [g, ptr(w), wf] } },
    { run: () => k.packBias(g, bias ? ptr(bias) : 0, packedBias) },
  ];
  if (k.forwardTilesPlanes(q) !== 0) {
    // Rows narrower than a tile (the coarse levels) or inputs of 1-3 channels: tiles over whole
    // planes (wasm/conv-narrow.ts says when and why).
    const shifted = heap.alloc(k.shiftedInputBytes(q) >>> 0);
    rt.submit(
      { split: { fn: 'packShiftedInputRange', units: k.shiftedInputUnits(q), args: () => [g, ptr(x), shifted] } },
      ...weightSteps,
      { run: () => k.buildShiftedTaps(g, tapList) },
      {
        split: {
          fn: 'conv3dForwardPlanesRange',
          units: k.conv3dForwardPlaneUnits(q),
          args: () => [g, shifted, wf, packedBias, tapList, ptr(y)],
        },
      },
    );
    rt.release(g, shifted, wf, packedBias, tapList);
    return y;
  }
  // Down-convolutions (no input row shared between output rows) pack each output row's input into
  // per-thread scratch as they go; the others pack the whole input once (wasm/conv.ts says why).
  const perRow = k.inputRowsUnshared(q) !== 0;
  const xp = perRow ? 0 : heap.alloc(k.phaseInputBytes(q) >>> 0);
  const scratch = perRow ? Array.from({ length: rt.threads }, () => heap.alloc(k.rowPackedScratchBytes(q) >>> 0)) : [];
  rt.submit(
    ...(perRow ? [] : [{ split: { fn: 'packInputInterleavedRange', units: k.interleavedInputUnits(q), args: () => [g, ptr(x), xp] } } as const]),
    ...weightSteps,
    { run: () => (perRow ? k.buildRowPackedTaps(g, tapList) : k.buildInterleavedTaps(g, tapList)) },
    {
      split: {
        fn: 'conv3dForwardRange',
        units: k.conv3dForwardUnits(q),
        args: (thread) => [g, perRow ? ptr(x) : xp, wf, packedBias, tapList, taps, ptr(y), perRow ? scratch[thread] : 0],
      },
    },
  );
  rt.release(g, ...(perRow ? scratch : [xp]), wf, packedBias, tapList);
  return y;
}

/**
 * Stride-1 backward-data as the forward convolution of dy with the flipped, transposed weights and
 * padding d (k - 1) - p, where that padding is not negative: it then runs on the forward's
 * channel-interleaved input layout instead of one plane per channel, faster than the backward-data
 * tiles on the shallow, wide layers (docs/wasm-kernel-measurements.md). Null where it does not apply.
 */
function backwardDataAsForward(rt: WasmRuntime, dy: Tensor, w: Tensor, p: Conv3dBackwardDataParams): Tensor | null {
  const kernel = spatialOf(w.shape);
  const pad = (a: number): number => p.dilation[a] * (kernel[a] - 1) - p.padding[a];
  const padding: Vec3 = [pad(0), pad(1), pad(2)];
  if (p.stride.some((s) => s !== 1) || padding.some((v) => v < 0)) return null;
  const forward = { stride: p.stride, padding, dilation: p.dilation };
  if (outputSpatial(spatialOf(dy.shape), kernel, forward).some((v, a) => v !== p.inputSpatial[a])) return null;
  return conv3dWasm(rt, dy, w, null, forward, true);
}

export function conv3dBackwardDataWasm(rt: WasmRuntime, dy: Tensor, w: Tensor, p: Conv3dBackwardDataParams): Tensor {
  const asForward = backwardDataAsForward(rt, dy, w, p);
  if (asForward) return asForward;
  const n = dy.shape[0];
  const [co, ci] = w.shape;
  const kernel = spatialOf(w.shape);
  const dx = newTensor(rt, [n, ci, ...p.inputSpatial]);
  const { k, heap } = rt;
  const { g, q } = geometry(rt, [n, ci, ...p.inputSpatial], co, spatialOf(dy.shape), kernel, p);
  const taps = k.tapCount(q);
  const left = k.backwardDataLeft(q);
  const rowFloats = k.backwardDataRowFloats(q);
  const rows = dy.shape[2] * dy.shape[3];
  const dyp = heap.alloc((n * co * rows * rowFloats + 16) * 4);
  const wb = heap.alloc(blocksOf4(ci) * co * taps * 16);
  const zeroBias = rt.int32Block([0, 0, 0, 0]);
  // Per thread: a tap list, and with sW > 1 the phase rows of the unit it is on (wasm/conv.ts).
  const scratch = Array.from({ length: rt.threads }, () => heap.alloc(taps * 8));
  const phased = Array.from({ length: rt.threads }, () => (p.stride[2] > 1 ? heap.alloc(k.backwardDataPhaseScratchBytes(q) >>> 0) : 0));
  rt.submit(
    packRows(g, dy, dyp, co, left, rowFloats),
    { split: { fn: 'packWeightsBackwardDataRange', units: blocksOf4(ci), args: () => [g, ptr(w), wb] } },
    {
      split: {
        fn: 'conv3dBackwardDataRange',
        units: k.conv3dBackwardDataUnits(q),
        args: (thread) => [g, dyp, wb, zeroBias, ptr(dx), scratch[thread], phased[thread]],
      },
    },
  );
  rt.release(g, dyp, wb, zeroBias, ...scratch, ...phased.filter((block) => block !== 0));
  return dx;
}

export function conv3dBackwardFilterWasm(rt: WasmRuntime, x: Tensor, dy: Tensor, p: Conv3dBackwardFilterParams): Tensor {
  const [n, ci] = x.shape;
  const co = dy.shape[1];
  const dw = newTensor(rt, [co, ci, ...p.kernel]);
  const { k, heap } = rt;
  const geo = geometry(rt, x.shape.slice(0, 5), co, spatialOf(dy.shape), p.kernel, p);
  const { g, q } = geo;
  const taps = k.tapCount(q);
  const dyq = heap.alloc(k.filterOutputBytes(q) >>> 0);
  const partial = heap.alloc(k.filterPartialBytes(q, taps) >>> 0);
  // Unpadded geometries read x in place. Otherwise each thread copies the input of its own pairs
  // into its own block: from a phase-split copy of x, or gathered straight from x where no input row
  // is reused (wasm/conv-filter.ts says why).
  const inPlace = k.filterReadsInPlace(q) !== 0;
  const rows = inPlace ? [] : Array.from({ length: rt.threads }, () => heap.alloc(k.filterScratchBytes(q) >>> 0));
  const straight = inPlace || k.inputRowsUnshared(q) !== 0;
  // The phase-split copy and its tap list exist only on the copying path.
  const xp = straight ? 0 : heap.alloc(k.phaseInputBytes(q) >>> 0);
  const tapList = straight ? 0 : heap.alloc(taps * 8);
  rt.submit(
    ...(straight ? [] : [packInput(rt, geo, x, xp), { run: () => k.buildForwardTaps(g, tapList) }]),
    { split: { fn: 'packFilterOutputRange', units: n * Math.ceil(co / 8), args: () => [g, ptr(dy), dyq] } },
    {
      split: {
        fn: 'conv3dBackwardFilterRange',
        units: k.filterWorkUnits(q, taps),
        // Every call streams all of dy (wasm/conv-filter.ts): with the default chunks of units / 16, the
        // 16->32 down-conv made 16 small calls on 2 threads, read its 4 MB dy 16 times (once on 1
        // thread), and ran 1.1x faster than on 1 thread.
        minGrain: k.filterGroupsPerPass(),
        args: (thread) => [g, ptr(x), xp, dyq, tapList, taps, partial, ptr(dw), rows[thread] ?? 0],
      },
    },
    // Few pair groups: the positions were split into slabs too, whose sums are added here.
    ...(k.filterSlabs(q, taps) > 1
      ? [{ split: { fn: 'filterReduceSlabsRange', units: k.conv3dBackwardFilterUnits(q, taps), args: () => [g, partial, ptr(dw), taps] } } as const]
      : []),
  );
  rt.release(g, ...(straight ? [] : [xp, tapList]), dyq, partial, ...rows);
  return dw;
}
