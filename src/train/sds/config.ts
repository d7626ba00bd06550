/**
 * The one typed configuration of the Switching Dual-Student trainer (METHOD.md stage 2): every constant
 * the spec names, every reproduction switch, and the baselines as modes of the same code path.
 * `SDS_PAPER_DEFAULTS` holds the paper's (LA) values; `SDS_SMALL_CPU_PRESET` is a run small enough for
 * the wasm backend on a laptop (hippocampus-sized patches, a narrow network).
 */
import { SdsError } from '../../core/errors.js';
import type { Vec3 } from '../../core/shape.js';
import type { Connectivity } from '../../infer/connected-components.js';
import type { VNetConfig } from '../../nn/vnet-config.js';
import { VNET_SIZE_MULTIPLE } from '../../nn/vnet-config.js';
import type { VolumeAxis } from '../patches.js';

/**
 * - 'sds': two students, switching, LA-EMA (the method).
 * - 'sds-fixed-ema': switching, but the teacher follows the fixed EMA alpha = min(1 - 1/(t+1), alphaMax).
 * - 'sds-no-switch': two students and LA-EMA, but S1 always updates the teacher (no step 7).
 * - 'mean-teacher': one student, no disagreement loss, fixed EMA (this is BCP).
 * - 'supervised': one student on labeled patches only, stage-1 loss; no teacher.
 * Label-free adaptation baselines (METHOD.md "Adapting a pretrained model"), unlabeled scans only:
 * - 'adabn': no training; every BatchNorm's running statistics re-estimated on the unlabeled scans;
 * - 'tent': batch statistics, only the BatchNorm affine parameters trained, by minimising the mean
 *   entropy of the softmax on unlabeled patches.
 */
export type SdsMode = 'sds' | 'sds-fixed-ema' | 'sds-no-switch' | 'mean-teacher' | 'supervised' | 'adabn' | 'tent';

export const SDS_MODES: readonly SdsMode[] = ['sds', 'sds-fixed-ema', 'sds-no-switch', 'mean-teacher', 'supervised', 'adabn', 'tent'];

/** Modes that read no labels (labeled scans may be absent). */
export function usesLabels(mode: SdsMode): boolean {
  return mode !== 'adabn' && mode !== 'tent';
}

/** Where the BatchNorm statistics are re-estimated on the unlabeled scans (AdaBN's estimate). */
export type Recalibration = 'none' | 'before' | 'after' | 'both';

export interface SdsConfig {
  readonly mode: SdsMode;
  /** Seeds the networks' initial weights and dropout streams and the cube positions. */
  readonly seed: number;
  /** V-Net constructor arguments shared by S1, S2 and T. */
  readonly network: Partial<VNetConfig>;
  /** Training patch [D, H, W], multiples of 16 (LA: 112 x 112 x 80). */
  readonly patch: Vec3;
  /** Labeled patches per iteration (a and b halves: 2 + 2 on LA) and unlabeled ones (2 + 2). */
  readonly labeledBatch: number;
  readonly unlabeledBatch: number;
  /** Self-training iterations (BCP's LA script: 15000). */
  readonly iterations: number;
  /**
   * Stage-1 supervised pre-training iterations (cube cut-mix of labeled patches; BCP's LA script: 2000),
   * run by the trainer when it is not given stage-1 weights. Ignored in 'supervised' mode.
   */
  readonly stage1Iterations: number;
  /**
   * Wall-time budget of stage 2 in seconds, counted from the trainer's start (0: none): the last
   * iteration started before it runs out finishes, then the run deploys as if `iterations` were reached.
   */
  readonly timeBudgetSeconds: number;
  /** The trainer hands out a resumable checkpoint every this many iterations (either stage). */
  readonly checkpointEvery: number;
  /** Cube edge as a fraction of the patch edge, per axis (2/3; the cube is floor(fraction * size)). */
  readonly cubeFraction: number;
  /** Weight of pseudo-label terms in L_mix; ground truth weighs 1 (METHOD.md step 4). */
  readonly uWeight: number;
  /** Weight of the disagreement correction loss in L^k = L_sup^k + corWeight * L_cor^k (step 6). */
  readonly corWeight: number;
  /** Connectivity of the largest-component filter on pseudo-labels and on step 7's labels. */
  readonly lccConnectivity: Connectivity;
  /** SGD of each student (step 6) with StepLR: lr * gamma^floor(iteration / stepSize). */
  readonly optimizer: {
    readonly lr: number;
    readonly momentum: number;
    readonly weightDecay: number;
    readonly stepSize: number;
    readonly gamma: number;
  };
  /** LA-EMA (step 8): alpha_t = 1 - max(1/(1+t), floor) * exp(-temperature * L^s). */
  readonly laEma: { readonly temperature: number; readonly floor: number };
  /** Fixed EMA of the baselines: alpha_t = min(1 - 1/(t+1), alphaMax) (BCP: 0.99). */
  readonly fixedEma: { readonly alphaMax: number };
  /** Validate S1, S2 and T every this many iterations and keep the best (step 9). */
  readonly validateEvery: number;
  /**
   * Augmentation the patch sampler applies (METHOD.md: the LA code's axial rot90 + flip suit a symmetric
   * binary target, not classes defined by position, so it is per task). Read by the sampler, not here.
   */
  readonly augmentation: { readonly rot90Axial: boolean; readonly flipAxes: readonly VolumeAxis[] };
  /** Sliding-window inference as in the LA benchmark code: strides in-plane and in depth, threshold. */
  readonly inference: { readonly strideInPlane: number; readonly strideDepth: number; readonly threshold: number };
  /**
   * Adapting pretrained weights to a new scanner (departures from METHOD.md, each a switch; all off in
   * the paper's defaults):
   * - `recalibrate`: re-estimate every BatchNorm's running statistics on the unlabeled scans (a plain
   *   mean over `recalibrationPatchesPerScan` random patches of each, dropout off) before self-training
   *   starts (so the first pseudo-labels come from a recalibrated teacher) and/or for the deployed network;
   * - `studentBatchNorm`: the students' training forwards normalise with their batch statistics ('batch',
   *   the paper) or with the running statistics, kept fixed ('frozen': the network trained is the network
   *   evaluated, and the teacher's EMA of weights stays consistent with its statistics);
   * - `supervisedWarmup`: from pretrained weights, this many stage-1 iterations (the stage-1 loss on the
   *   labeled scans) before self-training, so the first pseudo-labels come from a teacher that has seen
   *   the site's labels (0: stage 2 starts from the weights, as the paper's stage 2 does);
   * - `warmupShare`: with a `timeBudgetSeconds`, the warm-up also ends once this share of the budget is
   *   spent, whichever comes first, so a short budget keeps time for self-training;
   * - `l2sp`: from pretrained weights, the weight of L2-SP's penalty l2sp / 2 * ||w - w_pretrained||^2 on
   *   every trained parameter of the students (warm-up and self-training), so a few local labels cannot
   *   pull the network far from what it learned on the original scanner (0: off, the paper);
   * - `wiseFt`: from pretrained weights, WiSE-FT's weight-space ensemble (Wortsman et al. 2022) for the
   *   deployed network: its parameters become wiseFt * adapted + (1 - wiseFt) * pretrained, and its
   *   batch-norm statistics are then re-estimated on the unlabeled scans (neither network's statistics
   *   fit the blend); 1: the adapted network as it is (the paper);
   * - `augmentLabeled`: the labeled patches (warm-up and self-training) get MRI appearance augmentation
   *   (src/train/appearance.ts: blur per axis, bias field, nnU-Net's intensity transforms), so their
   *   supervision stops teaching the original scanner's look (false: crops and flips only, the paper);
   *   'auto': only when a label-free permutation test finds the labeled scans from another scanner than
   *   the unlabeled ones (src/train/adapt/scanner-distance.ts: the original scanner's shipped scans, not
   *   a site's own labels, on which validation scans said it costs Dice);
   * - `pseudoLabelFlips`: the teacher's pseudo-labels from its softmax averaged with that of the patch
   *   mirrored along the augmentation's `flipAxes` (flip test-time augmentation; one more teacher
   *   forward per iteration; false: one view, the paper);
   * - `pseudoLabelConfidence`: pseudo-label voxels whose largest teacher probability (of the flip-averaged
   *   softmax with `pseudoLabelFlips`) is below this are ignored by every loss (IGNORE_LABEL, as PyTorch's
   *   ignore_index; FixMatch's confidence threshold per voxel), so self-training learns only from what the
   *   teacher is sure of; the largest-component filter runs first, on every voxel (0: off, the paper).
   */
  readonly adaptation: {
    readonly recalibrate: Recalibration;
    readonly recalibrationPatchesPerScan: number;
    readonly studentBatchNorm: 'batch' | 'frozen';
    readonly supervisedWarmup: number;
    readonly warmupShare: number;
    readonly l2sp: number;
    readonly wiseFt: number;
    readonly augmentLabeled: boolean | 'auto';
    readonly pseudoLabelFlips: boolean;
    readonly pseudoLabelConfidence: number;
  };
  /**
   * How the two students' training forwards share memory; every choice gives the same numbers:
   * - 'keep': both students keep their activations until their backward (fastest);
   * - 'recompute': one student's activations at a time: S1's forward on each mixed input runs first
   *   without keeping them (S2's loss needs only S1's logits), and again after S2's backward, with the
   *   same dropout masks and batch statistics, for its own backward: one more forward of S1 per input
   *   (two per iteration; its time cost has not been measured apart) for half the activation memory;
   * - 'auto': 'recompute' where the backend states a memory limit (wasm32: 4 GiB) that two students'
   *   training steps (memoryPlan) would not fit in, else 'keep'. The LA scale on wasm needs it.
   */
  readonly studentActivations: 'auto' | 'keep' | 'recompute';
  /** Reproduction switches (METHOD.md), clean behaviour by default. */
  readonly switches: {
    /** Decay both students' learning rates (the authors' LA script decays only S1's). */
    readonly decayBothStudents: boolean;
    /** Average BatchNorm running statistics into the teacher too (their LA script does not). */
    readonly emaBatchNormStats: boolean;
    /** Run the teacher in train mode (dropout, batch statistics) for pseudo-labels (their code does). */
    readonly teacherDropoutForPseudoLabels: boolean;
    /** The network deployed for inference (their code picks the best student on the test set). */
    readonly deploy: 'teacher' | 'best-student';
  };
}

export const SDS_PAPER_DEFAULTS: SdsConfig = deepFreeze({
  mode: 'sds',
  seed: 1337,
  network: { inChannels: 1, nClasses: 2, nFilters: 16, normalization: 'batch', dropout: true },
  patch: [80, 112, 112],
  labeledBatch: 4,
  unlabeledBatch: 4,
  iterations: 15000,
  stage1Iterations: 2000,
  timeBudgetSeconds: 0,
  checkpointEvery: 1000,
  cubeFraction: 2 / 3,
  uWeight: 0.5,
  corWeight: 0.5,
  lccConnectivity: 26,
  optimizer: { lr: 0.01, momentum: 0.9, weightDecay: 1e-4, stepSize: 2500, gamma: 0.1 },
  laEma: { temperature: 0.3, floor: 0.01 },
  fixedEma: { alphaMax: 0.99 },
  validateEvery: 200,
  augmentation: { rot90Axial: true, flipAxes: ['x', 'y', 'z'] },
  inference: { strideInPlane: 18, strideDepth: 4, threshold: 0.5 },
  adaptation: {
    recalibrate: 'none',
    recalibrationPatchesPerScan: 2,
    studentBatchNorm: 'batch',
    supervisedWarmup: 0,
    warmupShare: 0.5,
    l2sp: 0,
    wiseFt: 1,
    augmentLabeled: false,
    pseudoLabelFlips: false,
    pseudoLabelConfidence: 0,
  },
  studentActivations: 'auto',
  switches: { decayBothStudents: true, emaBatchNormStats: true, teacherDropoutForPseudoLabels: false, deploy: 'teacher' },
});

/**
 * Small CPU runs (wasm, hippocampus): the hippocampus patch [32, 48, 32], nFilters 8, 1 + 1 patches per
 * half, only left-right flips (anterior / posterior classes are defined by position), three classes.
 */
export const SDS_SMALL_CPU_PRESET: SdsConfig = deepFreeze({
  ...SDS_PAPER_DEFAULTS,
  network: { ...SDS_PAPER_DEFAULTS.network, nClasses: 3, nFilters: 8 },
  patch: [32, 48, 32],
  labeledBatch: 2,
  unlabeledBatch: 2,
  iterations: 600,
  stage1Iterations: 200,
  checkpointEvery: 100,
  validateEvery: 100,
  augmentation: { rot90Axial: false, flipAxes: ['x'] },
  inference: { strideInPlane: 16, strideDepth: 16, threshold: 0.5 },
});

/**
 * The SDK's adaptation recipe (what `finetune` runs on pretrained weights when the config names no
 * mode): SDS at its core (two students, switching, LA-EMA teacher, cut-mix pseudo-label loss), plus
 * the departures the adaptation benchmark measured and chose on validation scans (docs/results.md,
 * `npm run experiment:adapt`), each a switch in `adaptation`: batch-norm statistics re-estimated on the
 * local unlabeled scans before the warm-up, before self-training and for the deployed network
 * (`recalibrate: 'both'`); 200 supervised warm-up iterations on the labeled scans (under a time budget at
 * most half of it, `warmupShare`: 0.5 and 0.75 tied on validation scans at 60 s); the paper's lr 0.01
 * without its decay (0.003, the gentler fine-tuning rate, lost to it on validation scans at 300 s once
 * the blend below was in); the deployed teacher blended 0.4 of the way from the pretrained to the adapted
 * weights (`wiseFt: 0.4`, WiSE-FT), which kept every validation scan within 2 Dice points of the
 * unadapted model (re-checked with source model v2 at 0 labels: 0.3 and 0.4 tie, and neither dropping the
 * warm-up nor lr 0.003 did better); MRI appearance augmentation of the labeled patches when a label-free
 * test finds them from another scanner than the unlabeled scans (`augmentLabeled: 'auto'`: with no local
 * label, when the labeled scans are the original scanner's, it gained 0.6 Dice on validation scans with
 * v2; on a site's own 4 labels it lost 0.5, so there it stays off); and 20 SDS iterations, so the default run fits well inside five minutes at the demo's scale
 * on two cores (`timeBudgetSeconds` with a large `iterations` fills a given wall-time budget instead).
 */
export const SDS_ADAPT_PRESET: SdsConfig = deepFreeze({
  ...SDS_SMALL_CPU_PRESET,
  iterations: 20,
  optimizer: { ...SDS_SMALL_CPU_PRESET.optimizer, lr: 0.01, stepSize: Infinity },
  adaptation: {
    recalibrate: 'both',
    recalibrationPatchesPerScan: 2,
    studentBatchNorm: 'batch',
    supervisedWarmup: 200,
    warmupShare: 0.5,
    l2sp: 0,
    wiseFt: 0.4,
    augmentLabeled: 'auto',
    pseudoLabelFlips: false,
    pseudoLabelConfidence: 0,
  },
  validateEvery: Number.MAX_SAFE_INTEGER,
  checkpointEvery: Number.MAX_SAFE_INTEGER,
});

type Overrides = {
  readonly [K in keyof SdsConfig]?: SdsConfig[K] extends readonly unknown[] ? SdsConfig[K] : Partial<SdsConfig[K]> | SdsConfig[K];
};

/** `base` with `overrides` merged one level deep (so `{ laEma: { floor: 0.02 } }` keeps the temperature), validated. */
export function resolveSdsConfig(overrides: Overrides = {}, base: SdsConfig = SDS_PAPER_DEFAULTS): SdsConfig {
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(overrides)) {
    const old = (base as unknown as Record<string, unknown>)[key];
    const nested = value !== null && typeof value === 'object' && !Array.isArray(value) && typeof old === 'object' && !Array.isArray(old);
    merged[key] = nested ? { ...(old as object), ...(value as object) } : value;
  }
  const c = merged as unknown as SdsConfig;
  validate(c);
  return deepFreeze(c);
}

function fail(what: string, expected: string, found: unknown): never {
  throw new SdsError('E_INVALID_ARGUMENT', `SDS config: ${what}: expected ${expected}, found ${JSON.stringify(found)}`);
}

function validate(c: SdsConfig): void {
  if (!SDS_MODES.includes(c.mode)) fail('mode', `one of ${SDS_MODES.join(', ')}`, c.mode);
  const int = (what: string, v: number, min: number): void => {
    if (!(Number.isInteger(v) && v >= min)) fail(what, `an integer >= ${min}`, v);
  };
  const num = (what: string, v: number, lo: number, hi: number): void => {
    if (!(typeof v === 'number' && v >= lo && v <= hi)) fail(what, `a number in [${lo}, ${hi}]`, v);
  };
  int('seed', c.seed, 0);
  if (!(c.patch.length === 3 && c.patch.every((s) => Number.isInteger(s) && s > 0 && s % VNET_SIZE_MULTIPLE === 0)))
    fail('patch', `[D, H, W] positive multiples of ${VNET_SIZE_MULTIPLE}`, c.patch);
  int('labeledBatch', c.labeledBatch, 2);
  int('unlabeledBatch', c.unlabeledBatch, 2);
  // The a and b halves must be equal: X_l mixes img_a with unimg_a voxel for voxel.
  if (c.labeledBatch % 2 !== 0 || c.unlabeledBatch !== c.labeledBatch)
    fail('labeledBatch / unlabeledBatch', 'equal even sizes (a and b halves are mixed pairwise)', [c.labeledBatch, c.unlabeledBatch]);
  // Training-mode BatchNorm needs two values per channel at the 1/16-resolution bottleneck.
  const bottleneck = (c.labeledBatch / 2) * c.patch.reduce((n, s) => n * (s / VNET_SIZE_MULTIPLE), 1);
  if (c.patch.every((s) => s % VNET_SIZE_MULTIPLE === 0) && bottleneck < 2)
    fail('labeledBatch / patch', 'at least 2 bottleneck values per channel (batch half x patch / 16), for batch norm', {
      labeledBatch: c.labeledBatch,
      patch: c.patch,
    });
  int('iterations', c.iterations, 0);
  int('stage1Iterations', c.stage1Iterations, 0);
  num('timeBudgetSeconds', c.timeBudgetSeconds, 0, Number.MAX_VALUE);
  int('checkpointEvery', c.checkpointEvery, 1);
  num('cubeFraction', c.cubeFraction, 0, 1);
  num('uWeight', c.uWeight, 0, Number.MAX_VALUE);
  num('corWeight', c.corWeight, 0, Number.MAX_VALUE);
  if (![6, 18, 26].includes(c.lccConnectivity)) fail('lccConnectivity', '6, 18 or 26', c.lccConnectivity);
  num('optimizer.lr', c.optimizer.lr, 0, Number.MAX_VALUE);
  num('optimizer.momentum', c.optimizer.momentum, 0, 1);
  num('optimizer.weightDecay', c.optimizer.weightDecay, 0, Number.MAX_VALUE);
  if (!(c.optimizer.stepSize > 0)) fail('optimizer.stepSize', 'a number > 0 (Infinity: no decay)', c.optimizer.stepSize);
  num('optimizer.gamma', c.optimizer.gamma, Number.MIN_VALUE, Number.MAX_VALUE);
  num('laEma.temperature', c.laEma.temperature, 0, Number.MAX_VALUE);
  num('laEma.floor', c.laEma.floor, 0, 1);
  num('fixedEma.alphaMax', c.fixedEma.alphaMax, 0, 1);
  int('validateEvery', c.validateEvery, 1);
  for (const s of ['decayBothStudents', 'emaBatchNormStats', 'teacherDropoutForPseudoLabels'] as const)
    if (typeof c.switches[s] !== 'boolean') fail(`switches.${s}`, 'a boolean', c.switches[s]);
  if (!['none', 'before', 'after', 'both'].includes(c.adaptation.recalibrate))
    fail('adaptation.recalibrate', "'none', 'before', 'after' or 'both'", c.adaptation.recalibrate);
  int('adaptation.recalibrationPatchesPerScan', c.adaptation.recalibrationPatchesPerScan, 1);
  if (c.adaptation.studentBatchNorm !== 'batch' && c.adaptation.studentBatchNorm !== 'frozen')
    fail('adaptation.studentBatchNorm', "'batch' or 'frozen'", c.adaptation.studentBatchNorm);
  int('adaptation.supervisedWarmup', c.adaptation.supervisedWarmup, 0);
  num('adaptation.warmupShare', c.adaptation.warmupShare, 0, 1);
  num('adaptation.l2sp', c.adaptation.l2sp, 0, Number.MAX_VALUE);
  num('adaptation.wiseFt', c.adaptation.wiseFt, 0, 1);
  if (typeof c.adaptation.augmentLabeled !== 'boolean' && c.adaptation.augmentLabeled !== 'auto')
    fail('adaptation.augmentLabeled', "true, false or 'auto'", c.adaptation.augmentLabeled);
  if (typeof c.adaptation.pseudoLabelFlips !== 'boolean') fail('adaptation.pseudoLabelFlips', 'a boolean', c.adaptation.pseudoLabelFlips);
  num('adaptation.pseudoLabelConfidence', c.adaptation.pseudoLabelConfidence, 0, 1);
  if (!['auto', 'keep', 'recompute'].includes(c.studentActivations))
    fail('studentActivations', "'auto', 'keep' or 'recompute'", c.studentActivations);
  if (c.switches.deploy !== 'teacher' && c.switches.deploy !== 'best-student')
    fail('switches.deploy', "'teacher' or 'best-student'", c.switches.deploy);
}

/** Two students train side by side in the dual-student modes; the baselines have one. */
export function studentCount(mode: SdsMode): 1 | 2 {
  return mode === 'sds' || mode === 'sds-fixed-ema' || mode === 'sds-no-switch' ? 2 : 1;
}

/** Modes with a teacher that follows a student by EMA. */
export function hasTeacher(mode: SdsMode): boolean {
  return mode !== 'supervised' && mode !== 'adabn' && mode !== 'tent';
}

function deepFreeze<T>(x: T): T {
  if (x !== null && typeof x === 'object' && !Object.isFrozen(x)) {
    Object.freeze(x);
    for (const v of Object.values(x)) deepFreeze(v);
  }
  return x;
}
