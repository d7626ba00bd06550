// The Node side of the viewer's e2e test: the page's own plan (examples/viewer/plan.ts) for a given URL
// query, run through createSegmenter on the wasm backend in Node. Run as a child process so Node can
// enable relaxed SIMD like Chromium does (same kernels, same rounding):
//   node --experimental-wasm-relaxed-simd --import tsx test/e2e/viewer-reference.ts '?tiny' hippocampus_389 2
// prints one JSON line: { dice: number[], meanDice, labels: base64 uint8 voxels, info }.
import { register } from 'node:module';
import { readFile } from 'node:fs/promises';

// The SDK's WebGPU modules import .wgsl sources; plain Node needs the loader the benches use.
register('../../bench/support/wgsl-loader.mjs', import.meta.url);

const [query, scanId, threads] = process.argv.slice(2);
const { createSegmenter } = await import('../../src/api/create-segmenter.js');
const { readSettings } = await import('../../examples/viewer/settings.js');
const { finetuneConfig, segmenterOptions } = await import('../../examples/viewer/plan.js');
const { readNifti } = await import('../../src/volume/nifti-read.js');
const { segmentationMetrics } = await import('../../src/volume/metrics.js');

const data = new URL('../../examples/data/', import.meta.url);
const scan = async (id: string, kind: 'images' | 'labels') => ({
  name: `${id}.nii.gz`,
  bytes: new Uint8Array(await readFile(new URL(`${kind}/${id}.nii.gz`, data))),
});
const settings = readSettings(query);
const split = JSON.parse(await readFile(new URL('split.json', data), 'utf8')) as { train: string[] };
// Without ?tiny / ?filters the page loads the pretrained V-Net from the server: the same file here.
const model =
  settings.nFilters === null
    ? new Uint8Array(await readFile(new URL('../../examples/models/vnet16-hippocampus.safetensors', import.meta.url)))
    : undefined;
const segmenter = await createSegmenter({ ...segmenterOptions(settings, model), backend: 'wasm', threads: Number(threads) });
const labeled = await Promise.all(
  split.train.slice(0, settings.labeled).map(async (id) => ({ image: await scan(id, 'images'), label: await scan(id, 'labels') })),
);
const image = await scan(scanId, 'images');
// No ?iterations on the pretrained model: the recipe's own count, so there is work to do.
if (settings.iterations === undefined || settings.stage1Iterations + settings.iterations > 0) {
  await segmenter.finetune({ labeled, unlabeled: [image], config: finetuneConfig(settings) });
}
const label = await segmenter.segment(image);
const truth = readNifti((await scan(scanId, 'labels')).bytes, `${scanId}.nii.gz`);
const dice = segmentationMetrics(label, truth)
  .filter((m) => m.label > 0)
  .map((m) => m.dice);
const info = segmenter.info();
await segmenter.dispose();
process.stdout.write(
  JSON.stringify({
    dice,
    meanDice: dice.reduce((a, b) => a + b, 0) / dice.length,
    labels: Buffer.from(label.data).toString('base64'),
    info: { description: info.description, relaxedSimd: info.relaxedSimd, threads: info.threads },
  }) + '\n',
);
