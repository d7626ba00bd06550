/**
 * Node-only file helpers: read a path or a folder and hand the bytes to the browser-safe readers.
 * Kept apart so bundlers for the browser never see `node:fs`.
 */
import { open, readFile, readdir, rename, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { SdsError } from '../core/errors.js';
import { readDicomSeries, type ReadDicomOptions } from './dicom-series.js';
import { readNifti, type ReadNiftiOptions } from './nifti-read.js';
import type { Volume } from './volume.js';

async function readBytes(path: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (e) {
    throw new SdsError('E_INVALID_ARGUMENT', `cannot read ${path}: ${e instanceof Error ? e.message : String(e)}`, { path });
  }
}

export async function readNiftiFile(path: string, options?: ReadNiftiOptions): Promise<Volume> {
  return readNifti(await readBytes(path), basename(path), options);
}

/** NIfTI (.nii, .nii.gz) and HDF5 (.h5, .hdf5) file names. */
export const SCAN_FILE = /\.(nii|nii\.gz|h5|hdf5)$/i;

/** The names in `folder` (not recursive) that `pattern` matches, hidden files skipped, sorted: every scan folder is listed so. */
export async function listScanFiles(folder: string, pattern: RegExp = SCAN_FILE): Promise<string[]> {
  return (await readdir(folder)).filter((n) => !n.startsWith('.') && pattern.test(n)).sort();
}

/** Every regular file in `folder` (not recursive, hidden files skipped) is read as one slice. */
export async function readDicomFolder(folder: string, options?: ReadDicomOptions): Promise<Volume> {
  const names = (await readdir(folder)).filter((n) => !n.startsWith('.')).sort();
  const files = [];
  for (const name of names) {
    const path = join(folder, name);
    if ((await stat(path)).isFile()) files.push({ name: path, bytes: await readBytes(path) });
  }
  if (files.length === 0)
    throw new SdsError('E_INVALID_ARGUMENT', `${folder}: expected DICOM files, found an empty folder`, { path: folder });
  return readDicomSeries(files, options);
}

/**
 * Writes bytes from a writer (writeLabelNifti / writeImageNifti) to `path` through a temporary file
 * and a rename, so a crash never leaves a half-written file under the final name. The temporary file
 * is flushed to disk (fsync) before the rename, so a power cut cannot leave a renamed empty file.
 * `beforeRename` runs once the new bytes are safely on disk (checkpoints move the old file aside there).
 */
export async function writeFileAtomic(path: string, bytes: Uint8Array, beforeRename?: () => Promise<void>): Promise<void> {
  const temporary = `${path}.${process.pid}.${Date.now()}.tmp`;
  const handle = await open(temporary, 'w');
  try {
    await handle.writeFile(bytes);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await beforeRename?.();
  await rename(temporary, path);
}
