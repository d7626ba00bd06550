// The shared op table on the wasm backend, single-threaded (eager) and with a pool of 2 threads
// (lazy: work runs when read() is awaited). Every kernel is held to the reference backend.
import { describeOpSuite } from './support/op-suite.js';
import { ensureWasmBuilt } from './support/wasm-build.js';
import { createWasmBackend } from '../src/backend/wasm/index.js';

ensureWasmBuilt();

describeOpSuite('wasm (1 thread)', () => createWasmBackend({ threads: 1 }));
describeOpSuite('wasm (2 threads)', () => createWasmBackend({ threads: 2 }));
