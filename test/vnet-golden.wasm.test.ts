// The V-Net against PyTorch (scripts/make-golden-vnet.py) on the wasm backend with a pool of two threads.
import { createWasmBackend } from '../src/backend/wasm/index.js';
import { describeVnetGolden } from './support/vnet-golden-suite.js';
import { ensureWasmBuilt } from './support/wasm-build.js';

ensureWasmBuilt();

describeVnetGolden('wasm', () => createWasmBackend({ threads: 2 }));
