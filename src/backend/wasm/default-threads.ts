/**
 * How many threads the wasm backend uses when the caller names none: the machine's own count
 * (`os.availableParallelism()` in Node, `navigator.hardwareConcurrency` in browsers and workers),
 * at least 1 and at most MAX_DEFAULT_WASM_THREADS. An explicit `threads` option is not capped.
 */

/**
 * Why a cap at all: every thread beyond the first is a worker that instantiates the module and
 * holds its own convolution scratch in the one (at most 4 GiB) wasm memory, and the V-Net's coarse
 * levels split into too few units to keep more than a handful of threads busy. Desktop browsers
 * report up to 16-32 logical cores, half of them hyper-threads or efficiency cores; 8 keeps a big
 * machine well used without paying for idle workers. Ask for more with `threads` where it pays.
 */
export const MAX_DEFAULT_WASM_THREADS = 8;

/** `reported` (a platform's core count, possibly missing or nonsense) clamped to [1, MAX_DEFAULT_WASM_THREADS]. */
export function clampDefaultThreads(reported: number | undefined): number {
  if (reported === undefined || !Number.isFinite(reported) || reported < 1) return 1;
  return Math.min(MAX_DEFAULT_WASM_THREADS, Math.floor(reported));
}

/** The cores this process may use, as the platform reports them (undefined where it does not). */
async function reportedCores(): Promise<number | undefined> {
  if (typeof process !== 'undefined' && process.versions?.node) {
    const os = await import('node:os');
    // availableParallelism honours CPU affinity and cgroup limits (Node >= 18.14); cpus() is the fallback.
    return typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  }
  return globalThis.navigator?.hardwareConcurrency;
}

/** The default thread count of createWasmBackend on this machine. */
export async function defaultWasmThreads(): Promise<number> {
  return clampDefaultThreads(await reportedCores());
}
