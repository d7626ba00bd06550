// PyTorch golden fixtures (scripts/make-golden.py) on the WebGPU backend (Dawn; SwiftShader without a GPU).
import { createWebGpuBackend } from '../src/backend/webgpu/index.js';
import { describeGolden } from './support/golden-suite.js';

describeGolden('webgpu', () => createWebGpuBackend());
