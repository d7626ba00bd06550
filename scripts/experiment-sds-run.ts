// `npm run experiment:sds` (tsx scripts/experiment-sds.ts [options]): the semi-supervised comparison of
// the semi-supervised comparison on real scans. For every seed: ONE stage-1 supervised pre-training (cube cut-mix of labeled
// patches, trainSds's stage 1) whose model every method starts stage 2 from (BCP and SDS do; the
// supervised baseline continues supervised training for the same number of stage-2 iterations), then
// each method for --iterations stage-2 iterations with the same network, patches and batch; the deployed
// network (the teacher for MT / SDS, the student for supervised, final weights: no in-training
// validation) is scored on the held-out scans with Dice, Jaccard, HD95 and ASD (mm) per foreground class.
// Results: mean ± std over seeds per method, wall time per stage-2 iteration, written as a table into
// docs/results.md between the experiment:sds:<dataset> markers (replaced each run).
//
// The defaults are the reduced scale that was actually run on the 2-core development machine (see
// docs/results.md); the paper's protocol is e.g.
//   --dataset la --filters 16 --patch 80,112,112 --batch 4 --stage1 2000 --iterations 15000 --labeled 4 ...
//
// Options:
//   --dataset hippocampus|la   (hippocampus)
//   --seeds 0,1,2              seeds to run, a comma-separated list (0; the protocol's: 0,1,2)
//   --iterations N             stage-2 iterations of every method (hippocampus 60; la 40)
//   --stage1 N                 stage-1 pre-training iterations (hippocampus 300; la 150)
//   --filters F                V-Net nFilters (4)
//   --patch D,H,W              training patch (hippocampus 32,48,32; la 32,64,64 on the 2x downsampled scans)
//   --batch B                  labeled (= unlabeled) patches per iteration, a + b halves (4: 2 + 2; with 1 + 1
//                              batch norm's eval-mode statistics were too noisy, see docs/results.md)
//   --labeled N --unlabeled N --test N   scan counts (hippocampus 8 / 40 / 60; la 4 / 8 / 4)
//   --val N                    validation scans, disjoint from the rest, to keep the best weights of stage 1 (BCP starts
//                              stage 2 from its best pre-trained model) and of every stage-2 network (hippocampus 10; la 0)
//   --validate-every K         (30)
//   --downsample F             LA only: resample by this factor before everything (2: 1.25 mm)
//   --lr L                     SGD learning rate of every student and of stage 1 (0.05: at
//                              nFilters 4 and a few hundred iterations lr 0.01 stays at all-background)
//   --modes a,b,..             (supervised,mean-teacher,sds-fixed-ema,sds)
//   --backend wasm|webgpu|reference (wasm)   --threads T (2)
//   --out DIR                  events (JSON lines) and per-run scores (/tmp/sds-experiment/<dataset>)
//   --no-write                 do not touch docs/results.md
//   --data DIR                 the dataset folder (../shared/data/<dataset>; the GPU kit carries its own copy)
//   --json FILE                also write this process's runs as JSON (to merge runs made in parallel processes)
//   --merge A.json,B.json      train nothing: build the table from runs written by --json (one seed per process)
//
// scripts/experiment-sds.ts is the entry (it registers the .wgsl loader tsx needs); scripts/pack-gpu.sh sds
// bundles this file for a GPU machine with the WGSL inlined.
import { existsSync } from 'node:fs';
import { appendFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Backend } from '../src/backend/backend.js';
import { createBackend } from '../src/api/create-backend.js';
import type { BackendName } from '../src/core/tensor.js';
import { segmentVolume } from '../src/infer/segment-volume.js';
import { loadVNet } from '../src/nn/checkpoint/vnet-checkpoint.js';
import { VNet } from '../src/nn/vnet.js';
import { listCases, loadCases } from '../src/train/node-cases.js';
import { volumeShapeOfPatch } from '../src/train/patches.js';
import { segmentWholeScan } from '../src/train/segment.js';
import { resolveSdsConfig, SDS_MODES, SDS_SMALL_CPU_PRESET, type SdsMode, type SdsTrainerEvent, trainSds } from '../src/train/sds/index.js';
import type { Vec3 } from '../src/core/shape.js';
import { readHdf5Volumes, resampleToSpacing, segmentationMetrics, type Volume, zScoreNormalize } from '../src/volume/index.js';
import { numberOption, option } from './cli-options.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const dataDir = (name: string): string => option('data', join(root, '..', 'shared', 'data', name));
const resultsPath = join(root, 'docs', 'results.md');

const num = (name: string, fallback: number): number => numberOption('experiment-sds', name, fallback);

const dataset = option('dataset', 'hippocampus');
if (dataset !== 'hippocampus' && dataset !== 'la')
  throw new Error(`experiment-sds: --dataset: expected hippocampus or la, found ${dataset}`);
const isLa = dataset === 'la';
const seedsArg = option('seeds', '0');
const seeds = seedsArg.split(',').map(Number);
if (seeds.some((s) => !Number.isInteger(s) || s < 0))
  throw new Error(`experiment-sds: --seeds: expected a list like 0,1,2, found ${seedsArg}`);
const iterations = num('iterations', isLa ? 40 : 60);
const stage1 = num('stage1', isLa ? 150 : 300);
const nFilters = num('filters', 4);
const patch = option('patch', isLa ? '32,64,64' : '32,48,32')
  .split(',')
  .map(Number) as unknown as Vec3;
const batch = num('batch', 4);
const nLabeled = num('labeled', isLa ? 4 : 8);
const nUnlabeled = num('unlabeled', isLa ? 8 : 40);
const nTest = num('test', isLa ? 4 : 60);
const nVal = num('val', isLa ? 0 : 10);
const validateEvery = num('validate-every', 30);
const downsample = num('downsample', 2);
const lr = num('lr', 0.05);
const modes = option('modes', 'supervised,mean-teacher,sds-fixed-ema,sds').split(',') as SdsMode[];
for (const m of modes) if (!SDS_MODES.includes(m)) throw new Error(`experiment-sds: --modes: unknown mode ${m}`);
const backendName = option('backend', process.env.SDS_BACKEND ?? 'wasm') as BackendName;
const threads = num('threads', 2);
const outDir = option('out', join('/tmp/sds-experiment', dataset));
const write = !process.argv.includes('--no-write');
const jsonOut = option('json', '');
const command = process.argv.length > 2 ? `npm run experiment:sds -- ${process.argv.slice(2).join(' ')}` : 'npm run experiment:sds';

interface Case {
  readonly name: string;
  readonly image: Volume;
  readonly label: Volume;
}

/** Hippocampus: first nLabeled names labeled, next nUnlabeled unlabeled, the last nTest held out (disjoint). */
async function loadHippocampus(): Promise<{ labeled: Case[]; unlabeled: Case[]; val: Case[]; test: Case[]; spacingNote: string }> {
  const dir = dataDir('hippocampus');
  const names = await listCases(dir);
  if (names.length < nLabeled + nUnlabeled + nVal + nTest)
    throw new Error(`experiment-sds: expected ${nLabeled + nUnlabeled + nVal + nTest} hippocampus cases in ${dir}, found ${names.length}`);
  return {
    labeled: await loadCases(dir, names.slice(0, nLabeled)),
    unlabeled: await loadCases(dir, names.slice(nLabeled, nLabeled + nUnlabeled)),
    val: await loadCases(dir, names.slice(nLabeled + nUnlabeled, nLabeled + nUnlabeled + nVal)),
    test: await loadCases(dir, names.slice(names.length - nTest)),
    spacingNote: '1 mm isotropic (native)',
  };
}

/** LA: cases.list order; each scan resampled by `downsample` (linear image, nearest label). */
async function loadLa(): Promise<{ labeled: Case[]; unlabeled: Case[]; val: Case[]; test: Case[]; spacingNote: string }> {
  const dir = dataDir('la');
  const names = (await readFile(join(dir, 'cases.list'), 'utf8')).split('\n').filter((s) => s.trim() !== '');
  if (names.length < nLabeled + nUnlabeled + nVal + nTest)
    throw new Error(`experiment-sds: expected ${nLabeled + nUnlabeled + nVal + nTest} LA cases in ${dir}, found ${names.length}`);
  const load = async (name: string): Promise<Case> => {
    const bytes = await readFile(join(dir, name, 'mri_norm2.h5'));
    const v = await readHdf5Volumes(bytes, `${name}.h5`);
    if (v.label === undefined) throw new Error(`experiment-sds: ${name} has no label`);
    const s: [number, number, number] = [0, 1, 2].map((a) => v.image.spacing[a] * downsample) as [number, number, number];
    return { name, image: resampleToSpacing(v.image, s, 'linear'), label: resampleToSpacing(v.label, s, 'nearest') };
  };
  const all: Case[] = [];
  for (const n of [...names.slice(0, nLabeled + nUnlabeled + nVal), ...names.slice(names.length - nTest)]) all.push(await load(n));
  return {
    labeled: all.slice(0, nLabeled),
    unlabeled: all.slice(nLabeled, nLabeled + nUnlabeled),
    val: all.slice(nLabeled + nUnlabeled, nLabeled + nUnlabeled + nVal),
    test: all.slice(nLabeled + nUnlabeled + nVal),
    spacingNote: `${(0.625 * downsample).toFixed(3)} mm isotropic (the 0.625 mm scans resampled by ${downsample})`,
  };
}

interface Scores {
  dice: number;
  jaccard: number;
  hd95: number;
  asd: number;
  /** class predictions left out of HD95 / ASD because they were empty (infinite distance) */
  empty: number;
}

const finiteMean = (v: readonly number[]): number => {
  const k = v.filter((x) => Number.isFinite(x));
  return k.length === 0 ? NaN : k.reduce((a, b) => a + b, 0) / k.length;
};

/** Mean over held-out scans of the mean over foreground classes (Dice / Jaccard of an empty prediction count as 0). */
async function score(be: Backend, net: VNet, test: readonly Case[], nClasses: number): Promise<Scores> {
  const classes = Array.from({ length: nClasses - 1 }, (_, i) => i + 1);
  const per: Scores[] = [];
  let empty = 0;
  for (const scan of test) {
    const prediction = isLa
      ? await segmentVolume(be, net, zScoreNormalize(scan.image), {
          roiSize: volumeShapeOfPatch(patch),
          overlap: 0.25,
          mode: 'constant',
          largestComponent: false,
        })
      : await segmentWholeScan(be, net, scan.image);
    const m = segmentationMetrics(prediction, scan.label, { classes });
    empty += m.filter((c) => !Number.isFinite(c.hd95)).length;
    per.push({
      dice: finiteMean(m.map((c) => c.dice)),
      jaccard: finiteMean(m.map((c) => c.jaccard)),
      hd95: finiteMean(m.map((c) => c.hd95)),
      asd: finiteMean(m.map((c) => c.asd)),
      empty: 0,
    });
  }
  return {
    dice: finiteMean(per.map((s) => s.dice)),
    jaccard: finiteMean(per.map((s) => s.jaccard)),
    hd95: finiteMean(per.map((s) => s.hd95)),
    asd: finiteMean(per.map((s) => s.asd)),
    empty,
  };
}

interface RunResult {
  seed: number;
  mode: SdsMode;
  scores: Scores;
  msPerIteration: number;
  trace: { c1: number; c2: number; s2Selected: number; alphaMean: number; alphaLast: number; lossFirst: number[]; lossLast: number[] };
}
/** What the table needs besides the runs; one per process, merged by --merge. */
interface RunMeta {
  command: string;
  startedUtc: string;
  totalMinutes: number;
  backend: string;
  machine: string;
  endLoad: string;
  seeds: number[];
  stage1Ms: number;
  nFilters: number;
  patch: number[];
  batch: number;
  stage1: number;
  iterations: number;
  lr: number;
  validateEvery: number;
  modes: SdsMode[];
  labeled: number;
  unlabeled: number;
  test: string[];
  val: string[];
  spacingNote: string;
}

/** Trains every method for every seed of --seeds in this process. */
async function train(): Promise<{ meta: RunMeta; results: RunResult[] }> {
  const startedUtc = new Date().toISOString().slice(0, 16).replace('T', ' ');
  const results: RunResult[] = [];
  const data = isLa ? await loadLa() : await loadHippocampus();
  const nClasses = isLa ? 2 : 3;
  await mkdir(outDir, { recursive: true });
  const eventsPath = join(outDir, 'events.jsonl');
  const be = await createBackend(backendName, backendName === 'wasm' ? { threads } : {});
  const info = be.info();
  const loadavg = existsSync('/proc/loadavg') ? (await readFile('/proc/loadavg', 'utf8')).trim() : 'n/a';
  const machine = `${cpus().length}-core ${cpus()[0]?.model ?? 'CPU'}; /proc/loadavg at start: ${loadavg}`;
  console.log(`${command}\nbackend ${info.name}: ${info.description}\nmachine: ${machine}`);
  console.log(
    `${dataset}: labeled ${data.labeled.length}, unlabeled ${data.unlabeled.length}, held out ${data.test.length} ` +
      `(${data.test[0].name} .. ${data.test.at(-1)?.name}); scan shape e.g. [${data.labeled[0].image.shape.join(', ')}]`,
  );

  const base = resolveSdsConfig(
    {
      network: { nClasses, nFilters },
      patch,
      labeledBatch: batch,
      unlabeledBatch: batch,
      iterations,
      stage1Iterations: stage1,
      checkpointEvery: 1_000_000,
      validateEvery: nVal > 0 ? validateEvery : 1_000_000,
      // Hippocampus classes are positional (left-right flips only); LA is a symmetric binary target.
      augmentation: isLa ? { rot90Axial: true, flipAxes: ['x', 'y', 'z'] } : { rot90Axial: false, flipAxes: ['x'] },
      // No learning-rate step inside these short runs (the paper steps every 2500 of 15000).
      optimizer: { lr, stepSize: Math.max(2500, 2 * iterations) },
    },
    SDS_SMALL_CPU_PRESET,
  );
  const labeled = data.labeled.map((c) => ({ image: c.image, label: c.label }));
  const unlabeled = data.unlabeled.map((c) => c.image);
  const validation = data.val.map((c) => ({ image: c.image, label: c.label }));

  const log = async (o: unknown): Promise<void> => appendFile(eventsPath, `${JSON.stringify(o)}\n`);
  const started = performance.now();
  let stage1Ms = 0;
  /** The table's metadata so far; `done` false while runs remain (the partial JSON written after each run). */
  const metaNow = async (done: boolean): Promise<RunMeta> => ({
    command,
    startedUtc,
    totalMinutes: (performance.now() - started) / 60_000,
    backend: `${info.name}: ${info.description}`,
    machine,
    endLoad: `${existsSync('/proc/loadavg') ? (await readFile('/proc/loadavg', 'utf8')).trim() : 'n/a'}${done ? '' : ' (partial)'}`,
    seeds,
    stage1Ms,
    nFilters,
    patch: [...patch],
    batch,
    stage1,
    iterations,
    lr,
    validateEvery,
    modes,
    labeled: data.labeled.length,
    unlabeled: data.unlabeled.length,
    test: data.test.map((c) => c.name),
    val: data.val.map((c) => c.name),
    spacingNote: data.spacingNote,
  });
  const logValidation = (what: string, e: Extract<SdsTrainerEvent, { type: 'validation' }>): void => {
    console.log(
      `${what} validation at ${e.iteration}: Dice ${Object.entries(e.dice)
        .map(([k, v]) => `${k} ${v?.toFixed(4)}`)
        .join(', ')}${e.improved.length > 0 ? ` (best: ${e.improved.join(', ')})` : ''}`,
    );
  };

  for (const seed of seeds) {
    // Stage 1 once per seed: trainSds with 0 stage-2 iterations hands back the stage-1 model (as the teacher).
    const t1 = performance.now();
    const pre = await trainSds({
      backend: be,
      labeled,
      unlabeled,
      validation,
      config: resolveSdsConfig({ mode: 'sds', seed, iterations: 0 }, base),
      onEvent: (e) => {
        if (e.type === 'iteration' && e.iteration % 20 === 0)
          console.log(`seed ${seed} stage 1 ${e.iteration}/${e.of} loss ${e.losses[0].toFixed(4)} ${e.ms.toFixed(0)} ms`);
        if (e.type === 'validation') logValidation(`seed ${seed} stage 1`, e);
      },
    });
    stage1Ms += performance.now() - t1;
    await log({ seed, phase: 'stage1', history: pre.history });
    const initial = pre.deployed.weights;
    const probe = new VNet(be, base.network);
    loadVNet(be, probe, initial);
    const s1 = await score(be, probe, data.test, nClasses);
    probe.dispose();
    console.log(`seed ${seed} stage-1 model: Dice ${s1.dice.toFixed(4)} (${((performance.now() - t1) / 60_000).toFixed(1)} min)`);
    await log({ seed, phase: 'stage1-score', scores: s1 });

    for (const mode of modes) {
      const t0 = performance.now();
      const r = await trainSds({
        backend: be,
        labeled,
        unlabeled,
        validation,
        initial,
        config: resolveSdsConfig({ mode, seed }, base),
        onEvent: (e) => {
          if (e.type === 'validation') logValidation(`seed ${seed} ${mode}`, e);
          if (e.type === 'iteration' && e.iteration % 20 === 0)
            console.log(
              `seed ${seed} ${mode} ${e.iteration}/${e.of} losses ${e.losses.map((l) => l.toFixed(4)).join(' ')} ` +
                `c ${e.confidence?.map((c) => c.toFixed(3)).join(' ') ?? '-'} sel ${e.selected} alpha ${e.alpha?.toFixed(4) ?? '-'} ${e.ms.toFixed(0)} ms`,
            );
        },
      });
      const trainMs = performance.now() - t0;
      const h = r.history;
      const net = new VNet(be, base.network);
      loadVNet(be, net, r.deployed.weights);
      const scores = await score(be, net, data.test, nClasses);
      net.dispose();
      const conf = h.filter((e) => e.confidence !== null);
      const trace = {
        c1: finiteMean(conf.map((e) => (e.confidence as number[])[0])),
        c2: finiteMean(conf.map((e) => (e.confidence as number[])[1])),
        s2Selected: h.filter((e) => e.selected === 1).length,
        alphaMean: finiteMean(h.map((e) => e.alpha ?? NaN)),
        alphaLast: h.at(-1)?.alpha ?? NaN,
        lossFirst: [...(h[0]?.losses ?? [])],
        lossLast: [...(h.at(-1)?.losses ?? [])],
      };
      const msPerIteration = h.reduce((a, e) => a + e.ms, 0) / Math.max(1, h.length);
      results.push({ seed, mode, scores, msPerIteration, trace });
      // A run cut short by a time limit keeps the methods it finished.
      if (jsonOut !== '') await writeFile(jsonOut, `${JSON.stringify({ meta: await metaNow(false), results }, null, 1)}\n`);
      await log({ seed, mode, phase: 'stage2', deployed: r.deployed.network, scores, msPerIteration, trace, history: h });
      console.log(
        `seed ${seed} ${mode}: Dice ${scores.dice.toFixed(4)} Jaccard ${scores.jaccard.toFixed(4)} HD95 ${scores.hd95.toFixed(2)} ` +
          `ASD ${scores.asd.toFixed(2)} mm (${scores.empty} empty) ${(msPerIteration / 1000).toFixed(2)} s/it; ` +
          `${(trainMs / 60_000).toFixed(1)} min; c1 ${trace.c1.toFixed(3)} c2 ${trace.c2.toFixed(3)} S2 picked ${trace.s2Selected}/${h.length} ` +
          `alpha mean ${trace.alphaMean.toFixed(4)}`,
      );
    }
  }
  const meta = await metaNow(true);
  console.log(`done in ${meta.totalMinutes.toFixed(1)} min; /proc/loadavg at end: ${meta.endLoad}`);
  be.destroy();
  return { meta, results };
}

/** Runs made by parallel processes (a seed or a seed's modes each, same settings) as one: the longest wall time. */
async function merge(files: readonly string[]): Promise<{ meta: RunMeta; results: RunResult[] }> {
  const parts = await Promise.all(files.map(async (f) => JSON.parse(await readFile(f, 'utf8')) as { meta: RunMeta; results: RunResult[] }));
  const first = parts[0].meta;
  const same = (m: RunMeta): boolean =>
    JSON.stringify([m.nFilters, m.patch, m.batch, m.stage1, m.iterations, m.lr, m.validateEvery, m.test, m.val]) ===
    JSON.stringify([
      first.nFilters,
      first.patch,
      first.batch,
      first.stage1,
      first.iterations,
      first.lr,
      first.validateEvery,
      first.test,
      first.val,
    ]);
  const odd = parts.findIndex((p) => !same(p.meta));
  if (odd >= 0) throw new Error(`experiment-sds: --merge: ${files[odd]} was run with other settings than ${files[0]}`);
  const all = parts.flatMap((p) => p.results);
  const keys = all.map((r) => `seed ${r.seed} ${r.mode}`);
  const twice = keys.find((k, i) => keys.indexOf(k) !== i);
  if (twice !== undefined) throw new Error(`experiment-sds: --merge: ${twice} appears twice`);
  const seedsSeen = [...new Set(all.map((r) => r.seed))].sort((a, b) => a - b);
  const modesSeen = SDS_MODES.filter((m) => all.some((r) => r.mode === m)).reverse();
  const meta: RunMeta = {
    ...first,
    // One line for all processes: their commands differ only in the seed, the modes and the output paths.
    command:
      `${parts.length} processes at once, one per seed and group of modes, each \`` +
      `${first.command
        .replace(/--seeds \S+/, '--seeds S')
        .replace(/--modes \S+/, '--modes M')
        .replace(/ --(json|out) \S+/g, '')}\`; ` +
      `table: \`npm run experiment:sds -- --merge <their --json files>\``,
    totalMinutes: Math.max(...parts.map((p) => p.meta.totalMinutes)),
    seeds: seedsSeen,
    modes: modesSeen,
    // Every process ran its seed's stage 1: the mean per seed is the mean over processes.
    stage1Ms: (parts.reduce((a, p) => a + p.meta.stage1Ms, 0) / parts.length) * seedsSeen.length,
    endLoad: parts.map((p) => p.meta.endLoad).join(' | '),
  };
  return { meta, results: all };
}

const mergeArg = option('merge', '');
const { meta, results } = mergeArg !== '' ? await merge(mergeArg.split(',')) : await train();
if (jsonOut !== '') await writeFile(jsonOut, `${JSON.stringify({ meta, results }, null, 1)}\n`);

const meanStd = (v: number[], digits: number): string => {
  const k = v.filter((x) => Number.isFinite(x));
  if (k.length === 0) return 'n/a';
  const m = k.reduce((a, b) => a + b, 0) / k.length;
  const sd = k.length > 1 ? Math.sqrt(k.reduce((a, b) => a + (b - m) ** 2, 0) / (k.length - 1)) : 0;
  return k.length > 1 ? `${m.toFixed(digits)} ± ${sd.toFixed(digits)}` : m.toFixed(digits);
};
const NAMES: Record<SdsMode, string> = {
  supervised: 'supervised only',
  'mean-teacher': 'Mean Teacher + cut-mix (BCP)',
  'sds-fixed-ema': 'SDS, fixed EMA',
  'sds-no-switch': 'SDS, no switching',
  sds: 'SDS (switching + LA-EMA)',
  adabn: 'AdaBN (batch-norm statistics only)',
  tent: 'TENT (entropy, batch-norm affine)',
};
const rows = meta.modes.map((mode) => {
  const rs = results.filter((r) => r.mode === mode);
  const col = (f: (r: RunResult) => number, d: number): string => meanStd(rs.map(f), d);
  return (
    `| ${NAMES[mode]} | ${col((r) => r.scores.dice * 100, 2)} | ${col((r) => r.scores.jaccard * 100, 2)} | ` +
    `${col((r) => r.scores.hd95, 2)} | ${col((r) => r.scores.asd, 2)} | ${col((r) => r.msPerIteration / 1000, 2)} | ` +
    `${rs.reduce((a, r) => a + r.scores.empty, 0)} |`
  );
});
const traceRows = results
  .filter((r) => r.mode !== 'supervised')
  .map(
    (r) =>
      `| ${r.seed} | ${r.mode} | ${(r.scores.dice * 100).toFixed(2)} | ${Number.isFinite(r.trace.c1) ? r.trace.c1.toFixed(3) : '-'} | ` +
      `${Number.isFinite(r.trace.c2) ? r.trace.c2.toFixed(3) : '-'} | ${r.trace.s2Selected}/${meta.iterations} | ${r.trace.alphaMean.toFixed(4)} | ` +
      `${r.trace.lossLast.map((l) => l.toFixed(3)).join(' / ')} |`,
  );
const START = `<!-- experiment:sds:${dataset}:start -->`;
const END = `<!-- experiment:sds:${dataset}:end -->`;
const section = [
  START,
  `### ${isLa ? 'Left atrium (reduced scale)' : 'Hippocampus'}: supervised vs Mean Teacher (BCP) vs SDS fixed EMA vs SDS`,
  '',
  `Command: ${meta.command.includes('`') ? meta.command : `\`${meta.command}\``} ` +
    `(${meta.startedUtc} UTC, ${meta.totalMinutes.toFixed(0)} min; backend ${meta.backend}; machine ${meta.machine}; at end ${meta.endLoad}).`,
  '',
  `Scale: V-Net nFilters ${meta.nFilters}, patch ${meta.patch.join('x')} (D x H x W), ${meta.batch / 2} + ${meta.batch / 2} labeled and ` +
    `${meta.batch / 2} + ${meta.batch / 2} unlabeled patches per iteration, ${meta.stage1} stage-1 iterations shared by all methods of a seed, ` +
    `${meta.iterations} stage-2 iterations per method, seeds ${meta.seeds.join(', ')}; ${meta.labeled} labeled / ${meta.unlabeled} unlabeled ` +
    `training scans, ${meta.test.length} held-out scans (${meta.test[0]} .. ${meta.test.at(-1)}), ${meta.spacingNote}. ` +
    `SGD lr ${meta.lr}, momentum 0.9, weight decay 1e-4, no lr step. ` +
    (meta.val.length > 0
      ? `${meta.val.length} validation scans (${meta.val[0]} .. ${meta.val.at(-1)}, disjoint from training and held-out scans), ` +
        `validated every ${meta.validateEvery} iterations: stage 2 starts from the best stage-1 model and each method deploys its best ` +
        'validated network (the teacher; the student for supervised), as BCP and SDS do. '
      : 'No validation: the final teacher (the student for supervised) is deployed. ') +
    'Held-out scoring: argmax without largest-component post-processing.',
  '',
  `| method | Dice % | Jaccard % | HD95 mm | ASD mm | s / stage-2 iteration | empty class predictions |`,
  '| --- | --: | --: | --: | --: | --: | --: |',
  ...rows,
  '',
  `Mean ± sample std over ${meta.seeds.length} seed${meta.seeds.length > 1 ? 's' : ''}; per seed the mean over held-out scans of the mean over foreground classes. ` +
    'HD95 / ASD leave out empty class predictions (infinite distance), counted in the last column. ' +
    `Stage 1 took ${(meta.stage1Ms / 60_000 / meta.seeds.length).toFixed(1)} min per seed.`,
  '',
  'Per-run traces (c1 / c2: mean agreement-masked self-confidence of the switch; S2 picked: iterations the teacher followed student 2; alpha: mean EMA decay):',
  '',
  '| seed | mode | Dice % | c1 | c2 | S2 picked | mean alpha | last losses |',
  '| --: | --- | --: | --: | --: | --: | --: | --- |',
  ...traceRows,
  '',
  END,
].join('\n');
if (write) {
  const old = existsSync(resultsPath) ? await readFile(resultsPath, 'utf8') : '# Results\n';
  const next = old.includes(START)
    ? old.slice(0, old.indexOf(START)) + section + old.slice(old.indexOf(END) + END.length)
    : `${old.trimEnd()}\n\n${section}\n`;
  await writeFile(resultsPath, next);
  console.log(`wrote ${resultsPath}`);
} else console.log(section);
