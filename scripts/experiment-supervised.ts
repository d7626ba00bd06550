// `npm run experiment:supervised` (tsx scripts/experiment-supervised.ts [options]): the supervised
// baseline protocol on hippocampus: 20 labeled training scans, 40 validation scans, V-Net nFilters 16,
// trained until the mean foreground Dice on the validation scans reaches the target (checked every
// --eval-every iterations) or the iteration / time budget runs out; then Dice and HD95 per class, and
// the table in docs/results.md (section between the experiment:supervised markers, replaced each run).
//
// Options: --iterations N (max, 2000)  --eval-every N (100)  --target D (0.80)  --max-minutes M (20,
// training + intermediate evaluation)  --filters F (16)  --batch B (2)  --patch D,H,W (32,48,32)
// --train N (20)  --val N (40)  --seed S (0)  --backend wasm|webgpu|reference (or env SDS_BACKEND)
// --threads T (2)  --no-write (do not touch docs/results.md)  --save FILE (write the trained weights as
// a PyTorch-compatible safetensors checkpoint; how examples/models/ was made)  --lr L (0.01)
// --step-size N, --gamma G (lr x gamma every N iterations; default no decay)  --split FILE (a JSON file
// with sourceTrain / sourceVal / sourceTest name lists, e.g. scripts/adapt/split.json: train on
// sourceTrain, validate on sourceVal, keep the best validated weights, report on sourceTest, which no
// choice touched; without it: the first --train and last --val cases in name order, last weights)
// --augment nnunet (rotation, scaling, noise, brightness, contrast and gamma per patch with nnU-Net's
// probabilities, src/train/augment.ts; default: crops and left-right flips only)
// --init FILE (start from these weights, e.g. to continue examples/models/ with a warm restart; with a
// split they are validated first and stay the best unless training beats them)
import { register } from 'node:module';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { createBackend } from '../src/api/create-backend.js';
import type { BackendName } from '../src/core/tensor.js';
import { VNet } from '../src/nn/vnet.js';
import { loadVNet, saveVNet } from '../src/nn/checkpoint/vnet-checkpoint.js';
import { evaluateScans, meanScores } from '../src/train/evaluate.js';
import { listCases, loadCases } from '../src/train/node-cases.js';
import { HIPPOCAMPUS_PATCH, SupervisedTrainer } from '../src/train/supervised.js';
import { NNUNET_AUGMENTATION } from '../src/train/augment.js';
import { numberOption, option } from './cli-options.js';

// The WebGPU backend imports .wgsl sources; tsx needs the loader the benches use.
register('../bench/support/wgsl-loader.mjs', import.meta.url);

const root = fileURLToPath(new URL('..', import.meta.url));
const dataDir = join(root, '..', 'shared', 'data', 'hippocampus');
const resultsPath = join(root, 'docs', 'results.md');
const START = '<!-- experiment:supervised:start -->';
const END = '<!-- experiment:supervised:end -->';

const num = (name: string, fallback: number): number => numberOption('experiment-supervised', name, fallback);

const maxIterations = num('iterations', 2000);
const evalEvery = num('eval-every', 100);
const target = num('target', 0.8);
const maxMinutes = num('max-minutes', 20);
const nFilters = num('filters', 16);
const batchSize = num('batch', 2);
const patch = option('patch', HIPPOCAMPUS_PATCH.join(',')).split(',').map(Number) as [number, number, number];
const nTrain = num('train', 20);
const nVal = num('val', 40);
const seed = num('seed', 0);
const backendName = option('backend', process.env.SDS_BACKEND ?? 'wasm') as BackendName;
const threads = num('threads', 2);
const write = !process.argv.includes('--no-write');
const savePath = option('save', '');
const lr = num('lr', 0.01);
const stepSize = num('step-size', Infinity);
const gamma = num('gamma', 0.1);
const splitPath = option('split', '');
const initPath = option('init', '');
const augmentName = option('augment', 'none');
if (augmentName !== 'none' && augmentName !== 'nnunet')
  throw new Error(`experiment-supervised: --augment: expected none or nnunet, found ${augmentName}`);

if (!existsSync(join(dataDir, 'images'))) {
  console.error(`experiment-supervised: expected the hippocampus scans at ${dataDir} (see /work/shared/data/README.md)`);
  process.exit(1);
}
const names = await listCases(dataDir);
if (names.length < nTrain + nVal) throw new Error(`experiment-supervised: expected ${nTrain + nVal} cases, found ${names.length}`);
interface SourceSplit {
  readonly sourceTrain: string[];
  readonly sourceVal: string[];
  readonly sourceTest: string[];
}
const split = splitPath ? (JSON.parse(await readFile(splitPath, 'utf8')) as SourceSplit) : null;
// Without a split: the first nTrain cases in name order for training, the last nVal for validation (disjoint).
const train = await loadCases(dataDir, split ? split.sourceTrain : names.slice(0, nTrain));
const val = await loadCases(dataDir, split ? split.sourceVal : names.slice(names.length - nVal));
const test = split ? await loadCases(dataDir, split.sourceTest) : val;

const backend = await createBackend(backendName, backendName === 'wasm' ? { threads } : {});
const info = backend.info();
console.log(`backend: ${info.name}, ${info.description}`);
console.log(
  `train ${train.length} (${train[0].name} .. ${train.at(-1)?.name}), validation ${val.length} (${val[0].name} .. ${val.at(-1)?.name})`,
);
const net = new VNet(backend, { nFilters, nClasses: 3 }, { seed });
if (initPath) {
  loadVNet(backend, net, new Uint8Array(await readFile(initPath)));
  console.log(`initial weights: ${initPath}`);
}
const deadline = new AbortController();
const started = performance.now();
const timer = setTimeout(() => deadline.abort(), maxMinutes * 60_000);
const trainer = new SupervisedTrainer({
  backend,
  net,
  labeled: train,
  iterations: maxIterations,
  batchSize,
  patch,
  lr: { initial: lr, stepSize, gamma },
  momentum: 0.9,
  weightDecay: 1e-4,
  flipAxes: ['x'],
  ...(augmentName === 'nnunet' ? { augmentation: NNUNET_AUGMENTATION } : {}),
  seed,
  signal: deadline.signal,
  onProgress: (p) => {
    if (p.iteration % 10 === 0)
      console.log(`iter ${p.iteration}/${p.of} loss ${p.loss.toFixed(4)} lr ${p.lr} ${(p.ms / 1000).toFixed(2)} s/it`);
  },
});

const curve: { iteration: number; dice: number; minutes: number }[] = [];
let trainMs = 0;
let reached = false;
// With a split, the weights of the best validation so far (what is saved and tested).
let best: { dice: number; iteration: number; bytes: Uint8Array } | null = null;
if (initPath && split) {
  const dice = meanScores(await evaluateScans(backend, net, val, { diceOnly: true }), 'dice').overall;
  best = { dice, iteration: 0, bytes: await saveVNet(backend, net, { iteration: 0 }) };
  console.log(`validation of the initial weights: mean foreground Dice ${dice.toFixed(4)}`);
}
while (trainer.iteration < maxIterations && !deadline.signal.aborted) {
  const r = await trainer.run(Math.min(evalEvery, maxIterations - trainer.iteration), maxIterations);
  trainMs += r.msPerIteration * r.iterations;
  const t0 = performance.now();
  const scores = await evaluateScans(backend, net, val, { diceOnly: true });
  const dice = meanScores(scores, 'dice').overall;
  const minutes = (performance.now() - started) / 60_000;
  curve.push({ iteration: trainer.iteration, dice, minutes });
  if (split && (best === null || dice > best.dice))
    best = { dice, iteration: trainer.iteration, bytes: await saveVNet(backend, net, { iteration: trainer.iteration }) };
  console.log(
    `validation at ${trainer.iteration}: mean foreground Dice ${dice.toFixed(4)} (eval ${((performance.now() - t0) / 1000).toFixed(0)} s, ${minutes.toFixed(1)} min so far)`,
  );
  if (dice >= target) {
    reached = true;
    break;
  }
}
clearTimeout(timer);
trainer.dispose();
if (best !== null) {
  loadVNet(backend, net, best.bytes);
  console.log(`best validation: ${best.dice.toFixed(4)} at iteration ${best.iteration} (these weights are saved and tested)`);
}
if (savePath) {
  const command = `npm run experiment:supervised -- ${process.argv.slice(2).join(' ')}`;
  await writeFile(
    savePath,
    await saveVNet(backend, net, {
      iteration: best?.iteration ?? trainer.iteration,
      metadata: { dataset: 'MSD Task04 hippocampus', command },
    }),
  );
  console.log(`wrote ${savePath}`);
}
const iterations = trainer.iteration;
const secondsPerIteration = trainMs / iterations / 1000;

const final = await evaluateScans(backend, net, test, {
  onScan: (s, i, of) =>
    console.log(
      `${i + 1}/${of} ${s.name}: Dice ${s.dice.map((d) => d.toFixed(3)).join(' / ')}  HD95 ${s.hd95.map((h) => h.toFixed(2)).join(' / ')} mm`,
    ),
});
const dice = meanScores(final, 'dice');
const hd95 = meanScores(final, 'hd95');
const totalMinutes = (performance.now() - started) / 60_000;
console.log(
  `mean Dice anterior ${dice.perClass[0].toFixed(4)} posterior ${dice.perClass[1].toFixed(4)} foreground ${dice.overall.toFixed(4)}`,
);
console.log(
  `mean HD95 anterior ${hd95.perClass[0].toFixed(2)} posterior ${hd95.perClass[1].toFixed(2)} mm (${hd95.nonFinite} empty predictions left out)`,
);
console.log(
  `${iterations} iterations, ${secondsPerIteration.toFixed(2)} s/iteration, ${totalMinutes.toFixed(1)} min in all; target ${reached ? 'reached' : 'NOT reached'}`,
);

if (write) {
  const command = `npm run experiment:supervised -- ${process.argv.slice(2).join(' ')}`.trim();
  const section = [
    START,
    '## Supervised V-Net baseline on hippocampus (stage 1, labeled scans only)',
    '',
    `Command: \`${command}\` (${new Date().toISOString().slice(0, 10)}; backend ${info.name}: ${info.description}).`,
    '',
    `Protocol: ${train.length} labeled training scans (${train[0].name} .. ${train.at(-1)?.name}), ${val.length} validation scans ` +
      `(${val[0].name} .. ${val.at(-1)?.name})${split ? `, ${test.length} test scans no choice touched (${splitPath})` : ''} ` +
      `from the Decathlon hippocampus set; V-Net nFilters ${nFilters}, batch norm, ` +
      `dropout; random ${patch[2]}x${patch[1]}x${patch[0]} (X x Y x Z) patches, left-right flips${augmentName === 'nnunet' ? ', nnU-Net rotation / scaling / intensity augmentation' : ''}, batch ${batchSize}; ` +
      '(CE + Dice) / 2; SGD lr 0.01, momentum 0.9, weight decay 1e-4. Validation: whole scan padded to multiples of 16, ' +
      `argmax; stop at mean foreground Dice >= ${target} (checked every ${evalEvery} iterations) or after ` +
      `${maxIterations} iterations / ${maxMinutes} minutes.`,
    '',
    `Result: ${reached ? `target reached after ${iterations} iterations` : `target NOT reached: stopped after ${iterations} iterations (budget)`}, ` +
      `${secondsPerIteration.toFixed(2)} s/iteration, ${totalMinutes.toFixed(1)} minutes including evaluation.`,
    '',
    '| iteration | minutes | mean foreground Dice (validation) |',
    '| --: | --: | --: |',
    ...curve.map((c) => `| ${c.iteration} | ${c.minutes.toFixed(1)} | ${c.dice.toFixed(4)} |`),
    '',
    `| class | Dice (mean of ${test.length} ${split ? 'test' : 'validation'} scans) | HD95 mm (mean) |`,
    '| --- | --: | --: |',
    `| anterior (1) | ${dice.perClass[0].toFixed(4)} | ${hd95.perClass[0].toFixed(2)} |`,
    `| posterior (2) | ${dice.perClass[1].toFixed(4)} | ${hd95.perClass[1].toFixed(2)} |`,
    `| mean foreground | ${dice.overall.toFixed(4)} | ${hd95.overall.toFixed(2)} |`,
    '',
    hd95.nonFinite > 0 ? `HD95 leaves out ${hd95.nonFinite} class predictions that were empty (HD95 = inf).\n` : '',
    END,
  ]
    .filter((line, i, all) => !(line === '' && all[i - 1] === ''))
    .join('\n');
  const old = existsSync(resultsPath) ? await readFile(resultsPath, 'utf8') : '# Results\n';
  const next = old.includes(START)
    ? old.slice(0, old.indexOf(START)) + section + old.slice(old.indexOf(END) + END.length)
    : `${old.trimEnd()}\n\n${section}\n`;
  await writeFile(resultsPath, next);
  console.log(`wrote ${resultsPath}`);
}
net.dispose();
backend.destroy();
