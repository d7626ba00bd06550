#!/usr/bin/env node
// The `sds` command (package.json "bin"): runs the built command line in dist/ (npm run build first).
// From sources without a build: npm run sds -- <command> ...
//
// Relaxed-SIMD fused multiply-add is behind a V8 flag in Node 20; set before any wasm is compiled it
// applies to this process and its worker threads, so the wasm backend picks its FMA binaries (sds info
// shows "relaxed SIMD"). SDS_RELAXED_SIMD=0 keeps plain SIMD.
import { existsSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';

if (process.env.SDS_RELAXED_SIMD !== '0') setFlagsFromString('--experimental-wasm-relaxed-simd');

const cli = new URL('../dist/cli.js', import.meta.url);
if (!existsSync(cli)) {
  process.stderr.write('sds: dist/cli.js is missing: run `npm run build` first (or `npm run sds -- <command>` from sources)\n');
  process.exit(1);
}
const { main } = await import(cli.href);
const code = await main(process.argv.slice(2));
// The wasm worker pool and Dawn may hold the event loop open: leave once output is flushed.
process.stdout.write('', () => process.exit(code));
