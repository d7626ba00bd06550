/**
 * The execution model. Kernels are called synchronously and return tensor handles at once; the work
 * itself runs either now (single-threaded: the calling thread runs every step eagerly) or later, when
 * `flush()` is awaited by read() or sync() (with a pool: a browser main thread cannot block on
 * workers, so parallel steps must be awaited). Steps run strictly in submission order.
 *
 * Memory is freed at once, when a tensor is disposed or a kernel has submitted the last step that uses
 * its scratch, not when the queue drains: a block whose last use is queued before position p can be
 * handed to an allocation whose first use is queued after p, because the queue runs p's predecessors
 * first (the WebGPU buffer pool relies on the same argument). Otherwise an un-synced training step
 * would hold every block it ever allocated. The argument holds only if nothing touches memory at
 * enqueue time, so every write and read of tensor memory goes through the queue: `write`, `zeroFill`,
 * `int32Block` and `readInto` act now only when nothing is pending or running, and otherwise queue a
 * step (a write keeps a private copy of its bytes until then). Enqueue-time sizes come from
 * `queryBlock`, a block no step ever touches.
 */
import type { KernelExports, SplitKernelName } from './exports.js';
import type { WasmHeap } from './heap.js';
import type { WorkerPool } from './pool.js';
import type { ThreadProfile } from './thread-profile.js';

/**
 * A kernel range call split into independent units. Threads claim chunks of units from a shared
 * counter (Atomics.add), so a thread the OS delays simply claims fewer; each unit is computed the
 * same way whichever thread runs it, so results do not depend on the schedule.
 */
export interface SplitCall {
  readonly fn: SplitKernelName;
  readonly units: number;
  /** Arguments before (begin, end); per thread, for per-thread scratch. */
  readonly args: (thread: number) => number[];
  /** Fewest units per claimed chunk, for kernels that pay a fixed cost per call (default 1). */
  readonly minGrain?: number;
  /** Run every unit on the calling thread, in one call (work too small to share). */
  readonly serial?: boolean;
}

export type Step = { readonly run: () => void } | { readonly split: SplitCall };

/** Below this many floats a memory-bound pass runs on the calling thread: waking the workers costs more. */
const PARALLEL_FLOATS = 1 << 16;

/**
 * A pass over `floats` values as `units` units of a Range kernel: split across the pool, or, for
 * small tensors, the same call over every unit as one step here (same units, same results).
 */
export function rangeStep(fn: SplitKernelName, units: number, floats: number, args: readonly number[]): Step {
  if (floats >= PARALLEL_FLOATS) return { split: { fn, units, args: () => [...args] } };
  return { split: { fn, units, args: () => [...args], serial: true } };
}

/** Int32 slots of the query block: the 21 convolution geometry values, with room to spare. */
const QUERY_SLOTS = 32;

export class WasmRuntime {
  private queue: Step[] = [];
  private draining: Promise<void> = Promise.resolve();
  /** True while a drain is executing steps (a split may be running on the workers right now). */
  private running = false;
  /** Byte address of the i32 the threads claim units from. */
  private readonly counter: number;
  private readonly query: number;
  /** Non-null while profiling: bookkeeping costs a clock read per step, so it is off by default. */
  private profile: ThreadProfile | null = null;

  constructor(
    readonly memory: WebAssembly.Memory,
    readonly heap: WasmHeap,
    readonly k: KernelExports,
    private readonly pool: WorkerPool | null,
  ) {
    this.counter = heap.alloc(4);
    this.query = heap.alloc(QUERY_SLOTS * 4);
  }

  get threads(): number {
    return (this.pool?.workers ?? 0) + 1;
  }

  /** Nothing queued and nothing running: memory may be touched now without reordering anything. */
  private get idle(): boolean {
    return this.queue.length === 0 && !this.running;
  }

  /** Starts a thread-use profile (replacing any running one). */
  startProfile(): void {
    this.profile = { threads: this.threads, parallel: {}, serial: {} };
  }

  /** The profile since startProfile, and profiling off; null when none was started. */
  takeProfile(): ThreadProfile | null {
    const p = this.profile;
    this.profile = null;
    return p;
  }

  private record(kind: 'parallel' | 'serial', what: string, wallMs: number, busyMs: number): void {
    const table = this.profile![kind];
    const use = (table[what] ??= { calls: 0, wallMs: 0, busyMs: 0 });
    use.calls++;
    use.wallMs += wallMs;
    use.busyMs += busyMs;
  }

  /** Runs `run` on this thread, timed as a serial step when profiling. */
  private serially(what: string, run: () => void): void {
    if (this.profile === null) {
      run();
      return;
    }
    const start = performance.now();
    run();
    const ms = performance.now() - start;
    this.record('serial', what, ms, ms);
  }

  submit(...steps: Step[]): void {
    if (this.pool) this.queue.push(...steps);
    else for (const step of steps) this.runOnThisThread(step);
  }

  /** Frees heap blocks now: every step that uses them is already queued, and the queue runs in order. */
  release(...ptrs: number[]): void {
    for (const p of ptrs) this.heap.release(p);
  }

  /**
   * Writes `bytes` at `ptr` in queue order. The block may have been freed by work still pending, so
   * the write waits its turn, holding a copy of `bytes` when the caller may change them meanwhile.
   */
  write(ptr: number, bytes: Uint8Array, callerMayChange = true): void {
    if (this.idle) new Uint8Array(this.memory.buffer, ptr, bytes.byteLength).set(bytes);
    else {
      const held = callerMayChange ? bytes.slice() : bytes;
      this.queue.push({ run: () => new Uint8Array(this.memory.buffer, ptr, held.byteLength).set(held) });
    }
  }

  /** Zeroes `bytes` bytes at `ptr` in queue order (see write). */
  zeroFill(ptr: number, bytes: number): void {
    this.submitOrRunNow({ run: () => new Uint8Array(this.memory.buffer, ptr, bytes).fill(0) });
  }

  /** A heap block holding `values` as i32, written in queue order (see write). */
  int32Block(values: readonly number[]): number {
    const ptr = this.heap.alloc(values.length * 4);
    this.write(ptr, new Uint8Array(Int32Array.from(values).buffer), false);
    return ptr;
  }

  /**
   * The private query block holding `values` as i32, written now, for calling size and count exports
   * (tapCount, phaseInputBytes, ...) at enqueue time. No step reads it; valid until the next call.
   */
  queryBlock(values: readonly number[]): number {
    new Int32Array(this.memory.buffer, this.query, QUERY_SLOTS).set(values);
    return this.query;
  }

  /** Copies the bytes at `ptr` into `dst` as they are after every step submitted so far, before any later one. */
  async readInto(ptr: number, dst: Uint8Array): Promise<void> {
    this.submitOrRunNow({ run: () => dst.set(new Uint8Array(this.memory.buffer, ptr, dst.byteLength)) });
    await this.flush();
  }

  /** Resolves when every submitted step has run. */
  flush(): Promise<void> {
    this.draining = this.draining.catch(() => undefined).then(() => this.drain());
    return this.draining;
  }

  private submitOrRunNow(step: { readonly run: () => void }): void {
    if (this.idle) step.run();
    else this.queue.push(step);
  }

  private runOnThisThread(step: Step): void {
    if ('run' in step) this.serially('host', step.run);
    else this.serially(step.split.fn, () => this.splitFunction(step.split)(...step.split.args(0), 0, step.split.units));
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      while (this.queue.length > 0) {
        const step = this.queue.shift()!;
        if ('run' in step) this.serially('host', step.run);
        else await this.runSplit(step.split);
      }
    } catch (e) {
      this.queue = [];
      throw e;
    } finally {
      this.running = false;
    }
  }

  private async runSplit(call: SplitCall): Promise<void> {
    if (call.serial) {
      this.serially(call.fn, () => this.splitFunction(call)(...call.args(0), 0, call.units));
      return;
    }
    const start = this.profile === null ? 0 : performance.now();
    const threads = this.threads;
    // About 8 chunks per thread: few enough that claiming costs nothing, enough to even out delays.
    const grain = Math.max(call.minGrain ?? 1, Math.ceil(call.units / (threads * 8)));
    const counter = new Int32Array(this.memory.buffer, this.counter, 1);
    Atomics.store(counter, 0, 0);
    const others: Promise<number>[] = [];
    for (let t = 1; t < threads; t++) {
      others.push(this.pool!.run(t - 1, { fn: call.fn, args: call.args(t), counter: this.counter, units: call.units, grain }));
    }
    const fn = this.splitFunction(call);
    const args = call.args(0);
    for (let begin = Atomics.add(counter, 0, grain); begin < call.units; begin = Atomics.add(counter, 0, grain)) {
      fn(...args, begin, Math.min(begin + grain, call.units));
    }
    const ownBusyMs = this.profile === null ? 0 : performance.now() - start;
    const workerBusyMs = await Promise.all(others);
    if (this.profile !== null) {
      this.record('parallel', call.fn, performance.now() - start, workerBusyMs.reduce((a, b) => a + b, ownBusyMs));
    }
  }

  private splitFunction(call: SplitCall): (...args: number[]) => void {
    return this.k[call.fn] as (...args: number[]) => void;
  }
}
