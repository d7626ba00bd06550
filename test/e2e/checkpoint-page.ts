// Page script for test/e2e/browser-checkpoint.test.ts (bundled there with esbuild): the browser
// checkpoint store plus helpers that damage its storage directly (OPFS files, IndexedDB records), the
// way a crash or a bad disk would, without going through the store.
import { createSegmenter } from '../../src/api/create-segmenter.js';
import type { FinetuneConfig } from '../../src/api/types.js';
import { SdsError } from '../../src/core/errors.js';
import { CRC32_PLACEHOLDER, METADATA_CRC32, sealChecksum } from '../../src/nn/checkpoint/checksum.js';
import { writeSafetensors } from '../../src/nn/checkpoint/safetensors.js';
import { type BrowserCheckpointStorage, checkpointKey, openBrowserCheckpointStore } from '../../src/train/checkpoint/browser-checkpoint.js';
import { METADATA_TRAINER, METADATA_TRAINER_CONFIG, type Phase } from '../../src/train/checkpoint/checkpoint.js';
import { makeVolume, type Volume } from '../../src/volume/volume.js';

/** A trainer checkpoint as parseCheckpoint sees one (sealed CRC, trainer metadata), tensor values tied to `iteration`. */
function checkpointBytes(phase: Phase, iteration: number): Uint8Array {
  const meta = { version: 1, phase, iteration, stage1Done: 0, cubes: 0, sampler: {}, dropout: {}, optimizerSteps: [], best: {} };
  const data = Float32Array.from({ length: 64 }, (_, i) => iteration * 1000 + i);
  const bytes = writeSafetensors(new Map([['student1.w', { shape: [64], data }]]), {
    format: 'pt',
    [METADATA_TRAINER]: JSON.stringify(meta),
    [METADATA_TRAINER_CONFIG]: '{}',
    [METADATA_CRC32]: CRC32_PLACEHOLDER,
  });
  return sealChecksum(bytes);
}

async function opfsFolder(name: string): Promise<FileSystemDirectoryHandle> {
  const root = await navigator.storage.getDirectory();
  return (await root.getDirectoryHandle('sds-checkpoints')).getDirectoryHandle(name);
}

function idb(name: string): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const r = indexedDB.open(`sds-checkpoints/${name}`);
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}

async function idbPut(name: string, store: string, key: string, value: unknown): Promise<void> {
  const db = await idb(name);
  const tx = db.transaction(store, 'readwrite');
  tx.objectStore(store).put(value, key);
  await new Promise<void>((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
  });
  db.close();
}

async function idbGet(name: string, store: string, key: string): Promise<unknown> {
  const db = await idb(name);
  const r = db.transaction(store).objectStore(store).get(key);
  const value = await new Promise<unknown>((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
  db.close();
  return value;
}

async function rawData(storage: BrowserCheckpointStorage, name: string, seq: number): Promise<Uint8Array> {
  const key = checkpointKey(seq);
  if (storage === 'opfs')
    return new Uint8Array(await (await (await (await opfsFolder(name)).getFileHandle(`${key}.safetensors`)).getFile()).arrayBuffer());
  return (await idbGet(name, 'data', key)) as Uint8Array;
}

/** Stores `bytes` as seq's data, bypassing the store (no marker is touched). */
async function putRawData(storage: BrowserCheckpointStorage, name: string, seq: number, bytes: Uint8Array): Promise<void> {
  const key = checkpointKey(seq);
  if (storage === 'indexeddb') return idbPut(name, 'data', key, bytes);
  const w = await (await (await opfsFolder(name)).getFileHandle(`${key}.safetensors`, { create: true })).createWritable();
  await w.write(bytes as Uint8Array<ArrayBuffer>);
  await w.close();
}

/** A 20^3 scan with a bright ball (label 1) at `center` on seeded noise. */
function ballScan(center: [number, number, number], seed: number): { image: Volume; label: Volume } {
  const n = 20;
  const image = new Float32Array(n * n * n);
  const label = new Uint8Array(n * n * n);
  let s = seed;
  for (let z = 0, i = 0; z < n; z++)
    for (let y = 0; y < n; y++)
      for (let x = 0; x < n; x++, i++) {
        s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
        const inside = (x - center[0]) ** 2 + (y - center[1]) ** 2 + (z - center[2]) ** 2 <= 25;
        image[i] = (inside ? 1 : 0) + (s / 2 ** 32 - 0.5) * 0.4;
        label[i] = inside ? 1 : 0;
      }
  const affine = [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1];
  return { image: makeVolume(image, [n, n, n], affine), label: makeVolume(label, [n, n, n], affine) };
}

const FINETUNE: FinetuneConfig = { seed: 5, labeledBatch: 4, unlabeledBatch: 4, stage1Iterations: 1, iterations: 3, checkpointEvery: 1 };

/**
 * finetune() with `checkpoints` (a tiny wasm run, one thread): which checkpoints the store then holds;
 * then the newest is damaged, readLatest falls back to the one before, and a fresh segmenter resumed
 * from it (`resume`) must reach the same losses and the same deployed weights as the full run.
 */
async function finetuneAndResume(storage: BrowserCheckpointStorage) {
  const labeled = [ballScan([8, 9, 10], 1), ballScan([11, 10, 9], 2)];
  const unlabeled = [ballScan([10, 10, 10], 3).image];
  const make = () => createSegmenter({ backend: 'wasm', threads: 1, network: { nFilters: 2, nClasses: 2 }, patch: [16, 16, 16], seed: 1 });
  const name = `finetune-${storage}`;
  const losses = (into: number[][]) => (e: { type: string; phase?: string; losses?: readonly number[] }) => {
    if (e.type === 'iteration' && e.phase === 'stage2') into.push([...(e.losses ?? [])]);
  };
  const full: number[][] = [];
  const a = await make();
  await a.finetune({ labeled, unlabeled, config: FINETUNE, checkpoints: { name, storage }, onProgress: losses(full) });
  const fullModel = await a.save();
  await a.dispose();
  const store = await openBrowserCheckpointStore({ name, storage });
  const listed = (await store.list()).map((m) => [m.seq, m.phase, m.iteration]);
  await api.flipByte(storage, name, (await store.list())[0].seq, -3);
  const latest = await store.readLatest();
  if (latest === null) throw new Error('no checkpoint');
  const resumed: number[][] = [];
  const b = await make();
  await b.finetune({ labeled, unlabeled, config: FINETUNE, resume: latest.bytes, onProgress: losses(resumed) });
  const resumedModel = await b.save();
  await b.dispose();
  return {
    storage: store.storage,
    listed,
    fellBackTo: [latest.parsed.meta.phase, latest.parsed.meta.iteration, latest.fellBack],
    full,
    resumed,
    sameModel: fullModel.length === resumedModel.length && fullModel.every((v, i) => v === resumedModel[i]),
  };
}

const api = {
  finetuneAndResume,
  async write(storage: 'auto' | BrowserCheckpointStorage, name: string, phase: Phase, iteration: number) {
    const store = await openBrowserCheckpointStore({ name, storage });
    return { storage: store.storage, key: await store.write(checkpointBytes(phase, iteration), { phase, iteration }) };
  },
  async list(storage: BrowserCheckpointStorage, name: string) {
    return (await openBrowserCheckpointStore({ name, storage })).list();
  },
  /** readLatest, reduced to plain data; the tensor is checked against what checkpointBytes wrote for that iteration. */
  async readLatest(storage: BrowserCheckpointStorage, name: string) {
    try {
      const latest = await (await openBrowserCheckpointStore({ name, storage })).readLatest();
      if (latest === null) return null;
      const t = latest.parsed.file.tensors.get('student1.w');
      const it = latest.parsed.meta.iteration;
      const tensorOk = t !== undefined && Array.from(t.data as Float32Array).every((v, i) => v === it * 1000 + i);
      return {
        key: latest.key,
        phase: latest.parsed.meta.phase,
        iteration: it,
        fellBack: latest.fellBack,
        problems: latest.problems,
        tensorOk,
      };
    } catch (e) {
      return { error: e instanceof SdsError ? e.code : String(e), message: e instanceof Error ? e.message : String(e) };
    }
  },
  /** Flips every bit of one byte of seq's stored data (counted from the end when negative). */
  async flipByte(storage: BrowserCheckpointStorage, name: string, seq: number, at: number) {
    const bytes = (await rawData(storage, name, seq)).slice();
    bytes[at < 0 ? bytes.length + at : at] ^= 0xff;
    await putRawData(storage, name, seq, bytes);
  },
  /** Keeps the first `length` bytes of seq's stored data (a short write under the final name). */
  async truncate(storage: BrowserCheckpointStorage, name: string, seq: number, length: number) {
    await putRawData(storage, name, seq, (await rawData(storage, name, seq)).slice(0, length));
  },
  /** An interrupted write: the complete bytes of a new checkpoint stored as seq's data, its marker never written. */
  async dataWithoutMarker(storage: BrowserCheckpointStorage, name: string, seq: number, iteration: number) {
    await putRawData(storage, name, seq, checkpointBytes('stage2', iteration));
  },
  async clear(storage: BrowserCheckpointStorage, name: string) {
    await (await openBrowserCheckpointStore({ name, storage })).clear();
  },
  async badOptions() {
    const out: string[] = [];
    for (const o of [{ name: '../x' }, { name: '' }, { name: 'ok', keep: 1 }, { name: 'ok', storage: 'disk' }])
      await openBrowserCheckpointStore(o as never).catch((e: unknown) => out.push(e instanceof SdsError ? e.code : String(e)));
    return out;
  },
};

export type CheckpointPageApi = typeof api;
(globalThis as unknown as { sdsCheckpoints: CheckpointPageApi }).sdsCheckpoints = api;
document.title = 'ready';
