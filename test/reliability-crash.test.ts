// Crash and resume on the wasm backend (1 thread: deterministic, ~5x faster than
// the reference backend): a Node training run (test/support/crash-train.ts) is SIGKILLed mid-iteration;
// resuming from the checkpoint it left gives exactly the losses of an uninterrupted run. Checkpoints
// carry a CRC-32: a damaged newest file is detected (E_CHECKPOINT_CORRUPT) and readLatestCheckpoint
// falls back to the previous one.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../src/backend/backend.js';
import { createBackend } from '../src/api/create-backend.js';
import { SdsError } from '../src/core/errors.js';
import { parseCheckpoint } from '../src/train/checkpoint/checkpoint.js';
import { LATEST_CHECKPOINT, PREVIOUS_CHECKPOINT, readLatestCheckpoint } from '../src/train/checkpoint/node-checkpoint.js';
import { type SdsTrainResult, trainSds } from '../src/train/sds/trainer.js';
import { tinyConfig, tinyScans, type TinyRun } from './support/tiny-sds-run.js';
import { ensureWasmBuilt } from './support/wasm-build.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** Killed after checkpoint 2; the resumed run goes 2 iterations further, so a lost momentum buffer shows (iteration 4's loss). */
const ITERATIONS = 4;
/**
 * The child is told to run far more iterations than it gets to, so it is killed mid-run however late
 * the kill lands (a wasm iteration takes well under a second). The iteration
 * count only bounds the loop (the learning rate follows StepLR), so its losses are the uninterrupted run's.
 */
const CHILD_ITERATIONS = 1000;
let be: Backend;
let scans: TinyRun;
let folder: string;
let full: SdsTrainResult;
/** What the killed child printed before it died. */
const childLosses: number[][] = [];

const lossesOf = (r: SdsTrainResult): number[][] => r.history.map((h) => [...h.losses]);

/** Runs the child and SIGKILLs it as soon as it reports checkpoint `killAfter` (it is then inside the next iteration). */
async function trainAndKill(killAfter: number): Promise<NodeJS.Signals | null> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'test/support/crash-train.ts'), folder, String(CHILD_ITERATIONS)], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
  for await (const line of createInterface({ input: child.stdout })) {
    const m = JSON.parse(line) as { iteration?: number; losses?: number[]; checkpoint?: number };
    if (m.losses) childLosses.push(m.losses);
    if (m.checkpoint === killAfter) {
      child.kill('SIGKILL');
      break;
    }
  }
  return exited;
}

beforeAll(async () => {
  ensureWasmBuilt();
  be = await createBackend('wasm', { threads: 1 });
  scans = await tinyScans();
  folder = await mkdtemp(join(tmpdir(), 'sds-crash-'));
});
afterAll(async () => {
  be?.destroy();
  await rm(folder, { recursive: true, force: true });
});

describe('a training run killed with SIGKILL (wasm backend, tiny SDS run, checkpoint every iteration)', () => {
  it('resumes from the last checkpoint with the losses of an uninterrupted run, bit for bit', async () => {
    expect(await trainAndKill(2)).toBe('SIGKILL');
    expect(childLosses.length).toBeGreaterThanOrEqual(2);
    expect(childLosses.length).toBeLessThan(CHILD_ITERATIONS); // it died before finishing
    // only complete files under the final names (a temporary file may remain from a write cut short)
    const files = (await readdir(folder)).filter((f) => !f.endsWith('.tmp')).sort();
    expect(files).toEqual([LATEST_CHECKPOINT, PREVIOUS_CHECKPOINT]);

    const latest = await readLatestCheckpoint(folder);
    expect(latest).not.toBeNull();
    expect(latest!.fellBack).toBe(false);
    expect(latest!.parsed.meta.iteration).toBe(2);

    full = await trainSds({ backend: be, ...scans, config: tinyConfig(ITERATIONS) });
    expect(childLosses.slice(0, 2)).toEqual(lossesOf(full).slice(0, 2)); // the child was the same run
    const resumed = await trainSds({ backend: be, ...scans, config: tinyConfig(ITERATIONS), resume: latest!.bytes });
    expect(resumed.history.map((h) => h.iteration)).toEqual([3, 4]);
    expect(lossesOf(resumed)).toEqual(lossesOf(full).slice(2));
  }, 300_000);

  it('detects a damaged newest checkpoint and resumes from the previous one', async () => {
    const path = join(folder, LATEST_CHECKPOINT);
    const good = new Uint8Array(await readFile(path));
    // one flipped bit in the tensor data: structurally fine, only the checksum can tell
    const flipped = good.slice();
    flipped[Math.floor(flipped.length * 0.7)] ^= 0x10;
    expect(() => parseCheckpoint(flipped)).toThrow(expect.objectContaining({ code: 'E_CHECKPOINT_CORRUPT' }) as SdsError);
    // a write cut short: every truncation is refused
    for (const keep of [10, 200, good.length >> 1, good.length - 1])
      expect(() => parseCheckpoint(good.subarray(0, keep))).toThrow(expect.objectContaining({ code: 'E_CHECKPOINT_CORRUPT' }) as SdsError);
    await writeFile(path, flipped);

    const fallback = await readLatestCheckpoint(folder);
    expect(fallback!.fellBack).toBe(true);
    expect(fallback!.problems.join()).toMatch(/sds-latest.safetensors: E_CHECKPOINT_CORRUPT: SDS checkpoint: checksum mismatch/);
    expect(fallback!.parsed.meta.iteration).toBe(1);
    const resumed = await trainSds({ backend: be, ...scans, config: tinyConfig(3), resume: fallback!.bytes });
    expect(lossesOf(resumed)).toEqual(lossesOf(full).slice(1, 3));

    // both damaged: a typed error naming both files
    await writeFile(join(folder, PREVIOUS_CHECKPOINT), good.subarray(0, 1000));
    await expect(readLatestCheckpoint(folder)).rejects.toMatchObject({ code: 'E_CHECKPOINT_CORRUPT' });
  }, 300_000);
});
