/**
 * Node-only: an `onCheckpoint` for trainSds that writes each checkpoint atomically (temporary file +
 * rename, volume/node-io.ts), so a crash mid-write never leaves a truncated file under the final name.
 * Kept out of index.ts so browser bundles never see node:fs.
 */
import { join } from 'node:path';
import { writeFileAtomic } from '../../volume/node-io.js';
import type { Phase } from './checkpoint.js';

export interface CheckpointWriterOptions {
  /** Folder the files go to (must exist). */
  readonly folder: string;
  /** Also keep one file per checkpoint (`sds-<phase>-<iteration>.safetensors`); default: only `latest`. */
  readonly keepAll?: boolean;
}

/** Writes `<folder>/sds-latest.safetensors` (and per-iteration files with keepAll); returns the paths written. */
export function checkpointWriter(
  options: CheckpointWriterOptions,
): (bytes: Uint8Array, at: { phase: Phase; iteration: number }) => Promise<string[]> {
  return async (bytes, at) => {
    const paths = [join(options.folder, 'sds-latest.safetensors')];
    if (options.keepAll === true) paths.push(join(options.folder, `sds-${at.phase}-${String(at.iteration).padStart(6, '0')}.safetensors`));
    for (const path of paths) await writeFileAtomic(path, bytes);
    return paths;
  };
}
