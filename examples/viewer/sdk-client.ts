/**
 * The page's one link to the SDK: a Segmenter whose work runs in worker.js (a module Web Worker), so
 * training and inference never block the page. The page and the worker talk through the SDK's
 * createWorkerSegmenter / exposeSegmenter pair (Comlink); progress events cross as plain data.
 */
import type { CreateSegmenterOptions, Segmenter } from '../../src/api/types.js';
import { createWorkerSegmenter } from '../../src/worker/client.js';

export async function connectSegmenter(options: CreateSegmenterOptions): Promise<Segmenter> {
  // worker.js is bundled beside main.js by scripts/build-viewer.js.
  const worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module', name: 'sds-web' });
  // copyInputs: the page keeps the scans it sends (to adapt again, to segment after adapting).
  return createWorkerSegmenter({ ...options, worker, copyInputs: true });
}
