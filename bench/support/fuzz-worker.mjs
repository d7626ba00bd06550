// Entry of the fuzz worker thread: Node 20 workers do not inherit tsx's loader, so register it (and
// the .wgsl loader the backends need) here, then run the TypeScript worker branch of bench/fuzz.ts.
import { register } from 'node:module';
import { register as registerTsx } from 'tsx/esm/api';

registerTsx();
register('./wgsl-loader.mjs', import.meta.url);
await import('../fuzz.ts');
