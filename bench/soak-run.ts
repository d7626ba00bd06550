// The soak bench itself: bench/run.ts soak runs it under tsx (`npm run bench:soak`), and
// scripts/pack-gpu.sh soak bundles it with esbuild for a GPU machine without Node tooling.
// Long SDS runs with tiny volumes (test/support/tiny-sds-run.ts: 16^3 patches, V-Net nFilters 2)
// that sample process RSS, the JS heap, ArrayBuffer memory and (WebGPU) the buffer pool's live /
// pooled bytes and buffers created every N iterations. Flat curves mean nothing leaks per iteration.
// Options: --iterations 2000  --every 100  --backends webgpu,wasm  --data <folder with images/ labels/>
//          --name <results file name, default soak-<backends>>  --max-seconds <stop each backend early>
// Writes bench/results/<name>.json (the curves, least-squares slopes per 1,000 iterations, and the
// memory once the run's result is released).
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createBackend } from '../src/api/create-backend.js';
import { createWebGpuBackend } from '../src/backend/webgpu/index.js';
import type { Backend } from '../src/backend/backend.js';
import { trainSds } from '../src/train/sds/trainer.js';
import { tinyConfig, tinyScans } from '../test/support/tiny-sds-run.js';
import { writeReport, type BenchRow } from './support/report.js';

interface Sample {
  iteration: number;
  seconds: number;
  rssMB: number;
  heapMB: number;
  /** V8 heap reserved (used + free pages): with heapMB and arrayBuffersMB it splits RSS into JS and native. */
  heapTotalMB: number;
  arrayBuffersMB: number;
  poolLiveMB?: number;
  poolPooledMB?: number;
  buffersCreated?: number;
  /** WebGPU work so far (cumulative): per-iteration counts explain the time a GPU takes. */
  dispatches?: number;
  submits?: number;
  readBacks?: number;
}
type PoolStats = {
  liveBytes: number;
  pooledBytes: number;
  buffersCreated: number;
  dispatches?: number;
  submits?: number;
  readBacks?: number;
};

const MB = 1 / (1 << 20);
const round = (v: number, digits: number): number => Number(v.toFixed(digits));

/** The GC, so each sample shows retained memory, not garbage not collected yet. Without
 * --expose-gc (a bundle run by a bare node) V8's flag is set at run time and gc fetched from a fresh context. */
function collector(): () => void {
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (exposed) return exposed;
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

/** Least-squares slope of `key` against the iteration, per 1,000 iterations. */
function slopePer1000(samples: Sample[], key: 'rssMB' | 'heapMB' | 'arrayBuffersMB'): number {
  const n = samples.length;
  if (n < 2) return 0;
  const mx = samples.reduce((s, p) => s + p.iteration, 0) / n;
  const my = samples.reduce((s, p) => s + p[key], 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (const p of samples) {
    sxy += (p.iteration - mx) * (p[key] - my);
    sxx += (p.iteration - mx) ** 2;
  }
  return sxx === 0 ? 0 : round((sxy / sxx) * 1000, 2);
}

function option(argv: string[], name: string, fallback: string): string {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < argv.length ? argv[i + 1] : fallback;
}

export async function main(argv: string[]): Promise<void> {
  const iterations = Number(option(argv, 'iterations', '2000'));
  const every = Number(option(argv, 'every', '100'));
  const backends = option(argv, 'backends', 'webgpu,wasm').split(',') as ('webgpu' | 'wasm')[];
  const name = option(argv, 'name', `soak-${backends.join('-')}`);
  const maxSeconds = Number(option(argv, 'max-seconds', 'Infinity'));
  const data = option(argv, 'data', '');
  const gc = collector();

  const scans = await tinyScans(data || undefined);
  const curves: Record<string, Sample[]> = {};
  const slopes: Record<string, Record<string, number>> = {};
  const devices: Record<string, string> = {};
  const released: Record<string, Sample & { historyEvents: number }> = {};
  const rows: BenchRow[] = [];
  for (const backendName of backends) {
    // BENCH_SUBGROUPS=0: WebGPU's workgroup sums by the tree everywhere, to time what subgroups save.
    const backend: Backend =
      backendName === 'webgpu' && process.env.BENCH_SUBGROUPS === '0'
        ? await createWebGpuBackend({ subgroups: false })
        : await createBackend(backendName, backendName === 'wasm' ? { threads: 1 } : {});
    const stats = (backend as unknown as { stats?: () => PoolStats }).stats;
    // which adapter ran it (SwiftShader or a real GPU) goes in the JSON beside the machine's CPU
    devices[backendName] = `${backend.info().description} (subgroup sums: ${backend.info().details.subgroups ?? 'none'})`;
    console.log(`${backendName}: ${devices[backendName]}`);
    const samples: Sample[] = [];
    const start = performance.now();
    const measure = (iteration: number): Sample => {
      gc();
      const m = process.memoryUsage();
      const pool = stats?.call(backend);
      const s: Sample = {
        iteration,
        seconds: round((performance.now() - start) / 1000, 1),
        rssMB: round(m.rss * MB, 1),
        heapMB: round(m.heapUsed * MB, 1),
        heapTotalMB: round(m.heapTotal * MB, 1),
        arrayBuffersMB: round(m.arrayBuffers * MB, 1),
        ...(pool
          ? {
              poolLiveMB: round(pool.liveBytes * MB, 2),
              poolPooledMB: round(pool.pooledBytes * MB, 2),
              buffersCreated: pool.buffersCreated,
              dispatches: pool.dispatches,
              submits: pool.submits,
              readBacks: pool.readBacks,
            }
          : {}),
      };
      return s;
    };
    const sample = (iteration: number): void => {
      samples.push(measure(iteration));
      console.log(`${backendName} ${JSON.stringify(samples[samples.length - 1])}`);
    };
    sample(0);
    // --max-seconds stops the run at the next iteration boundary, so a time-boxed GPU lease still
    // ends with a written curve rather than a killed process.
    const abort = new AbortController();
    let last = 0;
    const config = { ...tinyConfig(iterations, 1_000_000), validateEvery: 1_000_000 };
    // trainSds keeps one event per iteration (its result's `history`), so the heap grows by design
    // while it runs; the run is wrapped so its result is unreachable afterwards, and a last sample
    // once it is released shows what stays behind (see `released` in the JSON).
    const train = async (): Promise<number> => {
      const result = await trainSds({
        backend,
        ...scans,
        config,
        signal: abort.signal,
        onEvent: (e) => {
          if (e.type !== 'iteration') return;
          last = e.iteration;
          if (e.iteration % every === 0) sample(e.iteration);
          if ((performance.now() - start) / 1000 > maxSeconds) abort.abort();
        },
      });
      // a run stopped by --max-seconds ends off the sampling grid: sample its end too
      if (samples[samples.length - 1].iteration !== last) sample(last);
      return result.history.length;
    };
    const historyEvents = await train();
    released[backendName] = { ...measure(last), historyEvents };
    console.log(`${backendName} after the run's result is released ${JSON.stringify(released[backendName])}`);
    backend.destroy();
    curves[backendName] = samples;
    const seconds = (performance.now() - start) / 1000;
    // growth between the first sample after warm-up (iteration `every`) and the last; the slopes
    // are fitted over the same samples
    const warm = samples.filter((s) => s.iteration >= every);
    const first = warm[0] ?? samples[0];
    const end = samples[samples.length - 1];
    slopes[backendName] = {
      rssMBPer1000: slopePer1000(warm, 'rssMB'),
      heapMBPer1000: slopePer1000(warm, 'heapMB'),
      arrayBuffersMBPer1000: slopePer1000(warm, 'arrayBuffersMB'),
    };
    const s = slopes[backendName];
    rows.push({
      case: `SDS ${last} iterations${last < iterations ? ` (of ${iterations}, stopped at --max-seconds)` : ''}, 16^3, nFilters 2`,
      backend: backendName,
      peer: null,
      value: seconds,
      unit: 's',
      peerValue: null,
      ratio: null,
      note:
        `RSS ${first.rssMB} -> ${end.rssMB} MB; heap ${first.heapMB} -> ${end.heapMB} MB; ` +
        `per 1,000 iterations: RSS ${s.rssMBPer1000}, heap ${s.heapMBPer1000}, ArrayBuffers ${s.arrayBuffersMBPer1000} MB` +
        `; heap ${released[backendName].heapMB} MB once the result (history of ${historyEvents} events) is released` +
        (end.poolLiveMB !== undefined
          ? `; pool live ${first.poolLiveMB} -> ${end.poolLiveMB} MB, pooled ${first.poolPooledMB} -> ${end.poolPooledMB} MB, buffers created ${first.buffersCreated} -> ${end.buffersCreated}`
          : ''),
    });
    console.log(rows[rows.length - 1].note);
  }
  writeReport(name, rows, { iterations, every, devices, slopes, released, curves });
}
