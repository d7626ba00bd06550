/**
 * Throughput of the wasm backend's convolutions on V-Net shapes, 1 and 2 threads, against peers
 * measured in the same run:
 *   npx tsx bench/wasm.ts [--quick]  (npm run bench:wasm; plain SIMD on Node 20)
 *   BENCH_OUT=wasm-relaxed node --experimental-wasm-relaxed-simd --import tsx bench/wasm.ts
 *                                    (the relaxed-SIMD FMA build; Node 20 has it behind the flag)
 * Peers: onnxruntime-web's wasm Conv (forward only, same thread count, in a child process per
 * measurement) and @tensorflow/tfjs-backend-cpu (all three ops, 1 thread: it is plain JS). A peer
 * whose output differs from sds-web's on the bench input, or from the float64 reference on a small
 * input of the same geometry, gets no ratio. GFLOP/s counts 2 x multiply-adds of the direct
 * convolution. Prints a table and writes bench/results/<BENCH_OUT or wasm>.json (DESIGN.md's format).
 * --quick (or BENCH_QUICK=1): fewer repeats and a 1 s budget per peer measurement; BENCH_CASES=<text>
 * keeps only the cases whose name contains it; BENCH_PEERS=<text> only the peers whose name contains it
 * (BENCH_PEERS=onnxruntime skips tfjs-cpu, which takes most of a full run's time and does not depend on
 * the wasm variant); BENCH_ROUNDS=<n> (default 5, 1 with --quick): rounds over every case's three
 * kernels and ORT-web's measurement in turn, best of each (each round is the best of BENCH_REPEATS
 * runs of ours and as many of the peer's).
 */
import { availableParallelism, loadavg } from 'node:os';
import type { Backend } from '../src/backend/backend.js';
import { createWasmBackend } from '../src/backend/wasm/index.js';
import type { Tensor } from '../src/core/tensor.js';
import * as ops from '../src/ops/index.js';
import { ensureWasmBuilt } from '../test/support/wasm-build.js';
import {
  AGREEMENT_TOLERANCE,
  type ConvGeometry,
  type ConvOp,
  type ConvPeer,
  type PeerResult,
  type PeerTiming,
  convData,
  macs,
  outSpatial,
  referenceOutput,
  relativeError,
  smallGeometry,
  vec,
} from './support/conv-data.js';
import { ortWasmConvPeer } from './support/ort-conv-peer.js';
import { type BenchRow, ratioOf, writeReport } from './support/report.js';
import { cpuNow } from './support/best-time.js';
import { simdPeak } from './support/simd-peak.js';
import { tfjsCpuConvPeer } from './support/tfjs-conv-peer.js';

interface ConvCase extends ConvGeometry {
  readonly name: string;
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

/** The layer's direction; the kernel computing it is kernelOf(case, direction). */
type Direction = ConvOp;
const DIRECTIONS: readonly Direction[] = ['forward', 'backward-data', 'backward-filter'];

/** The layer's forward of a transposed conv is the conv's backward-data, and vice versa. */
const kernelOf = (c: ConvCase, d: Direction): ConvOp =>
  c.transposed && d !== 'backward-filter' ? (d === 'forward' ? 'backward-data' : 'forward') : d;

/**
 * Milliseconds per call: the fastest of `repeats` after one warm-up (the fastest, not the median:
 * the machine is shared and other jobs only ever add time), the fewest CPU milliseconds of the same
 * runs (best-time.ts: at 1 thread, the work's own time however loaded the machine is), and the last
 * output when asked for, to check peers against.
 */
async function timeOp(backend: Backend, c: ConvGeometry, op: ConvOp, repeats: number, keepOutput: boolean) {
  const params = { stride: vec(c.s), padding: vec(c.p), dilation: vec(1) };
  const data = convData(c);
  const x = backend.upload(data.x, [1, c.ci, ...vec(c.spatial)]);
  const w = backend.upload(data.w, [c.co, c.ci, ...vec(c.k)]);
  const dy = backend.upload(data.dy, [1, c.co, ...vec(outSpatial(c))]);
  const run = (): Tensor => {
    if (op === 'forward') return ops.conv3d(backend, x, w, null, params);
    if (op === 'backward-data') return ops.conv3dBackwardData(backend, dy, w, { ...params, inputSpatial: vec(c.spatial) });
    return ops.conv3dBackwardFilter(backend, x, dy, { ...params, kernel: vec(c.k) });
  };
  const times: number[] = [];
  const cpuTimes: number[] = [];
  let output: Float32Array | null = null;
  for (let r = 0; r <= repeats; r++) {
    const start = performance.now();
    const cpuStart = cpuNow();
    const y = run();
    await backend.sync();
    if (r > 0) {
      times.push(performance.now() - start);
      cpuTimes.push(cpuNow() - cpuStart);
    }
    if (keepOutput && r === repeats) output = (await backend.read(y)) as Float32Array;
    backend.dispose(y);
  }
  [x, w, dy].forEach((t) => backend.dispose(t));
  return { ms: Math.min(...times), cpuMs: Math.min(...cpuTimes), output };
}

const pct = (v: number) => `${(100 * v).toFixed(0)}%`;

async function main(): Promise<void> {
  ensureWasmBuilt();
  const quick = process.argv.includes('--quick') || process.env.BENCH_QUICK === '1';
  const repeats = Number(process.env.BENCH_REPEATS ?? (quick ? 2 : 5));
  /** Alternating rounds of ours and each peer's measurement (see the peer loop). */
  // Five rounds: with three, a slow moment on either side still moved single rows by 15-20% (1-thread
  // 32->32 read 1.17x and 1.32x against ORT-web in two runs of the same build, 2026-11-27).
  const rounds = Number(process.env.BENCH_ROUNDS ?? (quick ? 1 : 5));
  // The peer gets as many timed runs per round as ours: a best-of-N favours the side with more runs.
  const peerTiming: PeerTiming = quick ? { repeats: 2, budgetMs: 1000 } : { repeats, budgetMs: 3000 };
  const loadAtStart = loadavg();
  const peers = [ortWasmConvPeer(), await tfjsCpuConvPeer()]
    .filter((p): p is ConvPeer => p !== null)
    .filter((p) => p.name.includes(process.env.BENCH_PEERS ?? ''));
  const peak = simdPeak();
  console.log(`peers: ${peers.map((p) => p.name).join(', ') || 'none installed'}`);
  const cores = availableParallelism();
  console.log(
    `wasm-SIMD peak at ${peak.clockMHz} MHz (nominal ${peak.nominalMHz ?? '?'}, measured ${peak.measuredMHz}): ` +
      `${(cores * peak.perCorePlainGflops).toFixed(1)} GFLOP/s plain, ${(cores * peak.perCoreFmaGflops).toFixed(1)} with FMA ` +
      `(${cores} cores x 2 ports x 4 lanes x clock)`,
  );
  const references = new Map<string, Float32Array>();
  const reference = (g: ConvGeometry, op: ConvOp): Float32Array => {
    const key = `${JSON.stringify(g)} ${op}`;
    if (!references.has(key)) references.set(key, referenceOutput(g, op));
    return references.get(key)!;
  };

  const rows: BenchRow[] = [];
  let variant = '';
  for (const threads of [1, 2]) {
    const backend = await createWasmBackend({ threads });
    variant = String(backend.info().details.binary);
    const relaxed = backend.info().details.relaxedSimd === true;
    const threadPeak = threads * (relaxed ? peak.perCoreFmaGflops : peak.perCorePlainGflops);
    // Rounds over every case's three kernels and their peers in turn, best of each: this machine's
    // speed drifts by up to 2x, for seconds or for a minute, so measurements taken together share
    // one moment (the same build read 0.94x-1.78x against ORT-web in 5 runs when each side was timed
    // once, and 1.23x-1.63x on one row when a case's five rounds ran back to back). A round visits
    // every case, so each kernel's best comes from five moments about a minute apart. tfjs-cpu is
    // 30-200x slower: one round (its rounds would take minutes and move nothing).
    const cases = CASES.filter((k) => k.name.includes(process.env.BENCH_CASES ?? '')).map((c) => ({
      c,
      kernels: DIRECTIONS.map((direction) => {
        const op = kernelOf(c, direction);
        return { direction, op, active: peers.filter((p) => p.supports(op, threads)) };
      }),
    }));
    const ours = new Map<string, Awaited<ReturnType<typeof timeOp>>>();
    const theirs = new Map<string, PeerResult | Error>();
    const oursKey = (c: ConvCase, d: Direction): string => `${c.name} ${d}`;
    const peerKey = (c: ConvCase, d: Direction, peer: ConvPeer): string => `${c.name} ${d} ${peer.name}`;
    for (let round = 0; round < rounds; round++) {
      for (const { c, kernels } of cases) {
        for (const { direction, op, active } of kernels) {
          const again = await timeOp(backend, c, op, repeats, round === 0 && active.length > 0);
          const best = ours.get(oursKey(c, direction));
          ours.set(
            oursKey(c, direction),
            best ? { ...best, ms: Math.min(best.ms, again.ms), cpuMs: Math.min(best.cpuMs, again.cpuMs) } : again,
          );
          for (const peer of active) {
            const key = peerKey(c, direction, peer);
            const previous = theirs.get(key);
            if (previous instanceof Error || (round > 0 && !peer.name.startsWith('onnxruntime'))) continue;
            try {
              const r = await peer.measure(c, op, threads, peerTiming);
              theirs.set(
                key,
                previous === undefined
                  ? r
                  : {
                      ...previous,
                      ms: Math.min(previous.ms, r.ms),
                      cpuMs: previous.cpuMs === undefined || r.cpuMs === undefined ? previous.cpuMs : Math.min(previous.cpuMs, r.cpuMs),
                      reps: previous.reps + r.reps,
                    },
              );
            } catch (e) {
              theirs.set(key, e instanceof Error ? e : new Error(String(e)));
            }
          }
        }
      }
      console.log(`${threads} thread${threads > 1 ? 's' : ''}: round ${round + 1} of ${rounds} done`);
    }
    for (const { c, kernels } of cases) {
      for (const { direction, op, active } of kernels) {
        const best = ours.get(oursKey(c, direction))!;
        const gflopsOf = (ms: number): number => (2 * macs(c)) / (ms * 1e6);
        const gflops = gflopsOf(best.ms);
        const label = `${c.name} ${direction}, ${threads} thread${threads > 1 ? 's' : ''}`;
        const ofPeak = `${pct(gflops / threadPeak)} of ${threadPeak.toFixed(1)} GFLOP/s peak`;
        console.log(
          `${label.padEnd(52)} ${best.ms.toFixed(1).padStart(8)} ms ${gflops.toFixed(2).padStart(7)} GFLOP/s  ${ofPeak}, best of ${rounds} rounds`,
        );
        const base = { case: label, backend: `wasm ${variant}`, value: gflops, unit: 'GFLOP/s' as const };
        if (active.length === 0)
          rows.push({ ...base, peer: null, peerValue: null, ratio: null, note: `${ofPeak}; best of ${rounds} rounds` });
        for (const peer of active) {
          const r = theirs.get(peerKey(c, direction, peer))!;
          if (r instanceof Error) {
            const why = `peer failed: ${r.message.split('\n')[0]}`;
            rows.push({ ...base, peer: peer.name, peerValue: null, ratio: null, note: [ofPeak, why].join('; ') });
            console.log(`    ${peer.name.padEnd(44)} ${why}`);
            continue;
          }
          const peerRounds = peer.name.startsWith('onnxruntime') ? rounds : 1;
          const peerGflops = gflopsOf(r.ms);
          const smallError = relativeError(reference(smallGeometry(c), op), r.smallOutput);
          const benchError = relativeError(best.output!, r.output);
          const agrees = smallError <= AGREEMENT_TOLERANCE && benchError <= AGREEMENT_TOLERANCE;
          const check = `rel. error vs reference (small input) ${smallError.toExponential(1)}, vs sds-web (bench input) ${benchError.toExponential(1)}`;
          // At 1 thread both contenders are single-threaded: their CPU times compare the work itself
          // even when other jobs share the cores (wall-clock figures then depend on who was waiting).
          const cpuRatio = threads === 1 && r.cpuMs !== undefined && agrees ? r.cpuMs / best.cpuMs : null;
          const cpuNote =
            cpuRatio === null
              ? null
              : `CPU-time ratio ${cpuRatio.toFixed(2)}x (ours ${gflopsOf(best.cpuMs).toFixed(2)}, peer ${gflopsOf(r.cpuMs!).toFixed(2)} GFLOP/s per CPU-second)`;
          const note = [
            ofPeak,
            `best of ${rounds} rounds (ours), ${peerRounds} (peer), in turn`,
            cpuNote,
            agrees ? `peer verified: ${check}` : `NO RATIO, peer output differs: ${check}`,
            `peer best of ${r.reps}`,
            r.note,
          ].filter(Boolean);
          const row: BenchRow = {
            ...base,
            peer: peer.name,
            peerValue: peerGflops,
            ratio: agrees ? ratioOf('GFLOP/s', gflops, peerGflops) : null,
            note: note.join('; '),
          };
          const ratio = row.ratio === null ? 'no ratio (outputs differ)' : `ratio ${row.ratio.toFixed(2)}x`;
          console.log(
            `    ${peer.name.padEnd(44)} ${r.ms.toFixed(1).padStart(8)} ms ${peerGflops.toFixed(2).padStart(7)} GFLOP/s  ${ratio}  [${note.slice(1).join('; ')}]`,
          );
          rows.push(row);
        }
      }
    }
    backend.destroy();
  }
  writeReport(process.env.BENCH_OUT ?? 'wasm', rows, {
    variant,
    quick,
    // Other work on the shared machine skews wall-clock figures: record how busy it was.
    loadAverage: { start: loadAtStart.map((l) => +l.toFixed(2)), end: loadavg().map((l) => +l.toFixed(2)) },
    simdPeak: peak,
    agreementTolerance: AGREEMENT_TOLERANCE,
  });
}

await main();
