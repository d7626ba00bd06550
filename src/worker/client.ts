/**
 * `createWorkerSegmenter(options)`: the Segmenter of src/api run in a worker — a Web Worker in the
 * browser, worker_threads in Node — through Comlink, so training never blocks the calling thread.
 *
 * - Volumes cross as transferables: the ArrayBuffers under input Volumes move to the worker (they are
 *   detached here afterwards; `copyInputs: true` copies instead) and label maps move back.
 * - onProgress callbacks are proxied (Comlink.proxy); events arrive before the call resolves.
 * - AbortSignals cross as a shared flag (SharedArrayBuffer: Node, cross-origin-isolated pages) that
 *   the worker polls every iteration / window, and as an abort message for other pages.
 * - info() and memoryPlan() stay synchronous: info is cached from the worker after every call that
 *   changes it, and the memory plan is computed here from it.
 * - Errors keep their SdsError code.
 */
import * as Comlink from 'comlink';
import type {
  CreateSegmenterOptions,
  ExportOnnxOptions,
  FinetuneOptions,
  FinetuneResult,
  ModelInput,
  ScanInput,
  SegmentOptions,
  Segmenter,
  SegmenterInfo,
} from '../api/types.js';
import { describe, expectPatch } from '../api/values.js';
import { SdsError } from '../core/errors.js';
import type { Vec3 } from '../core/shape.js';
import { memoryPlan as planMemory, type MemoryPlan } from '../nn/memory-plan.js';
import { SDS_SMALL_CPU_PRESET } from '../train/sds/config.js';
import type { Volume } from '../volume/volume.js';
import type { SegmenterHost } from './expose.js';
import { type AbortLink, fromWireError, volumeBuffers } from './wire.js';

/** A Node worker_threads Worker, typed loosely so browser builds need no Node types. */
interface NodeWorkerLike {
  on(event: string, listener: (value: unknown) => void): unknown;
  off(event: string, listener: (value: unknown) => void): unknown;
  postMessage(message: unknown, transfer?: readonly unknown[]): void;
  terminate(): Promise<number>;
}

export interface WorkerSegmenterOptions extends Omit<CreateSegmenterOptions, 'device'> {
  /**
   * A worker already running a script that calls `exposeSegmenter` (a browser bundle's own worker), or
   * a Node worker_threads Worker. Default: start the package's worker (dist/worker-node.js in Node,
   * dist/worker-browser.js as a module worker in browsers). dispose() terminates it either way.
   */
  readonly worker?: Worker | NodeWorkerLike;
  /** Copy input Volumes to the worker instead of transferring their buffers. Default false. */
  readonly copyInputs?: boolean;
}

interface Started {
  readonly endpoint: Comlink.Endpoint;
  readonly terminate: () => Promise<void>;
  /** Rejects when the worker dies (error or exit), so no call waits forever. */
  readonly dead: Promise<never>;
}

const isNode = (): boolean =>
  typeof process !== 'undefined' &&
  process.versions?.node !== undefined &&
  typeof (globalThis as { window?: unknown }).window === 'undefined';

const isNodeWorker = (w: unknown): w is NodeWorkerLike =>
  typeof (w as { on?: unknown }).on === 'function' && typeof (w as { addEventListener?: unknown }).addEventListener !== 'function';

async function nodeAdapter(w: NodeWorkerLike): Promise<Started> {
  const nodeEndpoint = (await import('comlink/dist/esm/node-adapter.mjs')).default;
  const dead = new Promise<never>((_, reject) => {
    w.on('error', (e) => reject(new SdsError('E_IO', `worker failed: ${e instanceof Error ? e.message : String(e)}`)));
    w.on('exit', (code) => reject(new SdsError('E_DISPOSED', `worker exited (code ${String(code)})`)));
  });
  dead.catch(() => undefined);
  return { endpoint: nodeEndpoint(w), terminate: async () => void (await w.terminate()), dead };
}

function webAdapter(w: Worker): Started {
  const dead = new Promise<never>((_, reject) =>
    w.addEventListener('error', (e) => reject(new SdsError('E_IO', `worker failed: ${(e as ErrorEvent).message ?? 'error event'}`))),
  );
  dead.catch(() => undefined);
  return { endpoint: w, terminate: async () => w.terminate(), dead };
}

/** The package's own Node worker: the TS entry through tsx under tests / tsx, the built one from dist. */
async function startNodeWorker(): Promise<Started> {
  const [{ Worker }, { existsSync }, { createRequire }, { fileURLToPath, pathToFileURL }] = await Promise.all([
    import('node:worker_threads'),
    import('node:fs'),
    import('node:module'),
    import('node:url'),
  ]);
  const here = import.meta.url;
  if (here.endsWith('.ts')) {
    // Running from sources (vitest, tsx): the worker needs tsx and the .wgsl loader the benches use.
    // tsx's `--import tsx` entry registers its hooks on the main thread only, so a worker registers them itself.
    const tsxApi = new URL('dist/esm/api/index.mjs', pathToFileURL(createRequire(here).resolve('tsx/package.json'))).href;
    const wgsl = new URL('../../bench/support/wgsl-loader.mjs', here).href;
    const setup =
      `import { register as registerTsx } from ${JSON.stringify(tsxApi)}; import { register } from 'node:module'; ` +
      `registerTsx(); register(${JSON.stringify(wgsl)});`;
    const worker = new Worker(new URL('./node-worker.ts', here), {
      execArgv: ['--import', `data:text/javascript,${encodeURIComponent(setup)}`],
    });
    return nodeAdapter(worker as unknown as NodeWorkerLike);
  }
  // Built: dist/worker-node.js beside dist/index.js; this module may sit in dist/chunks/.
  const candidates = [new URL('./worker-node.js', here), new URL('../worker-node.js', here)];
  const entry = candidates.find((u) => existsSync(fileURLToPath(u)));
  if (entry === undefined)
    throw new SdsError(
      'E_IO',
      `worker segmenter: expected the worker script at ${candidates.map((u) => fileURLToPath(u)).join(' or ')}, found none (run npm run build)`,
    );
  return nodeAdapter(new Worker(entry, { execArgv: [] }) as unknown as NodeWorkerLike);
}

async function start(options: WorkerSegmenterOptions): Promise<Started> {
  if (options.worker !== undefined) {
    return isNodeWorker(options.worker) ? nodeAdapter(options.worker) : webAdapter(options.worker as Worker);
  }
  if (isNode()) return startNodeWorker();
  if (typeof Worker === 'undefined') throw new SdsError('E_INVALID_ARGUMENT', 'worker segmenter: this environment has no Worker');
  const file = import.meta.url.endsWith('.ts') ? './browser-worker.ts' : './worker-browser.js';
  return webAdapter(new Worker(new URL(file, import.meta.url), { type: 'module' }));
}

let nextCallId = 1;

export async function createWorkerSegmenter(options: WorkerSegmenterOptions = {}): Promise<Segmenter> {
  if (options === null || typeof options !== 'object')
    throw new SdsError('E_INVALID_ARGUMENT', `createWorkerSegmenter: expected an options object, found ${describe(options)}`);
  if ((options as CreateSegmenterOptions).device !== undefined)
    throw new SdsError(
      'E_INVALID_ARGUMENT',
      'createWorkerSegmenter: device: a GPUDevice cannot cross to a worker; the worker requests its own',
    );
  const { worker: _worker, copyInputs = false, ...createOptions } = options;
  const started = await start(options);
  const remote = Comlink.wrap<SegmenterHost>(started.endpoint);
  let disposed = false;

  /** One remote call: the worker's death rejects it, wire errors become SdsErrors again. */
  const call = async <R>(f: () => Promise<R>): Promise<R> => {
    if (disposed) throw new SdsError('E_DISPOSED', 'segmenter: used after dispose()');
    try {
      return await Promise.race([f(), started.dead]);
    } catch (e) {
      throw fromWireError(e);
    }
  };
  const send = <T>(value: T): T => {
    const buffers = copyInputs ? [] : volumeBuffers(value);
    return buffers.length > 0 ? Comlink.transfer(value, buffers) : value;
  };

  /** The abort link of one call, wired to `signal`. */
  const link = (signal: AbortSignal | undefined, what: string): { abort?: AbortLink; unlink: () => void } => {
    if (signal === undefined) return { unlink: () => undefined };
    if (!(typeof signal === 'object' && signal !== null && typeof signal.aborted === 'boolean'))
      throw new SdsError('E_INVALID_ARGUMENT', `${what}: signal: expected an AbortSignal, found ${describe(signal)}`);
    const id = nextCallId++;
    const flag = typeof SharedArrayBuffer !== 'undefined' ? new Int32Array(new SharedArrayBuffer(4)) : undefined;
    const onAbort = (): void => {
      if (flag !== undefined) Atomics.store(flag, 0, 1);
      void remote.abort(id).catch(() => undefined);
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    return { abort: { id, ...(flag !== undefined ? { flag } : {}) }, unlink: () => signal.removeEventListener('abort', onAbort) };
  };
  const proxied = <F extends (...args: never[]) => void>(f: F | undefined, what: string): F | undefined => {
    if (f === undefined) return undefined;
    if (typeof f !== 'function') throw new SdsError('E_INVALID_ARGUMENT', `${what}: onProgress: expected a function, found ${describe(f)}`);
    return Comlink.proxy(f);
  };

  let info: SegmenterInfo;
  try {
    info = await call(() => remote.create(createOptions));
  } catch (e) {
    await started.terminate();
    throw e;
  }

  const segmenter: Segmenter = {
    info: () => {
      if (disposed) throw new SdsError('E_DISPOSED', 'segmenter: info() after dispose()');
      return info;
    },
    memoryPlan(o = {}): MemoryPlan {
      const p: Vec3 = o.patch !== undefined ? expectPatch(o.patch, 'memoryPlan: patch') : info.patch;
      return planMemory(info.network, [p[2], p[1], p[0]], o.batch ?? SDS_SMALL_CPU_PRESET.labeledBatch);
    },
    async finetune(o: FinetuneOptions): Promise<FinetuneResult> {
      if (o === null || typeof o !== 'object')
        throw new SdsError('E_INVALID_ARGUMENT', `finetune: expected an options object { labeled, unlabeled, ... }, found ${describe(o)}`);
      const { signal, onProgress, ...rest } = o;
      const { abort, unlink } = link(signal, 'finetune');
      try {
        const out = await call(() => remote.finetune(send(rest), proxied(onProgress, 'finetune') as never, abort));
        info = out.info;
        return out.result;
      } finally {
        unlink();
      }
    },
    async segment(input: ScanInput, o: SegmentOptions = {}): Promise<Volume<Uint8Array>> {
      if (o === null || typeof o !== 'object')
        throw new SdsError('E_INVALID_ARGUMENT', `segment: options: expected an object, found ${describe(o)}`);
      const { signal, onProgress, ...rest } = o;
      const { abort, unlink } = link(signal, 'segment');
      try {
        return (await call(() => remote.segment(send(input), rest, proxied(onProgress, 'segment') as never, abort))) as Volume<Uint8Array>;
      } finally {
        unlink();
      }
    },
    save: () => call(() => remote.save()),
    async load(model: ModelInput): Promise<void> {
      info = await call(() => remote.load(model));
    },
    exportOnnx: (o: ExportOnnxOptions = {}) => call(() => remote.exportOnnx(o)),
    async dispose(): Promise<void> {
      if (disposed) return;
      try {
        await call(() => remote.dispose());
      } finally {
        disposed = true;
        remote[Comlink.releaseProxy]();
        await started.terminate();
      }
    },
  };
  return segmenter;
}
