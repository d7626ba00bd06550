/**
 * One iteration of the Switching Dual-Student trainer (METHOD.md stage 2, steps 1-8) and of its
 * baselines, each step a function of its own module so this reads like the spec.
 */
import { SdsError } from '../../core/errors.js';
import { shapeString } from '../../core/shape.js';
import type { Tensor } from '../../core/tensor.js';
import { entropyLoss } from '../../nn/entropy-loss.js';
import { supervisedLoss } from '../../nn/loss.js';
import type { VNet } from '../../nn/vnet.js';
import { add, assign, concat, copy, cutMix } from '../../ops/index.js';
import type { LossAndGrad } from '../../contract/kernels.js';
import type { SdsMode } from './config.js';
import { type CutMixPair, cubeMaskFor, cutMixBatch, disposeCutMixBatch } from './cut-mix-batch.js';
import { fixedEmaAlpha, laEmaAlphaFor, laEmaUpdate } from './la-ema.js';
import { pseudoLabelHalves } from './pseudo-labels.js';
import { tensorAxisOf } from '../patches.js';
import { ReadCounter } from './reads.js';
import { selectStudent } from './select-student.js';
import type { SdsState } from './state.js';
import { studentLoss } from './student-loss.js';
import { addGradients, takeGradients, updateStudent } from './update-student.js';

/** One iteration's patches, owned by the caller: images [n, 1, D, H, W] float32, labels [n, D, H, W] uint8. */
export interface SdsBatch {
  readonly imageA: Tensor;
  readonly labelA: Tensor;
  readonly imageB: Tensor;
  readonly labelB: Tensor;
  /** Unused in 'supervised' mode (pass the same tensors or any of the right shape). */
  readonly unlabeledA: Tensor;
  readonly unlabeledB: Tensor;
  /**
   * Optional: unlabeledA and unlabeledB in one tensor [a; b] (the sampler provides it), so the eval-mode
   * forwards that see both halves (the teacher's pseudo-labels, the switch) run once over the batch
   * instead of once per half. In eval mode every sample's logits are the same either way.
   */
  readonly unlabeled?: Tensor;
}

export interface SdsEvent {
  /** t, counted from 1. */
  readonly iteration: number;
  readonly mode: SdsMode;
  /** Each student's step-6 loss L^k (before its update). */
  readonly losses: readonly number[];
  /** c_1, c_2 of the switch (step 7); null where the mode does not switch. */
  readonly confidence: readonly number[] | null;
  /** Index of the student that updated the teacher (0 = S1); -1 when no loss was finite and the teacher kept its weights. */
  readonly selected: number;
  /** The EMA alpha_t the teacher used; null in 'supervised'. */
  readonly alpha: number | null;
  /** Learning rate each student's step used. */
  readonly lr: readonly number[];
  /** Wall time of the iteration, read-backs included. */
  readonly ms: number;
  /** Device -> host read-backs this iteration. */
  readonly reads: number;
  /**
   * Students whose loss was NaN or Inf: their SGD step was skipped, their BatchNorm running statistics
   * restored, and they did not update the teacher. Absent when every loss was finite.
   */
  readonly skipped?: readonly number[];
}

function expectBatch(state: SdsState, b: SdsBatch): void {
  const [D, H, W] = state.config.patch;
  const n = state.config.labeledBatch / 2;
  const image = [n, 1, D, H, W];
  const label = [n, D, H, W];
  const check = (what: string, t: Tensor, shape: number[], dtype: string): void => {
    if (t.dtype !== dtype || t.shape.length !== shape.length || t.shape.some((s, i) => s !== shape[i]))
      throw new SdsError('E_SHAPE_MISMATCH', `sdsIteration: batch.${what}: expected ${dtype} ${shapeString(shape)}, found ${t}`);
  };
  for (const k of ['imageA', 'imageB', 'unlabeledA', 'unlabeledB'] as const) check(k, b[k], image, 'float32');
  for (const k of ['labelA', 'labelB'] as const) check(k, b[k], label, 'uint8');
  if (b.unlabeled !== undefined) check('unlabeled', b.unlabeled, [2 * n, 1, D, H, W], 'float32');
}

/**
 * A copy of a network's BatchNorm running statistics and batch counters. A training forward updates
 * them before the loss is known; a step skipped for a non-finite loss puts them back, so one bad
 * batch cannot poison the statistics that eval mode, the switch and the teacher's EMA use.
 */
interface RunningStats {
  readonly buffers: { readonly target: Tensor; readonly saved: Tensor }[];
  readonly counters: { readonly counter: { value: number }; readonly value: number }[];
}

function saveRunningStats(be: SdsState['backend'], net: VNet): RunningStats {
  const buffers: RunningStats['buffers'] = [];
  const counters: RunningStats['counters'] = [];
  for (const e of net.stateEntries()) {
    if (e.kind === 'buffer') buffers.push({ target: e.buffer.value, saved: copy(be, e.buffer.value) });
    else if (e.kind === 'counter') counters.push({ counter: e.counter, value: e.counter.value });
  }
  return { buffers, counters };
}

function restoreRunningStats(be: SdsState['backend'], stats: RunningStats): void {
  for (const b of stats.buffers) assign(be, b.target, b.saved);
  for (const c of stats.counters) c.counter.value = c.value;
}

function disposeRunningStats(be: SdsState['backend'], stats: RunningStats): void {
  for (const b of stats.buffers) be.dispose(b.saved);
}

/** Adds `t` to the tensors the caller disposes, and returns it. */
function track(owned: Tensor[], t: Tensor): Tensor {
  owned.push(t);
  return t;
}

/** Runs steps 1-8 (or the mode's subset) on `batch`, updating `state` in place. */
export async function sdsIteration(state: SdsState, batch: SdsBatch): Promise<SdsEvent> {
  expectBatch(state, batch);
  const start = performance.now();
  const t = state.iteration + 1;
  const reads = new ReadCounter(state.backend);
  const mode = state.config.mode;
  const result =
    mode === 'supervised'
      ? await supervisedStep(state, batch, reads)
      : mode === 'tent'
        ? await tentStep(state, batch, reads)
        : await selfTrainingStep(state, batch, reads, t);
  state.iteration = t;
  return { iteration: t, mode: state.config.mode, ...result, ms: performance.now() - start, reads: reads.count };
}

type StepResult = Pick<SdsEvent, 'losses' | 'confidence' | 'selected' | 'alpha' | 'lr' | 'skipped'>;

/** Stage-1 loss on labeled patches: x = a M + b (1 - M), y likewise, (CE + Dice) / 2 over all voxels. */
async function supervisedStep(state: SdsState, b: SdsBatch, reads: ReadCounter): Promise<StepResult> {
  const { backend: be, config } = state;
  const { net, optimizer } = state.students[0];
  const { mask } = cubeMaskFor(be, config.patch, config.cubeFraction, state.cubes);
  const x = cutMix(be, b.imageA, b.imageB, mask);
  const y = cutMix(be, b.labelA, b.labelB, mask);
  net.train();
  const stats = saveRunningStats(be, net);
  let loss: Tensor;
  try {
    const logits = net.forward(x);
    const lg = supervisedLoss(be, logits, y);
    be.dispose(logits);
    net.backward(lg.grad);
    be.dispose(lg.grad);
    loss = lg.loss;
  } finally {
    net.releaseCache();
    for (const tensor of [mask, x, y]) be.dispose(tensor);
  }
  let value: number;
  try {
    value = (await reads.read(loss))[0];
  } finally {
    be.dispose(loss);
  }
  const finite = Number.isFinite(value);
  if (!finite) restoreRunningStats(be, stats);
  disposeRunningStats(be, stats);
  const lr = finite ? updateStudent(optimizer) : optimizer.lr;
  return { losses: [value], confidence: null, selected: 0, alpha: null, lr: [lr], ...(finite ? {} : { skipped: [0] }) };
}

/**
 * TENT: one step on the unlabeled halves (each its own training forward, batch statistics), the mean
 * softmax entropy as loss; the optimiser holds only the BatchNorm affine parameters (state.ts).
 */
async function tentStep(state: SdsState, b: SdsBatch, reads: ReadCounter): Promise<StepResult> {
  const { backend: be } = state;
  const { net, optimizer } = state.students[0];
  net.train();
  const stats = saveRunningStats(be, net);
  let total = 0;
  let stashed: Tensor[] | null = null;
  try {
    for (const x of [b.unlabeledA, b.unlabeledB]) {
      const logits = net.forward(x);
      let lg: LossAndGrad;
      try {
        lg = await entropyLoss(be, logits, (t) => reads.read(t));
      } finally {
        be.dispose(logits);
      }
      total += (await reads.read(lg.loss))[0];
      be.dispose(lg.loss);
      net.backward(lg.grad);
      be.dispose(lg.grad);
      if (stashed === null) stashed = takeGradients(net);
      else addGradients(be, net, stashed);
    }
  } finally {
    net.releaseCache();
  }
  const finite = Number.isFinite(total);
  if (!finite) restoreRunningStats(be, stats);
  disposeRunningStats(be, stats);
  const lr = finite ? updateStudent(optimizer) : optimizer.lr;
  return { losses: [total], confidence: null, selected: 0, alpha: null, lr: [lr], ...(finite ? {} : { skipped: [0] }) };
}

async function selfTrainingStep(state: SdsState, b: SdsBatch, reads: ReadCounter, t: number): Promise<StepResult> {
  const { backend: be, config, students } = state;
  const teacher = state.teacher as NonNullable<SdsState['teacher']>;
  const mode = config.mode;
  const nets = students.map((s) => s.net);
  const owned: Tensor[] = [];
  const totals: Tensor[] = [];
  const stats: RunningStats[] = [];
  try {
    // 1. Pseudo-labels from the teacher, per unlabeled half.
    const pseudoOptions = {
      connectivity: config.lccConnectivity,
      trainMode: config.switches.teacherDropoutForPseudoLabels,
      flipAxes: config.adaptation.pseudoLabelFlips ? config.augmentation.flipAxes.map(tensorAxisOf) : [],
      confidence: config.adaptation.pseudoLabelConfidence,
    };
    const [pseudoA, pseudoB] = await pseudoLabelHalves(be, teacher, b, pseudoOptions, reads);
    owned.push(pseudoA, pseudoB);
    // 2. Cross-sample cut-mix with a fresh cube.
    const { mask } = cubeMaskFor(be, config.patch, config.cubeFraction, state.cubes);
    owned.push(mask);
    const mixed = cutMixBatch(be, { ...b, pseudoA, pseudoB }, mask, config.uWeight);
    try {
      // 3-5. Forward both students on X_l, then on X_u; loss and backward per input, gradients summed.
      for (const net of nets) net.train();
      for (const net of nets) stats.push(saveRunningStats(be, net));
      const stashed = forwardBackward(state, mixed.l, mask, totals);
      forwardBackward(state, mixed.u, mask, totals);
      nets.forEach((net, k) => addGradients(be, net, stashed[k]));
    } finally {
      for (const net of nets) net.releaseCache();
      disposeCutMixBatch(be, mixed);
    }
    // 6. One SGD step per student whose loss is finite; a non-finite one is skipped and undone. LA-EMA's
    // alpha for every student is computed now, on the device, so the losses and the alphas come back
    // in one read and the teacher update in step 8 needs none.
    const laEma = mode === 'sds' || mode === 'sds-no-switch';
    const alphas = laEma ? totals.map((loss) => laEmaAlphaFor(be, loss, t, config.laEma.temperature, config.laEma.floor)) : [];
    owned.push(...alphas);
    const scalars = Array.from((await reads.read(track(owned, concat(be, [...totals, ...alphas])))) as Float32Array);
    const losses = scalars.slice(0, totals.length);
    const skipped = losses.flatMap((v, k) => (Number.isFinite(v) ? [] : [k]));
    for (const k of skipped) restoreRunningStats(be, stats[k]);
    const lr = students.map((s, k) => (skipped.includes(k) ? s.optimizer.lr : updateStudent(s.optimizer)));
    const skippedField = skipped.length > 0 ? { skipped } : {};
    // Every loss non-finite: the teacher keeps its weights.
    if (skipped.length === students.length) return { losses, confidence: null, selected: -1, alpha: null, lr, ...skippedField };
    // 7. The switch, on the raw unlabeled patches, students in eval mode; only a finite student may lead.
    let selected = skipped.length > 0 ? losses.findIndex((v) => Number.isFinite(v)) : 0;
    let confidence: number[] | null = null;
    if (skipped.length === 0 && (mode === 'sds' || mode === 'sds-fixed-ema')) {
      const parts = b.unlabeled !== undefined ? [b.unlabeled] : [b.unlabeledA, b.unlabeledB];
      const s = await selectStudent(be, nets, parts, config.lccConnectivity, reads);
      selected = s.selected;
      confidence = s.confidence;
    }
    // 8. The teacher follows the selected student: LA-EMA or the baselines' fixed EMA (alpha from the
    // host, stored as float32 like every device scalar).
    const alpha = laEma ? scalars[totals.length + selected] : Math.fround(fixedEmaAlpha(t, config.fixedEma.alphaMax));
    const alphaTensor = laEma ? alphas[selected] : track(owned, be.upload(new Float32Array([alpha]), []));
    laEmaUpdate(be, teacher, nets[selected], alphaTensor, config.switches.emaBatchNormStats);
    return { losses, confidence, selected, alpha, lr, ...skippedField };
  } finally {
    // totals may have a hole if a backward threw between the recomputing path's two students.
    for (const tensor of [...owned, ...totals]) if (tensor !== undefined) be.dispose(tensor);
    for (const s of stats) disposeRunningStats(be, s);
  }
}

/**
 * Forwards every student on one mixed input, computes each one's loss (against the other student's
 * logits for the disagreement term), back-propagates, and adds each loss into `totals`. Returns the
 * gradients taken out of the networks after this first input, so the second backward cannot replace them.
 */
function forwardBackward(state: SdsState, pair: CutMixPair, mask: Tensor, totals: Tensor[]): Tensor[][] {
  const { backend: be, config, students } = state;
  const first = totals.length === 0;
  const accumulate = (k: number, loss: Tensor): void => {
    if (first) totals[k] = loss;
    else {
      const sum = add(be, totals[k], loss);
      be.dispose(totals[k]);
      be.dispose(loss);
      totals[k] = sum;
    }
  };
  const backward = (k: number, l: LossAndGrad): void => {
    students[k].net.backward(l.grad);
    be.dispose(l.grad);
    accumulate(k, l.loss);
  };
  if (state.recomputeFirstStudent) forwardBackwardRecomputing(state, pair, mask, backward);
  else {
    const logits = students.map((s) => s.net.forward(pair.image));
    let losses: LossAndGrad[];
    try {
      losses = logits.map((z, k) => studentLoss(be, z, logits.length === 2 ? logits[1 - k] : null, pair, mask, config.corWeight));
    } finally {
      for (const z of logits) be.dispose(z);
    }
    losses.forEach((l, k) => backward(k, l));
  }
  return first ? students.map((s) => takeGradients(s.net)) : [];
}

/**
 * forwardBackward's two students holding one student's activations at a time (studentActivations):
 * S1 forwards without keeping its activations, S2 forwards, takes its loss against S1's logits and
 * back-propagates; then S1 forwards again from the same point (its BatchNorm running statistics and
 * dropout draws put back, so the same masks and the same statistics update) and back-propagates
 * against S2's logits. Each loss sees the same logits as in the keeping path, so the numbers match it.
 */
function forwardBackwardRecomputing(state: SdsState, pair: CutMixPair, mask: Tensor, backward: (k: number, l: LossAndGrad) => void): void {
  const { backend: be, config, students } = state;
  const [s1, s2] = [students[0].net, students[1].net];
  const point = saveRunningStats(be, s1);
  const draws = [s1.encoderDropout.draws, s1.decoderDropout.draws];
  const held: Tensor[] = [];
  try {
    const z1 = s1.forward(pair.image);
    held.push(z1);
    s1.releaseCache();
    const z2 = s2.forward(pair.image);
    held.push(z2);
    backward(1, studentLoss(be, z2, z1, pair, mask, config.corWeight));
    restoreRunningStats(be, point);
    [s1.encoderDropout.draws, s1.decoderDropout.draws] = draws;
    const again = s1.forward(pair.image);
    held.push(again);
    backward(0, studentLoss(be, again, z2, pair, mask, config.corWeight));
  } finally {
    for (const t of held) be.dispose(t);
    disposeRunningStats(be, point);
  }
}
