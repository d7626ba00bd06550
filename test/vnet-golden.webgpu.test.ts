// The V-Net against PyTorch (scripts/make-golden-vnet.py) on the WebGPU backend.
import { createWebGpuBackend } from '../src/backend/webgpu/index.js';
import { FLOAT32_GOLDEN_TOLERANCES, describeVnetGolden } from './support/vnet-golden-suite.js';

// Float32 accumulation: room for a switched ReLU gate (see FLOAT32_GOLDEN_TOLERANCES).
describeVnetGolden('webgpu', () => createWebGpuBackend(), FLOAT32_GOLDEN_TOLERANCES);
