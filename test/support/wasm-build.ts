/**
 * Builds the wasm kernels before a test imports the backend when build/wasm/binaries.js is missing or
 * older than any source in wasm/ (it is generated and gitignored), so a stale binary is never tested.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

const root = fileURLToPath(new URL('../..', import.meta.url));

export function ensureWasmBuilt(): void {
  execFileSync(process.execPath, [join(root, 'scripts', 'build-wasm.js'), '--if-stale'], { stdio: 'inherit' });
}
