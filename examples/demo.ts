// `npm run demo` (tsx examples/demo.ts): the SDK's main job in one run, through the public API.
//
// 1. Loads the V-Net (nFilters 16, source model v2) pretrained by the project's own script on ORIGINAL hippocampus scans
//    (examples/models/README.md has the exact command) with createSegmenter().
// 2. Shows the shipped scans (examples/data, CC-BY-SA) through a simulated "new scanner"
//    (examples/scanner-shift.ts: contrast curve, smooth bias field, Rician noise; deterministic per scan):
//    the site's few labeled scans, its unlabeled scans and the held-out scans all come from that scanner.
// 3. Segments the held-out scans with the pretrained model and scores them (Dice per class).
// 4. Runs what a site would do instead, each from the pretrained weights: AdaBN (batch-norm statistics
//    of the unlabeled scans) and supervised fine-tuning on the same labeled scans; scores each.
// 5. Adapts the model with the SDK's default recipe (segmenter.finetune with no mode: SDS's two
//    students, switching and LA-EMA teacher, plus batch-norm re-estimation on the new scanner's scans).
// 6. Scores the held-out scans again; prints Dice of all four side by side, writes the label maps
//    (.nii.gz, before and after), the shifted images (.nii.gz) and a PNG montage to demo-output/.
//
// Options: --backend auto|wasm|webgpu|reference (auto: WebGPU when a real GPU adapter is there, else
// wasm)  --threads T (wasm worker threads; default: the API's choice)  --iterations N (recipe iterations; default the recipe's)
// --supervised-iterations N (220: as many as the recipe's warm-up + SDS iterations)
// --labeled N (labeled scans of the new scanner, 4)  --lr L (0.003)  --seed S (0)  --data DIR
// (examples/data)  --model FILE (examples/models/vnet16-hippocampus-v2.safetensors)  --out DIR (demo-output)
import { register } from 'node:module';
import { mkdir, readFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createSegmenter } from '../src/api/index.js';
import { SDS_ADAPT_PRESET } from '../src/train/sds/config.js';
import type { BackendChoice, FinetuneProgress } from '../src/api/index.js';
import { segmentationMetrics, toLabelVolume, type Volume, writeImageNifti, writeLabelNifti } from '../src/volume/index.js';
import { readNiftiFile, writeFileAtomic } from '../src/volume/node-io.js';
import { encodeRgbaPng, renderMontage } from './montage.js';
import { DEMO_SCANNER, simulateScanner } from './scanner-shift.js';

// The WebGPU backend imports .wgsl sources; tsx needs the loader the benches use.
register('../bench/support/wgsl-loader.mjs', import.meta.url);

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}
function num(name: string, fallback: number): number {
  const v = Number(option(name, String(fallback)));
  if (!Number.isFinite(v)) throw new Error(`demo: --${name}: expected a number, found ${option(name, '')}`);
  return v;
}

const started = performance.now();
const here = fileURLToPath(new URL('.', import.meta.url));
const dataDir = resolve(option('data', join(here, 'data')));
const outDir = resolve(option('out', 'demo-output'));
const modelPath = resolve(option('model', join(here, 'models', 'vnet16-hippocampus-v2.safetensors')));
const backend = option('backend', process.env.SDS_BACKEND ?? 'auto') as BackendChoice;
const threads = process.argv.includes('--threads') ? num('threads', 2) : undefined;
// --iterations overrides the recipe's own count (SDS_ADAPT_PRESET); the supervised baseline gets
// --supervised-iterations at the fine-tuning rate --lr.
const iterations = process.argv.includes('--iterations') ? num('iterations', 60) : undefined;
// Equal iterations by default: the recipe's supervised warm-up plus its SDS iterations.
const supervisedIterations = num(
  'supervised-iterations',
  SDS_ADAPT_PRESET.adaptation.supervisedWarmup + (iterations ?? SDS_ADAPT_PRESET.iterations),
);
const nLabeled = num('labeled', 4);
const seed = num('seed', 0);
const lr = num('lr', 0.003);
const CLASSES = ['anterior', 'posterior'];

interface Split {
  /** Labeled scans: the first --labeled are the new scanner's labeled ones, the rest join the unlabeled. */
  readonly train: string[];
  /** Scans shipped without labels, in unlabeled/images/ (so images/ + labels/ stay a labeled folder for `sds`). */
  readonly unlabeled: string[];
  readonly heldOut: string[];
}
const split = JSON.parse(await readFile(join(dataDir, 'split.json'), 'utf8')) as Split;
if (!(Number.isInteger(nLabeled) && nLabeled >= 1 && nLabeled < split.train.length))
  throw new Error(`demo: --labeled: expected an integer in 1..${split.train.length - 1}, found ${nLabeled}`);

const image = (name: string): Promise<Volume> => readNiftiFile(join(dataDir, 'images', `${name}.nii.gz`));
const label = (name: string): Promise<Volume> => readNiftiFile(join(dataDir, 'labels', `${name}.nii.gz`));
// Every scan gets its own bias field (seed); gamma and the noise level are the scanner's.
const scanner = (v: Volume, scanSeed: number): Volume => simulateScanner(v, DEMO_SCANNER, scanSeed);

const labeledNames = split.train.slice(0, nLabeled);
// The rest of train without their labels, then the scans shipped without labels (unlabeled/images/).
const unlabeledPaths = [
  ...split.train.slice(nLabeled).map((n) => join(dataDir, 'images', `${n}.nii.gz`)),
  ...split.unlabeled.map((n) => join(dataDir, 'unlabeled', 'images', `${n}.nii.gz`)),
];
const labeled = await Promise.all(labeledNames.map(async (n, i) => ({ image: scanner(await image(n), 100 + i), label: await label(n) })));
const unlabeled = await Promise.all(unlabeledPaths.map(async (path, i) => scanner(await readNiftiFile(path), 200 + i)));
const heldOut = await Promise.all(
  split.heldOut.map(async (n, i) => ({ name: n, image: scanner(await image(n), 1000 + i), label: toLabelVolume(await label(n)) })),
);

console.log(
  `new scanner (examples/scanner-shift.ts): contrast gamma ${DEMO_SCANNER.gamma}, bias field up to ` +
    `x${Math.exp(DEMO_SCANNER.biasStrength).toFixed(2)}, Rician noise ${DEMO_SCANNER.noise * 100}% of the 99.5th percentile`,
);
console.log(`scans from it: ${labeled.length} labeled, ${unlabeled.length} unlabeled, ${heldOut.length} held out for scoring`);

// The window covers a whole hippocampus crop (about 35 x 50 x 36 voxels) in one pass; training keeps
// the pretraining patch 32 x 48 x 32.
const segmenter = await createSegmenter({ backend, model: modelPath, patch: [48, 64, 48], ...(threads ? { threads } : {}) });
const info = segmenter.info();
console.log(`backend: ${info.description} (${info.reasons.join('; ')})`);
console.log(`model: ${modelPath} (V-Net nFilters ${info.network.nFilters}, ${info.network.nClasses} classes)`);

const fmt = (v: number): string => (Number.isFinite(v) ? v.toFixed(3) : String(v));
async function scoreHeldOut(title: string): Promise<{ predictions: Volume<Uint8Array>[]; dice: number[][] }> {
  console.log(`\n${title}\nscan              ${CLASSES.map((c) => `Dice ${c}`.padStart(16)).join('')}`);
  const predictions: Volume<Uint8Array>[] = [];
  const dice: number[][] = [];
  for (const scan of heldOut) {
    const prediction = await segmenter.segment(scan.image);
    const d = segmentationMetrics(prediction, scan.label, { classes: [1, 2], emptyScore: 0 }).map((m) => m.dice);
    predictions.push(prediction);
    dice.push(d);
    console.log(`${scan.name.padEnd(18)}${d.map((v) => fmt(v).padStart(16)).join('')}`);
  }
  const mean = CLASSES.map((_, c) => dice.reduce((a, d) => a + d[c], 0) / dice.length);
  console.log(`${'mean'.padEnd(18)}${mean.map((v) => fmt(v).padStart(16)).join('')}`);
  return { predictions, dice };
}
const meanDice = (dice: number[][]): number => dice.flat().reduce((a, b) => a + b, 0) / dice.flat().length;

const before = await scoreHeldOut('held-out scans of the new scanner, pretrained model (before adaptation):');

// What a site would do instead, each from the pretrained weights, scored on the same held-out scans:
// AdaBN (batch-norm statistics of the unlabeled scans, no labels, no gradient) and plain fine-tuning
// on the same labeled scans.
console.log('\nbaseline: AdaBN (batch-norm statistics re-estimated on the unlabeled scans)');
await segmenter.finetune({ labeled: [], unlabeled, config: { mode: 'adabn', seed } });
const adabn = await scoreHeldOut('held-out scans, AdaBN:');
await segmenter.load(modelPath);
console.log(`\nbaseline: supervised fine-tuning on the ${labeled.length} labeled scans, ${supervisedIterations} iterations, lr ${lr}`);
await segmenter.finetune({
  labeled,
  unlabeled,
  config: { mode: 'supervised', seed, iterations: supervisedIterations, optimizer: { lr, stepSize: Number.POSITIVE_INFINITY } },
});
const supervised = await scoreHeldOut(`held-out scans, supervised fine-tuning:`);
await segmenter.load(modelPath);

// The SDK's default recipe: finetune with no mode (src/train/sds/config.ts SDS_ADAPT_PRESET).
console.log(
  `\nadapting with the SDK's recipe (SDS + batch-norm re-estimation + WiSE-FT)${iterations !== undefined ? `, ${iterations} iterations` : ''}`,
);
const trainStart = performance.now();
const result = await segmenter.finetune({
  labeled,
  unlabeled,
  config: { seed, ...(iterations !== undefined ? { iterations } : {}) },
  onProgress: (p: FinetuneProgress) => {
    if (p.type !== 'iteration' || (p.iteration % 5 !== 0 && p.iteration !== p.of)) return;
    // Stage 1 is the recipe's supervised warm-up (one student, no teacher yet); stage 2 is SDS.
    const what = p.phase === 'stage1' ? 'warm-up' : `SDS, teacher follows S${(p.selected ?? 0) + 1}`;
    console.log(
      `iteration ${String(p.iteration).padStart(3)}/${p.of}  losses ${p.losses.map((l) => l.toFixed(3)).join(' ')}  ` +
        `${what}  ${(p.ms / 1000).toFixed(1)} s/iteration  ~${Math.ceil(p.etaMs / 1000)} s left`,
    );
  },
});
const trainSeconds = (performance.now() - trainStart) / 1000;
console.log(
  `adapted in ${trainSeconds.toFixed(0)} s (${result.stage1Iterations} warm-up + ${result.iterations} SDS iterations, ` +
    `${(result.msPerIteration / 1000).toFixed(2)} s each on average); deployed: ${result.deployed}`,
);

const after = await scoreHeldOut("held-out scans of the new scanner, after the SDK's recipe:");

await mkdir(outDir, { recursive: true });
for (const [i, scan] of heldOut.entries()) {
  await writeFileAtomic(
    join(outDir, `${scan.name}_new-scanner.nii.gz`),
    writeImageNifti(scan.image, { description: 'simulated new scanner' }),
  );
  await writeFileAtomic(join(outDir, `${scan.name}_before.nii.gz`), writeLabelNifti(before.predictions[i], { description: 'pretrained' }));
  await writeFileAtomic(join(outDir, `${scan.name}_after.nii.gz`), writeLabelNifti(after.predictions[i], { description: 'after SDS' }));
}
const montage = renderMontage(
  heldOut.map((scan, i) => ({ image: scan.image, labels: [before.predictions[i], after.predictions[i], scan.label] })),
  { axis: 0, scale: 4 },
);
await writeFileAtomic(join(outDir, 'montage.png'), encodeRgbaPng(montage));

console.log(`\nmean foreground Dice on ${heldOut.length} held-out scans of the new scanner:`);
for (const [what, r] of [
  ['unadapted (pretrained)', before],
  ['AdaBN', adabn],
  [`supervised on the ${labeled.length} labeled scans`, supervised],
  ["the SDK's recipe (SDS + batch-norm re-estimation + WiSE-FT)", after],
] as const)
  console.log(`  ${what.padEnd(62)}${fmt(meanDice(r.dice))}`);
console.log(
  `written to ${outDir}/: <scan>_new-scanner.nii.gz (image), <scan>_before.nii.gz / <scan>_after.nii.gz (labels: 0 background, ` +
    `1 anterior, 2 posterior), montage.png (rows: held-out scans; columns: image, before, after, ground truth; red anterior, blue posterior)`,
);
console.log(
  `total ${((performance.now() - started) / 1000).toFixed(0)} s on ${cpus().length} cores (${cpus()[0]?.model ?? 'CPU'}), ${info.description}`,
);
await segmenter.dispose();
