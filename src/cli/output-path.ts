/**
 * Output files of the `sds` commands. Every output path is checked before any work starts (a training
 * run must not end in an unwritable path), and a write that still fails at the end keeps the result in
 * a file of its own and says where, so minutes of training or inference are never thrown away.
 */
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { SdsError } from '../core/errors.js';
import { writeFileAtomic } from '../volume/node-io.js';

const reason = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** E_IO naming `path` unless its folder exists and is writable and `path` is not a folder. */
export async function checkOutputPath(path: string, flag: string): Promise<void> {
  const folder = dirname(resolve(path));
  const folderStat = await stat(folder).catch(() => undefined);
  if (folderStat === undefined)
    throw new SdsError('E_IO', `${flag} ${path}: expected an existing folder to write into, found no folder ${folder}`, { path });
  if (!folderStat.isDirectory()) throw new SdsError('E_IO', `${flag} ${path}: expected a folder, found a file at ${folder}`, { path });
  try {
    await access(folder, constants.W_OK);
  } catch (e) {
    throw new SdsError('E_IO', `${flag} ${path}: the folder ${folder} is not writable: ${reason(e)}`, { path });
  }
  const target = await stat(path).catch(() => undefined);
  if (target?.isDirectory()) throw new SdsError('E_IO', `${flag} ${path}: expected a file name, found a folder`, { path });
}

/**
 * Writes `bytes` to `path` (atomically). If that fails, the bytes go to the first of `keepIn` (the
 * working directory, then the temporary folder) that takes them, under `path`'s file name with a time
 * stamp, and an E_IO error names both paths.
 */
export async function writeOutput(path: string, bytes: Uint8Array, flag: string, keepIn = [process.cwd(), tmpdir()]): Promise<void> {
  try {
    await writeFileAtomic(path, bytes);
    return;
  } catch (e) {
    const name = `${Date.now()}-${basename(path)}`;
    for (const kept of keepIn.map((folder) => join(folder, name))) {
      try {
        await writeFileAtomic(kept, bytes);
        throw new SdsError('E_IO', `${flag} ${path}: could not write: ${reason(e)}; the result is kept in ${kept}`, { path, kept });
      } catch (fallback) {
        if (fallback instanceof SdsError) throw fallback;
      }
    }
    throw new SdsError('E_IO', `${flag} ${path}: could not write: ${reason(e)} (nor in ${keepIn.join(' or ')})`, { path });
  }
}
