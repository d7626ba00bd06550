// `npm run bench:conv3d` (tsx bench/conv3d.ts [--quick]): registers the .wgsl loader before the
// kernels are imported, then runs bench/conv3d-run.ts. Bundles (bench/gpu) start at conv3d-run.ts.
import { register } from 'node:module';

register('./support/wgsl-loader.mjs', import.meta.url);
const { main } = await import('./conv3d-run.js');
await main(process.argv.slice(2));
