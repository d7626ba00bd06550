/**
 * `sds bench`: a short timing on this machine — the V-Net training step (supervised, batch 2) and one
 * inference window, on a synthetic scan (a bright ellipsoid labeled 1), through the public API. The
 * first iteration and window are warm-up (pipeline compilation, buffer allocation) and not counted.
 */
import { createSegmenter } from '../api/create-segmenter.js';
import { DEFAULT_PATCH } from '../api/create-segmenter.js';
import { diagonalAffine, makeVolume, type Volume } from '../volume/volume.js';
import { EXIT } from './exit-codes.js';
import { backendOf, integerOf, noPositionals, output, parse } from './common.js';
import { progressBar } from './progress.js';

export const BENCH_HELP = `sds bench [--filters F (16)] [--iterations N (3)] [--backend B] [--threads T] [--json]
  times the training step (batch 2) and one inference window at ${DEFAULT_PATCH.join('x')}`;

function syntheticScan(): { image: Volume; label: Volume } {
  const shape: [number, number, number] = [DEFAULT_PATCH[0], DEFAULT_PATCH[1], DEFAULT_PATCH[2]];
  const [X, Y, Z] = shape;
  const image = new Float32Array(X * Y * Z);
  const label = new Uint8Array(X * Y * Z);
  let seed = 1;
  for (let z = 0, i = 0; z < Z; z++)
    for (let y = 0; y < Y; y++)
      for (let x = 0; x < X; x++, i++) {
        const inside = ((x - X / 2) / 8) ** 2 + ((y - Y / 2) / 12) ** 2 + ((z - Z / 2) / 8) ** 2 < 1;
        seed = (seed * 1103515245 + 12345) >>> 0;
        image[i] = (inside ? 100 : 20) + (seed / 2 ** 32) * 10;
        label[i] = inside ? 1 : 0;
      }
  const affine = diagonalAffine([1, 1, 1]);
  return { image: makeVolume(image, shape, affine), label: makeVolume(label, shape, affine) };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

export async function benchCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { filters: { type: 'string' }, iterations: { type: 'string' } }, 'bench');
  if (values.help) {
    process.stdout.write(`${BENCH_HELP}\n`);
    return EXIT.ok;
  }
  noPositionals(positionals, 'bench');
  const out = output(values.json === true);
  const iterations = integerOf('--iterations', values.iterations, 1) ?? 3;
  const nFilters = integerOf('--filters', values.filters, 1) ?? 16;
  const segmenter = await createSegmenter({
    backend: backendOf(values.backend),
    threads: integerOf('--threads', values.threads, 1),
    network: { nFilters, nClasses: 2 },
  });
  try {
    const info = segmenter.info();
    out.note(`${info.description}; V-Net nFilters ${nFilters}, patch ${info.patch.join('x')}`);
    const scan = syntheticScan();
    const steps: number[] = [];
    const bar = progressBar('bench', !out.json);
    await segmenter.finetune({
      labeled: [scan, scan],
      unlabeled: [],
      config: { mode: 'supervised', iterations: iterations + 1, validateEvery: 10_000, checkpointEvery: 10_000 },
      onProgress: (e) => {
        if (e.type !== 'iteration') return;
        if (e.iteration > 1) steps.push(e.ms);
        bar.update(e.fraction * 0.8, `training step ${e.iteration}/${e.of}`);
      },
    });
    const windows: number[] = [];
    for (let i = 0; i < 3; i++) {
      const started = performance.now();
      await segmenter.segment(scan.image, { largestComponent: false });
      if (i > 0) windows.push(performance.now() - started);
      bar.update(0.8 + 0.2 * ((i + 1) / 3), `inference ${i + 1}/3`);
    }
    bar.stop();
    const step = median(steps);
    const window = median(windows);
    out.result(
      {
        command: 'bench',
        backend: info.backend,
        description: info.description,
        nFilters,
        patch: info.patch,
        batch: 2,
        trainingStepMs: step,
        inferenceWindowMs: window,
      },
      `${info.description}, V-Net nFilters ${nFilters}, patch ${info.patch.join('x')}:\n` +
        `  training step (batch 2)  ${step.toFixed(0)} ms (median of ${steps.length})\n` +
        `  inference, one window    ${window.toFixed(0)} ms (median of ${windows.length})`,
    );
    return EXIT.ok;
  } finally {
    await segmenter.dispose();
  }
}
