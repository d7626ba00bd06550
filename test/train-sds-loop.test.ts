// The SDS training loop (trainSds): stage 1 + stage 2 end to end on tiny crops of real hippocampus scans
// (examples/data) on the reference, wasm and WebGPU backends; exact resume from checkpoints; determinism;
// the axial rot90 augmentation of the sampler.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../src/backend/backend.js';
import { createBackend } from '../src/api/create-backend.js';
import { createReferenceBackend } from '../src/ops/reference/index.js';
import { createWebGpuBackend } from '../src/backend/webgpu/index.js';
import { SdsError } from '../src/core/errors.js';
import type { Vec3 } from '../src/core/shape.js';
import { readSafetensors, writeSafetensors } from '../src/nn/checkpoint/safetensors.js';
import { loadVNet, saveVNet } from '../src/nn/checkpoint/vnet-checkpoint.js';
import { VNet } from '../src/nn/vnet.js';
import { loadCases } from '../src/train/node-cases.js';
import { type PreparedScan, writePatch } from '../src/train/patches.js';
import { RandomStream } from '../src/train/random-stream.js';
import {
  parseCheckpoint,
  randomAugmentedPlacement,
  resolveSdsConfig,
  SDS_SMALL_CPU_PRESET,
  type SdsConfig,
  type SdsTrainerEvent,
  type SdsTrainResult,
  trainSds,
  type TrainSdsOptions,
} from '../src/train/sds/index.js';
import { checkpointWriter } from '../src/train/checkpoint/node-checkpoint.js';
import { cropOrPad, type Volume } from '../src/volume/index.js';
import { ensureWasmBuilt } from './support/wasm-build.js';

const DATA = fileURLToPath(new URL('../examples/data', import.meta.url));
const CROP: [number, number, number] = [20, 24, 20];

interface Scan {
  image: Volume;
  label: Volume;
}
let labeled: Scan[];
let unlabeled: Volume[];
let validation: Scan[];

/** Two labeled, two unlabeled scans cropped to 20x24x20 around the centre; validation: a 16^3 crop. */
beforeAll(async () => {
  const cases = await loadCases(DATA, ['hippocampus_001', 'hippocampus_003', 'hippocampus_004', 'hippocampus_006']);
  const crop = (c: Scan, s: [number, number, number]): Scan => ({ image: cropOrPad(c.image, s), label: cropOrPad(c.label, s) });
  labeled = cases.slice(0, 2).map((c) => crop(c, CROP));
  unlabeled = cases.slice(2).map((c) => crop(c, CROP).image);
  validation = [crop(cases[2], [16, 16, 16])];
});

const config = (overrides: Parameters<typeof resolveSdsConfig>[0] = {}): SdsConfig =>
  resolveSdsConfig(
    {
      mode: 'sds',
      seed: 11,
      network: { nFilters: 2, nClasses: 3 },
      patch: [16, 16, 16],
      labeledBatch: 4,
      unlabeledBatch: 4,
      stage1Iterations: 1,
      iterations: 2,
      validateEvery: 1,
      checkpointEvery: 1,
      ...overrides,
    },
    SDS_SMALL_CPU_PRESET,
  );

interface Recorded {
  result: SdsTrainResult;
  events: SdsTrainerEvent[];
  checkpoints: { phase: string; iteration: number; bytes: Uint8Array }[];
}

async function train(backend: Backend, c: SdsConfig, extra: Partial<TrainSdsOptions> = {}): Promise<Recorded> {
  const events: SdsTrainerEvent[] = [];
  const checkpoints: Recorded['checkpoints'] = [];
  const result = await trainSds({
    backend,
    labeled,
    unlabeled,
    validation,
    config: c,
    onEvent: (e) => events.push(e),
    onCheckpoint: (bytes, at) => void checkpoints.push({ ...at, bytes }),
    ...extra,
  });
  return { result, events, checkpoints };
}

/** The iteration events without wall time (everything else must repeat exactly). */
const steps = (r: SdsTrainResult): unknown[] => r.history.map(({ ms: _ms, ...rest }) => rest);
/** Byte equality without vitest's element-wise diffing (slow on megabytes). */
const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);
const relClose = (a: number, b: number, rel: number): void => expect(Math.abs(a - b)).toBeLessThanOrEqual(rel * Math.abs(b));

const reference = createReferenceBackend();
afterAll(() => reference.destroy());
/** The reference run every other backend and the reference resume check compare with. */
let refRun: Recorded;
/** A stage-1 model (the reference init of seed 5) and the reference stage-2 losses starting from it. */
let stage1Model: Uint8Array;
let refFromModel: SdsTrainResult;

/**
 * The long integration check: 1 stage-1 + 29 stage-2 SDS iterations (30 in all)
 * without validation or checkpoints, on every backend. Costs on the 2-core CI machine: reference
 * ~1.7 CPU s per stage-2 iteration (plain-JS convolutions), WebGPU on SwiftShader ~2.5 s, wasm < 0.2 s.
 */
const LONG_STAGE2 = 29;
/** The long runs' per-test limit: the reference and SwiftShader runs take one to two minutes each. */
const LONG_RUN_TIMEOUT_MS = 480_000;
const longConfig = (stage2: number): SdsConfig =>
  config({ stage1Iterations: 1, iterations: stage2, validateEvery: 1_000_000, checkpointEvery: 1_000_000 });

/** Checks one long run's events against the config and METHOD.md's formulas. */
function expectLongRun(r: SdsTrainResult, stage2: number): void {
  const c = longConfig(stage2);
  expect(r).toMatchObject({ stage1Iterations: 1, iterations: stage2, aborted: false });
  expect(r.history.map((h) => `${h.phase}:${h.iteration}`)).toEqual([
    'stage1:1',
    ...Array.from({ length: stage2 }, (_, i) => `stage2:${i + 1}`),
  ]);
  for (const h of r.history.slice(1)) {
    expect(h.losses).toHaveLength(2);
    for (const l of h.losses) expect(Number.isFinite(l) && l > 0).toBe(true);
    expect(h.confidence).toHaveLength(2);
    for (const conf of h.confidence ?? []) expect(conf >= 0 && conf <= 1).toBe(true);
    expect([0, 1]).toContain(h.selected);
    // Step 8: alpha_t = 1 - max(1/(1+t), floor) * exp(-temperature * L^s), L^s the selected student's loss.
    const expected = 1 - Math.max(1 / (1 + h.iteration), c.laEma.floor) * Math.exp(-c.laEma.temperature * h.losses[h.selected]);
    expect(Math.abs((h.alpha as number) - expected)).toBeLessThan(1e-6);
    expect(h.lr).toEqual([c.optimizer.lr, c.optimizer.lr]);
    // Only the loss scalars, the alpha and the volumes LCC needs come back: the same count every iteration.
    expect(h.reads).toBe(4); // pseudo-label volumes 1, losses + alphas 1, the switch's label volumes 1 and scores 1
  }
  expect(r.deployed.network).toBe('teacher');
}

/**
 * First-iteration losses against the reference run (refRun): the stage-1 loss to `rel`; the first stage-2
 * losses only to 1e-2, because after one SGD step the teacher's pseudo-labels are an argmax + LCC of
 * logits that differ in the last float bits, and a flipped voxel moves the loss by ~1e-3.
 */
function expectSameStart(r: SdsTrainResult, rel: number): void {
  const ref = refRun.result.history;
  relClose(r.history[0].losses[0], ref[0].losses[0], rel);
  r.history[1].losses.forEach((l, k) => relClose(l, ref[1].losses[k], 1e-2));
}

describe('trainSds on the reference backend (stage 1: 1 iteration, stage 2: 2)', () => {
  it('runs both stages end to end, validating and checkpointing every iteration', async () => {
    refRun = await train(reference, config());
    const { result, events, checkpoints } = refRun;
    expect(events.map((e) => `${e.type}:${e.phase}:${e.iteration}`)).toEqual([
      'iteration:stage1:1',
      'validation:stage1:1',
      'checkpoint:stage1:1',
      'iteration:stage2:1',
      'validation:stage2:1',
      'checkpoint:stage2:1',
      'iteration:stage2:2',
      'validation:stage2:2',
      'checkpoint:stage2:2',
    ]);
    const it1 = events[3] as Extract<SdsTrainerEvent, { type: 'iteration' }>;
    expect(it1).toMatchObject({ mode: 'sds', of: 2, reads: 4 });
    expect(it1.etaMs).toBeGreaterThan(0);
    expect((events[6] as { etaMs: number }).etaMs).toBe(0);
    expect(result).toMatchObject({ stage1Iterations: 1, iterations: 2, aborted: false });
    for (const h of result.history) for (const l of h.losses) expect(l).toBeGreaterThan(0);
    expect(result.history[0].losses).toHaveLength(1); // stage 1: one student
    expect(result.history[1].losses).toHaveLength(2);
    const v = events[4] as Extract<SdsTrainerEvent, { type: 'validation' }>;
    for (const name of ['student1', 'student2', 'teacher'] as const) {
      expect(v.dice[name]).toBeGreaterThan(0);
      expect(v.dice[name]).toBeLessThan(1);
    }
    // Best weights are kept per network; the deployed network is the teacher (METHOD.md default).
    expect(Object.keys(result.best).sort()).toEqual(['student1', 'student2', 'teacher']);
    expect(result.deployed.network).toBe('teacher');
    const net = new VNet(reference, config().network);
    expect(loadVNet(reference, net, result.deployed.weights).warnings).toEqual([]);
    net.dispose();
    // One file: prefixed networks, momentum buffers, best weights, the position in the metadata.
    const file = readSafetensors(checkpoints[1].bytes);
    for (const prefix of ['student1.', 'student2.', 'teacher.', 'optim1.', 'optim2.', 'best.teacher.'])
      expect([...file.tensors.keys()].some((k) => k.startsWith(`${prefix}encoder.block_one.conv.0.weight`))).toBe(true);
    const meta = parseCheckpoint(checkpoints[1].bytes).meta;
    expect(meta).toMatchObject({ phase: 'stage2', iteration: 1, stage1Done: 1, optimizerSteps: [1, 1] });
    expect(meta.dropout.student1).toEqual([2, 2]); // two training forwards (X_l, X_u) per iteration
    expect(meta.dropout.teacher).toEqual([0, 0]); // eval-mode pseudo-labels draw nothing
  });

  it('passes the long-run checks on its 2 stage-2 iterations (switch, LA-EMA alpha, read-backs)', () => {
    expectLongRun(refRun.result, 2);
  });

  it(
    'runs 30 iterations end to end (1 stage-1 + 29 stage-2), starting with its own 3-iteration run',
    async () => {
      const long = (await train(reference, longConfig(LONG_STAGE2))).result;
      expectLongRun(long, LONG_STAGE2);
      // Same seed and config: validation and checkpoints in refRun do not perturb training.
      expect(steps(long).slice(0, 3)).toEqual(steps(refRun.result));
      expect(new Set(long.history.map((h) => h.losses[0].toFixed(6))).size).toBe(long.history.length);
    },
    LONG_RUN_TIMEOUT_MS,
  );

  it('resumes from a periodic checkpoint with the same next losses, bit for bit', async () => {
    const resumed = await train(reference, config(), { resume: refRun.checkpoints[1].bytes });
    expect(steps(resumed.result)).toEqual(steps(refRun.result).slice(2));
    expect(resumed.result.stage1Iterations).toBe(1);
  });

  it('resumes a checkpoint written before a departure switch existed (the switch absent = off)', async () => {
    const file = readSafetensors(refRun.checkpoints[1].bytes);
    const saved = JSON.parse(file.metadata['sds.trainer.config']) as { adaptation: Record<string, unknown> };
    delete saved.adaptation.pseudoLabelConfidence;
    // Without the CRC field, as checkpoints from before checksums are.
    const { 'sds.crc32': _crc, ...rest } = file.metadata;
    const older = writeSafetensors(file.tensors, { ...rest, 'sds.trainer.config': JSON.stringify(saved) });
    const resumed = await train(reference, config(), { resume: older });
    expect(steps(resumed.result)).toEqual(steps(refRun.result).slice(2));
    // A switch the checkpoint ran with on still has to match.
    saved.adaptation.pseudoLabelConfidence = 0.8;
    const other = writeSafetensors(file.tensors, { ...rest, 'sds.trainer.config': JSON.stringify(saved) });
    await expect(train(reference, config(), { resume: other })).rejects.toThrow(/differs from the checkpoint's in adaptation/);
  });

  it('starts stage 2 from given stage-1 weights', async () => {
    const net = new VNet(reference, config().network, { seed: 5 });
    stage1Model = await saveVNet(reference, net);
    net.dispose();
    refFromModel = (await train(reference, config({ iterations: 1 }), { initial: stage1Model })).result;
    expect(refFromModel.stage1Iterations).toBe(0);
    expect(refFromModel.history.map((h) => h.phase)).toEqual(['stage2']);
  });

  it('hands checkpoints to an atomic file writer', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'sds-loop-'));
    try {
      const write = checkpointWriter({ folder, keepAll: true });
      const paths = await write(refRun.checkpoints[0].bytes, { phase: 'stage1', iteration: 1 });
      expect(paths.map((p) => p.slice(folder.length + 1))).toEqual(['sds-latest.safetensors', 'sds-stage1-000001.safetensors']);
      for (const p of paths) expect(sameBytes(await readFile(p), refRun.checkpoints[0].bytes)).toBe(true);
    } finally {
      await rm(folder, { recursive: true });
    }
  });

  it('rejects a resume with another config or other scans, and SDS without unlabeled scans', async () => {
    const bytes = refRun.checkpoints[1].bytes;
    await expect(train(reference, config({ mode: 'mean-teacher' }), { resume: bytes })).rejects.toThrow(
      /differs from the checkpoint's in mode/,
    );
    await expect(train(reference, config(), { resume: bytes, unlabeled: unlabeled.slice(0, 1) })).rejects.toThrow(/2 unlabeled scans/);
    await expect(train(reference, config(), { unlabeled: [] })).rejects.toBeInstanceOf(SdsError);
  });
});

describe('trainSds on wasm (1 thread)', () => {
  let wasm: Backend;
  beforeAll(async () => {
    ensureWasmBuilt();
    wasm = await createBackend('wasm', { threads: 1 });
  });
  afterAll(() => wasm?.destroy());

  it('matches the reference: first stage-1 loss, and stage-2 losses from the same stage-1 weights (rel 1e-5)', async () => {
    const run = (await train(wasm, config())).result;
    relClose(run.history[0].losses[0], refRun.result.history[0].losses[0], 1e-5);
    const fromModel = (await train(wasm, config({ iterations: 1 }), { initial: stage1Model })).result;
    fromModel.history[0].losses.forEach((l, k) => relClose(l, refFromModel.history[0].losses[k], 1e-5));
  });

  it('runs 30 iterations end to end (1 stage-1 + 29 stage-2), starting with the reference losses', async () => {
    const long = (await train(wasm, longConfig(LONG_STAGE2))).result;
    expectLongRun(long, LONG_STAGE2);
    expectSameStart(long, 1e-5);
    // Both students lead at some point and the losses move (a stuck run would repeat them).
    expect(new Set(long.history.slice(1).map((h) => h.selected)).size).toBe(2);
    expect(new Set(long.history.map((h) => h.losses[0].toFixed(6))).size).toBe(long.history.length);
  });

  it('resumes exactly: stage 1 (2) + stage 2 (3) in one go equals runs resumed in stage 1, in stage 2, and after an abort', async () => {
    const c = config({ stage1Iterations: 2, iterations: 3 });
    const whole = await train(wasm, c);
    expect(whole.result.history).toHaveLength(5);
    const all = steps(whole.result);
    // From the periodic checkpoints: after stage-1 iteration 1, and after stage-2 iteration 1.
    const fromStage1 = await train(wasm, c, { resume: whole.checkpoints[0].bytes });
    expect(steps(fromStage1.result)).toEqual(all.slice(1));
    expect(fromStage1.result.best.teacher?.dice).toBe(whole.result.best.teacher?.dice);
    const fromStage2 = await train(wasm, c, { resume: whole.checkpoints[2].bytes });
    expect(steps(fromStage2.result)).toEqual(all.slice(3));
    // Abort after 4 iterations (2 + 2), resume from the result's final checkpoint.
    const controller = new AbortController();
    let seen = 0;
    const stopped = await train(wasm, c, {
      signal: controller.signal,
      onEvent: (e) => e.type === 'iteration' && ++seen === 4 && controller.abort(),
    });
    expect(stopped.result).toMatchObject({ aborted: true, stage1Iterations: 2, iterations: 2 });
    const rest = await train(wasm, c, { resume: stopped.result.checkpoint });
    expect(steps(rest.result)).toEqual(all.slice(4));
    expect(sameBytes(rest.result.checkpoint, whole.result.checkpoint)).toBe(true);
  });

  it('yields to the event loop between iterations: a timer-based AbortSignal stops the run', async () => {
    // One thread: every kernel finishes synchronously, so only the trainer's yield lets the timer fire.
    const { result } = await train(wasm, longConfig(LONG_STAGE2), { signal: AbortSignal.timeout(20) });
    expect(result.aborted).toBe(true);
    expect(result.history.length).toBeLessThanOrEqual(3);
  });

  it('is deterministic for a seed, and another seed changes the run', async () => {
    const c = config({ iterations: 2, validateEvery: 100, checkpointEvery: 100 });
    const a = await train(wasm, c);
    const b = await train(wasm, c);
    expect(steps(b.result)).toEqual(steps(a.result));
    expect(b.checkpoints).toEqual([]);
    const other = await train(wasm, config({ iterations: 2, seed: 12 }));
    expect(other.result.history[1].losses).not.toEqual(a.result.history[1].losses);
  });
});

describe('trainSds on WebGPU (SwiftShader)', () => {
  let gpu: Backend;
  beforeAll(async () => {
    gpu = await createWebGpuBackend();
  });
  afterAll(() => gpu?.destroy());

  it(
    'runs 30 iterations end to end (1 stage-1 + 29 stage-2), starting with the reference losses',
    async () => {
      const long = (await train(gpu, longConfig(LONG_STAGE2))).result;
      expectLongRun(long, LONG_STAGE2);
      expectSameStart(long, 1e-4);
      expect(new Set(long.history.map((h) => h.losses[0].toFixed(6))).size).toBe(long.history.length);
    },
    LONG_RUN_TIMEOUT_MS,
  );

  it('matches the reference: the stage-2 losses from the same stage-1 weights (rel 1e-4)', async () => {
    const fromModel = (await train(gpu, config({ iterations: 1 }), { initial: stage1Model })).result;
    fromModel.history[0].losses.forEach((l, k) => relClose(l, refFromModel.history[0].losses[k], 1e-4));
    expect(fromModel.deployed.network).toBe('teacher');
  });
});

describe('sampler augmentation: axial rot90 (LA)', () => {
  it('samples the scan rotated like numpy rot90 on the first two axes, before the crop and flips', () => {
    // A 3 x 2 x 1 scan [X, Y, Z] with values x + 3y; a 16^3 patch pads it.
    const scan: PreparedScan = {
      name: 's',
      shape: [3, 2, 1],
      image: Float32Array.from([0, 1, 2, 3, 4, 5]),
      label: Uint8Array.from([0, 1, 2, 0, 1, 2]),
    };
    const patch: Vec3 = [16, 16, 16];
    const read = (rot90: number): number[][] => {
      const image = new Float32Array(16 ** 3).fill(-1);
      const label = new Uint8Array(16 ** 3);
      writePatch(scan, patch, { offset: [0, 0, 0], flip: [false, false, false], rot90 }, image, label, 0);
      const U = rot90 % 2 === 0 ? 3 : 2;
      const V = rot90 % 2 === 0 ? 2 : 3;
      expect(image[U]).toBe(0); // zero padding right after the rotated extent
      return Array.from({ length: U }, (_, u) => Array.from({ length: V }, (_, v) => image[u + 16 * v]));
    };
    // m[x][y] = x + 3y = [[0, 3], [1, 4], [2, 5]]; np.rot90(m, k) for k = 0..3:
    expect(read(0)).toEqual([
      [0, 3],
      [1, 4],
      [2, 5],
    ]);
    expect(read(1)).toEqual([
      [3, 4, 5],
      [0, 1, 2],
    ]);
    expect(read(2)).toEqual([
      [5, 2],
      [4, 1],
      [3, 0],
    ]);
    expect(read(3)).toEqual([
      [2, 1, 0],
      [5, 4, 3],
    ]);
  });

  it('draws all four rotations when enabled and none otherwise', () => {
    const rng = new RandomStream(3);
    const ks = new Set<number>();
    for (let i = 0; i < 40; i++)
      ks.add(randomAugmentedPlacement([40, 30, 20], [16, 16, 16], { rot90Axial: true, flipAxes: ['x', 'y'] }, rng).rot90 ?? 0);
    expect([...ks].sort()).toEqual([0, 1, 2, 3]);
    const plain = randomAugmentedPlacement([40, 30, 20], [16, 16, 16], { rot90Axial: false, flipAxes: ['x'] }, rng);
    expect(plain.rot90).toBeUndefined();
  });
});
