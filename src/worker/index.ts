// The worker-backed segmenter: one import for the calling side, one for the worker script.
export { createWorkerSegmenter, type WorkerSegmenterOptions } from './client.js';
export { exposeSegmenter, type SegmenterHost } from './expose.js';
