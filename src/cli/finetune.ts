/** `sds finetune`: SDS fine-tuning on folders of scans, the deployed network written as safetensors. */
import { createSegmenter } from '../api/create-segmenter.js';
import { resolveLabeled, resolveScan } from '../api/inputs.js';
import type { FinetuneConfig } from '../api/types.js';
import { SDS_MODES, type SdsMode } from '../train/sds/config.js';
import { labeledScans, unlabeledScans } from './dataset.js';
import { EXIT, UsageError } from './exit-codes.js';
import { backendOf, integerOf, noPositionals, output, parse, patchOf, required, seconds } from './common.js';
import { checkOutputPath, writeOutput } from './output-path.js';
import { progressBar } from './progress.js';

export const FINETUNE_HELP = `sds finetune --labeled DIR --unlabeled DIR --out MODEL.safetensors [options]
  --labeled DIR            images/ + labels/ (or imagesTr/ + labelsTr/, or .h5 files with image and label)
  --unlabeled DIR          scans in DIR, or in its images/ (imagesTr/, imagesTs/)
  --val DIR                validation scans (same layout as --labeled); the best validated teacher is deployed
  --init MODEL             start from these weights (safetensors or ONNX): stage 1 is skipped
  --out MODEL              where the fine-tuned network goes (safetensors)
  --iterations N           stage-2 iterations (default: the recipe's 60 with --init, else 600)
  --stage1-iterations N    supervised pre-training without --init (default 200)
  --mode M                 ${SDS_MODES.join(' | ')} (default: with --init the SDK's adaptation
                           recipe, SDS plus batch-norm re-estimation (docs/results.md); without, sds)
  --filters F              V-Net width of a fresh network (default 8); classes = largest label + 1
  --patch X,Y,Z            training patch / inference window, multiples of 16 (default: the model's, else 32,48,32)
  --batch N                labeled (and unlabeled) patches per iteration, even (default 2)
  --seed S                 default 1337
  --backend B --threads T --json`;

export async function finetuneCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(
    args,
    {
      labeled: { type: 'string' },
      unlabeled: { type: 'string' },
      val: { type: 'string' },
      init: { type: 'string' },
      out: { type: 'string' },
      iterations: { type: 'string' },
      'stage1-iterations': { type: 'string' },
      mode: { type: 'string' },
      filters: { type: 'string' },
      seed: { type: 'string' },
      patch: { type: 'string' },
      batch: { type: 'string' },
    },
    'finetune',
  );
  if (values.help) {
    process.stdout.write(`${FINETUNE_HELP}\n`);
    return EXIT.ok;
  }
  noPositionals(positionals, 'finetune');
  const out = output(values.json === true);
  const labeledDir = required('--labeled', values.labeled, 'finetune');
  const unlabeledDir = required('--unlabeled', values.unlabeled, 'finetune');
  const outPath = required('--out', values.out, 'finetune');
  const mode = values.mode;
  if (mode !== undefined && !SDS_MODES.includes(mode as SdsMode))
    throw new UsageError(`--mode: expected one of ${SDS_MODES.join(', ')}, found "${mode}"`);
  const iterations = integerOf('--iterations', values.iterations, 0);
  const stage1Iterations = integerOf('--stage1-iterations', values['stage1-iterations'], 0);
  const filters = integerOf('--filters', values.filters, 1);
  const seed = integerOf('--seed', values.seed, 0);
  const threads = integerOf('--threads', values.threads, 1);
  const backend = backendOf(values.backend);
  const patch = patchOf(values.patch);
  const batch = integerOf('--batch', values.batch, 2);
  if (batch !== undefined && batch % 2 !== 0) throw new UsageError(`--batch: expected an even number (a and b halves), found ${batch}`);
  await checkOutputPath(outPath, '--out');

  // Read every scan first: a bad file fails before any training time is spent.
  const labeled = [];
  for (const [i, s] of (await labeledScans(labeledDir, '--labeled')).entries())
    labeled.push(await resolveLabeled(s, `--labeled scan ${i} (${String(s.image)})`));
  const unlabeled = [];
  for (const path of await unlabeledScans(unlabeledDir, '--unlabeled')) unlabeled.push(await resolveScan(path, `--unlabeled ${path}`));
  const validation = [];
  if (values.val !== undefined)
    for (const s of await labeledScans(values.val, '--val')) validation.push(await resolveLabeled(s, `--val ${String(s.image)}`));
  let maxLabel = 1;
  for (const s of labeled) for (const v of s.label.data) if (v > maxLabel) maxLabel = v;

  const segmenter = await createSegmenter({
    backend,
    threads,
    model: values.init,
    ...(patch !== undefined ? { patch } : {}),
    network: { nClasses: maxLabel + 1, nFilters: filters ?? 8 },
  });
  const info = segmenter.info();
  out.note(`${info.description} (${info.reasons.join('; ')})`);
  out.note(
    `${labeled.length} labeled, ${unlabeled.length} unlabeled, ${validation.length} validation scans; V-Net nFilters ${info.network.nFilters}, ${info.network.nClasses} classes${values.init ? `, from ${values.init}` : ''}`,
  );
  const config: FinetuneConfig = {
    // No mode: the API's choice (the adaptation recipe on pretrained weights, else SDS).
    ...(mode !== undefined ? { mode: mode as SdsMode } : {}),
    ...(iterations !== undefined ? { iterations } : {}),
    ...(stage1Iterations !== undefined ? { stage1Iterations } : {}),
    ...(seed !== undefined ? { seed } : {}),
    ...(batch !== undefined ? { labeledBatch: batch, unlabeledBatch: batch } : {}),
  };
  const controller = new AbortController();
  const onSigint = (): void => {
    if (controller.signal.aborted) process.exit(EXIT.interrupted);
    out.note('\ninterrupted: stopping after this iteration and writing the weights reached so far (Ctrl-C again to quit now)');
    controller.abort();
  };
  process.on('SIGINT', onSigint);
  const bar = progressBar('finetune', !out.json);
  const started = performance.now();
  try {
    const result = await segmenter.finetune({
      labeled,
      unlabeled,
      validation,
      config,
      signal: controller.signal,
      onProgress: (e) => {
        if (e.type === 'iteration')
          bar.update(
            e.fraction,
            `${e.phase} ${e.iteration}/${e.of} loss ${e.losses.map((l) => l.toFixed(3)).join(' ')} eta ${seconds(e.etaMs)}` +
              (e.skipped !== undefined ? ` (non-finite: step of ${e.skipped.map((k) => `S${k + 1}`).join(', ')} skipped)` : ''),
          );
      },
    });
    bar.stop();
    await writeOutput(outPath, await segmenter.save(), '--out');
    const ms = performance.now() - started;
    out.result(
      { command: 'finetune', out: outPath, ...result, seconds: ms / 1000, backend: info.backend },
      `${result.aborted ? 'stopped early' : 'done'}: stage 1 ${result.stage1Iterations}, stage 2 ${result.iterations} iterations in ${seconds(ms)} ` +
        `(${(result.msPerIteration / 1000).toFixed(2)} s/iteration); deployed ${result.deployed}` +
        `${Object.keys(result.bestDice).length > 0 ? `, best validation Dice ${JSON.stringify(result.bestDice)}` : ''}; wrote ${outPath}`,
    );
    return result.aborted ? EXIT.interrupted : EXIT.ok;
  } finally {
    bar.stop();
    process.off('SIGINT', onSigint);
    await segmenter.dispose();
  }
}
