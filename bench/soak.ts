// `npm run bench:soak` (node --expose-gc --import tsx bench/soak.ts [--iterations 2000] [--every 100]
// [--backends webgpu,wasm] [--name soak-<backends>] [--max-seconds N] [--data folder]): the tsx entry of
// bench/soak-run.ts, which says what is measured. WebGPU's shaders are .wgsl imports, so the loader is
// registered before the bench is imported.
import { register } from 'node:module';

register('./support/wgsl-loader.mjs', import.meta.url);

const { main } = await import('./soak-run.js');
await main(process.argv.slice(2));
