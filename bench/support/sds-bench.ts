/**
 * The set-up bench/sds-run.ts times: one self-training iteration of src/train/sds/ (sdsIteration on an
 * SdsState, exactly what trainSds runs per stage-2 iteration) at a given scale and mode, on a fixed batch.
 * The same numbers go to bench/sds_torch.py (`torchCase`), which builds the same networks from the
 * same initial weights (sds-web's counter-based generator, ported in scripts/make-golden-vnet.py) and
 * the same batch, so the teacher's pseudo-labels and their largest-component clean-up see the same
 * label maps on both sides at the first iteration.
 */
import type { Backend } from '../../src/backend/backend.js';
import type { Vec3 } from '../../src/core/shape.js';
import { VNet } from '../../src/nn/vnet.js';
import { uniformAt } from '../../src/ops/random.js';
import {
  createSdsState,
  disposeSdsBatch,
  disposeSdsState,
  resolveSdsConfig,
  SDS_ADAPT_PRESET,
  SDS_PAPER_DEFAULTS,
  type SdsBatch,
  type SdsConfig,
  type SdsEvent,
  type SdsState,
  sdsIteration,
} from '../../src/train/sds/index.js';

export type SdsBenchMode = 'sds' | 'mean-teacher';
export const SDS_BENCH_MODES: readonly SdsBenchMode[] = ['sds', 'mean-teacher'];

export interface SdsBenchScale {
  readonly name: string;
  /** The preset the scale's iteration comes from; `patch` and the width are set on top of it. */
  readonly base: SdsConfig;
  readonly patch: Vec3;
  readonly nClasses: number;
  /** Which repeat count applies (the LA iteration takes minutes). */
  readonly large: boolean;
}

/**
 * - the demo's iteration: SDS_ADAPT_PRESET (2 + 2 patches, 3 classes) with the shipped V-Net16 at
 *   32x48x32, the presets' patch and, since finetune fits the training patch inside the scans
 *   (src/api/finetune.ts patchInsideScans), the patch the demo trains on;
 * - the same at 48x64x48, the demo's window (its training patch before the fitting);
 * - METHOD.md's LA settings (SDS_PAPER_DEFAULTS): 2 classes, patch 112x112x80, 4 labeled + 4 unlabeled.
 */
export const SDS_BENCH_SCALES: readonly SdsBenchScale[] = [
  { name: 'demo 32x48x32', base: SDS_ADAPT_PRESET, patch: [32, 48, 32], nClasses: 3, large: false },
  { name: 'window 48x64x48', base: SDS_ADAPT_PRESET, patch: [48, 64, 48], nClasses: 3, large: false },
  { name: 'LA 80x112x112', base: SDS_PAPER_DEFAULTS, patch: [80, 112, 112], nClasses: 2, large: true },
];

/** Seed of the initial weights every network of a case starts from (METHOD.md: S1, S2 and T start equal). */
export const INIT_SEED = 7;
/** Seeds of the four images' noise: imageA, imageB, unlabeledA, unlabeledB. */
export const IMAGE_SEEDS = [11, 12, 13, 14] as const;

/** `--quick` (a smoke test of both sides, seconds): every scale at patch 16x16x32 and nFilters 4. */
export const QUICK_PATCH: Vec3 = [16, 16, 32];

export function sdsBenchConfig(scale: SdsBenchScale, mode: SdsBenchMode, quick = false): SdsConfig {
  const network = { inChannels: 1, nClasses: scale.nClasses, nFilters: quick ? 4 : 16, normalization: 'batch', dropout: true } as const;
  return resolveSdsConfig({ mode, patch: quick ? QUICK_PATCH : scale.patch, network }, scale.base);
}

/**
 * Label map of one patch [D, H, W]: a centred ball of radius min(D, H, W) / 4, class 1 in its front
 * half and class 2 in its back half where there are 3 classes. The same rule is in sds_torch.py.
 */
function ballLabels([d, h, w]: Vec3, nClasses: number): Uint8Array {
  const out = new Uint8Array(d * h * w);
  const r = Math.min(d, h, w) / 4;
  for (let z = 0, i = 0; z < d; z++)
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++, i++)
        if ((z - d / 2) ** 2 + (y - h / 2) ** 2 + (x - w / 2) ** 2 <= r * r) out[i] = nClasses > 2 && z >= d / 2 ? 2 : 1;
  return out;
}

/** image[i] = 2 u(seed, i) - 1 + 1.5 [label > 0]: noise the label shows through, for every sample of the half. */
function noisyImage(seed: number, labels: Uint8Array, samples: number): Float32Array {
  const out = new Float32Array(samples * labels.length);
  for (let i = 0; i < out.length; i++) out[i] = 2 * uniformAt(seed, i) - 1 + (labels[i % labels.length] > 0 ? 1.5 : 0);
  return out;
}

/** The batch of one iteration: each half [n, 1, D, H, W] with n = labeledBatch / 2; the caller owns it. */
export function sdsBenchBatch(backend: Backend, config: SdsConfig): SdsBatch {
  const n = config.labeledBatch / 2;
  const ball = ballLabels(config.patch, config.network.nClasses ?? 2);
  const labels = new Uint8Array(n * ball.length);
  for (let k = 0; k < n; k++) labels.set(ball, k * ball.length);
  const image = (seed: number) => backend.upload(noisyImage(seed, ball, n), [n, 1, ...config.patch]);
  const label = () => backend.upload(labels, [n, ...config.patch]);
  const [a, b, ua, ub] = IMAGE_SEEDS;
  // Both unlabeled halves in one tensor too, as the trainer's sampler provides them (one eval forward).
  const unlabeled = backend.upload(Float32Array.from([...noisyImage(ua, ball, n), ...noisyImage(ub, ball, n)]), [
    2 * n,
    1,
    ...config.patch,
  ]);
  return { imageA: image(a), labelA: label(), imageB: image(b), labelB: label(), unlabeledA: image(ua), unlabeledB: image(ub), unlabeled };
}

export interface SdsBench {
  readonly state: SdsState;
  /** One iteration, then a sync so the clock sees the teacher's update done (the wasm backend queues it). */
  iterate(): Promise<SdsEvent>;
  dispose(): void;
}

export function sdsBench(backend: Backend, config: SdsConfig): SdsBench {
  const initial = new VNet(backend, config.network, { seed: INIT_SEED });
  let state: SdsState;
  try {
    state = createSdsState(backend, config, { initial });
  } finally {
    initial.dispose();
  }
  const batch = sdsBenchBatch(backend, config);
  return {
    state,
    async iterate(): Promise<SdsEvent> {
      const event = await sdsIteration(state, batch);
      await backend.sync();
      return event;
    },
    dispose(): void {
      disposeSdsBatch(backend, batch);
      disposeSdsState(state);
    },
  };
}

/** What bench/sds_torch.py needs to build the same iteration (one --case argument, JSON). */
export function torchCase(name: string, config: SdsConfig, warmup: number, repeats: number): Record<string, unknown> {
  return {
    name,
    mode: config.mode,
    nClasses: config.network.nClasses,
    nFilters: config.network.nFilters,
    half: config.labeledBatch / 2,
    patch: config.patch,
    cubeFraction: config.cubeFraction,
    uWeight: config.uWeight,
    corWeight: config.corWeight,
    lccConnectivity: config.lccConnectivity,
    optimizer: { lr: config.optimizer.lr, momentum: config.optimizer.momentum, weightDecay: config.optimizer.weightDecay },
    laEma: config.laEma,
    fixedEmaAlphaMax: config.fixedEma.alphaMax,
    teacherTrainMode: config.switches.teacherDropoutForPseudoLabels,
    emaBatchNormStats: config.switches.emaBatchNormStats,
    initSeed: INIT_SEED,
    imageSeeds: IMAGE_SEEDS,
    warmup,
    repeats,
  };
}
