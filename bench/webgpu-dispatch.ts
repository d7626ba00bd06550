// `npm run bench:webgpu-dispatch` (tsx bench/webgpu-dispatch.ts [--steps 1] [--rounds 15]): host time
// to record a dispatch; bench/webgpu-dispatch-run.ts says what is measured. The .wgsl loader is
// registered before the kernels are imported.
import { register } from 'node:module';

register('./support/wgsl-loader.mjs', import.meta.url);
const { main } = await import('./webgpu-dispatch-run.js');
await main(process.argv.slice(2));
