/**
 * Throughput of the wasm backend's convolutions on V-Net shapes, 1 and 2 threads:
 *   npx tsx bench/wasm.ts            (npm run bench:wasm; plain SIMD on Node 20)
 *   BENCH_OUT=wasm-relaxed node --experimental-wasm-relaxed-simd --import tsx bench/wasm.ts
 *                                    (the relaxed-SIMD FMA build; Node 20 has it behind the flag)
 * GFLOP/s counts 2 x multiply-adds of the direct convolution. Prints a table and writes
 * bench/results/wasm.json in DESIGN.md's benchmark format. Peers (onnxruntime-web's wasm Conv,
 * @tensorflow/tfjs-backend-cpu) plug in through PEERS below: each returns null when its package is not
 * installed, and its rows then carry no ratio.
 */
import { execSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';
import type { Backend } from '../src/backend/backend.js';
import { createWasmBackend } from '../src/backend/wasm/index.js';
import type { Vec3 } from '../src/core/shape.js';
import type { Tensor } from '../src/core/tensor.js';
import * as ops from '../src/ops/index.js';
import { ensureWasmBuilt } from '../test/support/wasm-build.js';

interface ConvCase {
  readonly name: string;
  /** The convolution's geometry: x [1, ci, spatial], w [co, ci, k], stride, padding. */
  readonly ci: number;
  readonly co: number;
  readonly spatial: number;
  readonly k: number;
  readonly s: number;
  readonly p: number;
  /** ConvTranspose3d: its forward is conv3dBackwardData of this geometry, its backward-data conv3d. */
  readonly transposed?: boolean;
}

const CASES: readonly ConvCase[] = [
  { name: 'conv 16->16 k3 @64^3', ci: 16, co: 16, spatial: 64, k: 3, s: 1, p: 1 },
  { name: 'conv 32->32 k3 @32^3', ci: 32, co: 32, spatial: 32, k: 3, s: 1, p: 1 },
  { name: 'conv 64->64 k3 @16^3', ci: 64, co: 64, spatial: 16, k: 3, s: 1, p: 1 },
  { name: 'conv 128->128 k3 @8^3', ci: 128, co: 128, spatial: 8, k: 3, s: 1, p: 1 },
  { name: 'down-conv 16->32 k2 s2 @64^3', ci: 16, co: 32, spatial: 64, k: 2, s: 2, p: 0 },
  // Up-conv 32->16 k2 s2 on a 32^3 input is the transpose of conv 16->32 k2 s2 on 64^3.
  { name: 'up-conv 32->16 k2 s2 @32^3', ci: 16, co: 32, spatial: 64, k: 2, s: 2, p: 0, transposed: true },
];

type Direction = 'forward' | 'backward-data' | 'backward-filter';
const DIRECTIONS: readonly Direction[] = ['forward', 'backward-data', 'backward-filter'];

/** A peer library measuring the same case and direction; null when it is not installed. */
interface Peer {
  readonly name: string;
  readonly load: () => Promise<{ timeMs(c: ConvCase, d: Direction, threads: number): Promise<number> } | null>;
}
const PEERS: readonly Peer[] = [];

const vec = (v: number): Vec3 => [v, v, v];
const random = (n: number, seed: number): Float32Array => {
  const a = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = s / 2 ** 32 - 0.5;
  }
  return a;
};

function macs(c: ConvCase): number {
  const out = Math.floor((c.spatial + 2 * c.p - c.k) / c.s) + 1;
  return c.co * c.ci * c.k ** 3 * out ** 3;
}

/**
 * Milliseconds per call: the fastest of `repeats` after one warm-up. The fastest, not the median,
 * because the 2-core development machine is shared and other jobs only ever add time.
 */
async function timeOp(backend: Backend, c: ConvCase, direction: Direction, repeats: number): Promise<number> {
  const out = Math.floor((c.spatial + 2 * c.p - c.k) / c.s) + 1;
  const params = { stride: vec(c.s), padding: vec(c.p), dilation: vec(1) };
  const x = backend.upload(random(c.ci * c.spatial ** 3, 1), [1, c.ci, ...vec(c.spatial)]);
  const w = backend.upload(random(c.co * c.ci * c.k ** 3, 2), [c.co, c.ci, ...vec(c.k)]);
  const dy = backend.upload(random(c.co * out ** 3, 3), [1, c.co, ...vec(out)]);
  // The layer's forward of a transposed conv is the conv's backward-data, and vice versa.
  const op = c.transposed && direction !== 'backward-filter' ? (direction === 'forward' ? 'backward-data' : 'forward') : direction;
  const run = (): Tensor => {
    if (op === 'forward') return ops.conv3d(backend, x, w, null, params);
    if (op === 'backward-data') return ops.conv3dBackwardData(backend, dy, w, { ...params, inputSpatial: vec(c.spatial) });
    return ops.conv3dBackwardFilter(backend, x, dy, { ...params, kernel: vec(c.k) });
  };
  const times: number[] = [];
  for (let r = 0; r <= repeats; r++) {
    const start = performance.now();
    const y = run();
    await backend.sync();
    if (r > 0) times.push(performance.now() - start);
    backend.dispose(y);
  }
  [x, w, dy].forEach((t) => backend.dispose(t));
  return Math.min(...times);
}

function machine(): string {
  try {
    const model = execSync('lscpu', { encoding: 'utf8' })
      .match(/Model name:\s*(.*)/)?.[1]
      ?.trim();
    // Other work on the machine skews wall-clock figures: record how busy it was.
    const load = loadavg()[0].toFixed(1);
    return `${model ?? cpus()[0]?.model ?? 'unknown CPU'}, ${availableParallelism()} threads, load average ${load}, Node ${process.versions.node}`;
  } catch {
    return `${cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.versions.node}`;
  }
}

interface Row {
  case: string;
  backend: string;
  peer: string | null;
  value: number;
  unit: 'GFLOP/s';
  peerValue: number | null;
  ratio: number | null;
}

async function main(): Promise<void> {
  ensureWasmBuilt();
  const repeats = Number(process.env.BENCH_REPEATS ?? 5);
  const rows: Row[] = [];
  const peers = (await Promise.all(PEERS.map(async (p) => ({ name: p.name, impl: await p.load() })))).filter((p) => p.impl);
  let variant = '';
  for (const threads of [1, 2]) {
    const backend = await createWasmBackend({ threads });
    variant = String(backend.info().details.binary);
    for (const c of CASES) {
      for (const direction of DIRECTIONS) {
        const ms = await timeOp(backend, c, direction, repeats);
        const gflops = (2 * macs(c)) / (ms * 1e6);
        const label = `${c.name} ${direction}, ${threads} thread${threads > 1 ? 's' : ''}`;
        const peerRows = await Promise.all(
          peers.map(async (p) => {
            const peerMs = await p.impl!.timeMs(c, direction, threads);
            return { peer: p.name, peerValue: (2 * macs(c)) / (peerMs * 1e6) };
          }),
        );
        if (peerRows.length === 0)
          rows.push({ case: label, backend: `wasm ${variant}`, peer: null, value: gflops, unit: 'GFLOP/s', peerValue: null, ratio: null });
        for (const pr of peerRows)
          rows.push({ case: label, backend: `wasm ${variant}`, ...pr, value: gflops, unit: 'GFLOP/s', ratio: gflops / pr.peerValue });
        console.log(`${label.padEnd(58)} ${ms.toFixed(1).padStart(8)} ms ${gflops.toFixed(2).padStart(7)} GFLOP/s`);
      }
    }
    backend.destroy();
  }
  const result = { machine: machine(), date: new Date().toISOString(), rows };
  mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
  const name = process.env.BENCH_OUT ?? 'wasm';
  writeFileSync(new URL(`./results/${name}.json`, import.meta.url), JSON.stringify(result, null, 2) + '\n');
  console.log(`machine: ${result.machine}\nwrote bench/results/${name}.json`);
}

await main();
