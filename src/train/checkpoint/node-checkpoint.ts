/**
 * Node-only: an `onCheckpoint` for trainSds that writes each checkpoint atomically (temporary file +
 * rename, volume/node-io.ts), so a crash mid-write never leaves a truncated file under the final name,
 * and keeps the one before it as `sds-previous.safetensors`; `readLatestCheckpoint` verifies the newest
 * (checksum, structure) and falls back to the previous one when the newest is damaged or missing.
 * Kept out of index.ts so browser bundles never see node:fs.
 */
import { readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { SdsError } from '../../core/errors.js';
import { writeFileAtomic } from '../../volume/node-io.js';
import { parseCheckpoint, type ParsedCheckpoint, type Phase } from './checkpoint.js';

export const LATEST_CHECKPOINT = 'sds-latest.safetensors';
export const PREVIOUS_CHECKPOINT = 'sds-previous.safetensors';

export interface CheckpointWriterOptions {
  /** Folder the files go to (must exist). */
  readonly folder: string;
  /** Also keep one file per checkpoint (`sds-<phase>-<iteration>.safetensors`); default: only the last two. */
  readonly keepAll?: boolean;
}

/**
 * Writes `<folder>/sds-latest.safetensors` (and per-iteration files with keepAll); returns the paths
 * written. The file it replaces becomes `sds-previous.safetensors`. Order: the new bytes go to a
 * temporary file first, then latest -> previous, then temporary -> latest, so at every instant at
 * least one complete checkpoint sits under one of the two names.
 */
export function checkpointWriter(
  options: CheckpointWriterOptions,
): (bytes: Uint8Array, at: { phase: Phase; iteration: number }) => Promise<string[]> {
  return async (bytes, at) => {
    const latest = join(options.folder, LATEST_CHECKPOINT);
    const paths = [latest];
    if (options.keepAll === true) paths.push(join(options.folder, `sds-${at.phase}-${String(at.iteration).padStart(6, '0')}.safetensors`));
    await writeFileAtomic(latest, bytes, async () => {
      try {
        await rename(latest, join(options.folder, PREVIOUS_CHECKPOINT));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e; // the first checkpoint has no predecessor
      }
    });
    for (const path of paths.slice(1)) await writeFileAtomic(path, bytes);
    return paths;
  };
}

export interface LatestCheckpoint {
  readonly path: string;
  readonly bytes: Uint8Array;
  readonly parsed: ParsedCheckpoint;
  /** True when the newest file was damaged or missing and the previous one is returned. */
  readonly fellBack: boolean;
  /** Why the newer file was passed over (empty when it was used). */
  readonly problems: readonly string[];
}

/**
 * The newest checkpoint in `folder` that verifies: `sds-latest`, else `sds-previous`. Null when the
 * folder holds neither (a fresh run); E_CHECKPOINT_CORRUPT when both exist and neither verifies.
 */
export async function readLatestCheckpoint(folder: string): Promise<LatestCheckpoint | null> {
  const problems: string[] = [];
  let found = 0;
  for (const name of [LATEST_CHECKPOINT, PREVIOUS_CHECKPOINT]) {
    const path = join(folder, name);
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(await readFile(path));
    } catch (e) {
      problems.push(`${name}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
      continue;
    }
    found++;
    try {
      return { path, bytes, parsed: parseCheckpoint(bytes), fellBack: name !== LATEST_CHECKPOINT, problems };
    } catch (e) {
      if (!(e instanceof SdsError)) throw e;
      problems.push(`${name}: ${e.message}`);
    }
  }
  if (found === 0) return null;
  throw new SdsError('E_CHECKPOINT_CORRUPT', `${folder}: no usable checkpoint: ${problems.join('; ')}`, { folder, problems });
}
