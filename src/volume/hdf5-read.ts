/**
 * HDF5 volumes in the format of the semi-supervised segmentation literature (UA-MT, SASSNet, DTC,
 * MC-Net, BCP, SDS: `mri_norm2.h5` with an `image` float32 and a `label` uint8 dataset), via h5wasm.
 *
 * Axis order: the datasets are C-order arrays of shape (d0, d1, d2) with d2 (the 88-slice axis on LA)
 * fastest. We map dataset axis i onto Volume axis i, so Volume.shape = [d0, d1, d2] and voxel
 * (x, y, z) is `dataset[x][y][z]`, the same voxel numpy's `f['image'][x, y, z]` gives. Because a Volume
 * stores x fastest, the data is transposed on load (C order -> x fastest), which also makes the 88-slice
 * axis the Volume's z, as the training code (patch 112x112x80 over d0 x d1 x d2) assumes.
 * The files store no geometry: the affine is diag(spacing), origin 0, spacing 0.625 mm isotropic unless
 * given (the LA challenge resolution).
 *
 * Browser-safe: h5wasm's in-memory file system holds the bytes while the file is read.
 */
import h5wasm from 'h5wasm';
import { SdsError } from '../core/errors.js';
import { checkFinite, checkSameGrid, type NonFinitePolicy } from './validate.js';
import { diagonalAffine, makeVolume, type Vec3, type Volume } from './volume.js';

export interface ReadHdf5Options {
  /** voxel size in mm; default 0.625 isotropic (LA) */
  spacing?: Vec3;
  imageKey?: string;
  labelKey?: string;
  nonFinite?: NonFinitePolicy;
}

export interface Hdf5Volumes {
  image: Volume<Float32Array>;
  /** absent when the file has no label dataset (unlabeled scans) */
  label?: Volume<Uint8Array>;
}

export const LA_SPACING_MM: Vec3 = [0.625, 0.625, 0.625];
const HDF5_SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];
// deflate cannot do better than about 1032:1, so a dataset claiming more bytes than that multiple of
// the file is corrupt (or a decompression bomb); refusing it keeps allocations tied to the file size.
const MAX_DEFLATE_RATIO = 1032;
let fileCounter = 0;

type H5Dataset = { shape: number[] | null; value: unknown; dtype: unknown };

export async function readHdf5Volumes(
  input: ArrayBuffer | Uint8Array,
  fileName: string,
  options: ReadHdf5Options = {},
): Promise<Hdf5Volumes> {
  const bytes = input instanceof Uint8Array ? input : new Uint8Array(input);
  checkSignature(bytes, fileName);
  const module = await h5wasm.ready;
  const path = `/sds-web-${++fileCounter}.h5`;
  module.FS!.writeFile(path, bytes);
  let file: InstanceType<typeof h5wasm.File> | undefined;
  try {
    try {
      file = new h5wasm.File(path, 'r');
    } catch (e) {
      throw corrupt(fileName, `HDF5 library could not open it (${e instanceof Error ? e.message : String(e)})`);
    }
    let keys: string[];
    try {
      keys = file.keys();
    } catch (e) {
      // h5wasm opens a truncated file lazily; the damage shows when the root group is read
      throw corrupt(
        fileName,
        `HDF5 library could not list its datasets (${e instanceof Error ? e.message : String(e)}); the file is truncated or damaged`,
      );
    }
    const imageKey = options.imageKey ?? 'image';
    const labelKey = options.labelKey ?? 'label';
    if (!keys.includes(imageKey)) throw corrupt(fileName, `expected a dataset "${imageKey}", found [${keys.join(', ')}]`);
    const spacing = options.spacing ?? LA_SPACING_MM;
    const meta = (key: string): Volume['metadata'] => ({ format: 'hdf5', fileName, header: { dataset: key } });

    const image = readDataset(getDataset(file, imageKey, fileName), imageKey, bytes.byteLength, fileName);
    const imageData = Float32Array.from(image.values as ArrayLike<number>);
    const nonFiniteCount = checkFinite(imageData, fileName, options.nonFinite ?? 'reject');
    const imageVolume = makeVolume(toXFastest(imageData, image.shape), image.shape, diagonalAffine(spacing), meta(imageKey));
    imageVolume.metadata.header.nonFiniteCount = nonFiniteCount;
    if (!keys.includes(labelKey)) return { image: imageVolume };

    const label = readDataset(getDataset(file, labelKey, fileName), labelKey, bytes.byteLength, fileName);
    const labelVolume = makeVolume(
      toXFastest(toLabels(label.values, fileName), label.shape),
      label.shape,
      diagonalAffine(spacing),
      meta(labelKey),
    );
    checkSameGrid(imageVolume, labelVolume);
    return { image: imageVolume, label: labelVolume };
  } finally {
    try {
      file?.close();
    } catch {
      // closing a damaged file can fail too; the error that matters was thrown above
    }
    module.FS!.unlink(path);
  }
}

/** h5wasm throws a bare Error ("name not defined!") when a listed object's header cannot be decoded. */
function getDataset(file: InstanceType<typeof h5wasm.File>, key: string, fileName: string): H5Dataset | null {
  try {
    return file.get(key) as H5Dataset | null;
  } catch (e) {
    throw corrupt(fileName, `"${key}" could not be opened (${e instanceof Error ? e.message : String(e)}); its object header is damaged`);
  }
}

function corrupt(fileName: string, what: string): SdsError {
  return new SdsError('E_HDF5_CORRUPT', `${fileName}: ${what}`, { fileName });
}

/** The superblock signature sits at byte 0, 512, 1024, 2048, ... (HDF5 spec, "user block"). */
function checkSignature(bytes: Uint8Array, fileName: string): void {
  for (let at = 0; at + 8 <= bytes.length; at = at === 0 ? 512 : at * 2) {
    if (HDF5_SIGNATURE.every((b, i) => bytes[at + i] === b)) return;
  }
  throw corrupt(fileName, `not an HDF5 file: signature \\x89HDF\\r\\n\\x1a\\n not found at byte 0, 512, 1024, ... (${bytes.length} bytes)`);
}

function readDataset(ds: H5Dataset | null, key: string, fileBytes: number, fileName: string): { shape: Vec3; values: unknown } {
  if (!ds || !('shape' in ds)) throw corrupt(fileName, `"${key}" is not a dataset`);
  let shape: number[] | null;
  try {
    shape = ds.shape; // a lazy getter: the dataspace header is decoded here, and may be damaged
  } catch (e) {
    throw corrupt(fileName, `dataset "${key}" has an unreadable dataspace (${e instanceof Error ? e.message : String(e)})`);
  }
  if (!shape || shape.length !== 3 || shape.some((n) => !(n >= 1))) {
    throw new SdsError('E_SHAPE_MISMATCH', `${fileName}: dataset "${key}" must be 3-D, found shape [${shape?.join(', ') ?? 'scalar'}]`, {
      fileName,
    });
  }
  const claimed = shape[0] * shape[1] * shape[2] * 8;
  if (claimed > MAX_DEFLATE_RATIO * fileBytes + (1 << 20)) {
    throw corrupt(fileName, `dataset "${key}" claims shape [${shape.join(', ')}], more data than a ${fileBytes}-byte file can hold`);
  }
  let values: unknown;
  try {
    values = ds.value;
  } catch (e) {
    throw corrupt(
      fileName,
      `dataset "${key}" could not be read (${e instanceof Error ? e.message : String(e)}); the file is truncated or damaged`,
    );
  }
  if (
    !ArrayBuffer.isView(values) ||
    (values as unknown as ArrayLike<number>).length !== shape[0] * shape[1] * shape[2] ||
    typeof (values as unknown as ArrayLike<unknown>)[0] !== 'number'
  ) {
    throw corrupt(fileName, `dataset "${key}" must hold ${shape.join('x')} numbers, found ${describe(values)}`);
  }
  return { shape: [shape[0], shape[1], shape[2]], values };
}

function describe(values: unknown): string {
  if (values === null || values === undefined) return 'no data';
  if (ArrayBuffer.isView(values)) return `${values.constructor.name} of ${(values as unknown as ArrayLike<unknown>).length}`;
  return typeof values;
}

function toLabels(values: unknown, fileName: string): Uint8Array {
  const src = values as ArrayLike<number>;
  if (values instanceof Uint8Array) return values;
  const out = new Uint8Array(src.length);
  for (let i = 0; i < src.length; i++) {
    const v = src[i];
    if (!(v >= 0 && v <= 255 && Math.round(v) === v)) throw corrupt(fileName, `label voxel ${i} is ${v}; expected integers 0..255`);
    out[i] = v;
  }
  return out;
}

/** C order (last axis fastest) -> Volume order (first axis fastest), same shape. */
export function toXFastest<T extends Float32Array | Uint8Array>(c: T, shape: Vec3): T {
  const [X, Y, Z] = shape;
  const out = new (c.constructor as new (n: number) => T)(c.length);
  for (let x = 0; x < X; x++) {
    for (let y = 0; y < Y; y++) {
      const src = (x * Y + y) * Z;
      for (let z = 0; z < Z; z++) out[x + X * (y + Y * z)] = c[src + z];
    }
  }
  return out;
}
