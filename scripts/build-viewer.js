// Bundles the viewer page (examples/viewer/) with esbuild into examples/viewer/dist/: main.js (the page:
// NiiVue, the SDK's worker client), worker.js (the SDK itself, run in a module Web Worker), index.html and
// styles.css copied as they are. WGSL shaders are bundled as text (what the rollup plugin does for dist/),
// the wasm kernels come inlined from build/wasm/binaries.js (compiled first when stale).
// Usage: node scripts/build-viewer.js [--minify]     (the e2e tests call buildViewer() themselves)
import { execFileSync } from 'node:child_process';
import { copyFile, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const viewerDir = join(root, 'examples', 'viewer');

/**
 * Node built-ins (node:fs, node:path, node:worker_threads, …) become empty modules. The SDK reaches them
 * only behind "are we in Node?" checks, but esbuild inlines lazily imported modules without code splitting,
 * which would hoist their `import … from 'node:fs'` to the top of the bundle, where a browser fails on it.
 */
export const nodeBuiltinStubs = {
  name: 'node-builtin-stubs',
  setup(b) {
    b.onResolve({ filter: /^node:/ }, (args) => ({ path: args.path, namespace: 'node-stub' }));
    // CommonJS, so any named import resolves (to undefined) instead of failing the build.
    b.onLoad({ filter: /.*/, namespace: 'node-stub' }, (args) => ({
      contents: `module.exports = {}; // ${args.path}: Node only, never called in the browser`,
      loader: 'js',
    }));
  },
};

/** Builds the page into `outdir` (default examples/viewer/dist); resolves with the output directory. */
export async function buildViewer({ outdir = join(viewerDir, 'dist'), minify = false } = {}) {
  execFileSync(process.execPath, [join(root, 'scripts', 'build-wasm.js'), '--if-stale'], { stdio: 'inherit' });
  await mkdir(outdir, { recursive: true });
  await build({
    entryPoints: { main: join(viewerDir, 'main.ts'), worker: join(viewerDir, 'worker.ts') },
    outdir,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    // Dawn's `webgpu` package is Node-only and onnxruntime-web (the optional 'onnxruntime' engine) is not used
    // by the viewer: both stay lazy imports that the page never reaches.
    external: ['webgpu', 'onnxruntime-web'],
    plugins: [nodeBuiltinStubs],
    loader: { '.wgsl': 'text' },
    sourcemap: true,
    minify,
    logLevel: 'warning',
  });
  await copyFile(join(viewerDir, 'index.html'), join(outdir, 'index.html'));
  await copyFile(join(viewerDir, 'styles.css'), join(outdir, 'styles.css'));
  return outdir;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const outdir = await buildViewer({ minify: process.argv.includes('--minify') });
  console.log(`viewer bundled into ${outdir}`);
}
