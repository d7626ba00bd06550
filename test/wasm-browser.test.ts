// The wasm backend in a real browser (Debian's Chromium through playwright-core): bundled, served on
// localhost, with and without cross-origin isolation. Isolated pages get the worker pool (Blob-URL
// workers on a shared memory); others run single-threaded and say so. Results are compared with the
// reference backend here in Node.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createReferenceBackend } from '../src/ops/reference/index.js';
import * as ops from '../src/ops/index.js';
import { ensureWasmBuilt } from './support/wasm-build.js';

const shapes = { x: [2, 3, 5, 6, 7], w: [4, 3, 3, 3, 3] } as const;
const params = { stride: [1, 1, 1], padding: [1, 1, 1], dilation: [1, 1, 1] } as const;
const xData = (): Float32Array => new Float32Array(2 * 3 * 5 * 6 * 7).map((_, i) => Math.sin(i));
const wData = (): Float32Array => new Float32Array(4 * 3 * 27).map((_, i) => Math.cos(i));

const page = `<!doctype html><script type="module">
import { createWasmBackend } from './bundle.js';
const results = [];
for (const threads of [1, 2]) {
  const b = await createWasmBackend({ threads });
  const x = b.upload(new Float32Array(2 * 3 * 5 * 6 * 7).map((_, i) => Math.sin(i)), ${JSON.stringify(shapes.x)});
  const w = b.upload(new Float32Array(4 * 3 * 27).map((_, i) => Math.cos(i)), ${JSON.stringify(shapes.w)});
  const y = b.kernels.conv3d(x, w, null, ${JSON.stringify(params)});
  results.push({ details: b.info().details, y: Array.from(await b.read(y)) });
  b.destroy();
}
window.results = results;
</script>`;

describe('wasm backend in Chromium', () => {
  let dir = '';
  let server: Server;
  let browser: Browser;
  let origin = '';

  beforeAll(async () => {
    ensureWasmBuilt();
    dir = mkdtempSync(join(tmpdir(), 'sds-wasm-browser-'));
    await build({
      entryPoints: [fileURLToPath(new URL('../src/backend/wasm/index.ts', import.meta.url))],
      bundle: true,
      format: 'esm',
      platform: 'browser',
      external: ['node:*'],
      outfile: join(dir, 'bundle.js'),
      logLevel: 'silent',
    });
    server = createServer((req, res) => {
      // COOP + COEP make the page cross-origin isolated, which is what enables SharedArrayBuffer.
      const isolation = req.url?.includes('isolated')
        ? { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' }
        : {};
      if (req.url?.startsWith('/page')) {
        res.writeHead(200, { 'Content-Type': 'text/html', ...isolation });
        res.end(page);
      } else if (req.url === '/bundle.js') {
        res.writeHead(200, { 'Content-Type': 'text/javascript', 'Cross-Origin-Resource-Policy': 'same-origin' });
        res.end(readFileSync(join(dir, 'bundle.js')));
      } else {
        res.writeHead(404);
        res.end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    origin = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
    });
  });

  afterAll(async () => {
    await browser?.close();
    server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function run(path: string): Promise<{ details: Record<string, unknown>; y: number[] }[]> {
    const tab = await browser.newPage();
    const errors: string[] = [];
    tab.on('pageerror', (e) => errors.push(e.message));
    await tab.goto(origin + path);
    await tab.waitForFunction(() => (window as unknown as { results?: unknown }).results, null, { timeout: 60_000 });
    expect(errors).toEqual([]);
    return tab.evaluate(() => (window as unknown as { results: { details: Record<string, unknown>; y: number[] }[] }).results);
  }

  async function expected(): Promise<Float32Array> {
    const ref = createReferenceBackend();
    const y = ops.conv3d(ref, ref.upload(xData(), shapes.x), ref.upload(wData(), shapes.w), null, params);
    return (await ref.read(y)) as Float32Array;
  }

  const maxError = (got: number[], want: Float32Array): number => got.reduce((m, v, i) => Math.max(m, Math.abs(v - want[i])), 0);

  it('runs 2 threads on a cross-origin isolated page, matching the reference', async () => {
    const [single, pooled] = await run('/page?isolated');
    const want = await expected();
    expect(single.details).toMatchObject({ threads: 1 });
    expect(pooled.details).toMatchObject({ threads: 2, sharedMemory: true });
    expect(maxError(single.y, want)).toBeLessThan(1e-4);
    expect(pooled.y).toEqual(single.y);
  });

  it('runs single-threaded without isolation and says why', async () => {
    const [, pooled] = await run('/page');
    expect(pooled.details).toMatchObject({ threads: 1, requestedThreads: 2, sharedMemory: false });
    expect(String(pooled.details.notes)).toMatch(/SharedArrayBuffer is unavailable/);
    expect(maxError(pooled.y, await expected())).toBeLessThan(1e-4);
  });
});
