/**
 * Peer timing for bench/wasm.ts: the fastest of several runs after a warm-up, capped by a time budget
 * because tfjs-cpu takes 5-20 s per V-Net-sized convolution on the 2-core development machine. The
 * fastest, not the median: the machine is shared and other jobs only ever add time.
 */
export interface BestTime {
  readonly ms: number;
  /** Timed runs behind `ms` (the warm-up is not one of them unless it was the only run). */
  readonly reps: number;
  /**
   * The fewest CPU milliseconds this process spent in one of the same runs (user + system, all its
   * threads). For single-threaded work it is the work's own time even while other jobs take the
   * cores away, so ratios of two single-threaded contenders stay meaningful on a loaded machine.
   */
  readonly cpuMs: number;
}

/** CPU milliseconds this process has used so far (Node's process.cpuUsage: all threads). */
export function cpuNow(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/**
 * Runs `once` (which must finish its work before resolving) as a warm-up, then up to `repeats` timed
 * runs while their total stays under `budgetMs`. A warm-up that alone exceeds the budget is the one
 * timing returned: a multi-second loop has long been tiered up by the JIT before it ends, so a
 * second run would change the figure little and would double the bench's length.
 */
export async function bestTime(once: () => Promise<void> | void, repeats: number, budgetMs: number): Promise<BestTime> {
  let start = performance.now();
  let cpuStart = cpuNow();
  await once();
  const warmUp = performance.now() - start;
  if (warmUp >= budgetMs) return { ms: warmUp, reps: 1, cpuMs: cpuNow() - cpuStart };
  const times: number[] = [];
  const cpuTimes: number[] = [];
  let spent = 0;
  while (times.length < Math.max(1, repeats) && (times.length === 0 || spent < budgetMs)) {
    start = performance.now();
    cpuStart = cpuNow();
    await once();
    const ms = performance.now() - start;
    cpuTimes.push(cpuNow() - cpuStart);
    times.push(ms);
    spent += ms;
  }
  return { ms: Math.min(...times), reps: times.length, cpuMs: Math.min(...cpuTimes) };
}
