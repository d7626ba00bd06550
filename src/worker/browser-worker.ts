// A ready-made Web Worker entry (module worker): `new Worker(new URL('./worker-browser.js', ...), { type: 'module' })`.
// Bundlers that do not follow `new URL(..., import.meta.url)` build their own one-line worker with exposeSegmenter(self).
import { exposeSegmenter } from './expose.js';

exposeSegmenter(self as unknown as Parameters<typeof exposeSegmenter>[0]);
