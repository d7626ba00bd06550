// The V-Net against PyTorch (scripts/make-golden-vnet.py) on the wasm backend with a pool of two threads.
import { createWasmBackend } from '../src/backend/wasm/index.js';
import { FLOAT32_GOLDEN_TOLERANCES, describeVnetGolden } from './support/vnet-golden-suite.js';
import { ensureWasmBuilt } from './support/wasm-build.js';

ensureWasmBuilt();

// Float32 accumulation: room for a switched ReLU gate (see FLOAT32_GOLDEN_TOLERANCES).
describeVnetGolden('wasm', () => createWasmBackend({ threads: 2 }), FLOAT32_GOLDEN_TOLERANCES);
