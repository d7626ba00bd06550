// The shared op suite (test/support/op-suite.ts) on the WebGPU backend: Dawn for Node, on SwiftShader
// where the machine has no GPU.
import { createWebGpuBackend } from '../src/backend/webgpu/index.js';
import { describeOpSuite } from './support/op-suite.js';

describeOpSuite('webgpu', () => createWebGpuBackend());
