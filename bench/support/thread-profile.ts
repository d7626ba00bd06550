/**
 * How the wasm threads spent one timed run (an SDS iteration, a V-Net step): the runtime's per-kernel
 * thread-use profile (src/backend/wasm/thread-profile.ts, filled by runtime.ts) plus the time outside its queue,
 * summed up as Amdahl's parallel fraction. Issue 20 asks for it to show that nothing serialises:
 * - parallel steps: split across the pool; their busy time is what one thread would have to do alone,
 *   their idle time (threads x wall - busy) is wake-up latency and uneven chunks;
 * - serial steps: small passes and host copies the calling thread runs while the workers wait;
 * - outside the queue: JavaScript building steps and host-side work (LCC, cut-mix masks) between
 *   read-backs, also on one thread.
 * Parallel fraction p = parallel busy / (parallel busy + serial + outside): the share of a one-thread
 * run that the pool can split. On vCPUs that share a core, busy time per thread grows with threads, so
 * p read from a 2-thread run leans high by that much; the 1-thread vs 2-thread timing is the check.
 */
import type { Backend } from '../../src/backend/backend.js';
import { wasmThreadProfiler } from '../../src/backend/wasm/index.js';
import type { ThreadProfile } from '../../src/backend/wasm/thread-profile.js';

export interface KernelThreadUse {
  readonly kernel: string;
  readonly kind: 'parallel' | 'serial';
  readonly calls: number;
  readonly wallMs: number;
  readonly busyMs: number;
  /** busy / (threads x wall): 1 = every thread computed the whole time. */
  readonly use: number;
}

export interface ThreadProfileSummary {
  readonly threads: number;
  readonly runMs: number;
  readonly parallelWallMs: number;
  readonly parallelBusyMs: number;
  readonly serialMs: number;
  readonly outsideQueueMs: number;
  /** Busy / (threads x wall) over the parallel steps. */
  readonly parallelUse: number;
  readonly parallelFraction: number;
  /** Amdahl's speed-up at `threads` for that fraction, and the one the run got over a 1-thread estimate. */
  readonly amdahlSpeedup: number;
  readonly kernels: readonly KernelThreadUse[];
}

export function summariseThreadProfile(profile: ThreadProfile, runMs: number): ThreadProfileSummary {
  const { threads } = profile;
  const kernels: KernelThreadUse[] = (['parallel', 'serial'] as const)
    .flatMap((kind) =>
      Object.entries(profile[kind]).map(([kernel, u]) => ({
        kernel,
        kind,
        calls: u.calls,
        wallMs: u.wallMs,
        busyMs: u.busyMs,
        use: u.wallMs > 0 ? u.busyMs / ((kind === 'parallel' ? threads : 1) * u.wallMs) : 1,
      })),
    )
    .sort((a, b) => b.wallMs - a.wallMs);
  const sum = (kind: 'parallel' | 'serial', key: 'wallMs' | 'busyMs') =>
    kernels.filter((k) => k.kind === kind).reduce((a, k) => a + k[key], 0);
  const parallelWallMs = sum('parallel', 'wallMs');
  const parallelBusyMs = sum('parallel', 'busyMs');
  const serialMs = sum('serial', 'wallMs');
  const outsideQueueMs = Math.max(0, runMs - parallelWallMs - serialMs);
  const oneThreadMs = parallelBusyMs + serialMs + outsideQueueMs;
  const parallelFraction = oneThreadMs > 0 ? parallelBusyMs / oneThreadMs : 0;
  return {
    threads,
    runMs,
    parallelWallMs,
    parallelBusyMs,
    serialMs,
    outsideQueueMs,
    parallelUse: parallelWallMs > 0 ? parallelBusyMs / (threads * parallelWallMs) : 1,
    parallelFraction,
    amdahlSpeedup: 1 / (1 - parallelFraction + parallelFraction / threads),
    kernels,
  };
}

/** The summary as lines for stdout: totals, then the `top` kernels by wall time. */
export function formatThreadProfile(title: string, s: ThreadProfileSummary, top = 12): string[] {
  const ms = (v: number) => v.toFixed(0).padStart(7);
  const pct = (v: number) => `${(100 * v).toFixed(0)}%`.padStart(5);
  return [
    `  thread use, ${title} (${s.threads} threads, ${s.runMs.toFixed(0)} ms run):`,
    `    parallel steps  wall ${ms(s.parallelWallMs)} ms, busy ${ms(s.parallelBusyMs)} ms over ${s.threads} threads, use ${pct(s.parallelUse)}`,
    `    serial steps    wall ${ms(s.serialMs)} ms (calling thread alone)`,
    `    outside queue   wall ${ms(s.outsideQueueMs)} ms (JavaScript, host-side work)`,
    `    parallel fraction ${s.parallelFraction.toFixed(3)} -> Amdahl speed-up at ${s.threads} threads x${s.amdahlSpeedup.toFixed(2)}`,
    `    top kernels by wall time:  kind      calls    wall ms    busy ms   use`,
    ...s.kernels
      .slice(0, top)
      .map(
        (k) =>
          `    ${k.kernel.padEnd(26)} ${k.kind.padEnd(8)} ${String(k.calls).padStart(6)} ${ms(k.wallMs)}    ${ms(k.busyMs)}   ${pct(k.use)}`,
      ),
  ];
}

/**
 * Runs `work` (one more iteration or step) with the wasm backend's thread-use profile on and prints
 * the summary under `title`; null where the backend is not wasm (no profile to take).
 */
export async function profileThreadsOnce(backend: Backend, title: string, work: () => Promise<void>): Promise<ThreadProfileSummary | null> {
  const profiler = wasmThreadProfiler(backend);
  if (profiler === null) return null;
  profiler.start();
  const start = performance.now();
  await work();
  const profile = profiler.take();
  if (profile === null) return null;
  const summary = summariseThreadProfile(profile, performance.now() - start);
  for (const line of formatThreadProfile(title, summary)) console.log(line);
  return summary;
}
