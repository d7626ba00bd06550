// `npm run bench:vnet` (tsx bench/vnet.ts [--profile | --no-profile]): registers the .wgsl loader
// before the WebGPU kernels are imported, then runs bench/vnet-run.ts (see there for what it measures).
import { register } from 'node:module';

register('./support/wgsl-loader.mjs', import.meta.url);
const { main } = await import('./vnet-run.js');
await main(process.argv.slice(2));
// An abandoned WebGPU step (past its time cap) would keep the process alive.
process.exit(0);
