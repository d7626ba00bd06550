// `npm run experiment:adapt` (tsx scripts/experiment-adapt.ts [options]): the adaptation benchmark.
// A model pretrained on the original scanner meets simulated new scanners (examples/scanner-shift.ts:
// contrast curve, bias field, partial-volume blur, noise, intensity scale; deterministic per scan) and
// each method adapts it through the public `finetune`, with 0, 1 or 4 local labels and 20 unlabeled
// local scans; then every held-out scan of that scanner is segmented with `segment` and scored (Dice,
// HD95, ASD in mm). Scans come from scripts/adapt/split.json (disjoint lists: the source model's
// training / validation / test scans, and the new site's labeled, unlabeled, validation and test scans).
//
// Budgets: 0 = no local label (the shipped original-scanner labeled scans, examples/data, stand in
// where a method needs labels), 1 and 4 = the first local labeled scans; all = every local scan of the
// site labeled (the 4 labeled and the 20 unlabeled ones with their labels: the target-supervised oracle
// of domain-adaptation papers, an upper reference that no site has, reported as budget 24).
// Methods: unadapted, adabn, tent, supervised, mean-teacher, sds (METHOD.md as specified), recipe (the
// SDK's default: finetune with no mode); any of them followed by :<key>=<value>+... takes config
// overrides (e.g. recipe:adaptation.studentBatchNorm=frozen, supervised:optimizer.lr=0.01); for the
// recipe an explicit iterations= counts SDS iterations only; DxHxW gives an array (patch=32x48x32).
//
// Options: --model FILE (examples/models/vnet16-hippocampus.safetensors)  --split FILE
// (scripts/adapt/split.json)  --scanners demo,thick-slice,strong-bias  --budgets 0,1,4 (or all)  --methods LIST
// --seeds 0,1,2  --iterations N (equal iterations: every trained method runs N; default 60)
// --seconds S (equal wall time instead: every trained method runs until S seconds of adaptation)
// --score val|test (val: the site's validation scans plus the source validation scans seen through the
// scanner, for choosing settings; test: the 40 held-out scans no choice touched)  --lr L (0.003: the
// fine-tuning rate of supervised / mean-teacher / sds)  --tent-lr L (0.001)  --threads T (2)
// --wise-ft A,B (exploration, e.g. 0.5,0.75: after each trained method, also score WiSE-FT blends of its
// deployed network with the source model, A * adapted + (1 - A) * source for the parameters, statistics
// re-estimated on the unlabeled scans with an AdaBN finetune of the same seed; what
// `adaptation.wiseFt=A` does inside finetune, without training again; rows '<method>+wiseFt=A')
// --json FILE (every run's per-scan scores, written after each run)  --merge A.json,B.json (no run: the
// table of earlier runs' JSON files together; a run is taken from the first file that has it)
// --alias FROM->TO,... (with --merge: runs of method FROM are counted as TO)  --write (replace this protocol's table in docs/results.md)
import { register } from 'node:module';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createSegmenter, type FinetuneConfig, type Segmenter } from '../src/api/index.js';
import { segmentationMetrics, toLabelVolume, type Volume } from '../src/volume/index.js';
import { readNiftiFile } from '../src/volume/node-io.js';
import { readSafetensors, type SafetensorsArray, writeSafetensors } from '../src/nn/checkpoint/safetensors.js';
import { SCANNERS, simulateScanner } from '../examples/scanner-shift.js';
import { SDS_ADAPT_PRESET, usesLabels } from '../src/train/sds/config.js';
import { listOption, numberOption, option } from './cli-options.js';

register('../bench/support/wgsl-loader.mjs', import.meta.url);

const list = listOption;
const num = (name: string, fallback: number): number => numberOption('experiment-adapt', name, fallback);

const root = fileURLToPath(new URL('..', import.meta.url));
const dataDir = join(root, '..', 'shared', 'data', 'hippocampus');
const shippedDir = join(root, 'examples', 'data');
const modelPath = option('model', join(root, 'examples', 'models', 'vnet16-hippocampus.safetensors'));
const splitPath = option('split', join(root, 'scripts', 'adapt', 'split.json'));
const scannerNames = list('scanners', 'demo,thick-slice,strong-bias');
const budgetNames = list('budgets', '0,1,4');
const methods = list('methods', 'unadapted,adabn,tent,supervised,mean-teacher,sds,recipe');
const seeds = list('seeds', '0,1,2').map(Number);
const seconds = process.argv.includes('--seconds') ? num('seconds', 300) : 0;
const iterations = num('iterations', 60);
const score = option('score', 'val');
const lr = num('lr', 0.003);
const tentLr = num('tent-lr', 0.001);
const threads = num('threads', 2);
const jsonPath = option('json', '');
const write = process.argv.includes('--write');
const mergePaths = list('merge', '');
const wiseFtPoints = list('wise-ft', '').map(Number);
if (wiseFtPoints.some((a) => !(a >= 0 && a <= 1)))
  throw new Error(`experiment-adapt: --wise-ft: expected numbers in [0, 1], found ${option('wise-ft', '')}`);

if (!existsSync(join(dataDir, 'images'))) throw new Error(`experiment-adapt: expected the hippocampus scans at ${dataDir}`);
for (const s of scannerNames)
  if (SCANNERS[s] === undefined) throw new Error(`experiment-adapt: --scanners: unknown '${s}' (${Object.keys(SCANNERS).join(', ')})`);
if (score !== 'val' && score !== 'test') throw new Error(`experiment-adapt: --score: expected val or test, found ${score}`);

interface Split {
  readonly sourceTrain: string[];
  readonly sourceVal: string[];
  readonly sourceTest: string[];
  readonly localLabeled: string[];
  readonly localUnlabeled: string[];
  readonly localVal: string[];
  readonly localTest: string[];
}
const split = JSON.parse(await readFile(splitPath, 'utf8')) as Split;
const shipped = JSON.parse(await readFile(join(shippedDir, 'split.json'), 'utf8')) as { train: string[] };
// 'all' labels every local scan the site has (labeled and unlabeled); otherwise the first N labeled ones.
const allLocal = split.localLabeled.length + split.localUnlabeled.length;
const budgets = budgetNames.map((b) => {
  const n = b === 'all' ? allLocal : Number(b);
  if (!(Number.isInteger(n) && ((n >= 0 && n <= split.localLabeled.length) || n === allLocal)))
    throw new Error(`experiment-adapt: --budgets: expected integers 0..${split.localLabeled.length} or all, found '${b}'`);
  return n;
});
const scoredNames = score === 'test' ? split.localTest : [...split.localVal, ...split.sourceVal];

const image = (n: string): Promise<Volume> => readNiftiFile(join(dataDir, 'images', `${n}.nii.gz`));
const label = async (n: string): Promise<Volume<Uint8Array>> => toLabelVolume(await readNiftiFile(join(dataDir, 'labels', `${n}.nii.gz`)));
// One bias field / noise draw per scan and scanner: the scan's number, offset by the scanner's place in
// SCANNERS (not in --scanners, so a scanner's scans are the same whichever others run beside it).
const scanSeed = (name: string, scanner: string): number =>
  Number(name.replace(/\D/g, '')) + 1000 * (Object.keys(SCANNERS).indexOf(scanner) + 1);

/** `key=value+key.sub=value` as config overrides (numbers and booleans parsed, one level of nesting). */
function parseOverrides(text: string): FinetuneConfig {
  const overrides: Record<string, Record<string, unknown> | unknown> = {};
  for (const kv of text.split('+')) {
    const [path, raw] = kv.split('=');
    if (path === undefined || raw === undefined) throw new Error(`experiment-adapt: --methods: expected key=value, found '${kv}'`);
    const dims = raw.split('x').map(Number);
    const value: unknown =
      raw === 'true'
        ? true
        : raw === 'false'
          ? false
          : Number.isFinite(Number(raw))
            ? Number(raw)
            : dims.length > 1 && dims.every(Number.isFinite)
              ? dims
              : raw;
    const [head, tail] = path.split('.');
    if (tail === undefined) overrides[head] = value;
    else overrides[head] = { ...((overrides[head] as Record<string, unknown>) ?? {}), [tail]: value };
  }
  return overrides as FinetuneConfig;
}

/** A method's finetune call (null: no adaptation); `<method>:key=value+...` adds config overrides to it. */
function methodConfig(methodSpec: string, seed: number): FinetuneConfig | null {
  const colon = methodSpec.indexOf(':');
  const method = colon < 0 ? methodSpec : methodSpec.slice(0, colon);
  const overrides = colon < 0 ? {} : parseOverrides(methodSpec.slice(colon + 1));
  const merge = (c: FinetuneConfig): FinetuneConfig => {
    const out: Record<string, unknown> = { ...c };
    for (const [k, v] of Object.entries(overrides))
      out[k] =
        v !== null && typeof v === 'object' && !Array.isArray(v) ? { ...((out[k] as object | undefined) ?? {}), ...(v as object) } : v;
    return out as FinetuneConfig;
  };
  const budget: FinetuneConfig = seconds > 0 ? { iterations: 1_000_000, timeBudgetSeconds: seconds } : { iterations };
  const common: FinetuneConfig = { seed, ...budget, validateEvery: Number.MAX_SAFE_INTEGER, checkpointEvery: Number.MAX_SAFE_INTEGER };
  const fineTuning = { lr, stepSize: Number.POSITIVE_INFINITY };
  if (method === 'unadapted') return null;
  if (method === 'adabn') return merge({ ...common, mode: 'adabn' });
  // TENT normalises with test-batch statistics; the deployed model gets the local statistics (AdaBN's estimate).
  if (method === 'tent')
    return merge({
      ...common,
      mode: 'tent',
      optimizer: { lr: tentLr, stepSize: Number.POSITIVE_INFINITY },
      adaptation: { recalibrate: 'after' },
    });
  if (method === 'supervised' || method === 'mean-teacher' || method === 'sds')
    return merge({ ...common, mode: method, optimizer: fineTuning });
  if (method === 'recipe') {
    // The recipe's iterations count its supervised warm-up too, so "equal iterations" holds in total; as
    // under a time budget (adaptation.warmupShare), the warm-up takes at most its share of them.
    if (seconds > 0) return merge(common);
    const given = overrides.adaptation as { supervisedWarmup?: number; warmupShare?: number } | undefined;
    const preset = SDS_ADAPT_PRESET.adaptation;
    const warmup = Math.min(
      given?.supervisedWarmup ?? preset.supervisedWarmup,
      Math.floor(iterations * (given?.warmupShare ?? preset.warmupShare)),
    );
    const config = merge(common) as { adaptation?: object };
    return {
      ...config,
      iterations: (overrides.iterations as number | undefined) ?? iterations - warmup,
      adaptation: { ...config.adaptation, supervisedWarmup: warmup },
    } as FinetuneConfig;
  }
  throw new Error(`experiment-adapt: --methods: unknown '${methodSpec}'`);
}

interface ScanScore {
  readonly name: string;
  readonly dice: number[];
  readonly hd95: number[];
  readonly asd: number[];
}
interface RunResult {
  readonly scanner: string;
  readonly budget: number;
  readonly method: string;
  readonly seed: number;
  readonly iterations: number;
  readonly seconds: number;
  readonly scans: ScanScore[];
}

const results: RunResult[] = [];
const started = performance.now();
let backendDescription = 'results merged from ' + mergePaths.join(', ');
const sourceModel = wiseFtPoints.length > 0 ? new Uint8Array(await readFile(modelPath)) : new Uint8Array();

/**
 * WiSE-FT's blend of two V-Net files: a * adapted + (1 - a) * source for every parameter, in float32 as
 * the trainer's emaUpdate computes it; running statistics and counters stay the adapted file's (they are
 * re-estimated afterwards).
 */
function wiseFtBlend(adaptedBytes: Uint8Array, sourceBytes: Uint8Array, a: number): Uint8Array {
  const adapted = readSafetensors(adaptedBytes);
  const source = readSafetensors(sourceBytes).tensors;
  const out = new Map<string, { shape: readonly number[]; data: SafetensorsArray }>();
  const af = Math.fround(a);
  const bf = Math.fround(1 - af);
  for (const [name, t] of adapted.tensors) {
    const s = source.get(name);
    const statistic = /running_(mean|var)$|num_batches_tracked$/.test(name);
    if (statistic || !(t.data instanceof Float32Array) || !(s?.data instanceof Float32Array)) {
      out.set(name, t);
      continue;
    }
    const sd = s.data;
    out.set(name, {
      shape: t.shape,
      data: (t.data as Float32Array).map((x, i) => Math.fround(Math.fround(af * x) + Math.fround(bf * sd[i]))),
    });
  }
  return writeSafetensors(out, adapted.metadata);
}

/** Runs every scanner x budget x seed x method and scores it (results pushed as they come). */
async function runAll(): Promise<void> {
  const segmenter: Segmenter = await createSegmenter({ backend: 'wasm', threads, model: modelPath, patch: [48, 64, 48] });
  backendDescription = segmenter.info().description;
  console.log(`backend: ${backendDescription}; ${cpus().length} cores (${cpus()[0]?.model ?? 'CPU'})`);
  console.log(
    `model: ${modelPath}; scoring on ${score} (${scoredNames.length} scans); ${seconds > 0 ? `${seconds} s per adaptation` : `${iterations} iterations`}`,
  );

  async function scoreScans(scans: readonly { name: string; image: Volume; label: Volume<Uint8Array> }[]): Promise<ScanScore[]> {
    const out: ScanScore[] = [];
    for (const s of scans) {
      const m = segmentationMetrics(await segmenter.segment(s.image), s.label, { classes: [1, 2], emptyScore: 0 });
      out.push({ name: s.name, dice: m.map((c) => c.dice), hd95: m.map((c) => c.hd95), asd: m.map((c) => c.asd) });
    }
    return out;
  }

  for (const scannerName of scannerNames) {
    const shift = SCANNERS[scannerName];
    const seen = async (n: string): Promise<Volume> => simulateScanner(await image(n), shift, scanSeed(n, scannerName));
    const scored = await Promise.all(scoredNames.map(async (n) => ({ name: n, image: await seen(n), label: await label(n) })));
    const unlabeled = await Promise.all(split.localUnlabeled.map(seen));
    const localLabeled = await Promise.all(split.localLabeled.map(async (n) => ({ image: await seen(n), label: await label(n) })));
    // The oracle's extra labeled scans are the unlabeled images already seen through the scanner, with their labels.
    const oracleLabeled = budgets.includes(allLocal)
      ? [
          ...localLabeled,
          ...(await Promise.all(split.localUnlabeled.map(async (n, i) => ({ image: unlabeled[i], label: await label(n) })))),
        ]
      : [];
    // Budget 0: the original-scanner labeled scans shipped with the SDK (examples/data), unshifted.
    const sourceLabeled = await Promise.all(shipped.train.map(async (n) => ({ image: await image(n), label: await label(n) })));
    await segmenter.load(modelPath);
    const unadapted = await scoreScans(scored);
    for (const budget of budgets) {
      const labeled = budget === 0 ? sourceLabeled : budget === allLocal ? oracleLabeled : localLabeled.slice(0, budget);
      // Seeds outermost: a run cut short still has every method of its first seeds.
      for (const [k, seed] of seeds.entries()) {
        for (const method of methods) {
          if (method === 'unadapted' && k > 0) continue;
          const config = methodConfig(method, seed);
          let ran = 0;
          let took = 0;
          let scans = unadapted;
          if (config !== null) {
            await segmenter.load(modelPath);
            const t0 = performance.now();
            const labelFree = config.mode !== undefined && !usesLabels(config.mode);
            const r = await segmenter.finetune({ labeled: labelFree ? [] : labeled, unlabeled, config });
            took = (performance.now() - t0) / 1000;
            ran = r.stage1Iterations + r.iterations;
            scans = await scoreScans(scored);
          }
          const report = async (name: string, runScans: ScanScore[]): Promise<void> => {
            results.push({ scanner: scannerName, budget, method: name, seed, iterations: ran, seconds: took, scans: runScans });
            if (jsonPath !== '') await writeFile(jsonPath, `${JSON.stringify({ argv: process.argv.slice(2), results }, null, 1)}\n`);
            const dice = mean(runScans.map((s) => mean(s.dice)));
            const worse = scansBelow(runScans, unadapted);
            console.log(
              `${scannerName} budget ${budget} ${name} seed ${seed}: Dice ${dice.toFixed(4)}, ${worse} scans > 2 points below unadapted, ` +
                `${ran} iterations, ${took.toFixed(0)} s (${((performance.now() - started) / 60000).toFixed(1)} min so far)`,
            );
          };
          await report(method, scans);
          if (config !== null && config.mode !== 'adabn' && wiseFtPoints.length > 0) {
            const adapted = await segmenter.save();
            for (const a of wiseFtPoints) {
              await segmenter.load(wiseFtBlend(adapted, sourceModel, a));
              await segmenter.finetune({ labeled: [], unlabeled, config: { mode: 'adabn', seed } });
              await report(`${method}+wiseFt=${a}`, await scoreScans(scored));
            }
          }
        }
      }
    }
  }
  await segmenter.dispose();
}
if (mergePaths.length > 0) {
  // Each file scores the unadapted model again: keep one run per scanner, budget, method and seed.
  const key = (r: RunResult): string => `${r.scanner}/${r.budget}/${r.method}/${r.method === 'unadapted' ? '-' : r.seed}`;
  // --alias FROM->TO: runs of method FROM count as TO (a run made with an explicit override that a later
  // default does anyway); the first file that has a run keeps it, so list the files to prefer first.
  const aliases = new Map(
    list('alias', '').map((a) => {
      const [from, to] = a.split('->');
      if (from === undefined || to === undefined || from === '' || to === '')
        throw new Error(`experiment-adapt: --alias: expected FROM->TO, found '${a}'`);
      return [from, to] as const;
    }),
  );
  const merged = new Map<string, RunResult>();
  for (const path of mergePaths)
    for (const run of (JSON.parse(await readFile(path, 'utf8')) as { results: RunResult[] }).results) {
      const r = { ...run, method: aliases.get(run.method) ?? run.method };
      if (!merged.has(key(r))) merged.set(key(r), r);
    }
  results.push(...merged.values());
} else await runAll();

/** How many scans of `a` end > 2 Dice points below the same scan in `b` (scans in the same order): "harmed". */
function scansBelow(a: readonly ScanScore[], b: readonly ScanScore[]): number {
  return a.filter((s, i) => mean(s.dice) < mean(b[i].dice) - 0.02).length;
}

function mean(v: readonly number[]): number {
  const k = v.filter((x) => Number.isFinite(x));
  return k.length === 0 ? NaN : k.reduce((a, b) => a + b, 0) / k.length;
}
function meanStd(v: readonly number[], digits: number, scale = 1): string {
  const k = v.filter((x) => Number.isFinite(x)).map((x) => x * scale);
  if (k.length === 0) return 'n/a';
  const m = mean(k);
  const sd = k.length > 1 ? Math.sqrt(k.reduce((a, b) => a + (b - m) ** 2, 0) / (k.length - 1)) : 0;
  return k.length > 1 ? `${m.toFixed(digits)} ± ${sd.toFixed(digits)}` : m.toFixed(digits);
}

// One row per scanner, budget and method: each seed's mean over scans, then mean ± std over seeds.
// The last column is the harm count's noise floor: the same method, only its seed changed, already moves
// some scans by more than 2 points (the most scans one seed ends > 2 points below another, over seed pairs).
const lines: string[] = [
  '| scanner | local labels | method | Dice % | HD95 mm | ASD mm | scans > 2 pts below unadapted (worst seed) | iterations | s per adaptation | scans > 2 pts below its own other seed (worst pair) |',
  '| --- | --: | --- | --: | --: | --: | --: | --: | --: | --: |',
];
function belowOwnSeeds(runs: readonly RunResult[]): string {
  if (runs.length < 2) return 'n/a';
  let worst = 0;
  for (const a of runs) for (const b of runs) if (a !== b) worst = Math.max(worst, scansBelow(a.scans, b.scans));
  return String(worst);
}
const seen = <T>(f: (r: RunResult) => T): T[] => [...new Set(results.map(f))];
for (const scannerName of seen((r) => r.scanner))
  for (const budget of seen((r) => r.budget))
    for (const method of seen((r) => r.method)) {
      const runs = results.filter((r) => r.scanner === scannerName && r.budget === budget && r.method === method);
      if (runs.length === 0) continue;
      const base = results.find((r) => r.scanner === scannerName && r.method === 'unadapted')?.scans;
      const perSeed = (f: (s: ScanScore) => number): number[] => runs.map((r) => mean(r.scans.map(f)));
      const worse = base === undefined ? 'n/a' : String(Math.max(...runs.map((r) => scansBelow(r.scans, base))));
      lines.push(
        `| ${scannerName} | ${budget} | ${method} | ${meanStd(
          perSeed((s) => mean(s.dice)),
          2,
          100,
        )} | ${meanStd(
          perSeed((s) => mean(s.hd95)),
          2,
        )} | ` +
          `${meanStd(
            perSeed((s) => mean(s.asd)),
            2,
          )} | ${worse} | ${meanStd(
            runs.map((r) => r.iterations),
            0,
          )} | ${meanStd(
            runs.map((r) => r.seconds),
            0,
          )} | ${belowOwnSeeds(runs)} |`,
      );
    }
console.log(`\n${lines.join('\n')}`);
console.log(`\n${((performance.now() - started) / 60000).toFixed(1)} min in all`);

if (write) {
  const tag = `experiment:adapt:${score}:${seconds > 0 ? `${seconds}s` : `${iterations}it`}`;
  const START = `<!-- ${tag}:start -->`;
  const END = `<!-- ${tag}:end -->`;
  const command = `npm run experiment:adapt -- ${process.argv.slice(2).join(' ')}`;
  const section = [
    START,
    `Command: \`${command}\` (${new Date().toISOString().slice(0, 10)}; ${backendDescription}; ${cpus()[0]?.model ?? 'CPU'}, ${cpus().length} cores).`,
    '',
    ...lines,
    END,
  ].join('\n');
  const resultsPath = join(root, 'docs', 'results.md');
  const old = await readFile(resultsPath, 'utf8');
  const next = old.includes(START)
    ? old.slice(0, old.indexOf(START)) + section + old.slice(old.indexOf(END) + END.length)
    : `${old.trimEnd()}\n\n${section}\n`;
  await writeFile(resultsPath, next);
  console.log(`wrote ${resultsPath}`);
}
