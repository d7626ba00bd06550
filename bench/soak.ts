// `npm run bench:soak` (node --expose-gc --import tsx bench/soak.ts [--iterations 2000] [--every 100] [--backends webgpu,wasm]):
// long SDS runs with tiny volumes (test/support/tiny-sds-run.ts: 16^3 patches, V-Net nFilters 2) that
// sample process RSS, the JS heap, ArrayBuffer memory and (WebGPU) the buffer pool's live / pooled
// bytes and buffers created every N iterations. Flat curves mean nothing leaks per iteration.
// Writes bench/results/soak.json (the curves) and prints a table; the figures go in docs/reliability.md.
import { register } from 'node:module';

register('./support/wgsl-loader.mjs', import.meta.url);

const { writeReport } = await import('./support/report.js');
const { createBackend } = await import('../src/backend/create.js');
const { trainSds } = await import('../src/train/sds/trainer.js');
const { tinyConfig, tinyScans } = await import('../test/support/tiny-sds-run.js');
type Backend = import('../src/backend/backend.js').Backend;

const arg = (name: string, fallback: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
};
const iterations = Number(arg('iterations', '2000'));
const every = Number(arg('every', '100'));
const backends = arg('backends', 'webgpu,wasm').split(',') as ('webgpu' | 'wasm')[];
const MB = 1 / (1 << 20);

interface Sample {
  iteration: number;
  seconds: number;
  rssMB: number;
  heapMB: number;
  arrayBuffersMB: number;
  poolLiveMB?: number;
  poolPooledMB?: number;
  buffersCreated?: number;
}

const scans = await tinyScans();
const curves: Record<string, Sample[]> = {};
const rows = [];
for (const name of backends) {
  const backend: Backend = await createBackend(name, name === 'wasm' ? { threads: 1 } : {});
  const stats = (backend as unknown as { stats?: () => { liveBytes: number; pooledBytes: number; buffersCreated: number } }).stats;
  const samples: Sample[] = [];
  const start = performance.now();
  const sample = (iteration: number): void => {
    // with --expose-gc (npm run bench:soak) the heap is collected first, so the curve shows what is retained
    (globalThis as { gc?: () => void }).gc?.();
    const m = process.memoryUsage();
    const pool = stats?.call(backend);
    samples.push({
      iteration,
      seconds: Number(((performance.now() - start) / 1000).toFixed(1)),
      rssMB: Number((m.rss * MB).toFixed(1)),
      heapMB: Number((m.heapUsed * MB).toFixed(1)),
      arrayBuffersMB: Number((m.arrayBuffers * MB).toFixed(1)),
      ...(pool
        ? {
            poolLiveMB: Number((pool.liveBytes * MB).toFixed(2)),
            poolPooledMB: Number((pool.pooledBytes * MB).toFixed(2)),
            buffersCreated: pool.buffersCreated,
          }
        : {}),
    });
    const s = samples[samples.length - 1];
    console.log(`${name} ${JSON.stringify(s)}`);
  };
  sample(0);
  const config = { ...tinyConfig(iterations, 1_000_000), validateEvery: 1_000_000 };
  await trainSds({
    backend,
    ...scans,
    config,
    onEvent: (e) => {
      if (e.type === 'iteration' && e.iteration % every === 0) sample(e.iteration);
    },
  });
  backend.destroy();
  curves[name] = samples;
  const seconds = (performance.now() - start) / 1000;
  // growth between the first sample after warm-up (iteration `every`) and the last
  const first = samples[1] ?? samples[0];
  const last = samples[samples.length - 1];
  rows.push({
    case: `SDS ${iterations} iterations, 16^3, nFilters 2`,
    backend: name,
    peer: null,
    value: seconds,
    unit: 's' as const,
    peerValue: null,
    ratio: null,
    note: `RSS ${first.rssMB} -> ${last.rssMB} MB; heap ${first.heapMB} -> ${last.heapMB} MB${
      last.poolLiveMB !== undefined
        ? `; pool live ${first.poolLiveMB} -> ${last.poolLiveMB} MB, pooled ${first.poolPooledMB} -> ${last.poolPooledMB} MB, buffers created ${first.buffersCreated} -> ${last.buffersCreated}`
        : ''
    }`,
  });
  console.log(rows[rows.length - 1].note);
}
writeReport('soak', rows, { iterations, every, curves });
