// The demo's adaptation, timed: `finetune` on the demo's new-scanner scans with the recipe's workload,
// through the public API, so the same file runs against this tree and against an older commit's
// (bench/adapt-time.sh copies it there). Two steps:
//
//   tsx bench/adapt-time.ts --prepare DIR
//       writes the demo's labeled and unlabeled scans, seen through the demo's scanner
//       (examples/scanner-shift.ts), to DIR as NIfTI, so every tree adapts on the same voxels even where
//       its own scanner code differs;
//   tsx bench/adapt-time.ts --data DIR --model FILE [--config JSON] [--repeats N] [--label TEXT] [--json OUT]
//       loads them, runs finetune N times from the pretrained weights (wasm, 2 threads, the demo's
//       window) with the given config overrides, and prints (and writes) the seconds of each run.
import { existsSync } from 'node:fs';
import { register } from 'node:module';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

register('./support/wgsl-loader.mjs', import.meta.url);

function option(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : undefined;
}

const here = fileURLToPath(new URL('.', import.meta.url));
const dataDir = join(here, '..', 'examples', 'data');
const N_LABELED = 4;
interface Split {
  readonly train: string[];
  readonly unlabeled: string[];
}

const { readNiftiFile, writeFileAtomic } = await import('../src/volume/node-io.js');
const prepareDir = option('prepare');
if (prepareDir !== undefined) {
  // The demo's split and scanner seeds (examples/demo.ts): labeled 100 + i, unlabeled 200 + i.
  const { writeImageNifti } = await import('../src/volume/index.js');
  const { DEMO_SCANNER, simulateScanner } = await import('../examples/scanner-shift.js');
  const split = JSON.parse(await readFile(join(dataDir, 'split.json'), 'utf8')) as Split;
  const unlabeledPaths = [
    ...split.train.slice(N_LABELED).map((n) => join(dataDir, 'images', `${n}.nii.gz`)),
    ...split.unlabeled.map((n) => join(dataDir, 'unlabeled', 'images', `${n}.nii.gz`)),
  ];
  await mkdir(prepareDir, { recursive: true });
  for (const [i, n] of split.train.slice(0, N_LABELED).entries()) {
    const image = simulateScanner(await readNiftiFile(join(dataDir, 'images', `${n}.nii.gz`)), DEMO_SCANNER, 100 + i);
    await writeFileAtomic(join(prepareDir, `labeled-${i}.nii.gz`), writeImageNifti(image));
    await writeFile(join(prepareDir, `labeled-${i}.label`), join(dataDir, 'labels', `${n}.nii.gz`));
  }
  for (const [i, path] of unlabeledPaths.entries()) {
    const image = simulateScanner(await readNiftiFile(path), DEMO_SCANNER, 200 + i);
    await writeFileAtomic(join(prepareDir, `unlabeled-${i}.nii.gz`), writeImageNifti(image));
  }
  console.log(`adapt-time: ${N_LABELED} labeled and ${unlabeledPaths.length} unlabeled scans written to ${prepareDir}`);
  process.exit(0);
}

const data = option('data');
const model = option('model');
if (data === undefined || model === undefined) {
  process.stderr.write('adapt-time: expected --prepare DIR, or --data DIR --model FILE\n');
  process.exit(2);
}
const repeats = Number(option('repeats') ?? '1');
if (!(Number.isInteger(repeats) && repeats >= 1))
  throw new Error(`adapt-time: --repeats: expected an integer >= 1, found ${option('repeats')}`);
const config = JSON.parse(option('config') ?? '{}') as Record<string, unknown>;
const label = option('label') ?? 'this tree';

const labeled = [];
for (let i = 0; i < N_LABELED; i++) {
  const labelPath = (await readFile(join(data, `labeled-${i}.label`), 'utf8')).trim();
  labeled.push({ image: await readNiftiFile(join(data, `labeled-${i}.nii.gz`)), label: await readNiftiFile(labelPath) });
}
const unlabeled = [];
// unlabeled-0, -1, ... up to the first missing index (a file that is there but unreadable throws).
for (let i = 0; existsSync(join(data, `unlabeled-${i}.nii.gz`)); i++)
  unlabeled.push(await readNiftiFile(join(data, `unlabeled-${i}.nii.gz`)));

const { createSegmenter } = await import('../src/api/index.js');
const modelPath = resolve(model);
const segmenter = await createSegmenter({ backend: 'wasm', threads: 2, model: modelPath, patch: [48, 64, 48] });
const description = segmenter.info().description;
const runs: { seconds: number; stage1Iterations: number; iterations: number }[] = [];
for (let r = 0; r < repeats; r++) {
  await segmenter.load(modelPath);
  const start = performance.now();
  const result = await segmenter.finetune({ labeled, unlabeled, config: { seed: 0, ...config } });
  const seconds = (performance.now() - start) / 1000;
  runs.push({ seconds, stage1Iterations: result.stage1Iterations, iterations: result.iterations });
  console.log(
    `adapt-time (${label}, ${description}): run ${r + 1}/${repeats}: ${seconds.toFixed(1)} s ` +
      `(${result.stage1Iterations} warm-up + ${result.iterations} SDS iterations)`,
  );
}
const out = option('json');
if (out !== undefined)
  await writeFile(out, JSON.stringify({ label, description, config, labeled: labeled.length, unlabeled: unlabeled.length, runs }, null, 1));
process.exit(0);
