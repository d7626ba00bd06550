/**
 * The worker side: `exposeSegmenter(endpoint)` serves one Segmenter (created by the first call) over
 * Comlink. A worker script is one line, so any bundler can build it:
 *   browser:  import { exposeSegmenter } from 'sds-web'; exposeSegmenter(self);
 *   Node:     see ./node-worker.ts (worker_threads through Comlink's node adapter).
 */
import * as Comlink from 'comlink';
import { createSegmenter } from '../api/create-segmenter.js';
import type {
  CreateSegmenterOptions,
  ExportOnnxOptions,
  FinetuneOptions,
  FinetuneProgress,
  FinetuneResult,
  ModelInput,
  ScanInput,
  SegmentOptions,
  Segmenter,
  SegmenterInfo,
} from '../api/types.js';
import { SdsError } from '../core/errors.js';
import type { Volume } from '../volume/volume.js';
import { type AbortLink, toWireError } from './wire.js';

export type WireFinetuneOptions = Omit<FinetuneOptions, 'signal' | 'onProgress'>;
export type WireSegmentOptions = Omit<SegmentOptions, 'signal' | 'onProgress'>;
export type SegmentProgress = Parameters<NonNullable<SegmentOptions['onProgress']>>[0];

/** The methods the worker serves (all async across the boundary). */
export interface SegmenterHost {
  create(options: CreateSegmenterOptions): Promise<SegmenterInfo>;
  info(): SegmenterInfo;
  finetune(
    options: WireFinetuneOptions,
    onProgress: ((e: FinetuneProgress) => void) | undefined,
    abort: AbortLink | undefined,
  ): Promise<{ result: FinetuneResult; info: SegmenterInfo }>;
  segment(
    input: ScanInput,
    options: WireSegmentOptions,
    onProgress: ((p: SegmentProgress) => void) | undefined,
    abort: AbortLink | undefined,
  ): Promise<Volume<Uint8Array>>;
  save(): Promise<Uint8Array>;
  load(model: ModelInput): Promise<SegmenterInfo>;
  exportOnnx(options: ExportOnnxOptions): Promise<Uint8Array>;
  abort(id: number): void;
  dispose(): Promise<void>;
}

type Remote<F> = F & { [Comlink.releaseProxy]?: () => void };

/** Calls a proxied callback without waiting; remembers the last call so the result can wait for it. */
class Forwarder<E> {
  last: Promise<unknown> = Promise.resolve();
  constructor(private readonly remote: Remote<(e: E) => void> | undefined) {}
  send(e: E): void {
    if (this.remote === undefined) return;
    this.last = Promise.resolve(this.remote(e)).catch(() => undefined);
  }
  /** Progress travels on its own port: wait for the last event before the result goes out, so it arrives first. */
  async close(): Promise<void> {
    await this.last;
    this.remote?.[Comlink.releaseProxy]?.();
  }
}

export function exposeSegmenter(endpoint: Comlink.Endpoint): void {
  let segmenter: Segmenter | null = null;
  const controllers = new Map<number, AbortController>();

  const current = (): Segmenter => {
    if (segmenter === null) throw new SdsError('E_INVALID_ARGUMENT', 'worker segmenter: expected create() before any other call');
    return segmenter;
  };
  /** An AbortSignal for the call; `poll` (called per iteration / window) turns the shared flag into an abort. */
  const cancellation = (link: AbortLink | undefined): { signal?: AbortSignal; poll: () => void; done: () => void } => {
    if (link === undefined) return { poll: () => undefined, done: () => undefined };
    const controller = new AbortController();
    controllers.set(link.id, controller);
    const poll = (): void => {
      if (link.flag !== undefined && Atomics.load(link.flag, 0) !== 0 && !controller.signal.aborted) controller.abort();
    };
    poll();
    return { signal: controller.signal, poll, done: () => controllers.delete(link.id) };
  };
  const wrap =
    <A extends unknown[], R>(f: (...args: A) => Promise<R> | R) =>
    async (...args: A): Promise<R> => {
      try {
        return await f(...args);
      } catch (e) {
        throw toWireError(e);
      }
    };

  const host: SegmenterHost = {
    create: wrap(async (options: CreateSegmenterOptions) => {
      if (segmenter !== null) throw new SdsError('E_INVALID_ARGUMENT', 'worker segmenter: create() was already called');
      segmenter = await createSegmenter(options);
      return segmenter.info();
    }),
    info: () => current().info(),
    finetune: wrap(async (options: WireFinetuneOptions, onProgress, link) => {
      const forward = new Forwarder(onProgress as Remote<(e: FinetuneProgress) => void> | undefined);
      const { signal, poll, done } = cancellation(link);
      try {
        const result = await current().finetune({
          ...options,
          signal,
          onProgress: (e) => {
            forward.send(e);
            poll();
          },
        });
        return { result, info: current().info() };
      } finally {
        done();
        await forward.close();
      }
    }),
    segment: wrap(async (input: ScanInput, options: WireSegmentOptions, onProgress, link) => {
      const forward = new Forwarder(onProgress as Remote<(p: SegmentProgress) => void> | undefined);
      const { signal, poll, done } = cancellation(link);
      try {
        const labels = await current().segment(input, {
          ...options,
          signal,
          onProgress: (p) => {
            forward.send(p);
            poll();
          },
        });
        return Comlink.transfer(labels, [labels.data.buffer as ArrayBuffer]);
      } finally {
        done();
        await forward.close();
      }
    }),
    save: wrap(async () => {
      const bytes = await current().save();
      return Comlink.transfer(bytes, [bytes.buffer as ArrayBuffer]);
    }),
    load: wrap(async (model: ModelInput) => {
      await current().load(model);
      return current().info();
    }),
    exportOnnx: wrap(async (options: ExportOnnxOptions) => {
      const bytes = await current().exportOnnx(options);
      return Comlink.transfer(bytes, [bytes.buffer as ArrayBuffer]);
    }),
    abort: (id: number) => controllers.get(id)?.abort(),
    dispose: wrap(async () => {
      await segmenter?.dispose();
      segmenter = null;
    }),
  };
  Comlink.expose(host, endpoint);
}
