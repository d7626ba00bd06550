// `npm run experiment:source` (tsx scripts/experiment-source.ts [options]): how good a source model is on
// its own scanner, scored the way a user gets it: the public `segment` of the SDK on the original-scanner
// scans of a split, under each inference setting a user can pick (left-right flip test-time
// augmentation, largest connected component per class).
// The setting is chosen on the source validation scans; the source test scans, which no training or
// choice touched, report every setting with the chosen one marked. Dice, HD95 and ASD per class.
//
// Options: --model FILE (examples/models/vnet16-hippocampus.safetensors)  --split FILE
// (scripts/adapt/split.json)  --threads T (2)
import { readFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createSegmenter, type SegmentOptions } from '../src/api/index.js';
import { readNiftiFile } from '../src/volume/node-io.js';
import { segmentationMetrics, toLabelVolume, type Volume } from '../src/volume/index.js';
import { numberOption, option } from './cli-options.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const dataDir = join(root, '..', 'shared', 'data', 'hippocampus');

const modelPath = option('model', join(root, 'examples', 'models', 'vnet16-hippocampus.safetensors'));
const splitPath = option('split', join(root, 'scripts', 'adapt', 'split.json'));
const threads = numberOption('experiment-source', 'threads', 2);

const split = JSON.parse(await readFile(splitPath, 'utf8')) as { sourceVal: string[]; sourceTest: string[] };
const scan = async (n: string): Promise<{ name: string; image: Volume; label: Volume<Uint8Array> }> => ({
  name: n,
  image: await readNiftiFile(join(dataDir, 'images', `${n}.nii.gz`)),
  label: toLabelVolume(await readNiftiFile(join(dataDir, 'labels', `${n}.nii.gz`))),
});

/**
 * The settings compared. Hippocampus scans (about 35 x 50 x 35) fit the 48 x 64 x 48 window, so every
 * setting runs one window per scan; the first is how experiment:supervised scores (raw argmax).
 */
const SETTINGS: readonly { readonly name: string; readonly options: SegmentOptions }[] = [
  { name: 'argmax', options: { largestComponent: false } },
  { name: 'flip TTA', options: { tta: true, largestComponent: false } },
  { name: 'largest component (the segment default)', options: {} },
  { name: 'flip TTA + largest component', options: { tta: true } },
];

interface Row {
  readonly dice: number[];
  readonly hd95: number[];
  readonly asd: number[];
}
const mean = (v: readonly number[]): number => v.reduce((a, b) => a + b, 0) / v.length;
const finiteMean = (v: readonly number[]): number => mean(v.filter(Number.isFinite));

const segmenter = await createSegmenter({ backend: 'wasm', threads, model: modelPath, patch: [48, 64, 48] });
console.log(`backend: ${segmenter.info().description}; ${cpus().length} cores (${cpus()[0]?.model ?? 'CPU'})`);
console.log(`model: ${modelPath}`);

type Scan = Awaited<ReturnType<typeof scan>>;

async function scoreAll(scans: readonly Scan[], options: SegmentOptions): Promise<Row> {
  const rows: Row = { dice: [], hd95: [], asd: [] };
  for (const s of scans) {
    const m = segmentationMetrics(await segmenter.segment(s.image, options), s.label, { classes: [1, 2], emptyScore: 0 });
    rows.dice.push(mean(m.map((c) => c.dice)));
    rows.hd95.push(finiteMean(m.map((c) => c.hd95)));
    rows.asd.push(finiteMean(m.map((c) => c.asd)));
  }
  return rows;
}

// Read once, scored under every setting.
const valScans = await Promise.all(split.sourceVal.map(scan));
const testScans = await Promise.all(split.sourceTest.map(scan));

const results: { name: string; val: Row; test: Row }[] = [];
for (const s of SETTINGS) {
  const val = await scoreAll(valScans, s.options);
  const test = await scoreAll(testScans, s.options);
  results.push({ name: s.name, val, test });
  console.log(`${s.name}: val ${mean(val.dice).toFixed(4)}  test ${mean(test.dice).toFixed(4)}`);
}
await segmenter.dispose();

// Ties on validation go to the earlier (simpler) setting.
const chosen = results.reduce((best, r) => (mean(r.val.dice) > mean(best.val.dice) ? r : best));
const f = (v: number, d: number): string => v.toFixed(d);
console.log(
  `\nsource scanner, ${split.sourceVal.length} validation / ${split.sourceTest.length} test scans (mean foreground Dice; test HD95 / ASD in mm)`,
);
console.log('| inference setting | val Dice | test Dice | test HD95 | test ASD |');
console.log('| --- | --: | --: | --: | --: |');
for (const r of results) {
  const mark = r === chosen ? ' (chosen on val)' : '';
  console.log(
    `| ${r.name}${mark} | ${f(mean(r.val.dice), 4)} | ${f(mean(r.test.dice), 4)} | ${f(finiteMean(r.test.hd95), 2)} | ${f(finiteMean(r.test.asd), 2)} |`,
  );
}
