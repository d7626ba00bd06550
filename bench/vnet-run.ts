/**
 * Time of one V-Net training step (nFilters 16, 2 classes, BatchNorm, Dropout3d on, forward + loss +
 * backward + SGD) on sds-web's wasm (2 threads) and WebGPU backends against PyTorch CPU (2 threads,
 * bench/vnet_torch.py, same network and shapes), at hippocampus scale [4, 1, 32, 48, 32] and left-atrium
 * scale [1, 1, 80, 112, 112]. Entry point: bench/run.ts vnet (registers the .wgsl loader first).
 *
 * Each figure is the median of BENCH_REPEATS (default 3) steps after one warm-up step. The targets
 * (issue 20, ratio of PyTorch's time to wasm's): plain SIMD >= 0.5 at hippocampus scale and >= 0.6 at
 * LA scale; relaxed SIMD (what browsers run) >= 0.6 and >= 0.8. When wasm misses one (or with --profile), one
 * more step runs layer by layer with a sync after each call (bench/support/vnet-profile.ts) and the
 * time per layer type is printed and stored. `--threads-profile`: one more wasm step with the runtime's
 * thread-use profile on (per kernel: wall, busy, idle; the parallel fraction; bench/support/thread-profile.ts). WebGPU on SwiftShader (a CPU Vulkan driver) runs only the
 * small case, and stops after BENCH_WEBGPU_CAP_S seconds (default 120) of steps; on a real GPU it runs
 * every case. Writes bench/results/<BENCH_OUT or vnet>.json (DESIGN.md's format).
 * Env: BENCH_THREADS (default 2) sets the wasm and PyTorch thread count; BENCH_CASES=<text> keeps the cases whose name contains it; BENCH_BACKENDS=wasm,webgpu;
 * BENCH_TORCH_DEVICE=cuda runs the PyTorch peer on the GPU (fp32, TF32 off: the GPU bench kit,
 * bench/gpu/README.md); SDS_PYTHON picks the interpreter (default /usr/bin/python3).
 */
import { spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Backend } from '../src/backend/backend.js';
import { createWasmBackend } from '../src/backend/wasm/index.js';
import { createWebGpuBackend } from '../src/backend/webgpu/index.js';
import type { Shape } from '../src/core/shape.js';
import { memoryPlan } from '../src/nn/memory-plan.js';
import { ensureWasmBuilt } from '../test/support/wasm-build.js';
import { type BenchRow, benchThreads, ratioOf, writeReport } from './support/report.js';
import { type ThreadProfileSummary, profileThreadsOnce } from './support/thread-profile.js';
import { type ProfileEntry, profileStep } from './support/vnet-profile.js';
import { VNET_BENCH_CONFIG, benchTrainer, median } from './support/vnet-step.js';

interface VNetCase {
  readonly name: string;
  readonly shape: Shape;
  /** PyTorch's ms per step on the development machine as the issue reports it, for comparison. */
  readonly issuePyTorchMs?: number;
  /** Issue 20's target ratios (PyTorch time / wasm time) for plain and relaxed SIMD (none: timed only). */
  readonly target?: { readonly plain: number; readonly relaxed: number };
  /** Small enough for WebGPU on SwiftShader. */
  readonly small: boolean;
}

const CASES: readonly VNetCase[] = [
  { name: 'hippocampus [4,1,32,48,32]', shape: [4, 1, 32, 48, 32], issuePyTorchMs: 762, small: true, target: { plain: 0.5, relaxed: 0.6 } },
  { name: 'LA [1,1,80,112,112]', shape: [1, 1, 80, 112, 112], issuePyTorchMs: 3800, small: false, target: { plain: 0.6, relaxed: 0.8 } },
  // The demo's adaptation spends most of its time in 200 supervised warm-up steps on one cut-mixed patch.
  { name: "the demo's warm-up step [1,1,32,48,32]", shape: [1, 1, 32, 48, 32], small: true },
];
// Both sides run with the same thread count (2: this machine's cores); BENCH_THREADS=1 gives the
// single-thread figures that, beside the 2-thread ones, say how much of a step runs in parallel.
const THREADS = benchThreads(process.env.BENCH_THREADS);
const TORCH_DEVICE = process.env.BENCH_TORCH_DEVICE ?? 'cpu';
const PEER = TORCH_DEVICE === 'cuda' ? 'PyTorch CUDA fp32' : `PyTorch CPU ${THREADS} threads`;

interface StepTiming {
  readonly ms: number[];
  readonly medianMs: number;
  readonly loss: number;
  /** Why fewer steps than asked were timed, if so. */
  readonly note?: string;
}

async function timeSteps(
  backend: Backend,
  c: VNetCase,
  repeats: number,
  capMs = Infinity,
): Promise<StepTiming & { trainer: ReturnType<typeof benchTrainer> }> {
  const trainer = benchTrainer(backend, c.shape);
  const ms: number[] = [];
  let loss = NaN;
  let spent = 0;
  let note: string | undefined;
  for (let k = 0; k <= repeats; k++) {
    const start = performance.now();
    const lossTensor = await trainer.step();
    const stepMs = performance.now() - start;
    // Read outside the clock: the step already synced; this only checks the run is a real one.
    loss = (await backend.read(lossTensor))[0];
    backend.dispose(lossTensor);
    if (!Number.isFinite(loss)) throw new Error(`${backend.name} ${c.name}: loss is ${loss} at step ${k}`);
    console.log(`  ${backend.name} ${c.name} step ${k}${k === 0 ? ' (warm-up)' : ''}: ${stepMs.toFixed(0)} ms, loss ${loss.toFixed(4)}`);
    if (k > 0) ms.push(stepMs);
    spent += stepMs;
    if (spent > capMs && k < repeats) {
      note = `stopped after ${k + 1} steps (${(spent / 1000).toFixed(0)} s > cap ${(capMs / 1000).toFixed(0)} s)`;
      break;
    }
  }
  return { ms, medianMs: ms.length > 0 ? median(ms) : NaN, loss, trainer, ...(note ? { note } : {}) };
}

function runPyTorch(cases: readonly VNetCase[], repeats: number): Map<string, StepTiming> | string {
  const script = join(dirname(fileURLToPath(import.meta.url)), 'vnet_torch.py');
  const python = process.env.SDS_PYTHON ?? '/usr/bin/python3';
  const args = [script, '--threads', String(THREADS), '--warmup', '1', '--repeats', String(repeats), '--device', TORCH_DEVICE];
  for (const c of cases) args.push('--shape', c.shape.join(','));
  console.log(`PyTorch: ${python} ${args.join(' ')}`);
  const r = spawnSync(python, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 20 });
  if (r.error || r.status !== 0) return `PyTorch run failed: ${r.error?.message ?? `exit ${r.status}`}`;
  const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as {
    torch: string;
    device: string;
    cases: { ms: number[]; medianMs: number; loss: number }[];
  };
  return new Map(cases.map((c, i) => [c.name, { ...out.cases[i], note: `torch ${out.torch} on ${out.device}` }]));
}

function printProfile(label: string, entries: readonly ProfileEntry[], stepMs: number): void {
  const total = entries.reduce((s, e) => s + e.ms, 0);
  console.log(
    `\nProfile ${label}: layer-by-layer with a sync after each call, ${total.toFixed(0)} ms in all (whole step ${stepMs.toFixed(0)} ms)`,
  );
  const byType = new Map<string, number>();
  for (const e of entries) {
    const type = `${e.direction} ${e.what.replace(/ L\d$/, '')}`;
    byType.set(type, (byType.get(type) ?? 0) + e.ms);
  }
  const line = (what: string, ms: number) =>
    `  ${what.padEnd(44)} ${ms.toFixed(0).padStart(7)} ms ${((100 * ms) / total).toFixed(1).padStart(5)} %`;
  console.log('  by layer type:');
  for (const [type, ms] of [...byType].sort((a, b) => b[1] - a[1])) console.log(line(type, ms));
  console.log('  by layer type and level (L0 = full resolution), top 15:');
  for (const e of [...entries].sort((a, b) => b.ms - a.ms).slice(0, 15)) console.log(line(`${e.direction} ${e.what} (${e.calls}x)`, e.ms));
}

export async function main(argv: readonly string[]): Promise<void> {
  const repeats = Number(process.env.BENCH_REPEATS ?? 3);
  const capMs = 1000 * Number(process.env.BENCH_WEBGPU_CAP_S ?? 120);
  const wanted = (process.env.BENCH_BACKENDS ?? 'wasm,webgpu').split(',');
  // Only the wasm backend needs the build (the GPU bench kit has no assemblyscript to run it with).
  if (wanted.includes('wasm')) ensureWasmBuilt();
  const cases = CASES.filter((c) => c.name.includes(process.env.BENCH_CASES ?? ''));
  const loadAtStart = loadavg();
  for (const c of cases) {
    const plan = memoryPlan(VNET_BENCH_CONFIG, [c.shape[2], c.shape[3], c.shape[4]], c.shape[0]);
    console.log(`${c.name}: memoryPlan estimate ${(plan.bytes.total / 2 ** 20).toFixed(0)} MiB per training step`);
  }

  const torch = runPyTorch(cases, repeats);
  if (typeof torch === 'string') console.log(torch);
  const peerOf = (c: VNetCase): StepTiming | null => (typeof torch === 'string' ? null : (torch.get(c.name) ?? null));

  const rows: BenchRow[] = [];
  const skipped: string[] = [];
  const profiles: Record<string, ProfileEntry[]> = {};
  const threadProfiles: Record<string, ThreadProfileSummary> = {};
  const row = (c: VNetCase, backendLabel: string, t: StepTiming, extra: string[]): BenchRow => {
    const peer = peerOf(c);
    const ratio = peer ? ratioOf('ms', t.medianMs, peer.medianMs) : null;
    const note = [
      `median of ${t.ms.length} steps after 1 warm-up: ${t.ms.map((m) => m.toFixed(0)).join(', ')} ms; loss ${t.loss.toFixed(4)}`,
      peer
        ? `PyTorch steps ${peer.ms.map((m) => m.toFixed(0)).join(', ')} ms (${peer.note})` +
          (c.issuePyTorchMs === undefined ? '' : `; issue reports ${c.issuePyTorchMs} ms for PyTorch CPU`)
        : 'no PyTorch figure',
      ...(t.note ? [t.note] : []),
      ...extra,
    ];
    return {
      case: `${c.name} train step`,
      backend: backendLabel,
      peer: peer ? PEER : null,
      value: t.medianMs,
      unit: 'ms',
      peerValue: peer?.medianMs ?? null,
      ratio,
      note: note.join('; '),
    };
  };

  if (wanted.includes('wasm')) {
    for (const c of cases) {
      // A fresh backend per case: a failed case (e.g. out of wasm memory) leaves nothing behind.
      const backend = await createWasmBackend({ threads: THREADS });
      const info = backend.info();
      const label = `wasm ${String(info.details.binary)} ${info.details.threads} threads`;
      console.log(`\n${info.description}`);
      try {
        const t = await timeSteps(backend, c, repeats);
        const r = row(c, label, t, []);
        const target =
          c.target === undefined ? null : String(info.details.binary).startsWith('relaxed') ? c.target.relaxed : c.target.plain;
        const meets = target === null || (r.ratio !== null && r.ratio >= target);
        if (target !== null)
          r.note += `; target ratio >= ${target} (issue 20, ${String(info.details.binary)}): ${r.ratio === null ? 'no peer' : meets ? 'met' : 'NOT met'}`;
        rows.push(r);
        if (argv.includes('--profile') || (!meets && !argv.includes('--no-profile'))) {
          const entries = await profileStep(backend, t.trainer);
          profiles[`${label} ${c.name}`] = entries;
          printProfile(`${label} ${c.name}`, entries, t.medianMs);
        }
        if (argv.includes('--threads-profile')) {
          const work = async (): Promise<void> => backend.dispose(await t.trainer.step());
          const s = await profileThreadsOnce(backend, `${label} ${c.name}, one more step`, work);
          if (s !== null) threadProfiles[`${label} ${c.name}`] = s;
        }
        t.trainer.dispose();
      } catch (e) {
        const peer = peerOf(c);
        const why =
          `${label} ${c.name} FAILED, no figure: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}` +
          (peer ? ` (PyTorch: ${peer.medianMs.toFixed(0)} ms per step)` : '');
        console.log(why);
        skipped.push(why);
      }
      backend.destroy();
    }
  }

  if (wanted.includes('webgpu')) {
    let backend: Backend | null = null;
    try {
      // BENCH_SUBGROUPS=0: the workgroup-memory tree for every sum, to time what subgroups save.
      backend = await createWebGpuBackend({ subgroups: process.env.BENCH_SUBGROUPS !== '0' });
    } catch (e) {
      const why = `webgpu skipped: no device (${e instanceof Error ? e.message.split('\n')[0] : String(e)})`;
      console.log(why);
      skipped.push(why);
    }
    let abandoned = false;
    if (backend !== null) {
      const description = `${backend.info().description} (subgroup sums at workgroup sizes: ${backend.info().details.subgroups})`;
      const software = /swiftshader/i.test(description);
      console.log(`\n${description}`);
      for (const c of cases) {
        if (software && !c.small) {
          const why = `webgpu ${c.name} skipped: SwiftShader is a CPU emulation of a GPU, far too slow at this size`;
          console.log(why);
          skipped.push(why);
          continue;
        }
        // A single SwiftShader step cannot be interrupted: past the cap the run is abandoned (the
        // process exits after the report) rather than waited for.
        const timer = new Promise<null>((resolve) => setTimeout(() => resolve(null), software ? capMs : 2 ** 31 - 1).unref());
        const t = await Promise.race([timeSteps(backend, c, repeats, software ? capMs : Infinity), timer]);
        if (t === null) {
          const why = `webgpu ${c.name} skipped: no step finished within the ${(capMs / 1000).toFixed(0)} s cap (BENCH_WEBGPU_CAP_S)`;
          console.log(why);
          skipped.push(why);
          abandoned = true;
          break;
        }
        t.trainer.dispose();
        if (t.ms.length === 0) {
          const why = `webgpu ${c.name}: only the warm-up step ran (${t.note}); no timed step, no figure`;
          console.log(why);
          skipped.push(why);
        } else {
          rows.push(row(c, `webgpu (${software ? 'SwiftShader' : 'GPU'})`, t, [description]));
        }
      }
      if (!abandoned) backend.destroy();
    }
  }

  for (const r of rows) console.log(`${r.backend.padEnd(28)} ${r.case}: ${r.note}`);
  writeReport(process.env.BENCH_OUT ?? 'vnet', rows, {
    config: VNET_BENCH_CONFIG,
    threads: THREADS,
    torchDevice: TORCH_DEVICE,
    repeats,
    targetRatios: Object.fromEntries(CASES.map((c) => [c.name, c.target])),
    issuePyTorchMs: Object.fromEntries(CASES.map((c) => [c.name, c.issuePyTorchMs])),
    // The machine is shared: other jobs add wall time to every figure here.
    loadAverage: { start: loadAtStart.map((l) => +l.toFixed(2)), end: loadavg().map((l) => +l.toFixed(2)) },
    skipped,
    profiles,
    ...(argv.includes('--threads-profile') ? { threadProfiles } : {}),
  });
}
