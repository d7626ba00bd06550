// The viewer's static server: COOP/COEP on every response unless turned off, files only from its roots
// (dist, data, models), nothing above them however the path is spelled, GET/HEAD only.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startViewerServer, type ViewerServer } from '../examples/viewer/server.js';

describe('viewer server', () => {
  let dist = '';
  let isolated: ViewerServer;
  let plain: ViewerServer;

  beforeAll(async () => {
    dist = mkdtempSync(join(tmpdir(), 'sds-viewer-server-'));
    writeFileSync(join(dist, 'index.html'), '<!doctype html><p>viewer</p>');
    writeFileSync(join(dist, 'main.js'), 'export {};');
    isolated = await startViewerServer({ port: 0, distDir: dist });
    plain = await startViewerServer({ port: 0, distDir: dist, isolation: false });
  });

  afterAll(async () => {
    await isolated?.close();
    await plain?.close();
    if (dist) rmSync(dist, { recursive: true, force: true });
  });

  it('serves the page, the demo scans and the model with cross-origin isolation headers', async () => {
    const page = await fetch(`${isolated.origin}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.headers.get('cross-origin-opener-policy')).toBe('same-origin');
    expect(page.headers.get('cross-origin-embedder-policy')).toBe('require-corp');
    expect(await page.text()).toContain('viewer');
    const script = await fetch(`${isolated.origin}/main.js`);
    expect(script.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(script.headers.get('cross-origin-resource-policy')).toBe('same-origin');
    const split = (await (await fetch(`${isolated.origin}/data/split.json`)).json()) as { heldOut: string[] };
    expect(split.heldOut).toContain('hippocampus_389');
    const scan = await fetch(`${isolated.origin}/data/images/hippocampus_389.nii.gz`);
    expect(scan.status).toBe(200);
    expect(new Uint8Array(await scan.arrayBuffer()).subarray(0, 2)).toEqual(new Uint8Array([0x1f, 0x8b]));
    const model = await fetch(`${isolated.origin}/models/vnet16-hippocampus.safetensors`, { method: 'HEAD' });
    expect(model.status).toBe(200);
    expect(Number(model.headers.get('content-length'))).toBeGreaterThan(1e6);
  });

  it('omits COOP/COEP when started without isolation', async () => {
    const page = await fetch(`${plain.origin}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('cross-origin-opener-policy')).toBeNull();
    expect(page.headers.get('cross-origin-embedder-policy')).toBeNull();
  });

  it('answers nothing outside its roots and only GET/HEAD', async () => {
    for (const path of [
      '/data/../../package.json',
      '/data/%2e%2e/%2e%2e/package.json',
      '/..%2fpackage.json',
      '/models/%2e%2e%2fdata/split.json',
      '/%00',
      '/%E0%A4%A',
    ]) {
      const res = await fetch(`${isolated.origin}${path}`);
      expect(res.status, path).toBe(404);
    }
    expect((await fetch(`${isolated.origin}/data/images`)).status).toBe(404); // a directory
    expect((await fetch(`${isolated.origin}/`, { method: 'POST', body: 'x' })).status).toBe(405);
  });
});
