// PyTorch golden fixtures (scripts/make-golden.py) on the wasm backend, one thread and a pool of two.
import { createWasmBackend } from '../src/backend/wasm/index.js';
import { describeGolden } from './support/golden-suite.js';
import { ensureWasmBuilt } from './support/wasm-build.js';

ensureWasmBuilt();

describeGolden('wasm (1 thread)', () => createWasmBackend({ threads: 1 }));
describeGolden('wasm (2 threads)', () => createWasmBackend({ threads: 2 }));
