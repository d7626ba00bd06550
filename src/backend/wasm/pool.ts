/**
 * A pool of workers sharing the backend's WebAssembly.Memory. The calling thread is worker 0: it
 * runs the first slice itself after posting the others, so `threads` = pool size + 1.
 */
import { SdsError } from '../../core/errors.js';
import { WORKER_SOURCE } from './worker-source.js';

interface Reply {
  type: 'ready' | 'done' | 'error';
  id: number;
  message?: string;
  /** With 'done': milliseconds the worker spent computing its chunks. */
  busyMs?: number;
}

/** The little a pool needs from a Node or browser worker. */
interface PortLike {
  post(message: unknown): void;
  onReply(handler: (reply: Reply) => void): void;
  terminate(): void;
}

async function startWorker(): Promise<PortLike> {
  if (typeof process !== 'undefined' && process.versions?.node) {
    const { Worker } = await import('node:worker_threads');
    const worker = new Worker(WORKER_SOURCE, { eval: true });
    return {
      post: (m) => worker.postMessage(m),
      onReply: (h) => worker.on('message', h),
      terminate: () => void worker.terminate(),
    };
  }
  const url = URL.createObjectURL(new Blob([WORKER_SOURCE], { type: 'text/javascript' }));
  const worker = new Worker(url);
  URL.revokeObjectURL(url);
  return {
    post: (m) => worker.postMessage(m),
    onReply: (h) => worker.addEventListener('message', (e: MessageEvent<Reply>) => h(e.data)),
    terminate: () => worker.terminate(),
  };
}

export class WorkerPool {
  private nextId = 0;
  private readonly pending = new Map<number, { resolve: (busyMs: number) => void; reject: (e: Error) => void }>();

  private constructor(private readonly ports: PortLike[]) {
    for (const port of ports) {
      port.onReply((reply) => {
        const waiter = this.pending.get(reply.id);
        if (!waiter) return;
        this.pending.delete(reply.id);
        if (reply.type === 'error') waiter.reject(new SdsError('E_WASM_UNAVAILABLE', `wasm worker failed: ${reply.message}`));
        else waiter.resolve(reply.busyMs ?? 0);
      });
    }
  }

  /** Starts `workers` workers and instantiates `module` on `memory` in each. */
  static async create(workers: number, module: WebAssembly.Module, memory: WebAssembly.Memory): Promise<WorkerPool> {
    const ports = await Promise.all(Array.from({ length: workers }, () => startWorker()));
    await Promise.all(
      ports.map(
        (port) =>
          new Promise<void>((resolve, reject) => {
            port.onReply((reply) => {
              if (reply.type === 'ready') resolve();
              else if (reply.id === -1) reject(new SdsError('E_WASM_UNAVAILABLE', `wasm worker failed to start: ${reply.message}`));
            });
            port.post({ type: 'init', module, memory });
          }),
      ),
    );
    return new WorkerPool(ports);
  }

  get workers(): number {
    return this.ports.length;
  }

  /**
   * Worker `index` runs `fn(...args, begin, end)` on chunks of `grain` units claimed from the i32
   * counter at byte address `counter` until `units` are claimed; resolves, when it has stopped, with
   * the milliseconds it spent computing.
   */
  run(index: number, work: { fn: string; args: readonly number[]; counter: number; units: number; grain: number }): Promise<number> {
    const id = this.nextId++;
    return new Promise<number>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.ports[index].post({ type: 'run', id, ...work });
    });
  }

  terminate(): void {
    for (const port of this.ports) port.terminate();
    for (const waiter of this.pending.values()) waiter.reject(new SdsError('E_DISPOSED', 'wasm backend destroyed while work was running'));
    this.pending.clear();
  }
}
