/**
 * finetune(): validates and resolves the scans, runs the SDS trainer with the small-CPU preset plus
 * the caller's overrides, and maps the trainer's events to FinetuneProgress (plain data, so they cross
 * a worker boundary by structured clone).
 */
import type { Backend } from '../backend/backend.js';
import { SdsError } from '../core/errors.js';
import type { Vec3 } from '../core/shape.js';
import { VNET_SIZE_MULTIPLE, type VNetConfig } from '../nn/vnet-config.js';
import { resolveSdsConfig, SDS_ADAPT_PRESET, SDS_SMALL_CPU_PRESET, type SdsConfig, usesLabels } from '../train/sds/config.js';
import { openBrowserCheckpointStore } from '../train/checkpoint/browser-checkpoint.js';
import type { NetworkName } from '../train/checkpoint/checkpoint.js';
import { type SdsTrainerEvent, type SdsTrainResult, stage1Length, trainSds } from '../train/sds/trainer.js';
import { expectList, resolveLabeled, resolveScan } from './inputs.js';
import { describe } from './values.js';
import type { FinetuneConfig, FinetuneOptions, FinetuneProgress, FinetuneResult } from './types.js';

export interface FinetuneContext {
  readonly backend: Backend;
  readonly network: VNetConfig;
  /** The segmenter's patch in tensor order [D, H, W] (cut to fit the scans, used unless config.patch is given). */
  readonly patchDhw: Vec3;
  /** The current weights as a V-Net checkpoint when they are trained (skips stage 1), else undefined. */
  readonly initial?: Uint8Array;
}

function expectOptions(o: FinetuneOptions): void {
  if (o === null || typeof o !== 'object')
    throw new SdsError('E_INVALID_ARGUMENT', `finetune: expected an options object { labeled, unlabeled, ... }, found ${describe(o)}`);
  if (o.signal !== undefined && !(typeof o.signal === 'object' && o.signal !== null && typeof o.signal.aborted === 'boolean'))
    throw new SdsError('E_INVALID_ARGUMENT', `finetune: signal: expected an AbortSignal, found ${describe(o.signal)}`);
  if (o.onProgress !== undefined && typeof o.onProgress !== 'function')
    throw new SdsError('E_INVALID_ARGUMENT', `finetune: onProgress: expected a function, found ${describe(o.onProgress)}`);
  if (o.config !== undefined && (o.config === null || typeof o.config !== 'object' || Array.isArray(o.config)))
    throw new SdsError('E_INVALID_ARGUMENT', `finetune: config: expected an object of SDS config overrides, found ${describe(o.config)}`);
  if (o.resume !== undefined && !(o.resume instanceof Uint8Array))
    throw new SdsError('E_INVALID_ARGUMENT', `finetune: resume: expected checkpoint bytes (a Uint8Array), found ${describe(o.resume)}`);
  if (o.checkpoints !== undefined && (o.checkpoints === null || typeof o.checkpoints !== 'object'))
    throw new SdsError('E_INVALID_ARGUMENT', `finetune: checkpoints: expected { name, storage?, keep? }, found ${describe(o.checkpoints)}`);
}

/**
 * The trainer config: preset <- overrides; the network is always the segmenter's. The preset is the
 * adaptation recipe (SDS_ADAPT_PRESET) when the segmenter holds trained weights and the overrides name
 * no mode; a named mode gets that method as specified (METHOD.md; SDS_SMALL_CPU_PRESET's sizes).
 */
export function finetuneConfig(overrides: FinetuneConfig | undefined, network: VNetConfig, patchDhw: Vec3, pretrained = false): SdsConfig {
  const given = overrides?.network;
  if (given !== undefined) {
    const differing = Object.entries(given).filter(([k, v]) => (network as unknown as Record<string, unknown>)[k] !== v);
    if (differing.length > 0)
      throw new SdsError(
        'E_INVALID_ARGUMENT',
        `finetune: config.network: the segmenter's network is ${JSON.stringify(network)}; found different ${differing.map(([k, v]) => `${k}: ${JSON.stringify(v)}`).join(', ')} (create the segmenter with that network instead)`,
      );
  }
  const preset = pretrained && overrides?.mode === undefined ? SDS_ADAPT_PRESET : SDS_SMALL_CPU_PRESET;
  return resolveSdsConfig({ patch: patchDhw, ...(overrides as Parameters<typeof resolveSdsConfig>[0]), network: { ...network } }, preset);
}

function toProgress(e: SdsTrainerEvent, stage1: number, total: number): FinetuneProgress | null {
  if (e.type === 'iteration') {
    const done = e.phase === 'stage1' ? e.iteration : stage1 + e.iteration;
    return {
      type: 'iteration',
      phase: e.phase,
      iteration: e.iteration,
      of: e.of,
      fraction: total > 0 ? Math.min(1, done / total) : 1,
      losses: [...e.losses],
      ...(e.confidence !== null ? { confidences: [...e.confidence] } : {}),
      selected: e.selected,
      ...(e.alpha !== null ? { alpha: e.alpha } : {}),
      lr: e.lr[0],
      ms: e.ms,
      reads: e.reads,
      etaMs: e.etaMs,
      ...(e.skipped !== undefined ? { skipped: [...e.skipped] } : {}),
    };
  }
  if (e.type === 'validation') return { type: 'validation', phase: e.phase, iteration: e.iteration, dice: { ...e.dice } };
  return null;
}

export interface FinetuneOutcome {
  readonly result: FinetuneResult;
  readonly trained: SdsTrainResult;
}

/**
 * The segmenter's patch [D, H, W] cut, axis by axis, to the largest multiple of 16 inside the median
 * scan (at least 16). The segmenter's window may be larger than the scans (one window per hippocampus
 * scan at inference); a training patch that large is mostly zero padding, and training-mode batch norm
 * would then learn, and batch-norm re-estimation would measure, statistics of the padding rather than
 * of the anatomy. Measured on the original scanner: re-estimating the shipped model's statistics with
 * 48x64x48 patches of ~35x50x35 scans took its test Dice from 86.5 to 71.4 %; with 32x48x32 patches
 * (the patch it was trained with), 86.2. The median, not the smallest scan: the patch also sets the
 * scale the deeper layers see (a 16-voxel axis leaves the bottleneck one voxel deep), and one short scan
 * (28 slices among 24 of 29-42) would cut it to 16, which took the same re-estimation to 4 %.
 */
export function patchInsideScans(patchDhw: Vec3, scansXyz: readonly Vec3[]): Vec3 {
  return patchDhw.map((size, axis) => {
    const extents = scansXyz.map((shape) => shape[2 - axis]).sort((a, b) => a - b);
    const median = extents[(extents.length - 1) >> 1];
    return Math.min(size, Math.max(VNET_SIZE_MULTIPLE, Math.floor(median / VNET_SIZE_MULTIPLE) * VNET_SIZE_MULTIPLE));
  }) as unknown as Vec3;
}

export async function runFinetune(ctx: FinetuneContext, o: FinetuneOptions): Promise<FinetuneOutcome> {
  expectOptions(o);
  // The mode decides which lists may be empty; the patch is fitted to the scans once they are read.
  const unfitted = finetuneConfig(o.config, ctx.network, ctx.patchDhw, ctx.initial !== undefined);
  const labeledIn = expectList(o.labeled ?? [], 'finetune: labeled', usesLabels(unfitted.mode) ? 1 : 0);
  const unlabeledIn = expectList(o.unlabeled, 'finetune: unlabeled', unfitted.mode === 'supervised' ? 0 : 1);
  const validationIn = expectList(o.validation, 'finetune: validation', 0);
  const labeled = [];
  for (const [i, s] of labeledIn.entries()) labeled.push(await resolveLabeled(s, `finetune: labeled[${i}]`));
  const unlabeled = [];
  for (const [i, s] of unlabeledIn.entries()) unlabeled.push(await resolveScan(s, `finetune: unlabeled[${i}]`));
  const validation = [];
  for (const [i, s] of validationIn.entries()) validation.push(await resolveLabeled(s, `finetune: validation[${i}]`));
  const fitted = patchInsideScans(ctx.patchDhw, [...labeled.map((s) => s.image.shape), ...unlabeled.map((v) => v.shape)]);
  // Unless so small that training-mode batch norm would have fewer than 2 bottleneck values per channel
  // (the config's own rule): then the scans are tiny and padding cannot be avoided.
  const bottleneck = (unfitted.labeledBatch / 2) * fitted.reduce((n, s) => n * (s / VNET_SIZE_MULTIPLE), 1);
  const config = finetuneConfig(o.config, ctx.network, bottleneck >= 2 ? fitted : ctx.patchDhw, ctx.initial !== undefined);

  // Opened before training starts, so a storage that cannot be used fails the call at once (E_IO).
  const store = o.checkpoints !== undefined ? await openBrowserCheckpointStore(o.checkpoints) : undefined;
  const stage1 = stage1Length(config, ctx.initial !== undefined);
  const total = stage1 + config.iterations;
  const onProgress = o.onProgress;
  const trained = await trainSds({
    backend: ctx.backend,
    labeled,
    unlabeled,
    validation,
    config,
    initial: ctx.initial,
    resume: o.resume,
    signal: o.signal,
    onCheckpoint: store === undefined ? undefined : async (bytes, at) => void (await store.write(bytes, at)),
    onEvent:
      onProgress === undefined
        ? undefined
        : (e) => {
            const p = toProgress(e, stage1, total);
            if (p !== null) onProgress(p);
          },
  });
  const ran = trained.history.length;
  const msPerIteration = ran > 0 ? trained.history.reduce((s, e) => s + e.ms, 0) / ran : NaN;
  const bestDice: Partial<Record<NetworkName, number>> = {};
  for (const [name, b] of Object.entries(trained.best) as [NetworkName, { dice: number }][]) bestDice[name] = b.dice;
  if (!trained.aborted) onProgress?.({ type: 'done', fraction: 1 });
  return {
    trained,
    result: {
      stage1Iterations: trained.stage1Iterations,
      iterations: trained.iterations,
      aborted: trained.aborted,
      deployed: trained.deployed.network,
      bestDice,
      msPerIteration,
      patch: [config.patch[2], config.patch[1], config.patch[0]],
    },
  };
}
