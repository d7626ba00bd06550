// Adapting pretrained weights to a new scanner: frozen batch norm (gradients against finite
// differences), cumulative running statistics, AdaBN (recalibrateBatchNorm and the 'adabn' mode),
// TENT's entropy loss and its 'tent' mode (only batch-norm affine parameters move), the recipe's
// switches in trainSds, and the stage-2 time budget; on tiny crops of real hippocampus scans.
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../src/backend/backend.js';
import type { Tensor } from '../src/core/tensor.js';
import { readSafetensors } from '../src/nn/checkpoint/safetensors.js';
import { saveVNet } from '../src/nn/checkpoint/vnet-checkpoint.js';
import { entropyLossHost } from '../src/nn/entropy-loss.js';
import { BatchNorm3d } from '../src/nn/layers/batch-norm3d.js';
import { VNet } from '../src/nn/vnet.js';
import { assign } from '../src/ops/index.js';
import { createReferenceBackend } from '../src/ops/reference/index.js';
import { recalibrateBatchNorm } from '../src/train/adapt/recalibrate.js';
import { loadCases } from '../src/train/node-cases.js';
import { prepareScan } from '../src/train/patches.js';
import { resolveSdsConfig, SDS_SMALL_CPU_PRESET, type SdsConfig, trainSds } from '../src/train/sds/index.js';
import { cropOrPad, type Volume } from '../src/volume/index.js';
import { tinyConfig } from './support/tiny-sds-run.js';

const DATA = fileURLToPath(new URL('../examples/data', import.meta.url));
const be: Backend = createReferenceBackend();
const read = async (t: Tensor): Promise<Float32Array> => (await be.read(t)) as Float32Array;
const rand = (n: number, seed: number): Float32Array => {
  let s = seed;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 31 - 1;
  });
};
const set = (t: Tensor, values: number[]): void => {
  const u = be.upload(new Float32Array(values), t.shape);
  assign(be, t, u);
  be.dispose(u);
};

describe('BatchNorm3d: frozen statistics and cumulative momentum', () => {
  const C = 3;
  const shape = [2, C, 3, 4, 2];
  const n = shape.reduce((a, b) => a * b, 1);
  const layer = (): BatchNorm3d => {
    const bn = new BatchNorm3d(be, { name: 'bn', channels: C });
    set(bn.runningMean.value, [0.5, -1, 2]);
    set(bn.runningVar.value, [0.3, 2, 0.05]);
    set(bn.gamma.value, [1.5, 0.7, -0.4]);
    set(bn.beta.value, [0.1, 0.2, 0.3]);
    return bn;
  };

  it("'frozen' trains with the running statistics: forward equals eval mode, gradients equal finite differences", async () => {
    const bn = layer();
    const x = rand(n, 7);
    const w = rand(n, 8);
    bn.setTraining(false);
    const evalY = await read(bn.forward(be.upload(x, shape)));
    bn.setTraining(true);
    bn.setStatistics('frozen');
    const trainY = await read(bn.forward(be.upload(x, shape)));
    expect(Array.from(trainY)).toEqual(Array.from(evalY));
    const dx = await read(bn.backward(be.upload(w, shape)));
    const dgamma = await read(bn.gamma.grad as Tensor);
    const dbeta = await read(bn.beta.grad as Tensor);
    // L = sum(w * y) with y = gamma (x - m) / sqrt(v + eps) + beta, m and v fixed: closed forms in float64.
    const mean = [0.5, -1, 2];
    const inv = [0.3, 2, 0.05].map((v) => 1 / Math.sqrt(v + 1e-5));
    const gamma = [1.5, 0.7, -0.4];
    const per = n / shape[0] / C;
    const wantDgamma = [0, 0, 0];
    const wantDbeta = [0, 0, 0];
    for (let i = 0; i < n; i++) {
      const c = Math.floor(i / per) % C;
      expect(dx[i]).toBeCloseTo(w[i] * gamma[c] * inv[c], 5);
      wantDgamma[c] += w[i] * (x[i] - mean[c]) * inv[c];
      wantDbeta[c] += w[i];
    }
    for (let c = 0; c < C; c++) {
      expect(dgamma[c]).toBeCloseTo(wantDgamma[c], 4);
      expect(dbeta[c]).toBeCloseTo(wantDbeta[c], 4);
    }
    // The running statistics did not move.
    expect(Array.from(await read(bn.runningMean.value))).toEqual(Array.from(Float32Array.from(mean)));
    expect(bn.numBatchesTracked.value).toBe(0);
  });

  it("'cumulative' momentum makes the running statistics the plain mean of every batch's since a reset", async () => {
    const bn = layer();
    bn.setTraining(true);
    bn.setMomentum('cumulative');
    bn.resetRunningStats();
    const batches = [rand(n, 1), rand(n, 2).map((v) => 3 * v + 1), rand(n, 3).map((v) => v - 2)];
    for (const b of batches) bn.forward(be.upload(b, shape));
    const per = n / shape[0] / C;
    for (let c = 0; c < C; c++) {
      const stats = batches.map((b) => {
        const vals = Array.from(b).filter((_, i) => Math.floor(i / per) % C === c);
        const m = vals.reduce((a, v) => a + v, 0) / vals.length;
        // PyTorch tracks the unbiased variance.
        return [m, vals.reduce((a, v) => a + (v - m) ** 2, 0) / (vals.length - 1)];
      });
      expect((await read(bn.runningMean.value))[c]).toBeCloseTo(stats.reduce((a, s) => a + s[0], 0) / 3, 5);
      expect((await read(bn.runningVar.value))[c]).toBeCloseTo(stats.reduce((a, s) => a + s[1], 0) / 3, 4);
    }
    expect(bn.numBatchesTracked.value).toBe(3);
  });
});

describe('entropyLossHost (TENT)', () => {
  it('is the mean voxel entropy of the softmax, with the gradient of finite differences', () => {
    const shape = [2, 3, 2, 2, 1];
    const z = rand(24, 5).map((v) => 3 * v);
    const loss = (l: Float32Array): number => entropyLossHost(l, shape).loss;
    const { loss: h, grad } = entropyLossHost(z, shape);
    // By definition, voxel by voxel in float64.
    let want = 0;
    for (let nn = 0; nn < 2; nn++)
      for (let v = 0; v < 4; v++) {
        const e = [0, 1, 2].map((c) => Math.exp(z[nn * 12 + c * 4 + v]));
        const s = e.reduce((a, b) => a + b, 0);
        want -= e.reduce((a, x) => a + (x / s) * Math.log(x / s), 0);
      }
    expect(h).toBeCloseTo(want / 8, 6);
    for (let i = 0; i < 24; i++) {
      const up = Float32Array.from(z);
      const down = Float32Array.from(z);
      up[i] += 1e-2;
      down[i] -= 1e-2;
      expect(grad[i]).toBeCloseTo((loss(up) - loss(down)) / 2e-2, 4);
    }
  });
});

describe('adaptation modes of trainSds on the reference backend', () => {
  let labeled: { image: Volume; label: Volume }[];
  let unlabeled: Volume[];
  let initial: Uint8Array;
  const CROP: [number, number, number] = [20, 24, 20];

  beforeAll(async () => {
    const cases = await loadCases(DATA, ['hippocampus_001', 'hippocampus_003', 'hippocampus_004', 'hippocampus_006']);
    const crop = (c: { image: Volume; label: Volume }): { image: Volume; label: Volume } => ({
      image: cropOrPad(c.image, CROP),
      label: cropOrPad(c.label, CROP),
    });
    labeled = cases.slice(0, 2).map(crop);
    // The "new scanner": the unlabeled scans squared (a contrast curve) and scaled.
    unlabeled = cases.slice(2).map((c) => {
      const v = crop(c).image;
      return { ...v, data: Float32Array.from(v.data, (x) => (Number(x) / 100) ** 2 * 7) };
    });
    const net = new VNet(be, { nFilters: 2, nClasses: 3 }, { seed: 3 });
    initial = await saveVNet(be, net);
    net.dispose();
  });

  const config = (overrides: Parameters<typeof resolveSdsConfig>[0]): SdsConfig => tinyConfig(2, 100, { seed: 5, ...overrides });
  const tensors = (bytes: Uint8Array): Map<string, Float32Array> => {
    const out = new Map<string, Float32Array>();
    for (const [name, t] of readSafetensors(bytes).tensors) if (t.data instanceof Float32Array) out.set(name, t.data);
    return out;
  };
  const isBatchNormAffine = (name: string, file: Map<string, Float32Array>): boolean =>
    (name.endsWith('.weight') || name.endsWith('.bias')) && file.has(name.replace(/\.(weight|bias)$/, '.running_mean'));
  const isRunningStat = (name: string): boolean => name.endsWith('.running_mean') || name.endsWith('.running_var');

  it("'adabn' keeps every weight and replaces the statistics by recalibrateBatchNorm's over the unlabeled scans", async () => {
    const c = config({ mode: 'adabn', adaptation: { recalibrationPatchesPerScan: 3 } });
    const r = await trainSds({ backend: be, labeled: [], unlabeled, config: c, initial });
    expect(r.iterations).toBe(0);
    const [before, after] = [tensors(initial), tensors(r.deployed.weights)];
    let statsChanged = 0;
    for (const [name, v] of before) {
      if (isRunningStat(name)) statsChanged += Array.from(v).some((x, i) => x !== after.get(name)?.[i]) ? 1 : 0;
      else expect(Array.from(after.get(name) ?? []), name).toEqual(Array.from(v));
    }
    expect(statsChanged).toBe([...before.keys()].filter(isRunningStat).length);
    // The same estimate by hand: the module on a network loaded with the initial weights.
    const net = new VNet(be, { nFilters: 2, nClasses: 3 });
    const { loadVNet } = await import('../src/nn/checkpoint/vnet-checkpoint.js');
    loadVNet(be, net, initial);
    const { zScoreNormalize } = await import('../src/volume/index.js');
    const scans = unlabeled.map((v, i) =>
      prepareScan({ image: zScoreNormalize(v), label: { ...v, data: new Uint8Array(v.data.length) } }, 3, `u${i}`),
    );
    const { mix32 } = await import('../src/ops/index.js');
    await recalibrateBatchNorm(be, net, scans, {
      patch: [16, 16, 16],
      patchesPerScan: 3,
      batch: 4,
      flipAxes: ['x'],
      seed: mix32((5 ^ 0xada) >>> 0),
    });
    const mine = tensors(await saveVNet(be, net));
    // (Equal up to float rounding: the sampler z-scores each scan once, prepareScan here a second time.)
    for (const name of [...before.keys()].filter(isRunningStat))
      for (const [i, v] of (mine.get(name) as Float32Array).entries()) expect(after.get(name)?.[i], name).toBeCloseTo(v, 4);
    net.dispose();
  });

  it("'tent' trains the batch-norm affine parameters alone and lowers the entropy", async () => {
    const c = config({ mode: 'tent', iterations: 4, optimizer: { lr: 0.05 } });
    const r = await trainSds({ backend: be, labeled: [], unlabeled, config: c, initial });
    expect(r.iterations).toBe(4);
    const [before, after] = [tensors(initial), tensors(r.deployed.weights)];
    let affineMoved = 0;
    for (const [name, v] of before) {
      const moved = Array.from(v).some((x, i) => x !== after.get(name)?.[i]);
      if (isBatchNormAffine(name, before)) affineMoved += moved ? 1 : 0;
      else if (!isRunningStat(name)) expect(moved, name).toBe(false);
    }
    expect(affineMoved).toBeGreaterThan(0);
    const losses = r.history.map((e) => e.losses[0]);
    expect(losses.at(-1)).toBeLessThan(losses[0]);
  });

  it("the recipe's switches: statistics re-estimated before, students frozen (their statistics never move), re-estimated after", async () => {
    const c = config({
      mode: 'sds',
      iterations: 1,
      adaptation: { recalibrate: 'before', studentBatchNorm: 'frozen' },
      optimizer: { lr: 0.01 },
    });
    const r = await trainSds({ backend: be, labeled, unlabeled, config: c, initial });
    const adabn = await trainSds({ backend: be, labeled: [], unlabeled, config: config({ mode: 'adabn' }), initial });
    const deployed = tensors(r.deployed.weights);
    const recalibrated = tensors(adabn.deployed.weights);
    // Frozen students keep the re-estimated statistics, so the teacher's EMA of them keeps them too.
    for (const name of [...recalibrated.keys()].filter(isRunningStat))
      for (const [i, v] of (recalibrated.get(name) as Float32Array).entries()) expect(deployed.get(name)?.[i], name).toBeCloseTo(v, 5);
    // 'both' re-estimates again for the deployed weights: other statistics, same weights.
    const both = await trainSds({
      backend: be,
      labeled,
      unlabeled,
      config: config({ ...c, adaptation: { recalibrate: 'both', studentBatchNorm: 'frozen' } }),
      initial,
    });
    const bothWeights = tensors(both.deployed.weights);
    for (const [name, v] of deployed)
      if (!isRunningStat(name)) expect(Array.from(bothWeights.get(name) ?? []), name).toEqual(Array.from(v));
    expect(
      [...deployed.keys()]
        .filter(isRunningStat)
        .some((name) => Array.from(deployed.get(name) ?? []).some((x, i) => x !== bothWeights.get(name)?.[i])),
    ).toBe(true);
  });

  it('supervisedWarmup: from given weights, stage 1 fine-tunes them on the labels before self-training', async () => {
    const r = await trainSds({
      backend: be,
      labeled,
      unlabeled,
      config: config({ mode: 'sds', iterations: 1, adaptation: { supervisedWarmup: 2 } }),
      initial,
    });
    expect(r.stage1Iterations).toBe(2);
    expect(r.iterations).toBe(1);
    expect(r.history.map((e) => `${e.phase}:${e.mode}`)).toEqual(['stage1:supervised', 'stage1:supervised', 'stage2:sds']);
    // Without it (the paper), stage 2 starts from the weights.
    const plain = await trainSds({ backend: be, labeled, unlabeled, config: config({ mode: 'sds', iterations: 1 }), initial });
    expect(plain.history.map((e) => e.phase)).toEqual(['stage2']);
  });

  it('l2sp: warm-up and self-training are pulled towards the given weights (the pretrained model)', async () => {
    // Squared distance of the trained parameters (not running statistics) from the given weights.
    const drift = (weights: Uint8Array): number => {
      const [before, after] = [tensors(initial), tensors(weights)];
      let d = 0;
      for (const [name, v] of before)
        if (!isRunningStat(name)) for (const [i, x] of v.entries()) d += ((after.get(name)?.[i] ?? NaN) - x) ** 2;
      return d;
    };
    const run = async (l2sp: number): Promise<number> => {
      const c = config({ mode: 'sds', iterations: 2, optimizer: { lr: 0.05 }, adaptation: { supervisedWarmup: 2, l2sp } });
      const r = await trainSds({ backend: be, labeled, unlabeled, config: c, initial });
      expect(r.history.map((e) => e.phase)).toEqual(['stage1', 'stage1', 'stage2', 'stage2']);
      return drift(r.deployed.weights);
    };
    const [free, anchored] = [await run(0), await run(5)];
    expect(free).toBeGreaterThan(0);
    expect(anchored).toBeLessThan(0.8 * free);
    expect(() => config({ adaptation: { l2sp: -1 } })).toThrow(/adaptation.l2sp: expected a number in \[0/);
  });

  it('wiseFt: the deployed parameters blend the adapted and the given weights, then statistics are re-estimated', async () => {
    const c = (wiseFt: number): SdsConfig => config({ mode: 'sds', iterations: 2, optimizer: { lr: 0.05 }, adaptation: { wiseFt } });
    const [adapted, half, none] = [
      await trainSds({ backend: be, labeled, unlabeled, config: c(1), initial }),
      await trainSds({ backend: be, labeled, unlabeled, config: c(0.5), initial }),
      await trainSds({ backend: be, labeled, unlabeled, config: c(0), initial }),
    ];
    const adabn = await trainSds({ backend: be, labeled: [], unlabeled, config: config({ mode: 'adabn' }), initial });
    const [given, a, h, n, re] = [
      initial,
      adapted.deployed.weights,
      half.deployed.weights,
      none.deployed.weights,
      adabn.deployed.weights,
    ].map(tensors);
    let moved = false;
    for (const [name, v] of given) {
      if (isRunningStat(name)) continue;
      const [av, hv, nv] = [a.get(name), h.get(name), n.get(name)] as Float32Array[];
      for (const [i, x] of v.entries()) {
        moved ||= av[i] !== x;
        expect(hv[i], name).toBeCloseTo(0.5 * av[i] + 0.5 * x, 6);
        expect(nv[i], name).toBe(x);
      }
    }
    expect(moved).toBe(true);
    // wiseFt 0 deploys the given weights with re-estimated statistics: AdaBN's network, bit for bit.
    for (const [name, v] of re) expect(Array.from(n.get(name) ?? []), name).toEqual(Array.from(v));
    expect(() => config({ adaptation: { wiseFt: 1.5 } })).toThrow(/adaptation.wiseFt: expected a number in \[0, 1\]/);
    await expect(
      trainSds({ backend: be, labeled, unlabeled: [], config: config({ mode: 'supervised', adaptation: { wiseFt: 0.5 } }), initial }),
    ).rejects.toThrow(/wiseFt 0.5: expected unlabeled scans/);
  });

  it("augmentLabeled 'auto': the deployed file records the scanner check's verdict and figures", async () => {
    // Four more scans through the same contrast curve: the check needs four unlabeled scans or more.
    const more = await loadCases(DATA, ['hippocampus_007', 'hippocampus_008', 'hippocampus_011', 'hippocampus_015']);
    const curve = (v: Volume): Volume => ({ ...v, data: Float32Array.from(v.data, (x) => (Number(x) / 100) ** 2 * 7) });
    const sixUnlabeled = [...unlabeled, ...more.map((m) => curve(cropOrPad(m.image, CROP)))];
    const c = (labels: { image: Volume; label: Volume }[]): Promise<string | undefined> =>
      trainSds({
        backend: be,
        labeled: labels,
        unlabeled: sixUnlabeled,
        config: config({ mode: 'sds', iterations: 1, adaptation: { augmentLabeled: 'auto', recalibrate: 'after' } }),
        initial,
      }).then((r) => readSafetensors(r.deployed.weights).metadata['sds.augmentLabeled']);
    // The labeled crops are the original scanner's; the unlabeled ones went through a contrast curve.
    expect(await c(labeled)).toMatch(/^true \(labeled vs unlabeled scanner distance 0\.\d{3}, threshold 0\.\d{3}\)$/);
    // The same contrast curve on the labeled crops: one scanner, nothing to augment.
    const sameScanner = labeled.map((l) => ({ ...l, image: curve(l.image) }));
    expect(await c(sameScanner)).toMatch(/^false \(/);
    expect(() => config({ adaptation: { pseudoLabelFlips: 1 as unknown as boolean } })).toThrow(
      /adaptation.pseudoLabelFlips: expected a boolean, found 1/,
    );
    expect(() => config({ adaptation: { pseudoLabelConfidence: 1.5 } })).toThrow(
      /adaptation.pseudoLabelConfidence: expected a number in \[0, 1\], found 1.5/,
    );
    expect(() => config({ adaptation: { augmentLabeled: 'yes' as unknown as boolean } })).toThrow(
      /adaptation.augmentLabeled: expected true, false or 'auto'/,
    );
  });

  it('stops stage 2 at the time budget and deploys as if its iterations were done', async () => {
    const r = await trainSds({
      backend: be,
      labeled,
      unlabeled,
      config: config({ mode: 'supervised', iterations: 10_000, timeBudgetSeconds: 0.5 }),
      initial,
    });
    expect(r.aborted).toBe(false);
    expect(r.iterations).toBeGreaterThanOrEqual(1);
    expect(r.iterations).toBeLessThan(10_000);
  });

  it('ends the warm-up at its share of the time budget (adaptation.warmupShare), whichever comes first', async () => {
    const budgeted = (warmupShare: number): Promise<Awaited<ReturnType<typeof trainSds>>> =>
      trainSds({
        backend: be,
        labeled,
        unlabeled,
        config: config({ mode: 'sds', iterations: 10_000, timeBudgetSeconds: 2, adaptation: { supervisedWarmup: 10_000, warmupShare } }),
        initial,
      });
    // No share for the warm-up: self-training starts at once and has the budget.
    const none = await budgeted(0);
    expect([none.aborted, none.stage1Iterations]).toEqual([false, 0]);
    expect(none.iterations).toBeGreaterThanOrEqual(1);
    // The whole budget: the warm-up stops short of its 10 000 iterations, and stage 2 finds its deadline passed.
    const all = await budgeted(1);
    expect(all.stage1Iterations).toBeGreaterThanOrEqual(1);
    expect(all.stage1Iterations).toBeLessThan(10_000);
    expect(all.iterations).toBe(0);
    expect(() => config({ adaptation: { warmupShare: 1.5 } })).toThrow(/adaptation.warmupShare: expected a number in \[0, 1\]/);
  });

  it('rejects a labeled mode without labels, and bad adaptation switches, with what was expected', async () => {
    await expect(trainSds({ backend: be, labeled: [], unlabeled, config: config({ mode: 'sds' }), initial })).rejects.toThrow(
      /labeled: expected at least one scan/,
    );
    expect(() => config({ adaptation: { recalibrate: 'sometimes' as never } })).toThrow(
      /adaptation.recalibrate: expected 'none', 'before', 'after' or 'both'/,
    );
    expect(() => config({ adaptation: { studentBatchNorm: 'running' as never } })).toThrow(/adaptation.studentBatchNorm/);
    expect(() => config({ timeBudgetSeconds: -1 })).toThrow(/timeBudgetSeconds/);
  });
});

describe("finetune's config: the recipe on pretrained weights, a named mode as specified", () => {
  it('uses SDS_ADAPT_PRESET only for pretrained weights without a mode', async () => {
    const { finetuneConfig } = await import('../src/api/finetune.js');
    const { SDS_ADAPT_PRESET } = await import('../src/train/sds/index.js');
    const network = { inChannels: 1, nClasses: 3, nFilters: 2, normalization: 'batch' as const, dropout: true };
    const recipe = finetuneConfig(undefined, network, [32, 48, 32], true);
    expect(recipe.mode).toBe('sds');
    expect(recipe.adaptation).toEqual(SDS_ADAPT_PRESET.adaptation);
    expect(recipe.adaptation.recalibrate).toBe('both');
    expect(recipe.iterations).toBe(SDS_ADAPT_PRESET.iterations);
    // The paper's SDS stays one word away, and a fresh network trains as before.
    for (const c of [
      finetuneConfig({ mode: 'sds' }, network, [32, 48, 32], true),
      finetuneConfig(undefined, network, [32, 48, 32], false),
    ]) {
      expect(c.mode).toBe('sds');
      expect(c.adaptation).toEqual(SDS_SMALL_CPU_PRESET.adaptation);
      expect(c.adaptation.recalibrate).toBe('none');
    }
    // Overrides still merge into the recipe.
    expect(finetuneConfig({ iterations: 7, adaptation: { recalibrate: 'before' } }, network, [32, 48, 32], true).adaptation).toEqual({
      ...SDS_ADAPT_PRESET.adaptation,
      recalibrate: 'before',
    });
  });
});

describe("finetune's training patch stays inside the scans", () => {
  it('cuts each axis of the segmenter patch [D, H, W] to the largest multiple of 16 inside the median scan [X, Y, Z]', async () => {
    const { patchInsideScans } = await import('../src/api/finetune.js');
    // Hippocampus-sized scans under a 48x64x48 window: the patch the shipped model was trained with.
    expect(
      patchInsideScans(
        [48, 64, 48],
        [
          [35, 51, 40],
          [36, 52, 35],
        ],
      ),
    ).toEqual([32, 48, 32]);
    // Axis order: D follows Z, W follows X.
    expect(patchInsideScans([48, 64, 48], [[70, 51, 20]])).toEqual([16, 48, 48]);
    // Scans larger than the patch leave it alone; a scan under 16 still gets 16 (padded).
    expect(patchInsideScans([32, 48, 32], [[200, 200, 200]])).toEqual([32, 48, 32]);
    expect(patchInsideScans([32, 32, 32], [[10, 40, 40]])).toEqual([32, 32, 16]);
    // The median scan, not the smallest: one 28-slice scan among longer ones does not halve the depth.
    expect(
      patchInsideScans(
        [48, 64, 48],
        [
          [36, 51, 34],
          [33, 53, 28],
          [35, 46, 42],
        ],
      ),
    ).toEqual([32, 48, 32]);
  });

  it('finetune trains and re-estimates on the fitted patch, and says which (AdaBN, window 32^3, scans 20x24x20)', async () => {
    // Batch 4: two values per channel at the 16^3 patch's 1^3 bottleneck (batch 2 keeps the window: too few).
    const { createSegmenter } = await import('../src/api/index.js');
    const { loadApiScans } = await import('./support/api-scans.js');
    const { unlabeled } = await loadApiScans();
    const seg = await createSegmenter({ backend: 'wasm', threads: 1, network: { nFilters: 2, nClasses: 3 }, patch: [32, 32, 32], seed: 1 });
    try {
      const result = await seg.finetune({ labeled: [], unlabeled, config: { mode: 'adabn', seed: 1, labeledBatch: 4, unlabeledBatch: 4 } });
      expect(result.patch).toEqual([16, 16, 16]);
      const tooFew = await seg.finetune({ labeled: [], unlabeled, config: { mode: 'adabn', seed: 1, labeledBatch: 2, unlabeledBatch: 2 } });
      expect(tooFew.patch).toEqual([32, 32, 32]);
      // An explicit config.patch is the caller's choice and is kept.
      const given = await seg.finetune({ labeled: [], unlabeled, config: { mode: 'adabn', seed: 1, patch: [32, 32, 32] } });
      expect(given.patch).toEqual([32, 32, 32]);
    } finally {
      seg.dispose();
    }
  });
});
