/**
 * Lets timers, I/O and rendering run between training iterations. On backends whose kernels finish
 * synchronously (reference, single-threaded wasm) every await resolves as a microtask, so without
 * this a whole run is one task: an AbortSignal.timeout would never fire, a page would freeze, and a
 * test runner's worker would miss its RPC deadlines.
 */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => (typeof setImmediate === 'function' ? setImmediate(resolve) : setTimeout(resolve, 0)));
}
