/**
 * Turns what users hold (a Volume, a file's bytes with its name, a Blob/File, a path in Node) into
 * Volumes through the volume layer's readers. The format is chosen by the file name: .nii / .nii.gz
 * (NIfTI), .h5 / .hdf5 (LA-style HDF5 with `image` and optionally `label`); in Node a directory path is
 * read as a DICOM series. Node-only readers are imported lazily so browser bundles never load node:fs.
 */
import { SdsError } from '../core/errors.js';
import { readHdf5Volumes } from '../volume/hdf5-read.js';
import { readNifti } from '../volume/nifti-read.js';
import { toLabelVolume, type Volume } from '../volume/volume.js';
import type { LabeledScanInput, ModelInput, ScanInput } from './types.js';
import { describe, isVolume } from './values.js';

const isBlob = (value: unknown): value is Blob => typeof Blob !== 'undefined' && value instanceof Blob;
const isNode = (): boolean => typeof process !== 'undefined' && process.versions?.node !== undefined;

function asBytes(b: Uint8Array | ArrayBuffer): Uint8Array {
  return b instanceof Uint8Array ? b : new Uint8Array(b);
}

type Format = 'nifti' | 'hdf5';

function formatOf(name: string, what: string): Format {
  const lower = name.toLowerCase();
  if (lower.endsWith('.nii') || lower.endsWith('.nii.gz')) return 'nifti';
  if (lower.endsWith('.h5') || lower.endsWith('.hdf5')) return 'hdf5';
  throw new SdsError('E_INVALID_ARGUMENT', `${what}: expected a file name ending in .nii, .nii.gz, .h5 or .hdf5, found "${name}"`);
}

/** Reads a file's bytes by name; HDF5 gives its image or label dataset. */
async function readNamed(name: string, bytes: Uint8Array, what: string, part: 'image' | 'label'): Promise<Volume> {
  if (formatOf(name, what) === 'nifti') return readNifti(bytes, name);
  const h5 = await readHdf5Volumes(bytes, name);
  if (part === 'image') return h5.image;
  if (h5.label === undefined) throw new SdsError('E_INVALID_ARGUMENT', `${what}: expected a 'label' dataset in ${name}, found none`);
  return h5.label;
}

async function readPath(path: string, what: string, part: 'image' | 'label'): Promise<Volume> {
  if (!isNode())
    throw new SdsError('E_INVALID_ARGUMENT', `${what}: a path ("${path}") can only be read in Node; pass a File/Blob or bytes`);
  const fs = await import('node:fs/promises');
  let isDirectory: boolean;
  try {
    isDirectory = (await fs.stat(path)).isDirectory();
  } catch (e) {
    throw new SdsError('E_IO', `${what}: cannot read ${path}: ${e instanceof Error ? e.message : String(e)}`, { path });
  }
  if (isDirectory) {
    const { readDicomFolder } = await import('../volume/node-io.js');
    return readDicomFolder(path);
  }
  formatOf(path, what);
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await fs.readFile(path));
  } catch (e) {
    throw new SdsError('E_IO', `${what}: cannot read ${path}: ${e instanceof Error ? e.message : String(e)}`, { path });
  }
  const { basename } = await import('node:path');
  const volume = await readNamed(basename(path), bytes, what, part);
  return volume;
}

/**
 * A scan as a Volume. `part` picks the dataset of an HDF5 file (image or label). `what` names the
 * argument in error messages ("finetune: labeled[2].image").
 */
export async function resolveScan(input: ScanInput, what: string, part: 'image' | 'label' = 'image'): Promise<Volume> {
  if (isVolume(input)) return input;
  if (typeof input === 'string') return readPath(input, what, part);
  if (isBlob(input)) {
    const name = (input as Blob & { name?: unknown }).name;
    if (typeof name !== 'string')
      throw new SdsError(
        'E_INVALID_ARGUMENT',
        `${what}: expected a File (a Blob with a name that tells the format), found a Blob without a name`,
      );
    return readNamed(name, new Uint8Array(await input.arrayBuffer()), what, part);
  }
  if (input !== null && typeof input === 'object' && 'name' in input && 'bytes' in input) {
    const { name, bytes } = input as { name: unknown; bytes: unknown };
    if (typeof name !== 'string') throw new SdsError('E_INVALID_ARGUMENT', `${what}.name: expected a file name, found ${describe(name)}`);
    if (!(bytes instanceof Uint8Array || bytes instanceof ArrayBuffer))
      throw new SdsError('E_INVALID_ARGUMENT', `${what}.bytes: expected a Uint8Array or ArrayBuffer, found ${describe(bytes)}`);
    return readNamed(name, asBytes(bytes), what, part);
  }
  throw new SdsError('E_INVALID_ARGUMENT', `${what}: expected a Volume, { name, bytes }, a File/Blob or a path, found ${describe(input)}`);
}

/** A labeled pair; the label becomes uint8. */
export async function resolveLabeled(input: LabeledScanInput, what: string): Promise<{ image: Volume; label: Volume }> {
  if (input === null || typeof input !== 'object' || !('image' in input) || !('label' in input))
    throw new SdsError('E_INVALID_ARGUMENT', `${what}: expected { image, label }, found ${describe(input)}`);
  const image = await resolveScan(input.image, `${what}.image`, 'image');
  const label = toLabelVolume(await resolveScan(input.label, `${what}.label`, 'label'));
  return { image, label };
}

/** A list argument, checked to be an array (of at least `min` items). */
export function expectList<T>(value: readonly T[] | undefined, what: string, min: number): readonly T[] {
  if (value === undefined && min === 0) return [];
  if (!Array.isArray(value)) throw new SdsError('E_INVALID_ARGUMENT', `${what}: expected an array, found ${describe(value)}`);
  if (value.length < min)
    throw new SdsError('E_INVALID_ARGUMENT', `${what}: expected at least ${min} item${min === 1 ? '' : 's'}, found ${value.length}`);
  return value;
}

/** Model bytes from bytes, a Blob or (Node) a path. */
export async function resolveModelBytes(model: ModelInput, what: string): Promise<Uint8Array> {
  if (model instanceof Uint8Array) return model;
  if (model instanceof ArrayBuffer) return new Uint8Array(model);
  if (isBlob(model)) return new Uint8Array(await model.arrayBuffer());
  if (typeof model === 'string') {
    if (!isNode()) throw new SdsError('E_INVALID_ARGUMENT', `${what}: a path ("${model}") can only be read in Node; pass bytes or a File`);
    const fs = await import('node:fs/promises');
    try {
      return new Uint8Array(await fs.readFile(model));
    } catch (e) {
      throw new SdsError('E_IO', `${what}: cannot read ${model}: ${e instanceof Error ? e.message : String(e)}`, { path: model });
    }
  }
  throw new SdsError('E_INVALID_ARGUMENT', `${what}: expected a Uint8Array, ArrayBuffer, Blob or path, found ${describe(model)}`);
}
