/**
 * The functions the compiled module exports (wasm/index.ts), typed once so a renamed or re-shaped
 * kernel fails `tsc` here rather than at run time. Pointers are byte addresses in the shared memory.
 */
type Ptr = number;

export interface KernelExports {
  heapBase(): Ptr;
  // Convolution (wasm/conv*.ts)
  phaseInputBytes(g: Ptr): number;
  phaseInputUnits(g: Ptr): number;
  packInputPhasesRange(g: Ptr, x: Ptr, dst: Ptr, begin: number, end: number): void;
  tapCount(g: Ptr): number;
  buildForwardTaps(g: Ptr, taps: Ptr): number;
  buildInterleavedTaps(g: Ptr, taps: Ptr): number;
  interleavedInputUnits(g: Ptr): number;
  packInputInterleavedRange(g: Ptr, x: Ptr, dst: Ptr, begin: number, end: number): void;
  packWeightsForwardRange(g: Ptr, w: Ptr, dst: Ptr, begin: number, end: number): void;
  packWeightsBackwardDataRange(g: Ptr, w: Ptr, dst: Ptr, begin: number, end: number): void;
  flipWeightsRange(g: Ptr, w: Ptr, dst: Ptr, begin: number, end: number): void;
  packBias(g: Ptr, bias: Ptr, dst: Ptr): void;
  packFilterOutputRange(g: Ptr, dy: Ptr, dst: Ptr, begin: number, end: number): void;
  packOutputRowsRange(g: Ptr, dy: Ptr, dst: Ptr, channels: number, left: number, rowFloats: number, begin: number, end: number): void;
  conv3dForwardUnits(g: Ptr): number;
  /** `scratch` 0: `input` is the packed input; otherwise x itself, packed per output row into scratch. */
  conv3dForwardRange(g: Ptr, input: Ptr, wf: Ptr, bias: Ptr, taps: Ptr, tapCount: number, y: Ptr, scratch: Ptr, begin: number, end: number): void;
  /** 1 when every input row feeds at most one output row (kernel <= stride in D and H): forward packs per output row, backward-filter gathers from x. */
  inputRowsUnshared(g: Ptr): number;
  rowPackedScratchBytes(g: Ptr): number;
  buildRowPackedTaps(g: Ptr, taps: Ptr): number;
  backwardDataLeft(g: Ptr): number;
  backwardDataRowFloats(g: Ptr): number;
  conv3dBackwardDataUnits(g: Ptr): number;
  backwardDataPhaseScratchBytes(g: Ptr): number;
  /** `phased` (per thread, sW > 1 only): the unit's phase rows before they are interleaved into dx. */
  conv3dBackwardDataRange(g: Ptr, dyp: Ptr, wb: Ptr, zeroBias: Ptr, dx: Ptr, scratch: Ptr, phased: Ptr, begin: number, end: number): void;
  filterOutputBytes(g: Ptr): number;
  /** 1 when no tap reads padding: backward-filter reads x in place, copying nothing. */
  filterReadsInPlace(g: Ptr): number;
  filterPartialBytes(g: Ptr, taps: number): number;
  conv3dBackwardFilterUnits(g: Ptr, taps: number): number;
  filterScratchBytes(g: Ptr): number;
  /** Pair groups whose rows one pass of conv3dBackwardFilterRange copies before it streams dy. */
  filterGroupsPerPass(): number;
  /** `xp` 0: the pairs' rows are gathered straight from `x` (`taps` unused); otherwise copied from `xp` at `taps`. */
  conv3dBackwardFilterRange(
    g: Ptr,
    x: Ptr,
    xp: Ptr,
    dyq: Ptr,
    taps: Ptr,
    tapCount: number,
    partial: Ptr,
    dw: Ptr,
    rows: Ptr,
    begin: number,
    end: number,
  ): void;
  // Elementwise and per-channel (wasm/elementwise.ts)
  addF32(a: Ptr, b: Ptr, y: Ptr, count: number): void;
  reluF32(x: Ptr, y: Ptr, count: number): void;
  reluBackwardF32(dy: Ptr, y: Ptr, dx: Ptr, count: number): void;
  scaleF32(x: Ptr, y: Ptr, count: number, a: number): void;
  channelAffineF32(x: Ptr, v: Ptr, y: Ptr, n: number, c: number, inner: number, multiply: number): void;
  channelSumF32(x: Ptr, out: Ptr, n: number, c: number, inner: number): void;
  reduceF32(x: Ptr, out: Ptr, count: number, divide: number): void;
  sgdStepF32(param: Ptr, grad: Ptr, buf: Ptr, count: number, lr: number, momentum: number, weightDecay: number): void;
  laEmaAlphaF32(loss: Ptr, out: Ptr, t: number, temperature: number, floor: number): void;
  emaUpdateF32(target: Ptr, source: Ptr, alpha: Ptr, count: number): void;
  // Masks and rearrangement (wasm/spatial.ts)
  dropoutMaskF32(out: Ptr, count: number, p: number, seed: number): void;
  cubeMask(out: Ptr, d: number, h: number, w: number, d0: number, h0: number, w0: number, dn: number, hn: number, wn: number): void;
  cutMix(a: Ptr, b: Ptr, mask: Ptr, y: Ptr, count: number, spatial: number, elemBytes: number): void;
  gatherSpatial(
    x: Ptr,
    y: Ptr,
    elemBytes: number,
    outer: number,
    planeIn: number,
    d: number,
    h: number,
    w: number,
    base: number,
    s0: number,
    s1: number,
    s2: number,
  ): void;
  // BatchNorm3d (wasm/batch-norm.ts)
  batchNormTrainF32(
    x: Ptr,
    gamma: Ptr,
    beta: Ptr,
    runMean: Ptr,
    runVar: Ptr,
    y: Ptr,
    mean: Ptr,
    invStd: Ptr,
    n: number,
    c: number,
    inner: number,
    momentum: number,
    eps: number,
  ): void;
  batchNormEvalF32(
    x: Ptr,
    gamma: Ptr,
    beta: Ptr,
    runMean: Ptr,
    runVar: Ptr,
    y: Ptr,
    n: number,
    c: number,
    inner: number,
    eps: number,
  ): void;
  batchNormBackwardF32(
    dy: Ptr,
    x: Ptr,
    gamma: Ptr,
    mean: Ptr,
    invStd: Ptr,
    dx: Ptr,
    dgamma: Ptr,
    dbeta: Ptr,
    n: number,
    c: number,
    inner: number,
  ): void;
  // Softmax and losses (wasm/losses.ts)
  softmaxF32(z: Ptr, y: Ptr, n: number, c: number, s: number, probs: Ptr): void;
  argmaxU8(z: Ptr, y: Ptr, n: number, c: number, s: number): void;
  diceCeLossF32(
    z: Ptr,
    labels: Ptr,
    labelBytes: number,
    mask: Ptr,
    regionBit: number,
    loss: Ptr,
    grad: Ptr,
    n: number,
    c: number,
    s: number,
    weight: number,
    probs: Ptr,
    stats: Ptr,
  ): void;
  disagreementMseF32(
    z: Ptr,
    other: Ptr,
    target: Ptr,
    labelBytes: number,
    mask: Ptr,
    loss: Ptr,
    grad: Ptr,
    n: number,
    c: number,
    s: number,
    weightOutside: number,
    weightInside: number,
    probs: Ptr,
  ): void;
}

/** Names of the exports a thread pool may run a slice of: they end with (begin, end). */
export type SplitKernelName =
  | 'packInputPhasesRange'
  | 'packOutputRowsRange'
  | 'packFilterOutputRange'
  | 'packInputInterleavedRange'
  | 'packWeightsForwardRange'
  | 'packWeightsBackwardDataRange'
  | 'flipWeightsRange'
  | 'conv3dForwardRange'
  | 'conv3dBackwardDataRange'
  | 'conv3dBackwardFilterRange';
