import { defineConfig } from 'vitest/config';
// @ts-expect-error plain JS plugin shared with rollup.config.js
import { wgsl } from './scripts/rollup-wgsl.js';

export default defineConfig({
  plugins: [wgsl()],
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // WebGPU (SwiftShader) and the wasm pool are heavy: one file at a time keeps memory and timing sane on 2 cores.
    fileParallelism: false,
    pool: 'forks',
  },
});
