import typescript from '@rollup/plugin-typescript';
import { dts } from 'rollup-plugin-dts';
import { wgsl } from './scripts/rollup-wgsl.js';

// Node built-ins and runtime dependencies stay imports; the optional `webgpu` (Dawn) package is
// loaded lazily by the WebGPU backend only in Node.
const external = (id) =>
  id.startsWith('node:') ||
  ['webgpu', 'fflate', 'h5wasm', 'dicom-parser', 'comlink', 'cli-progress', 'protobufjs', 'onnx-proto', 'onnxruntime-web'].some(
    (p) => id === p || id.startsWith(`${p}/`),
  );

export default [
  {
    // worker-node / worker-browser: the worker segmenter's scripts (src/worker); cli: the `sds` command (bin/sds.js).
    input: {
      index: 'src/index.ts',
      'worker-node': 'src/worker/node-worker.ts',
      'worker-browser': 'src/worker/browser-worker.ts',
      cli: 'src/cli/main.ts',
    },
    external,
    output: { dir: 'dist', format: 'es', sourcemap: true, entryFileNames: '[name].js', chunkFileNames: 'chunks/[name]-[hash].js' },
    plugins: [wgsl(), typescript({ tsconfig: './tsconfig.build.json', declaration: true, declarationDir: 'dist/types', outDir: 'dist' })],
  },
  {
    input: 'dist/types/index.d.ts',
    external,
    output: { file: 'dist/index.d.ts', format: 'es' },
    plugins: [dts()],
  },
];
