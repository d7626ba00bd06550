// The one tsx entry of the benches whose code imports WebGPU kernels: `tsx bench/run.ts <bench> [flags]`
// registers the .wgsl loader first (the kernels are .wgsl imports), then runs bench/<bench>-run.ts's
// main with the remaining flags (`npm run bench:conv3d`, `bench:vnet`, `bench:sds`, `bench:soak`,
// `bench:webgpu-dispatch`). Bundles for a GPU machine (scripts/pack-gpu.sh) start at the -run.ts files
// instead, with the WGSL inlined. The exit ends the process even where Dawn or an abandoned WebGPU step
// (past its time cap) keeps handles open; a bench's process.exitCode stands.
import { register } from 'node:module';

const BENCHES = ['conv3d', 'vnet', 'sds', 'soak', 'webgpu-dispatch'] as const;

const [name, ...args] = process.argv.slice(2);
if (!BENCHES.includes(name as (typeof BENCHES)[number])) {
  process.stderr.write(`bench/run.ts: expected a bench name (${BENCHES.join(', ')}), found ${name === undefined ? 'none' : `"${name}"`}\n`);
  process.exit(2);
}
register('./support/wgsl-loader.mjs', import.meta.url);
const { main } = (await import(`./${name}-run.js`)) as { main: (args: string[]) => Promise<void> };
await main(args);
process.exit();
