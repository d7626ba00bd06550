// `npm run experiment:sds`: the entry of scripts/experiment-sds-run.ts (its header lists the options). The
// WebGPU backend imports .wgsl sources, so tsx needs the loader the benches use, registered before the import.
import { register } from 'node:module';

register('../bench/support/wgsl-loader.mjs', import.meta.url);
await import('./experiment-sds-run.js');
