// `npm run bench:fuzz` (tsx bench/fuzz.ts [--count N] [--seed S] [--only name,name]): every reader
// (NIfTI, HDF5, DICOM, safetensors, loadVNet, ONNX import when src/onnx exists) gets N mutated inputs
// (default 10,000) derived from the real fixtures. Each input must load or throw an SdsError, within
// a time limit, without holding more memory than its cap. Inputs run in a worker thread that the
// main thread watches: a hung input is killed, counted as a timeout, and the run resumes after it.
// Prints counts per reader and writes bench/results/fuzz.json; exits 1 when any input misbehaved.
import { register } from 'node:module';
import { isMainThread, parentPort, workerData, Worker } from 'node:worker_threads';

register('./support/wgsl-loader.mjs', import.meta.url);

const TIME_LIMIT_MS = 5_000;
/** the watchdog's limit: generous, since the worker may be inside a GC or h5wasm's first load */
const HANG_MS = 30_000;

interface Job {
  target: string;
  seed: number;
  start: number;
  end: number;
}

if (!isMainThread) {
  const { allTargets } = await import('./support/fuzz-targets.js');
  const { runOne } = await import('./support/fuzz-run.js');
  const job = workerData as Job;
  const target = (await allTargets()).find((t) => t.name === job.target)!;
  for (let i = job.start; i < job.end; i++) {
    parentPort!.postMessage({ begin: i });
    parentPort!.postMessage({ result: await runOne(target, job.seed, i, TIME_LIMIT_MS) });
  }
  parentPort!.postMessage({ done: true });
} else {
  await main();
}

async function main(): Promise<void> {
  const { allTargets } = await import('./support/fuzz-targets.js');
  const { writeReport } = await import('./support/report.js');
  type FuzzResult = import('./support/fuzz-run.js').FuzzResult;
  const arg = (name: string): string | undefined => {
    const i = process.argv.indexOf(`--${name}`);
    return i >= 0 ? process.argv[i + 1] : undefined;
  };
  const count = Number(arg('count') ?? 10_000);
  const seed = Number(arg('seed') ?? 20261127);
  const only = arg('only')?.split(',');
  const names = (await allTargets()).map((t) => t.name).filter((n) => !only || only.includes(n));
  if (!names.includes('onnx')) console.log('onnx: src/onnx importVNetOnnx (or an .onnx seed file) not found; not fuzzed');

  /** Runs [start, end) in a worker; on a hang, kills it, records a timeout and goes on after it. */
  const runRange = (target: string, start: number, end: number, out: FuzzResult[]): Promise<void> =>
    new Promise((resolve, reject) => {
      const worker = new Worker(new URL('./support/fuzz-worker.mjs', import.meta.url), {
        workerData: { target, seed, start, end } satisfies Job,
      });
      let current = start;
      let begun = false;
      let timer: NodeJS.Timeout | undefined;
      const arm = (): void => {
        clearTimeout(timer);
        timer = setTimeout(() => {
          void worker.terminate();
          out.push({ index: current, outcome: 'timeout', mutation: '?', ms: HANG_MS, allocated: 0, cap: 0, overAllocation: false });
          if (current + 1 < end) runRange(target, current + 1, end, out).then(resolve, reject);
          else resolve();
        }, HANG_MS);
      };
      worker.on('message', (m: { begin?: number; result?: FuzzResult; done?: boolean }) => {
        if (m.begin !== undefined) {
          begun = true;
          current = m.begin;
          arm();
        } else if (m.result) {
          clearTimeout(timer);
          out.push(m.result);
        } else if (m.done) {
          clearTimeout(timer);
          void worker.terminate();
          resolve();
        }
      });
      worker.on('error', (e) => {
        // an exception that escaped the harness itself (e.g. from a callback the reader scheduled)
        clearTimeout(timer);
        // before the first input the harness itself is broken: stop rather than count every input
        if (!begun) return reject(e);
        out.push({
          index: current,
          outcome: 'other',
          code: 'uncaught',
          message: String(e),
          mutation: '?',
          ms: 0,
          allocated: 0,
          cap: 0,
          overAllocation: false,
        });
        if (current + 1 < end) runRange(target, current + 1, end, out).then(resolve, reject);
        else resolve();
      });
    });

  const summary: Record<string, Record<string, number>> = {};
  const failures: Record<string, FuzzResult[]> = {};
  const rows = [];
  let bad = 0;
  for (const name of names) {
    const t0 = performance.now();
    const results: FuzzResult[] = [];
    await runRange(name, 0, count, results);
    const seconds = (performance.now() - t0) / 1000;
    const tally = { inputs: results.length, loaded: 0, typed: 0, other: 0, timeout: 0, overAllocation: 0 };
    for (const r of results) {
      tally[r.outcome]++;
      if (r.overAllocation) tally.overAllocation++;
    }
    const codes: Record<string, number> = {};
    for (const r of results) if (r.code) codes[r.code] = (codes[r.code] ?? 0) + 1;
    summary[name] = { ...tally, seconds: Number(seconds.toFixed(1)), maxMs: Number(Math.max(...results.map((r) => r.ms)).toFixed(1)) };
    failures[name] = results.filter((r) => r.outcome === 'other' || r.outcome === 'timeout' || r.overAllocation).slice(0, 20);
    bad += tally.other + tally.timeout + tally.overAllocation;
    console.log(`${name}: ${JSON.stringify(summary[name])} codes ${JSON.stringify(codes)}`);
    for (const f of failures[name].slice(0, 5))
      console.log(`  ! #${f.index} ${f.outcome} ${f.mutation} ${f.code ?? ''} ${f.message ?? ''} alloc ${f.allocated} cap ${f.cap}`);
    rows.push({
      case: `${name} ${count} inputs`,
      backend: 'cpu',
      peer: null,
      value: seconds,
      unit: 's' as const,
      peerValue: null,
      ratio: null,
      note: JSON.stringify(tally),
    });
  }
  writeReport('fuzz', rows, { seed, count, timeLimitMs: TIME_LIMIT_MS, summary, failures });
  process.exit(bad > 0 ? 1 : 0);
}
