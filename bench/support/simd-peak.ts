/**
 * The machine's wasm-SIMD peak for bench/wasm.ts: per core 2 vector ports x 4 f32 lanes (wasm SIMD is
 * 128-bit) x clock, twice that when each instruction is a fused multiply-add (relaxed SIMD).
 */
import { readFileSync } from 'node:fs';
import { cpuNow } from './best-time.js';

export interface SimdPeak {
  /** The kernel's nominal "cpu MHz" (/proc/cpuinfo); a VM reports the base clock, not its turbo. */
  readonly nominalMHz: number | null;
  /** Timed from a dependent multiply chain; catches turbo the nominal figure hides. */
  readonly measuredMHz: number;
  /** The larger of the two: the peak is an upper bound, so it must not use the lower clock. */
  readonly clockMHz: number;
  readonly perCorePlainGflops: number;
  readonly perCoreFmaGflops: number;
}

function nominalMHz(): number | null {
  try {
    const mhz = readFileSync('/proc/cpuinfo', 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('cpu MHz'))
      .map((l) => Number(l.split(':')[1]));
    const max = Math.max(...mhz);
    return max > 0 ? max : null;
  } catch {
    return null;
  }
}

/**
 * Each iteration is imul (3 cycles latency on x86 since Nehalem) then xor (1) on the same value, so
 * a chain of n iterations takes 4n cycles however wide the core is. Best of several runs, since the
 * shared machine only ever slows a run down.
 */
function measuredMHz(): number {
  const n = 2e7;
  const chain = (x: number): number => {
    for (let i = 0; i < n; i++) x = Math.imul(x, 0x9e3779b1) ^ 1;
    return x;
  };
  let best = Number.POSITIVE_INFINITY;
  let sink = 0;
  for (let r = 0; r < 12; r++) {
    // CPU time, not wall time: on the shared machine a wall-clock chain also counts the time other
    // jobs held the core, and once read 742 MHz for a 2.96 GHz clock.
    const start = cpuNow();
    sink ^= chain(r);
    best = Math.min(best, cpuNow() - start);
  }
  // `sink` keeps the chains observable so no run is optimised away.
  return (4 * n) / (best * 1e3) + (sink === 0.5 ? 1 : 0);
}

export function simdPeak(): SimdPeak {
  const nominal = nominalMHz();
  const measured = Math.round(measuredMHz());
  const clockMHz = Math.max(nominal ?? 0, measured);
  const plain = (2 * 4 * clockMHz) / 1000;
  return { nominalMHz: nominal, measuredMHz: measured, clockMHz, perCorePlainGflops: plain, perCoreFmaGflops: 2 * plain };
}
