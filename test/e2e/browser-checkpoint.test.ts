// The browser checkpoint store (src/train/checkpoint/browser-checkpoint.ts) in Debian's Chromium, driven by
// playwright-core like viewer.test.ts: a page bundled here with esbuild (test/e2e/checkpoint-page.ts),
// served by the viewer's local server on 127.0.0.1 (a secure context: OPFS and IndexedDB both exist),
// every other request refused. For OPFS and for IndexedDB: two checkpoints written, the newest damaged
// in storage (one byte flipped, then truncated) -> the previous one comes back with fellBack; bytes of a
// newer checkpoint without a completion marker (an interrupted write) -> ignored; both damaged ->
// E_CHECKPOINT_CORRUPT; and the checkpoints survive closing and relaunching the browser on its profile.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startViewerServer, type ViewerServer } from '../../examples/viewer/server.js';
import { nodeBuiltinStubs } from '../../scripts/build-viewer.js';
import { openBrowserCheckpointStore } from '../../src/train/checkpoint/browser-checkpoint.js';
import type { CheckpointPageApi } from './checkpoint-page.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const FLAGS = [
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
  '--no-first-run',
];

type Api = CheckpointPageApi;
type Storage = 'opfs' | 'indexeddb';

describe('browser checkpoints in Chromium', () => {
  let dist = '';
  let profile = '';
  let server: ViewerServer;
  let context: BrowserContext;
  let page: Page;
  const offsite: string[] = [];

  /** Calls api[method](...args) in the page. */
  const call = <K extends keyof Api>(method: K, ...args: Parameters<Api[K]>): Promise<Awaited<ReturnType<Api[K]>>> =>
    page.evaluate(
      ([m, a]) => (globalThis as unknown as { sdsCheckpoints: Record<string, (...x: unknown[]) => unknown> }).sdsCheckpoints[m](...a),
      [method, args] as [string, unknown[]],
    ) as Promise<Awaited<ReturnType<Api[K]>>>;

  async function openBrowser(): Promise<void> {
    context = await chromium.launchPersistentContext(profile, { executablePath: '/usr/bin/chromium', headless: true, args: FLAGS });
    context.setDefaultTimeout(60_000);
    await context.route('**/*', (route) => {
      const url = route.request().url();
      if (url.startsWith(server.origin + '/')) return route.continue();
      offsite.push(url);
      return route.abort('blockedbyclient');
    });
    page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(server.origin + '/');
    await page.waitForFunction(() => document.title === 'ready' || document.title === 'failed');
    expect(errors).toEqual([]);
  }

  beforeAll(async () => {
    dist = mkdtempSync(join(tmpdir(), 'sds-checkpoint-dist-'));
    profile = mkdtempSync(join(tmpdir(), 'sds-checkpoint-profile-'));
    await build({
      entryPoints: { page: join(root, 'test', 'e2e', 'checkpoint-page.ts') },
      outdir: dist,
      bundle: true,
      format: 'esm',
      platform: 'browser',
      target: 'es2022',
      external: ['webgpu', 'onnxruntime-web'],
      plugins: [nodeBuiltinStubs],
      loader: { '.wgsl': 'text' },
      logLevel: 'warning',
    });
    writeFileSync(
      join(dist, 'index.html'),
      '<!doctype html><meta charset="utf-8"><title>loading</title><script type="module" src="page.js"></script>',
    );
    server = await startViewerServer({ port: 0, distDir: dist, isolation: false });
    await openBrowser();
  });

  afterAll(async () => {
    await context?.close();
    await server?.close();
    for (const d of [dist, profile]) if (d !== '') rmSync(d, { recursive: true, force: true });
  });

  it('in Node (neither OPFS nor IndexedDB) fails with E_IO, naming both', async () => {
    await expect(openBrowserCheckpointStore({ name: 'run' })).rejects.toMatchObject({
      code: 'E_IO',
      message: expect.stringMatching(/OPFS or IndexedDB/),
    });
  });

  it("chooses OPFS on 'auto' and rejects bad options with E_INVALID_ARGUMENT", async () => {
    expect(await call('write', 'auto', 'auto-run', 'stage1', 5)).toEqual({ storage: 'opfs', key: 'sds-000001' });
    await call('clear', 'opfs', 'auto-run');
    expect(await call('readLatest', 'opfs', 'auto-run')).toBeNull();
    expect(await call('badOptions')).toEqual(['E_INVALID_ARGUMENT', 'E_INVALID_ARGUMENT', 'E_INVALID_ARGUMENT', 'E_INVALID_ARGUMENT']);
  });

  for (const storage of ['opfs', 'indexeddb'] as Storage[]) {
    describe(storage, () => {
      const name = `run-${storage}`;

      it('keeps the two newest and returns the newest', async () => {
        expect(await call('readLatest', storage, name)).toBeNull(); // a fresh run
        for (const [i, it] of [10, 20, 30].entries())
          expect(await call('write', storage, name, 'stage2', it)).toEqual({ storage, key: `sds-00000${i + 1}` });
        expect((await call('list', storage, name)).map((m) => [m.seq, m.iteration])).toEqual([
          [3, 30],
          [2, 20],
        ]);
        expect(await call('readLatest', storage, name)).toEqual({
          key: 'sds-000003',
          phase: 'stage2',
          iteration: 30,
          fellBack: false,
          problems: [],
          tensorOk: true,
        });
      });

      it('passes over a newest checkpoint with a flipped byte, then a truncated one', async () => {
        await call('flipByte', storage, name, 3, -7); // inside the tensor data
        const flipped = await call('readLatest', storage, name);
        expect(flipped).toMatchObject({ key: 'sds-000002', iteration: 20, fellBack: true, tensorOk: true });
        expect(flipped?.problems).toEqual([expect.stringMatching(/^sds-000003: .*checksum mismatch/)]);

        await call('truncate', storage, name, 3, 100);
        const truncated = await call('readLatest', storage, name);
        expect(truncated).toMatchObject({ key: 'sds-000002', iteration: 20, fellBack: true });
        expect(truncated?.problems).toEqual([expect.stringMatching(/^sds-000003: expected \d+ bytes .*found 100$/)]);
      });

      it('ignores a newer checkpoint whose completion marker was never written', async () => {
        await call('clear', storage, name);
        await call('write', storage, name, 'stage2', 40);
        await call('write', storage, name, 'stage2', 50);
        await call('dataWithoutMarker', storage, name, 3, 60); // complete, valid bytes: only the marker is missing
        const latest = await call('readLatest', storage, name);
        expect(latest).toMatchObject({ key: 'sds-000002', iteration: 50, fellBack: false, tensorOk: true });
        expect(latest?.problems).toEqual(['sds-000003: data without a completion marker (an interrupted write), ignored']);
        // the next write takes a fresh seq and clears the leftover
        expect(await call('write', storage, name, 'stage2', 70)).toEqual({ storage, key: 'sds-000004' });
        expect(await call('readLatest', storage, name)).toMatchObject({ key: 'sds-000004', iteration: 70, problems: [] });
      });

      it('reports E_CHECKPOINT_CORRUPT when every checkpoint is damaged', async () => {
        await call('flipByte', storage, name, 4, -1);
        await call('flipByte', storage, name, 2, 20); // inside the JSON header
        const both = await call('readLatest', storage, name);
        expect(both).toMatchObject({ error: 'E_CHECKPOINT_CORRUPT' });
        expect(both?.message).toMatch(/sds-000004: .*sds-000002: /);
      });
    });
  }

  for (const storage of ['opfs', 'indexeddb'] as Storage[])
    it(`finetune({ checkpoints: { storage: '${storage}' } }) stores them; resume from the fallback repeats the run`, async () => {
      const r = await call('finetuneAndResume', storage);
      // stage 1 (1 iteration) then stage 2 (3), one checkpoint each: the two newest are kept
      expect(r.listed).toEqual([
        [4, 'stage2', 3],
        [3, 'stage2', 2],
      ]);
      expect(r.fellBackTo).toEqual(['stage2', 2, true]);
      expect(r.full).toHaveLength(3);
      expect(r.resumed).toHaveLength(1);
      expect(r.full.every((l) => l.every(Number.isFinite))).toBe(true);
      expect(r.full[2]).not.toEqual(r.full[1]); // so matching the third iteration means something
      expect(r.resumed[0]).toEqual(r.full[2]); // bit for bit: the trainer resumes exactly
      expect(r.sameModel).toBe(true);
    });

  it('finds the checkpoints again after the browser is closed and relaunched', async () => {
    for (const storage of ['opfs', 'indexeddb'] as Storage[]) await call('write', storage, 'durable', 'stage1', 7);
    await context.close();
    await openBrowser();
    for (const storage of ['opfs', 'indexeddb'] as Storage[])
      expect(await call('readLatest', storage, 'durable')).toEqual({
        key: 'sds-000001',
        phase: 'stage1',
        iteration: 7,
        fellBack: false,
        problems: [],
        tensorOk: true,
      });
    expect(offsite).toEqual([]);
  });
});
