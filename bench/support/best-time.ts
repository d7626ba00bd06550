/**
 * Peer timing for bench/wasm.ts: the fastest of several runs after a warm-up, capped by a time budget
 * because tfjs-cpu takes 5-20 s per V-Net-sized convolution on the 2-core development machine. The
 * fastest, not the median: the machine is shared and other jobs only ever add time.
 */
export interface BestTime {
  readonly ms: number;
  /** Timed runs behind `ms` (the warm-up is not one of them unless it was the only run). */
  readonly reps: number;
}

/**
 * Runs `once` (which must finish its work before resolving) as a warm-up, then up to `repeats` timed
 * runs while their total stays under `budgetMs`. A warm-up that alone exceeds the budget is the one
 * timing returned: a multi-second loop has long been tiered up by the JIT before it ends, so a
 * second run would change the figure little and would double the bench's length.
 */
export async function bestTime(once: () => Promise<void> | void, repeats: number, budgetMs: number): Promise<BestTime> {
  let start = performance.now();
  await once();
  const warmUp = performance.now() - start;
  if (warmUp >= budgetMs) return { ms: warmUp, reps: 1 };
  const times: number[] = [];
  let spent = 0;
  while (times.length < Math.max(1, repeats) && (times.length === 0 || spent < budgetMs)) {
    start = performance.now();
    await once();
    const ms = performance.now() - start;
    times.push(ms);
    spent += ms;
  }
  return { ms: Math.min(...times), reps: times.length };
}
