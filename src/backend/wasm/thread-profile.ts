// The thread-use profile's shape, apart from runtime.ts so that the public type declarations
// (wasm/index.ts's wasmThreadProfiler) do not pull in the kernel exports' generated types.

/** How the threads spent one kind of step's time (see ThreadProfile). */
export interface ThreadUse {
  /** Steps of this kind. */
  calls: number;
  /** Wall time from a step's start until every thread had finished it, summed over steps. */
  wallMs: number;
  /** Time the threads spent computing, summed over threads and steps (at most threads x wallMs). */
  busyMs: number;
}

/**
 * Where the queue's time went while profiling was on, per kernel: `parallel` holds the steps split
 * across the pool (their idle time, threads x wallMs - busyMs, is wake-up latency and imbalance),
 * `serial` the steps the calling thread ran alone while the workers waited (passes too small to
 * share, and 'host' steps: queued writes and read-backs). Time outside the queue (JavaScript that
 * builds the steps, host-side work between read-backs) is the caller's to measure: it is serial too.
 */
export interface ThreadProfile {
  readonly threads: number;
  readonly parallel: Record<string, ThreadUse>;
  readonly serial: Record<string, ThreadUse>;
}
