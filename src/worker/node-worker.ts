// The worker_threads entry of the Node worker segmenter (started by createWorkerSegmenter).
import { parentPort } from 'node:worker_threads';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import { exposeSegmenter } from './expose.js';

if (parentPort === null) throw new Error('sds-web: node-worker.js must run in a worker_threads Worker');
exposeSegmenter(nodeEndpoint(parentPort));
