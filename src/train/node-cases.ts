/**
 * Node-only: loads labeled scans laid out as the Medical Segmentation Decathlon ships them,
 * `<folder>/images/<case>.nii.gz` with `<folder>/labels/<case>.nii.gz`. Kept out of index.ts so
 * browser bundles never see node:fs (as volume/node-io.ts).
 */
import { join } from 'node:path';
import { SdsError } from '../core/errors.js';
import { listScanFiles, readNiftiFile } from '../volume/node-io.js';
import type { Volume } from '../volume/index.js';

export interface LabeledCase {
  readonly name: string;
  readonly image: Volume;
  readonly label: Volume;
}

/** Case names (file names without .nii.gz) in `<folder>/images`, sorted. */
export async function listCases(folder: string): Promise<string[]> {
  let names: string[];
  try {
    names = await listScanFiles(join(folder, 'images'), /\.nii\.gz$/);
  } catch (e) {
    throw new SdsError(
      'E_INVALID_ARGUMENT',
      `expected a folder with images/ and labels/ at ${folder}: ${e instanceof Error ? e.message : String(e)}`,
      {
        path: folder,
      },
    );
  }
  return names.map((n) => n.slice(0, -'.nii.gz'.length));
}

/** Reads each named case's image and label. */
export async function loadCases(folder: string, names: readonly string[]): Promise<LabeledCase[]> {
  const out: LabeledCase[] = [];
  for (const name of names) {
    const image = await readNiftiFile(join(folder, 'images', `${name}.nii.gz`));
    const label = await readNiftiFile(join(folder, 'labels', `${name}.nii.gz`));
    out.push({ name, image, label });
  }
  return out;
}
