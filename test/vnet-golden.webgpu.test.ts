// The V-Net against PyTorch (scripts/make-golden-vnet.py) on the WebGPU backend.
import { createWebGpuBackend } from '../src/backend/webgpu/index.js';
import { describeVnetGolden } from './support/vnet-golden-suite.js';

describeVnetGolden('webgpu', () => createWebGpuBackend());
