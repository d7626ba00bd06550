// The viewer's Web Worker: the whole SDK (backends, training, inference) runs here, behind the
// Segmenter that the page's createWorkerSegmenter talks to. The wasm backend starts its own thread pool
// from here when the page is cross-origin isolated.
import { exposeSegmenter } from '../../src/worker/expose.js';

exposeSegmenter(self as unknown as Parameters<typeof exposeSegmenter>[0]);
