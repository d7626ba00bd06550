import typescript from '@rollup/plugin-typescript';
import { dts } from 'rollup-plugin-dts';
import { wgsl } from './scripts/rollup-wgsl.js';

// Node built-ins and runtime dependencies stay imports; the optional `webgpu` (Dawn) package is
// loaded lazily by the WebGPU backend only in Node.
const external = (id) =>
  id.startsWith('node:') || ['webgpu', 'fflate', 'h5wasm', 'dicom-parser'].some((p) => id === p || id.startsWith(`${p}/`));

export default [
  {
    input: { index: 'src/index.ts' },
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
