/**
 * The SDS training loop (METHOD.md "Stage 1" and stage 2, step 9) around `sdsIteration`:
 * - stage 1, when no stage-1 weights are given: supervised pre-training with cube cut-mix of two labeled
 *   halves (sdsIteration's 'supervised' mode) for `stage1Iterations`; stage 2 starts from the best
 *   validated stage-1 weights (BCP loads its best pre-trained model), or the last without validation;
 * - stage 2: `iterations` self-training iterations on sampled labeled and unlabeled halves;
 * - every `validateEvery` iterations the Dice of S1, S2 and T on the validation scans, keeping each one's
 *   best weights; every `checkpointEvery` iterations a resumable checkpoint (checkpoint.ts) handed to
 *   `onCheckpoint`; one more at the end (also after an abort), in the result.
 * Validation runs the networks in eval mode (no dropout draw, no BN statistics update), so it does not
 * perturb training: a resumed run's losses equal an uninterrupted run's whatever the cadences.
 * In 'supervised' mode (the baseline) there is no stage 1: stage 2 is the supervised loop itself.
 */
import type { Backend } from '../../backend/backend.js';
import { SdsError } from '../../core/errors.js';
import { loadVNet } from '../../nn/checkpoint/vnet-checkpoint.js';
import { VNet } from '../../nn/vnet.js';
import { mix32 } from '../../ops/index.js';
import type { Volume } from '../../volume/index.js';
import { evaluateScans, meanScores } from '../evaluate.js';
import type { LabeledVolume } from '../patches.js';
import {
  type BestRecord,
  encodeCheckpoint,
  type HostWeights,
  type NetworkName,
  parseCheckpoint,
  type ParsedCheckpoint,
  type Phase,
  restoreBest,
  restoreNet,
  restoreOptimizer,
  snapshotNet,
  type TrainerMeta,
  vnetFile,
} from '../checkpoint/checkpoint.js';
import { recalibrateBatchNorm } from '../adapt/recalibrate.js';
import { laEmaUpdate } from './la-ema.js';
import { resolveSdsConfig, SDS_PAPER_DEFAULTS, type SdsConfig, usesLabels } from './config.js';
import { type SdsEvent, sdsIteration } from './iteration.js';
import { disposeSdsBatch, SdsSampler } from './sampler.js';
import { createSdsState, disposeSdsState, type SdsState } from './state.js';
import { yieldToEventLoop } from '../yield.js';

export type SdsTrainerEvent =
  | (SdsEvent & {
      readonly type: 'iteration';
      readonly phase: Phase;
      /** The phase's iteration count (SdsEvent.iteration is the one just finished). */
      readonly of: number;
      /** Estimated time left in this phase: mean iteration time so far x iterations left. */
      readonly etaMs: number;
    })
  | {
      readonly type: 'validation';
      readonly phase: Phase;
      readonly iteration: number;
      /** Mean Dice over validation scans and foreground classes, per network validated. */
      readonly dice: Partial<Record<NetworkName, number>>;
      /** Networks whose best weights this validation replaced. */
      readonly improved: readonly NetworkName[];
    }
  | { readonly type: 'checkpoint'; readonly phase: Phase; readonly iteration: number; readonly bytes: number };

export interface TrainSdsOptions {
  readonly backend: Backend;
  readonly labeled: readonly LabeledVolume[];
  readonly unlabeled: readonly Volume[];
  /** Scans validated every `config.validateEvery` iterations; none: no validation, the last weights count. */
  readonly validation?: readonly LabeledVolume[];
  readonly config: SdsConfig;
  /** A stage-1 model (a V-Net checkpoint, e.g. from saveVNet): skips stage 1. */
  readonly initial?: Uint8Array;
  /** A checkpoint of this trainer (same scans in the same order, same config up to iteration counts and cadences). */
  readonly resume?: Uint8Array;
  /** Checked between iterations: the run stops there, with a final checkpoint to resume from. */
  readonly signal?: AbortSignal;
  /**
   * A NaN/Inf loss skips that student's step (SdsEvent.skipped); this many iterations in a row with a
   * skipped step stop training with E_NONFINITE naming the iteration. Default 5.
   */
  readonly maxNonFiniteInARow?: number;
  readonly onEvent?: (event: SdsTrainerEvent) => void;
  /** Receives every periodic checkpoint (awaited, so a file write finishes before training goes on). */
  readonly onCheckpoint?: (bytes: Uint8Array, at: { readonly phase: Phase; readonly iteration: number }) => void | Promise<void>;
}

export interface SdsTrainResult {
  readonly stage1Iterations: number;
  readonly iterations: number;
  readonly aborted: boolean;
  /** The events of the iterations this call ran, in order. */
  readonly history: readonly (SdsEvent & { readonly phase: Phase })[];
  /** Best validated weights of the last phase reached, as V-Net checkpoints. */
  readonly best: Partial<Record<NetworkName, { readonly dice: number; readonly iteration: number; readonly weights: Uint8Array }>>;
  /** The network to deploy (config.switches.deploy; best validated if any, else final), as a V-Net checkpoint. */
  readonly deployed: { readonly network: NetworkName; readonly weights: Uint8Array };
  /** A resumable checkpoint of where the run stopped. */
  readonly checkpoint: Uint8Array;
}

/** Config fields a resumed run may change: how long it runs, how often it reports, how it uses memory. */
const RESUMABLE_CHANGES: readonly string[] = [
  'studentActivations',
  'iterations',
  'stage1Iterations',
  'timeBudgetSeconds',
  'validateEvery',
  'checkpointEvery',
  'inference',
];

function expectSameRun(stored: SdsConfig, given: SdsConfig): void {
  // A checkpoint written before a departure switch existed lacks it, and ran with it off: the paper's
  // defaults (every departure off) fill what it lacks, one level deep.
  const saved = withPaperDefaults(stored);
  const keys = new Set([...Object.keys(saved), ...Object.keys(given)]);
  const differing = [...keys].filter(
    (k) =>
      !RESUMABLE_CHANGES.includes(k) &&
      JSON.stringify((saved as unknown as Record<string, unknown>)[k]) !== JSON.stringify((given as unknown as Record<string, unknown>)[k]),
  );
  if (differing.length > 0)
    throw new SdsError(
      'E_INVALID_ARGUMENT',
      `trainSds: resume: the config differs from the checkpoint's in ${differing.join(', ')} (only ${RESUMABLE_CHANGES.join(', ')} may change)`,
    );
}

function withPaperDefaults(stored: SdsConfig): SdsConfig {
  const out: Record<string, unknown> = { ...SDS_PAPER_DEFAULTS, ...stored };
  for (const [key, value] of Object.entries(SDS_PAPER_DEFAULTS)) {
    const saved = (stored as unknown as Record<string, unknown>)[key];
    if (
      value !== null &&
      typeof value === 'object' &&
      !Array.isArray(value) &&
      saved !== null &&
      typeof saved === 'object' &&
      !Array.isArray(saved)
    )
      out[key] = { ...(value as object), ...(saved as object) };
  }
  return out as unknown as SdsConfig;
}

/** The networks of a state by checkpoint name. */
function networksOf(state: SdsState): Partial<Record<NetworkName, VNet>> {
  const out: Partial<Record<NetworkName, VNet>> = { student1: state.students[0].net };
  if (state.students[1] !== undefined) out.student2 = state.students[1].net;
  if (state.teacher !== null) out.teacher = state.teacher;
  return out;
}

function restoreState(backend: Backend, state: SdsState, parsed: ParsedCheckpoint): void {
  for (const [name, net] of Object.entries(networksOf(state)) as [NetworkName, VNet][]) restoreNet(backend, net, parsed, name);
  state.students.forEach((s, k) => restoreOptimizer(backend, s.optimizer, parsed, k));
  state.cubes.seek(parsed.meta.cubes);
  state.iteration = parsed.meta.iteration;
}

/** One run's mutable bookkeeping. */
class Run {
  best: Partial<Record<NetworkName, BestRecord>> = {};
  readonly history: (SdsEvent & { phase: Phase })[] = [];
  aborted = false;
  stage1Done = 0;
  nonFiniteInARow = 0;
  /** performance.now() past which stage 2 starts no new iteration (config.timeBudgetSeconds). */
  readonly deadline: number;
  /**
   * performance.now() past which the adaptation warm-up (stage 1 from given weights) starts no new
   * iteration: its share of the budget (adaptation.warmupShare), so a short budget keeps time for
   * self-training. Stage 1 from scratch is not cut.
   */
  readonly warmupDeadline: number;
  constructor(
    readonly o: TrainSdsOptions,
    readonly sampler: SdsSampler,
  ) {
    const budget = o.config.timeBudgetSeconds;
    const now = performance.now();
    this.deadline = budget > 0 ? now + budget * 1000 : Infinity;
    this.warmupDeadline = budget > 0 && o.initial !== undefined ? now + budget * o.config.adaptation.warmupShare * 1000 : Infinity;
  }

  async checkpoint(phase: Phase, state: SdsState): Promise<Uint8Array> {
    const networks = networksOf(state);
    const dropout: TrainerMeta['dropout'] = {};
    for (const [name, net] of Object.entries(networks) as [NetworkName, VNet][])
      dropout[name] = [net.encoderDropout.draws, net.decoderDropout.draws];
    const best: TrainerMeta['best'] = {};
    for (const [name, b] of Object.entries(this.best) as [NetworkName, BestRecord][]) best[name] = { dice: b.dice, iteration: b.iteration };
    const meta: TrainerMeta = {
      version: 1,
      phase,
      iteration: state.iteration,
      stage1Done: this.stage1Done,
      cubes: state.cubes.position,
      sampler: this.sampler.state(),
      dropout,
      optimizerSteps: state.students.map((s) => s.optimizer.iteration),
      best,
    };
    const optimizers = state.students.map((s) => s.optimizer);
    return encodeCheckpoint(this.o.backend, { meta, config: this.o.config, networks, optimizers, best: this.best });
  }

  async validate(phase: Phase, state: SdsState): Promise<void> {
    const scans = (this.o.validation ?? []).map((s, i) => ({ name: s.image.metadata.fileName || `validation[${i}]`, ...s }));
    const dice: Partial<Record<NetworkName, number>> = {};
    const improved: NetworkName[] = [];
    for (const [name, net] of Object.entries(networksOf(state)) as [NetworkName, VNet][]) {
      const score = meanScores(await evaluateScans(this.o.backend, net, scans, { diceOnly: true }), 'dice').overall;
      dice[name] = score;
      const old = this.best[name];
      if (Number.isFinite(score) && (old === undefined || score > old.dice)) {
        this.best[name] = { dice: score, iteration: state.iteration, weights: await snapshotNet(this.o.backend, net) };
        improved.push(name);
      }
    }
    this.o.onEvent?.({ type: 'validation', phase, iteration: state.iteration, dice, improved });
  }

  /** Stops the run once `maxNonFiniteInARow` iterations in a row skipped a step for a non-finite loss. */
  countNonFinite(phase: Phase, event: SdsEvent): void {
    this.nonFiniteInARow = event.skipped === undefined ? 0 : this.nonFiniteInARow + 1;
    const limit = this.o.maxNonFiniteInARow ?? 5;
    if (this.nonFiniteInARow >= limit) {
      throw new SdsError(
        'E_NONFINITE',
        `trainSds: ${phase} iteration ${event.iteration}: non-finite loss [${event.losses.join(', ')}] in ${this.nonFiniteInARow} iterations in a row ` +
          `(limit ${limit}); the weights or the data hold NaN/Inf: try a lower learning rate, or resume from an earlier checkpoint`,
        { phase, iteration: event.iteration, losses: event.losses },
      );
    }
  }

  /** Runs `state` up to `of` iterations; false when aborted. */
  async phase(phase: Phase, state: SdsState, of: number, withUnlabeled: boolean): Promise<boolean> {
    const { backend: be, config, signal, onEvent, onCheckpoint, validation } = this.o;
    let totalMs = 0;
    let ran = 0;
    while (state.iteration < of) {
      await yieldToEventLoop();
      if (signal?.aborted) return false;
      if (performance.now() >= (phase === 'stage2' ? this.deadline : this.warmupDeadline)) break;
      const start = performance.now();
      const batch = this.sampler.draw(be, withUnlabeled);
      let event: SdsEvent;
      try {
        event = await sdsIteration(state, batch);
      } finally {
        disposeSdsBatch(be, batch);
      }
      totalMs += performance.now() - start;
      ran++;
      this.history.push({ ...event, phase });
      onEvent?.({ ...event, type: 'iteration', phase, of, etaMs: (totalMs / ran) * (of - state.iteration) });
      this.countNonFinite(phase, event);
      if (phase === 'stage1') this.stage1Done = state.iteration;
      if (validation !== undefined && validation.length > 0 && state.iteration % config.validateEvery === 0)
        await this.validate(phase, state);
      if (onCheckpoint !== undefined && state.iteration % config.checkpointEvery === 0) {
        const bytes = await this.checkpoint(phase, state);
        await onCheckpoint(bytes, { phase, iteration: state.iteration });
        onEvent?.({ type: 'checkpoint', phase, iteration: state.iteration, bytes: bytes.length });
      }
    }
    return true;
  }
}

/**
 * Stage-1 iterations: the method's pre-training from scratch, or, from given weights, the adaptation
 * recipe's supervised warm-up on the site's labels (none in the paper: stage 2 starts from the weights).
 * The 'supervised' baseline and the label-free modes have no stage 1.
 */
export function stage1Length(config: SdsConfig, fromWeights: boolean): number {
  if (config.mode === 'supervised' || !usesLabels(config.mode)) return 0;
  return fromWeights ? config.adaptation.supervisedWarmup : config.stage1Iterations;
}

/** Stage 1 draws its own dropout masks and cubes: a seed of its own, so stage 2 does not replay them. */
function stage1Config(config: SdsConfig): SdsConfig {
  return resolveSdsConfig({ mode: 'supervised', seed: mix32((config.seed ^ 0x57a9e1) >>> 0) >>> 0 }, config);
}

function expectInputs(o: TrainSdsOptions): void {
  if (o.config.network.inChannels !== undefined && o.config.network.inChannels !== 1)
    throw new SdsError('E_INVALID_ARGUMENT', `trainSds: expected a network with 1 input channel, found ${o.config.network.inChannels}`);
  if (o.config.mode !== 'supervised' && o.unlabeled.length === 0)
    throw new SdsError('E_INVALID_ARGUMENT', `trainSds: mode '${o.config.mode}': expected at least one unlabeled scan, found none`);
  if (o.config.mode === 'supervised' && o.config.adaptation.wiseFt < 1 && o.initial !== undefined && o.unlabeled.length === 0)
    throw new SdsError(
      'E_INVALID_ARGUMENT',
      `trainSds: adaptation.wiseFt ${o.config.adaptation.wiseFt}: expected unlabeled scans to re-estimate the blended network's batch-norm statistics on, found none`,
    );
  if (o.config.mode === 'supervised' && o.config.adaptation.recalibrate !== 'none' && o.unlabeled.length === 0)
    throw new SdsError(
      'E_INVALID_ARGUMENT',
      `trainSds: adaptation.recalibrate '${o.config.adaptation.recalibrate}': expected unlabeled scans to re-estimate batch-norm statistics on, found none`,
    );
}

/** Whether batch-norm statistics are re-estimated before training starts / on the deployed network. */
function recalibrates(config: SdsConfig, when: 'before' | 'after'): boolean {
  const r = config.adaptation.recalibrate;
  return (when === 'before' && config.mode === 'adabn') || r === when || r === 'both';
}

/** AdaBN on `net` over the sampler's unlabeled scans (recalibrate.ts), seeded by the run. */
async function recalibrate(be: Backend, net: VNet, sampler: SdsSampler, config: SdsConfig): Promise<void> {
  await recalibrateBatchNorm(be, net, sampler.unlabeledScans, {
    patch: config.patch,
    patchesPerScan: config.adaptation.recalibrationPatchesPerScan,
    batch: config.labeledBatch,
    flipAxes: config.augmentation.flipAxes,
    seed: mix32((config.seed ^ 0xada) >>> 0),
  });
}

/** The trainer (see the module comment). Networks are freed before it returns; their weights are in the result. */
export async function trainSds(o: TrainSdsOptions): Promise<SdsTrainResult> {
  const { backend: be, config } = o;
  expectInputs(o);
  const resumed = o.resume !== undefined ? parseCheckpoint(o.resume) : null;
  if (resumed !== null) expectSameRun(resumed.config, config);
  const probe = new VNet(be, config.network);
  const netConfig = probe.config;
  const half = config.labeledBatch / 2;
  const sampler = new SdsSampler(o.labeled, o.unlabeled, {
    patch: config.patch,
    half,
    nClasses: netConfig.nClasses,
    augmentation: config.augmentation,
    seed: config.seed,
    labelFree: !usesLabels(config.mode),
    augmentLabeled: config.adaptation.augmentLabeled,
  });
  if (resumed !== null) sampler.restore(resumed.meta.sampler);
  const run = new Run(o, sampler);
  let initial: HostWeights | Uint8Array | null = o.initial ?? null;
  const stage1Iterations = stage1Length(config, o.initial !== undefined);
  let phase: Phase = resumed?.meta.phase ?? (stage1Iterations > 0 ? 'stage1' : 'stage2');
  let state: SdsState | null = null;
  // The given (pretrained) weights as they were before any warm-up step: L2-SP's anchor, WiSE-FT's other end.
  let anchor: VNet | null = null;
  try {
    if (o.initial !== undefined && (config.adaptation.l2sp > 0 || config.adaptation.wiseFt < 1)) {
      anchor = new VNet(be, config.network);
      loadVNet(be, anchor, o.initial);
    }
    const anchored = anchor !== null ? { anchor } : {};
    if (phase === 'stage1') {
      // From given weights (the adaptation recipe's supervised warm-up) stage 1 fine-tunes them, with
      // the new scanner's statistics first when the recipe re-estimates them.
      if (o.initial !== undefined) {
        loadVNet(be, probe, o.initial);
        if (resumed === null && recalibrates(config, 'before')) await recalibrate(be, probe, sampler, config);
      }
      state = createSdsState(be, stage1Config(config), { ...(o.initial !== undefined ? { initial: probe } : {}), ...anchored });
      if (resumed !== null) {
        restoreState(be, state, resumed);
        run.best = restoreBest(resumed);
        run.stage1Done = resumed.meta.stage1Done;
      }
      if (!(await run.phase('stage1', state, stage1Iterations, false))) {
        run.aborted = true;
      } else {
        initial = run.best.student1?.weights ?? (await snapshotNet(be, state.students[0].net));
        disposeSdsState(state);
        state = null;
        run.best = {};
        phase = 'stage2';
      }
    }
    if (phase === 'stage2') {
      if (initial !== null) loadVNet(be, probe, initial instanceof Uint8Array ? initial : vnetFile(initial, netConfig, run.stage1Done));
      // The first pseudo-labels then come from a teacher with the new scanner's statistics (a run resumed
      // in stage 2 restores its networks below, so nothing is re-estimated twice).
      const resumedInStage2 = resumed !== null && resumed.meta.phase === 'stage2';
      if (initial !== null && !resumedInStage2 && recalibrates(config, 'before')) await recalibrate(be, probe, sampler, config);
      // Without stage-1 weights (resume; the 'supervised' baseline) the networks keep S1's own init.
      state = createSdsState(be, config, { ...(initial !== null ? { initial: probe } : {}), ...anchored });
      if (resumedInStage2) {
        restoreState(be, state, resumed);
        run.best = restoreBest(resumed);
        run.stage1Done = resumed.meta.stage1Done;
      }
      // AdaBN trains nothing: the re-estimated statistics are the whole adaptation.
      const iterations = config.mode === 'adabn' ? 0 : config.iterations;
      run.aborted = !(await run.phase('stage2', state, iterations, config.mode !== 'supervised'));
    }
    const final = state as SdsState;
    const checkpoint = await run.checkpoint(phase, final);
    let deployed = await deploy(be, run, phase, final);
    const blends = phase === 'stage2' && !run.aborted && anchor !== null && config.adaptation.wiseFt < 1;
    if (phase === 'stage2' && !run.aborted && (blends || recalibrates(config, 'after'))) {
      // Statistics for the weights actually deployed (an EMA of running statistics is not the
      // statistics of the averaged weights, as stochastic weight averaging re-estimates them too);
      // WiSE-FT first moves the parameters part of the way back to the pretrained ones.
      loadVNet(be, probe, deployed.weights);
      if (blends) blendTowards(be, probe, anchor as VNet, config.adaptation.wiseFt);
      await recalibrate(be, probe, sampler, config);
      const metadata = {
        'sds.network': deployed.network,
        'sds.phase': phase,
        'sds.recalibrated': 'after',
        ...(blends ? { 'sds.wiseFt': String(config.adaptation.wiseFt) } : {}),
        ...(config.adaptation.augmentLabeled !== false ? { 'sds.augmentLabeled': describeAugmentation(sampler) } : {}),
      };
      deployed = { network: deployed.network, weights: vnetFile(await snapshotNet(be, probe), netConfig, final.iteration, metadata) };
    }
    const best: SdsTrainResult['best'] = {};
    for (const [name, b] of Object.entries(run.best) as [NetworkName, BestRecord][])
      best[name] = { dice: b.dice, iteration: b.iteration, weights: vnetFile(b.weights, netConfig, b.iteration, { 'sds.network': name }) };
    return {
      stage1Iterations: run.stage1Done,
      iterations: phase === 'stage2' ? final.iteration : 0,
      aborted: run.aborted,
      history: run.history,
      best,
      deployed,
      checkpoint,
    };
  } finally {
    if (state !== null) disposeSdsState(state);
    anchor?.dispose();
    probe.dispose();
  }
}

/** The deployed file's record of `augmentLabeled`: applied or not, and for 'auto' the test's figures. */
function describeAugmentation(sampler: SdsSampler): string {
  const check = sampler.scannerCheck;
  const figures =
    check === null ? '' : ` (labeled vs unlabeled scanner distance ${check.distance.toFixed(3)}, threshold ${check.threshold.toFixed(3)})`;
  return `${sampler.augmentsLabeled}${figures}`;
}

/** WiSE-FT: every parameter of `net` becomes weight * net + (1 - weight) * pretrained (statistics untouched). */
function blendTowards(be: Backend, net: VNet, pretrained: VNet, weight: number): void {
  const alpha = be.upload(new Float32Array([weight]), []);
  try {
    laEmaUpdate(be, net, pretrained, alpha, false);
  } finally {
    be.dispose(alpha);
  }
}

/**
 * The network to deploy: in stage 2 the teacher ('teacher', METHOD.md default) or the better validated
 * student ('best-student', as the authors' code), each its best validated weights when there are any;
 * a run stopped in stage 1 (or the 'supervised' baseline) deploys its only student.
 */
async function deploy(be: Backend, run: Run, phase: Phase, state: SdsState): Promise<SdsTrainResult['deployed']> {
  const nets = networksOf(state);
  let name: NetworkName = 'student1';
  if (phase === 'stage2' && nets.teacher !== undefined && run.o.config.switches.deploy === 'teacher') name = 'teacher';
  else if (nets.student2 !== undefined) {
    const [s1, s2] = [run.best.student1?.dice ?? -Infinity, run.best.student2?.dice ?? -Infinity];
    name = s2 > s1 ? 'student2' : 'student1';
  }
  const best = run.best[name];
  const net = nets[name] as VNet;
  const weights = best?.weights ?? (await snapshotNet(be, net));
  const iteration = best?.iteration ?? state.iteration;
  return { network: name, weights: vnetFile(weights, net.config, iteration, { 'sds.network': name, 'sds.phase': phase }) };
}
