/**
 * The execution model. Kernels are called synchronously and return tensor handles at once; the work
 * itself runs either now (single-threaded: the calling thread runs every step eagerly) or later, when
 * `flush()` is awaited by read() or sync() (with a pool: a browser main thread cannot block on
 * workers, so parallel steps must be awaited). Steps run in submission order. Temporaries and disposed
 * tensors are freed by a queued step, so memory is never reused while a pending step still reads it.
 */
import type { KernelExports, SplitKernelName } from './exports.js';
import type { WasmHeap } from './heap.js';
import type { WorkerPool } from './pool.js';

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
}

export type Step = { readonly run: () => void } | { readonly split: SplitCall };

export class WasmRuntime {
  private queue: Step[] = [];
  private draining: Promise<void> = Promise.resolve();
  /** Byte address of the i32 the threads claim units from. */
  private readonly counter: number;

  constructor(
    readonly memory: WebAssembly.Memory,
    readonly heap: WasmHeap,
    readonly k: KernelExports,
    private readonly pool: WorkerPool | null,
  ) {
    this.counter = heap.alloc(4);
  }

  get threads(): number {
    return (this.pool?.workers ?? 0) + 1;
  }

  submit(...steps: Step[]): void {
    if (this.pool) this.queue.push(...steps);
    else for (const step of steps) this.runOnThisThread(step);
  }

  /** Frees heap blocks once every step submitted so far has run. */
  releaseLater(...ptrs: number[]): void {
    this.submit({ run: () => ptrs.forEach((p) => this.heap.release(p)) });
  }

  /** Resolves when every submitted step has run. */
  flush(): Promise<void> {
    this.draining = this.draining.catch(() => undefined).then(() => this.drain());
    return this.draining;
  }

  /** A heap block holding `values` as i32, written now: nothing pending can read a fresh block. */
  int32Block(values: readonly number[]): number {
    const ptr = this.heap.alloc(values.length * 4);
    new Int32Array(this.memory.buffer, ptr, values.length).set(values);
    return ptr;
  }

  private runOnThisThread(step: Step): void {
    if ('run' in step) step.run();
    else this.splitFunction(step.split)(...step.split.args(0), 0, step.split.units);
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const step = this.queue.shift()!;
        if ('run' in step) step.run();
        else await this.runSplit(step.split);
      }
    } catch (e) {
      this.queue = [];
      throw e;
    }
  }

  private async runSplit(call: SplitCall): Promise<void> {
    const threads = this.threads;
    // About 8 chunks per thread: few enough that claiming costs nothing, enough to even out delays.
    const grain = Math.max(1, Math.ceil(call.units / (threads * 8)));
    const counter = new Int32Array(this.memory.buffer, this.counter, 1);
    Atomics.store(counter, 0, 0);
    const others: Promise<void>[] = [];
    for (let t = 1; t < threads; t++) {
      others.push(this.pool!.run(t - 1, { fn: call.fn, args: call.args(t), counter: this.counter, units: call.units, grain }));
    }
    const fn = this.splitFunction(call);
    const args = call.args(0);
    for (let begin = Atomics.add(counter, 0, grain); begin < call.units; begin = Atomics.add(counter, 0, grain)) {
      fn(...args, begin, Math.min(begin + grain, call.units));
    }
    await Promise.all(others);
  }

  private splitFunction(call: SplitCall): (...args: number[]) => void {
    return this.k[call.fn] as (...args: number[]) => void;
  }
}
