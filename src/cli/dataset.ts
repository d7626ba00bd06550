/**
 * Folder layouts `sds finetune` reads (documented in the README):
 * - labeled DIR: `images/` + `labels/` (this repository's examples/data, ../shared/data/hippocampus) or
 *   `imagesTr/` + `labelsTr/` (the Medical Segmentation Decathlon), pairs matched by file name; or
 *   LA-style `.h5` files directly in DIR, each with `image` and `label` datasets.
 * - unlabeled DIR: the scans in `images/`, `imagesTr/` or `imagesTs/` when DIR has one, else the NIfTI /
 *   HDF5 files in DIR itself (for HDF5 the `image` dataset; a label there is ignored).
 * NIfTI as .nii or .nii.gz; hidden files and other extensions are skipped.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { LabeledScanInput } from '../api/types.js';
import { SdsError } from '../core/errors.js';
import { listScanFiles } from '../volume/node-io.js';
import { UsageError } from './exit-codes.js';

async function isDir(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

async function expectDir(dir: string, flag: string): Promise<void> {
  if (!(await isDir(dir))) throw new UsageError(`${flag} ${dir}: expected a folder, found ${await describePath(dir)}`);
}

async function describePath(path: string): Promise<string> {
  try {
    await stat(path);
    return 'a file';
  } catch {
    return 'nothing there';
  }
}

export async function labeledScans(dir: string, flag: string): Promise<LabeledScanInput[]> {
  await expectDir(dir, flag);
  for (const [images, labels] of [
    ['images', 'labels'],
    ['imagesTr', 'labelsTr'],
  ]) {
    if (!(await isDir(join(dir, images)))) continue;
    if (!(await isDir(join(dir, labels))))
      throw new SdsError('E_IO', `${flag} ${dir}: found ${images}/ but no ${labels}/ beside it`, { path: dir });
    const labelNames = new Set(await listScanFiles(join(dir, labels)));
    const imageNames = await listScanFiles(join(dir, images));
    const missing = imageNames.filter((n) => !labelNames.has(n));
    if (missing.length > 0)
      throw new SdsError(
        'E_IO',
        `${flag} ${dir}: ${missing.length} image(s) without a label in ${labels}/ (${missing.slice(0, 3).join(', ')})`,
        {
          path: dir,
        },
      );
    if (imageNames.length === 0) throw new SdsError('E_IO', `${flag} ${dir}: expected scans in ${images}/, found none`, { path: dir });
    return imageNames.map((n) => ({ image: join(dir, images, n), label: join(dir, labels, n) }));
  }
  const h5 = (await listScanFiles(dir)).filter((n) => /\.(h5|hdf5)$/i.test(n));
  if (h5.length > 0) return h5.map((n) => ({ image: join(dir, n), label: join(dir, n) }));
  throw new SdsError(
    'E_IO',
    `${flag} ${dir}: expected images/ + labels/, imagesTr/ + labelsTr/, or .h5 files with image and label, found none`,
    {
      path: dir,
    },
  );
}

export async function unlabeledScans(dir: string, flag: string): Promise<string[]> {
  await expectDir(dir, flag);
  for (const sub of ['images', 'imagesTr', 'imagesTs']) {
    if (await isDir(join(dir, sub))) {
      const names = await listScanFiles(join(dir, sub));
      if (names.length > 0) return names.map((n) => join(dir, sub, n));
    }
  }
  const names = await listScanFiles(dir);
  if (names.length === 0) throw new SdsError('E_IO', `${flag} ${dir}: expected NIfTI or HDF5 scans, found none`, { path: dir });
  return names.map((n) => join(dir, n));
}
