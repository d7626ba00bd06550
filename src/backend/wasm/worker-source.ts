/**
 * The pool worker, as source text. Shipping it as a string (started with `eval: true` in Node and
 * from a Blob URL in browsers) means no worker file has to be found next to the bundle, from src/,
 * dist/ or a CDN alike. It instantiates the compiled module on the shared memory and, on request,
 * runs chunks of a kernel's units claimed from a shared counter; it owns no state beyond the instance.
 */
export const WORKER_SOURCE = `
'use strict';
let kernels = null;
let memory = null;
let port;
function handle(msg) {
  if (msg.type === 'init') {
    WebAssembly.instantiate(msg.module, { env: { memory: msg.memory } }).then(
      (instance) => { kernels = instance.exports; memory = msg.memory; port.postMessage({ type: 'ready' }); },
      (e) => port.postMessage({ type: 'error', id: -1, message: String((e && e.stack) || e) }),
    );
    return;
  }
  try {
    // Claim chunks of units from the shared counter until none are left (see runtime.ts).
    // busyMs: how long this thread computed, for the runtime's thread-use profile (runtime.ts).
    const start = performance.now();
    const counter = new Int32Array(memory.buffer, msg.counter, 1);
    for (let begin = Atomics.add(counter, 0, msg.grain); begin < msg.units; begin = Atomics.add(counter, 0, msg.grain)) {
      kernels[msg.fn](...msg.args, begin, Math.min(begin + msg.grain, msg.units));
    }
    port.postMessage({ type: 'done', id: msg.id, busyMs: performance.now() - start });
  } catch (e) {
    port.postMessage({ type: 'error', id: msg.id, message: String((e && e.stack) || e) });
  }
}
if (typeof require === 'function') {
  port = require('node:worker_threads').parentPort;
  port.on('message', handle);
} else {
  port = self;
  self.onmessage = (event) => handle(event.data);
}
`;
