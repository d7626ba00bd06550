// `npm run demo` (tsx examples/demo.ts): loads the V-Net (nFilters 16) pretrained by the project's own
// script (examples/models/README.md has the exact command), scores it on the 4 held-out hippocampus
// scans shipped in examples/data, fine-tunes it on the 8 shipped labeled scans, scores it again, prints
// Dice and HD95 per class before and after, and writes the label maps as NIfTI (.nii.gz) to
// demo-output/. Runs on the wasm backend with 2 threads unless told otherwise. The SDS adaptation to
// unlabeled scans replaces the supervised fine-tuning once the SDS trainer lands.
//
// Options: --backend wasm|webgpu|reference (or env SDS_BACKEND)  --threads T (2, wasm)  --iterations N
// (fine-tuning iterations, 100; 400 from scratch)  --init FILE (the pretrained weights; --init none trains
// from scratch)  --filters F (8, from scratch)  --batch B (2)  --lr L (0.01 fine-tuning, 0.03 from
// scratch)  --every N (progress every N iterations, 25)  --seed S (0)  --data DIR (examples/data)
// --out DIR (demo-output)
//
// From scratch, lr 0.03 rather than 0.01 because a demo has few iterations: measured, 200 iterations
// at 0.01 still predict background everywhere on the held-out scans; 400 at 0.03 find the hippocampus
// but not yet the anterior/posterior split, which takes longer training (docs/results.md).
import { register } from 'node:module';
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { join, resolve } from 'node:path';
import { createBackend } from '../src/backend/create.js';
import type { BackendName } from '../src/core/tensor.js';
import { loadVNet } from '../src/nn/checkpoint/vnet-checkpoint.js';
import { readSafetensors } from '../src/nn/checkpoint/safetensors.js';
import { checkpointConfig } from '../src/nn/checkpoint/vnet-checkpoint.js';
import { VNet } from '../src/nn/vnet.js';
import { evaluateScans, meanScores } from '../src/train/evaluate.js';
import { loadCases } from '../src/train/node-cases.js';
import { trainSupervised } from '../src/train/supervised.js';
import { writeLabelNifti } from '../src/volume/index.js';
import { writeFileAtomic } from '../src/volume/node-io.js';

// The WebGPU backend imports .wgsl sources; tsx needs the loader the benches use.
register('../bench/support/wgsl-loader.mjs', import.meta.url);

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}
const num = (name: string, fallback: number): number => Number(option(name, String(fallback)));

const here = fileURLToPath(new URL('.', import.meta.url));
const dataDir = resolve(option('data', join(here, 'data')));
const outDir = resolve(option('out', 'demo-output'));
const backendName = option('backend', process.env.SDS_BACKEND ?? 'wasm') as BackendName;
const initOption = option('init', join(here, 'models', 'vnet16-hippocampus.safetensors'));
const init = initOption !== 'none' && existsSync(initOption) ? initOption : null;
if (initOption !== 'none' && init === null) console.log(`no pretrained weights at ${initOption}: training from scratch`);
const iterations = num('iterations', init ? 100 : 400);
const every = num('every', 25);

const split = JSON.parse(await readFile(join(dataDir, 'split.json'), 'utf8')) as { train: string[]; heldOut: string[] };
const train = await loadCases(dataDir, split.train);
const heldOut = await loadCases(dataDir, split.heldOut);

const backend = await createBackend(backendName, backendName === 'wasm' ? { threads: num('threads', 2) } : {});
const info = backend.info();
console.log(`backend: ${info.name}, ${info.description}`);

let net: VNet;
if (init) {
  const file = readSafetensors(new Uint8Array(await readFile(init)));
  const config = checkpointConfig(file.metadata);
  if (!config) throw new Error(`${init}: expected an sds-web checkpoint with its V-Net config in __metadata__`);
  net = new VNet(backend, config, { seed: num('seed', 0) });
  const loaded = loadVNet(backend, net, file);
  for (const w of loaded.warnings ?? []) console.log(`note: ${w}`);
  console.log(`loaded ${init} (V-Net nFilters ${config.nFilters}, ${file.metadata['sds.iteration'] ?? '?'} iterations of pretraining)`);
} else {
  net = new VNet(backend, { nFilters: num('filters', 8), nClasses: 3 }, { seed: num('seed', 0) });
}

const fmt = (v: number, digits: number): string => (Number.isFinite(v) ? v.toFixed(digits) : String(v));
async function score(title: string) {
  console.log(`\n${title}\nscan              Dice anterior  Dice posterior  HD95 anterior  HD95 posterior (mm)`);
  const scores = await evaluateScans(backend, net, heldOut, {
    onScan: (s) =>
      console.log(
        `${s.name.padEnd(18)}${fmt(s.dice[0], 3).padStart(13)}${fmt(s.dice[1], 3).padStart(16)}` +
          `${fmt(s.hd95[0], 2).padStart(15)}${fmt(s.hd95[1], 2).padStart(16)}`,
      ),
  });
  const dice = meanScores(scores, 'dice');
  const hd95 = meanScores(scores, 'hd95');
  console.log(
    `${'mean'.padEnd(18)}${fmt(dice.perClass[0], 3).padStart(13)}${fmt(dice.perClass[1], 3).padStart(16)}` +
      `${fmt(hd95.perClass[0], 2).padStart(15)}${fmt(hd95.perClass[1], 2).padStart(16)}`,
  );
  console.log(
    `mean foreground Dice ${fmt(dice.overall, 3)}${hd95.nonFinite > 0 ? ` (${hd95.nonFinite} empty class predictions: HD95 inf, left out of the mean)` : ''}`,
  );
  return { scores, dice: dice.overall };
}
const before = init ? await score('held-out scans with the pretrained weights, before fine-tuning:') : null;

console.log(`\n${init ? 'fine-tuning' : 'training'} on ${train.length} labeled scans, ${iterations} iterations`);
const started = performance.now();
const result = await trainSupervised({
  backend,
  net,
  labeled: train,
  iterations,
  batchSize: num('batch', 2),
  lr: { initial: num('lr', init ? 0.01 : 0.03) },
  flipAxes: ['x'], // left-right only: flipping y or z would swap anterior and posterior
  seed: num('seed', 0),
  onProgress: (p) => {
    if (p.iteration % every === 0 || p.iteration === p.of) {
      console.log(`iteration ${p.iteration}/${p.of}  loss ${p.loss.toFixed(4)}  lr ${p.lr}  ${(p.ms / 1000).toFixed(2)} s/iteration`);
    }
  },
});
const trainSeconds = (performance.now() - started) / 1000;
console.log(`trained in ${trainSeconds.toFixed(0)} s: ${(result.msPerIteration / 1000).toFixed(2)} s per iteration on ${info.description}`);

await mkdir(outDir, { recursive: true });
const { scores, dice } = await score(`held-out scans after ${init ? 'fine-tuning' : 'training'}:`);
if (before) console.log(`\nmean foreground Dice: ${fmt(before.dice, 3)} before, ${fmt(dice, 3)} after fine-tuning`);

for (const s of scores) {
  const path = join(outDir, `${s.name}_pred.nii.gz`);
  await writeFileAtomic(path, writeLabelNifti(s.prediction, { description: 'sds-web demo V-Net' }));
}
console.log(`\nlabel maps (0 background, 1 anterior, 2 posterior) written to ${outDir}/`);
net.dispose();
backend.destroy();
