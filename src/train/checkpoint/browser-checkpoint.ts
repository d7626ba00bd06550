/**
 * Browser counterpart of node-checkpoint.ts: a store for trainSds checkpoints in the Origin Private
 * File System (OPFS) or, where OPFS cannot write, IndexedDB. Works in a page and in a worker; no
 * dependencies.
 *
 * Every checkpoint is a generation `sds-<seq>`: first the checkpoint bytes (which already carry their
 * CRC-32, checkpoint.ts), then a small completion marker `{ seq, phase, iteration, bytes }` written only
 * once the bytes are stored. The marker is the commit: a reader lists markers, never data, so bytes
 * left by a write that was interrupted (tab closed, crash, quota) are ignored. Generations are never
 * overwritten, so no rename is needed; the two newest committed ones are kept, and `readLatest`
 * returns the newest that verifies (length as the marker says, checksum, structure), else the one
 * before it, like `readLatestCheckpoint` in Node.
 *
 * - OPFS: `createWritable()` writes to a swap file that Chromium moves in on close(), so a file under
 *   its final name is never half written; the marker file is written after the data file closed.
 * - IndexedDB: data and marker go to two object stores in ONE readwrite transaction (durability
 *   'strict'), which commits both or neither; the marker still is what readers list.
 */
import { SdsError } from '../../core/errors.js';
import { parseCheckpoint, type ParsedCheckpoint, type Phase } from './checkpoint.js';

export type BrowserCheckpointStorage = 'opfs' | 'indexeddb';

export interface BrowserCheckpointStoreOptions {
  /** Names the run's checkpoints: an OPFS folder `sds-checkpoints/<name>` or an IndexedDB database `sds-checkpoints/<name>`. */
  readonly name: string;
  /** Where they go. Default 'auto': OPFS when it can write files here, else IndexedDB. */
  readonly storage?: 'auto' | BrowserCheckpointStorage;
  /** Committed checkpoints kept, newest first (at least 2, so there is one to fall back to). Default 2. */
  readonly keep?: number;
}

/** The completion marker of one checkpoint. */
export interface CheckpointMarker {
  readonly seq: number;
  readonly phase: Phase;
  readonly iteration: number;
  /** Length of the checkpoint bytes. */
  readonly bytes: number;
}

export interface BrowserLatestCheckpoint {
  /** `sds-<seq>` of the checkpoint returned. */
  readonly key: string;
  readonly marker: CheckpointMarker;
  readonly bytes: Uint8Array;
  readonly parsed: ParsedCheckpoint;
  /** True when a newer committed checkpoint was damaged and an older one is returned. */
  readonly fellBack: boolean;
  /** What was passed over: damaged checkpoints, and data without a marker (an interrupted write). */
  readonly problems: readonly string[];
}

export interface BrowserCheckpointStore {
  readonly storage: BrowserCheckpointStorage;
  readonly name: string;
  /** Stores one checkpoint (an `onCheckpoint` for trainSds); resolves with its key once committed. */
  write(bytes: Uint8Array, at: { readonly phase: Phase; readonly iteration: number }): Promise<string>;
  /** Committed checkpoints, newest first (not verified). */
  list(): Promise<CheckpointMarker[]>;
  /** The newest checkpoint that verifies; null when none was committed; E_CHECKPOINT_CORRUPT when none verifies. */
  readLatest(): Promise<BrowserLatestCheckpoint | null>;
  /** Removes every checkpoint of this name. */
  clear(): Promise<void>;
}

const ROOT = 'sds-checkpoints';
const MARKER_FORMAT = 'sds-checkpoint-marker/1';
const DATA_SUFFIX = '.safetensors';
const MARKER_SUFFIX = '.done.json';

export const checkpointKey = (seq: number): string => `sds-${String(seq).padStart(6, '0')}`;

function seqOf(fileName: string, suffix: string): number | null {
  const m = new RegExp(`^sds-(\\d{6,})${suffix.replace(/\./g, '\\.')}$`).exec(fileName);
  return m === null ? null : Number(m[1]);
}

function ioError(what: string, e: unknown): SdsError {
  if (e instanceof SdsError) return e;
  const name = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  return new SdsError('E_IO', `browser checkpoints: ${what} failed (${name})`, { cause: name });
}

/** Parses a marker's text; null (with the reason pushed to `problems`) when it is not one. */
function parseMarker(text: string, key: string, problems: string[]): CheckpointMarker | null {
  let m: Record<string, unknown>;
  try {
    m = JSON.parse(text) as Record<string, unknown>;
  } catch {
    problems.push(`${key}: completion marker is not JSON`);
    return null;
  }
  const ok =
    m?.format === MARKER_FORMAT &&
    Number.isInteger(m.seq) &&
    (m.phase === 'stage1' || m.phase === 'stage2') &&
    Number.isInteger(m.iteration) &&
    Number.isInteger(m.bytes);
  if (!ok) {
    problems.push(`${key}: completion marker is not a ${MARKER_FORMAT} record`);
    return null;
  }
  return { seq: m.seq as number, phase: m.phase as Phase, iteration: m.iteration as number, bytes: m.bytes as number };
}

/** What each storage provides; the generation logic above it is shared. */
interface Slots {
  readonly storage: BrowserCheckpointStorage;
  /** Stores the bytes, then the marker (the marker only once the bytes are complete). */
  save(bytes: Uint8Array, marker: CheckpointMarker): Promise<void>;
  /** Markers as stored (text, by seq) and the seqs that have data. */
  scan(): Promise<{ markers: Map<number, string>; data: number[] }>;
  /** The bytes of `seq`, or null when there are none. */
  load(seq: number): Promise<Uint8Array | null>;
  /** Removes the marker first, then the data (a half-done removal leaves only ignorable data). */
  remove(seq: number): Promise<void>;
  clear(): Promise<void>;
}

// ---- OPFS ------------------------------------------------------------------------------------------

/** OPFS is usable for writing when getDirectory exists and file handles can createWritable (not Safari's main thread). */
function opfsWritable(): boolean {
  const storage = (globalThis as { navigator?: Navigator }).navigator?.storage;
  const handle = (globalThis as { FileSystemFileHandle?: { prototype: object } }).FileSystemFileHandle;
  return typeof storage?.getDirectory === 'function' && handle !== undefined && 'createWritable' in handle.prototype;
}

async function writeFile(dir: FileSystemDirectoryHandle, name: string, data: Uint8Array | string): Promise<void> {
  const handle = await dir.getFileHandle(name, { create: true });
  const w = await handle.createWritable();
  try {
    await w.write(typeof data === 'string' ? data : (data as Uint8Array<ArrayBuffer>));
  } catch (e) {
    await w.abort().catch(() => undefined);
    throw e;
  }
  await w.close(); // Chromium moves the swap file in here: the name shows all the bytes or the old ones
}

async function opfsSlots(name: string): Promise<Slots> {
  let dir: FileSystemDirectoryHandle;
  try {
    const root = await navigator.storage.getDirectory();
    dir = await (await root.getDirectoryHandle(ROOT, { create: true })).getDirectoryHandle(name, { create: true });
  } catch (e) {
    throw ioError(`opening OPFS folder ${ROOT}/${name}`, e);
  }
  const names = async (): Promise<string[]> => {
    const out: string[] = [];
    for await (const key of (dir as unknown as { keys(): AsyncIterable<string> }).keys()) out.push(key);
    return out;
  };
  return {
    storage: 'opfs',
    async save(bytes, marker) {
      const key = checkpointKey(marker.seq);
      await writeFile(dir, key + DATA_SUFFIX, bytes);
      await writeFile(dir, key + MARKER_SUFFIX, JSON.stringify({ format: MARKER_FORMAT, ...marker }));
    },
    async scan() {
      const markers = new Map<number, string>();
      const data: number[] = [];
      for (const n of await names()) {
        const m = seqOf(n, MARKER_SUFFIX);
        if (m !== null) markers.set(m, await (await (await dir.getFileHandle(n)).getFile()).text());
        const d = seqOf(n, DATA_SUFFIX);
        if (d !== null) data.push(d);
      }
      return { markers, data };
    },
    async load(seq) {
      try {
        const file = await (await dir.getFileHandle(checkpointKey(seq) + DATA_SUFFIX)).getFile();
        return new Uint8Array(await file.arrayBuffer());
      } catch (e) {
        if (e instanceof DOMException && e.name === 'NotFoundError') return null;
        throw e;
      }
    },
    async remove(seq) {
      for (const suffix of [MARKER_SUFFIX, DATA_SUFFIX])
        await dir.removeEntry(checkpointKey(seq) + suffix).catch((e: unknown) => {
          if (!(e instanceof DOMException && e.name === 'NotFoundError')) throw e;
        });
    },
    async clear() {
      for (const n of await names()) await dir.removeEntry(n);
    },
  };
}

// ---- IndexedDB ------------------------------------------------------------------------------------

const DATA_STORE = 'data';
const MARKER_STORE = 'markers';

function request<T>(r: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}

function done(tx: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error ?? new DOMException('transaction aborted', 'AbortError'));
  });
}

async function indexedDbSlots(name: string): Promise<Slots> {
  const factory = (globalThis as { indexedDB?: IDBFactory }).indexedDB;
  if (factory === undefined) throw new SdsError('E_IO', 'browser checkpoints: expected OPFS or IndexedDB, found neither here');
  let db: IDBDatabase;
  try {
    const open = factory.open(`${ROOT}/${name}`, 1);
    open.onupgradeneeded = () => {
      open.result.createObjectStore(DATA_STORE);
      open.result.createObjectStore(MARKER_STORE);
    };
    db = await request(open);
  } catch (e) {
    throw ioError(`opening IndexedDB database ${ROOT}/${name}`, e);
  }
  const tx = (mode: IDBTransactionMode): IDBTransaction =>
    db.transaction([DATA_STORE, MARKER_STORE], mode, mode === 'readwrite' ? { durability: 'strict' } : undefined);
  return {
    storage: 'indexeddb',
    async save(bytes, marker) {
      const t = tx('readwrite');
      const key = checkpointKey(marker.seq);
      // A copy that owns its buffer: a view into a larger buffer would store the whole buffer.
      t.objectStore(DATA_STORE).put(bytes.slice(), key);
      t.objectStore(MARKER_STORE).put(JSON.stringify({ format: MARKER_FORMAT, ...marker }), key);
      await done(t);
    },
    async scan() {
      const t = tx('readonly');
      const [markerKeys, markerValues, dataKeys] = await Promise.all([
        request(t.objectStore(MARKER_STORE).getAllKeys()),
        request(t.objectStore(MARKER_STORE).getAll()),
        request(t.objectStore(DATA_STORE).getAllKeys()),
      ]);
      const markers = new Map<number, string>();
      markerKeys.forEach((k, i) => {
        const seq = seqOf(String(k), '');
        if (seq !== null) markers.set(seq, typeof markerValues[i] === 'string' ? (markerValues[i] as string) : '');
      });
      const data = dataKeys.map((k) => seqOf(String(k), '')).filter((s): s is number => s !== null);
      return { markers, data };
    },
    async load(seq) {
      const value: unknown = await request(tx('readonly').objectStore(DATA_STORE).get(checkpointKey(seq)));
      return value instanceof Uint8Array ? value : value instanceof ArrayBuffer ? new Uint8Array(value) : null;
    },
    async remove(seq) {
      // one transaction: marker and data go together, as they came
      const t = tx('readwrite');
      t.objectStore(MARKER_STORE).delete(checkpointKey(seq));
      t.objectStore(DATA_STORE).delete(checkpointKey(seq));
      await done(t);
    },
    async clear() {
      const t = tx('readwrite');
      t.objectStore(MARKER_STORE).clear();
      t.objectStore(DATA_STORE).clear();
      await done(t);
    },
  };
}

// ---- the store --------------------------------------------------------------------------------------

function expectOptions(o: BrowserCheckpointStoreOptions): void {
  const name: unknown = o?.name;
  if (typeof name !== 'string' || !/^[A-Za-z0-9._-]{1,100}$/.test(name) || name === '.' || name === '..')
    throw new SdsError(
      'E_INVALID_ARGUMENT',
      `browser checkpoints: name: expected 1-100 characters of A-Z a-z 0-9 . _ - (not '.' or '..'), found ${JSON.stringify(name)}`,
    );
  if (o.storage !== undefined && !['auto', 'opfs', 'indexeddb'].includes(o.storage))
    throw new SdsError(
      'E_INVALID_ARGUMENT',
      `browser checkpoints: storage: expected 'auto', 'opfs' or 'indexeddb', found ${JSON.stringify(o.storage)}`,
    );
  if (o.keep !== undefined && !(Number.isInteger(o.keep) && o.keep >= 2))
    throw new SdsError('E_INVALID_ARGUMENT', `browser checkpoints: keep: expected an integer >= 2, found ${JSON.stringify(o.keep)}`);
}

/** Opens (creating if needed) the checkpoint store `name` in OPFS or IndexedDB. */
export async function openBrowserCheckpointStore(options: BrowserCheckpointStoreOptions): Promise<BrowserCheckpointStore> {
  expectOptions(options);
  const choice = options.storage ?? 'auto';
  if (choice === 'opfs' && !opfsWritable())
    throw new SdsError(
      'E_IO',
      "browser checkpoints: storage 'opfs': expected navigator.storage.getDirectory and createWritable, found none here",
    );
  const slots = choice === 'indexeddb' || !opfsWritable() ? await indexedDbSlots(options.name) : await opfsSlots(options.name);
  const keep = options.keep ?? 2;

  /** Committed generations (newest first), bytes without a marker, and unreadable markers. */
  const committed = async (
    problems: string[],
  ): Promise<{ markers: CheckpointMarker[]; orphans: number[]; highest: number; stored: number }> => {
    const { markers: raw, data } = await slots.scan();
    const markers: CheckpointMarker[] = [];
    for (const [seq, text] of raw) {
      const m = parseMarker(text, checkpointKey(seq), problems);
      if (m !== null && m.seq === seq) markers.push(m);
      else if (m !== null) problems.push(`${checkpointKey(seq)}: completion marker names seq ${m.seq}`);
    }
    markers.sort((a, b) => b.seq - a.seq);
    const orphans = data.filter((s) => !raw.has(s)).sort((a, b) => b - a);
    return { markers, orphans, highest: Math.max(0, ...raw.keys(), ...data), stored: raw.size };
  };

  const store: BrowserCheckpointStore = {
    storage: slots.storage,
    name: options.name,

    async write(bytes, at) {
      if (!(bytes instanceof Uint8Array) || bytes.length === 0)
        throw new SdsError(
          'E_INVALID_ARGUMENT',
          `browser checkpoints: write: expected checkpoint bytes, found ${bytes?.length ?? typeof bytes}`,
        );
      try {
        const { markers, orphans, highest } = await committed([]);
        // never reuse a seq, not even an orphan's: a marker must only ever describe the bytes it was written after
        const seq = highest + 1;
        await slots.save(bytes, { seq, phase: at.phase, iteration: at.iteration, bytes: bytes.length });
        for (const m of markers.slice(keep - 1)) await slots.remove(m.seq);
        for (const s of orphans) await slots.remove(s); // leftovers of interrupted writes, all older than `seq`
        return checkpointKey(seq);
      } catch (e) {
        throw ioError(`writing checkpoint ${at.phase} ${at.iteration} to ${slots.storage} ${options.name}`, e);
      }
    },

    async list() {
      return (await committed([])).markers;
    },

    async readLatest() {
      const problems: string[] = [];
      let scanned: Awaited<ReturnType<typeof committed>>;
      try {
        scanned = await committed(problems);
      } catch (e) {
        throw ioError(`listing ${slots.storage} ${options.name}`, e);
      }
      const { markers, orphans, stored } = scanned;
      const newest = markers[0]?.seq ?? -1;
      for (const s of orphans)
        if (s > newest) problems.push(`${checkpointKey(s)}: data without a completion marker (an interrupted write), ignored`);
      for (const marker of markers) {
        const key = checkpointKey(marker.seq);
        let bytes: Uint8Array | null;
        try {
          bytes = await slots.load(marker.seq);
        } catch (e) {
          problems.push(`${key}: ${ioError('reading', e).message}`);
          continue;
        }
        if (bytes === null) {
          problems.push(`${key}: completion marker without data`);
          continue;
        }
        if (bytes.length !== marker.bytes) {
          problems.push(`${key}: expected ${marker.bytes} bytes (the marker), found ${bytes.length}`);
          continue;
        }
        try {
          return { key, marker, bytes, parsed: parseCheckpoint(bytes), fellBack: marker.seq !== newest, problems };
        } catch (e) {
          if (!(e instanceof SdsError)) throw e;
          problems.push(`${key}: ${e.message}`);
        }
      }
      if (stored === 0) return null; // nothing was ever committed: a fresh run
      throw new SdsError(
        'E_CHECKPOINT_CORRUPT',
        `browser checkpoints ${slots.storage} ${options.name}: no usable checkpoint: ${problems.join('; ')}`,
        {
          storage: slots.storage,
          name: options.name,
          problems,
        },
      );
    },

    async clear() {
      try {
        await slots.clear();
      } catch (e) {
        throw ioError(`clearing ${slots.storage} ${options.name}`, e);
      }
    },
  };
  return store;
}
