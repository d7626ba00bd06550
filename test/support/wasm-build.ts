/**
 * Builds the wasm kernels before a test imports the backend when build/wasm/binaries.js is missing or
 * older than any source in wasm/ (it is generated and gitignored), so a stale binary is never tested.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

const root = fileURLToPath(new URL('../..', import.meta.url));

export function ensureWasmBuilt(): void {
  const output = join(root, 'build', 'wasm', 'binaries.js');
  const sources = readdirSync(join(root, 'wasm')).map((f) => statSync(join(root, 'wasm', f)).mtimeMs);
  const builder = statSync(join(root, 'scripts', 'build-wasm.js')).mtimeMs;
  if (existsSync(output) && statSync(output).mtimeMs >= Math.max(builder, ...sources)) return;
  execFileSync(process.execPath, [join(root, 'scripts', 'build-wasm.js')], { stdio: 'inherit' });
}
