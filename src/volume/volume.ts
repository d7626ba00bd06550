/**
 * The Volume: one 3-D scalar image or label map with its geometry.
 *
 * Voxel order (the convention every reader, writer and transform in this folder keeps):
 * - `shape` is [X, Y, Z] in the file's own voxel axes (NIfTI i, j, k), not reoriented.
 * - `data` is stored with x fastest: voxel (x, y, z) lives at `x + X * (y + Y * z)`. This is how NIfTI
 *   stores voxels on disk and what NiiVue and Cornerstone3D expect for an overlay, so a label map from
 *   this SDK can be handed to a viewer as is (a Uint8Array with the image's own voxel order).
 * - numpy users: nibabel's `img.get_fdata()[x, y, z]` is the same voxel as `data[x + X*(y + Y*z)]`,
 *   i.e. our data is `arr.transpose(2, 1, 0).ravel()` (Fortran order of the nibabel array).
 * - `affine` maps voxel indices (x, y, z, 1) to RAS+ millimetres, row-major 4x4 (16 numbers), exactly
 *   nibabel's `img.affine`.
 * - `spacing` is the voxel size in mm along x, y, z (column norms of the affine's 3x3 part).
 */
import { SdsError } from '../core/errors.js';

export type VolumeDType = 'uint8' | 'int8' | 'int16' | 'uint16' | 'int32' | 'uint32' | 'float32' | 'float64';

export type VolumeData = Uint8Array | Int8Array | Int16Array | Uint16Array | Int32Array | Uint32Array | Float32Array | Float64Array;

export type Vec3 = [number, number, number];

/** Where a volume came from; `header` keeps the source fields that matter for writing it back. */
export interface VolumeMetadata {
  format: 'nifti1' | 'nifti2' | 'hdf5' | 'dicom' | 'derived';
  fileName: string;
  header: Record<string, number | string | number[] | boolean>;
}

export interface Volume<D extends VolumeData = VolumeData> {
  data: D;
  shape: Vec3;
  spacing: Vec3;
  /** voxel -> RAS mm, row-major 4x4 */
  affine: number[];
  dtype: VolumeDType;
  metadata: VolumeMetadata;
}

export const BYTES_PER_VOXEL: Record<VolumeDType, number> = {
  uint8: 1,
  int8: 1,
  int16: 2,
  uint16: 2,
  int32: 4,
  uint32: 4,
  float32: 4,
  float64: 8,
};

export function allocateVolumeData(dtype: VolumeDType, length: number): VolumeData {
  switch (dtype) {
    case 'uint8':
      return new Uint8Array(length);
    case 'int8':
      return new Int8Array(length);
    case 'int16':
      return new Int16Array(length);
    case 'uint16':
      return new Uint16Array(length);
    case 'int32':
      return new Int32Array(length);
    case 'uint32':
      return new Uint32Array(length);
    case 'float32':
      return new Float32Array(length);
    case 'float64':
      return new Float64Array(length);
  }
}

export function dtypeOfData(data: VolumeData): VolumeDType {
  if (data instanceof Uint8Array) return 'uint8';
  if (data instanceof Int8Array) return 'int8';
  if (data instanceof Int16Array) return 'int16';
  if (data instanceof Uint16Array) return 'uint16';
  if (data instanceof Int32Array) return 'int32';
  if (data instanceof Uint32Array) return 'uint32';
  if (data instanceof Float32Array) return 'float32';
  return 'float64';
}

export const voxelCount = (shape: readonly number[]): number => shape[0] * shape[1] * shape[2];

/** Index of voxel (x, y, z) in `data` (x fastest). */
export const voxelIndex = (shape: readonly number[], x: number, y: number, z: number): number => x + shape[0] * (y + shape[1] * z);

/** Voxel sizes from an affine: the lengths of its first three columns. */
export function spacingFromAffine(affine: readonly number[]): Vec3 {
  const col = (j: number): number => Math.hypot(affine[j], affine[4 + j], affine[8 + j]);
  return [col(0), col(1), col(2)];
}

/** A diagonal affine with origin 0: used when a format stores no geometry (HDF5). */
export function diagonalAffine(spacing: Vec3): number[] {
  return [spacing[0], 0, 0, 0, 0, spacing[1], 0, 0, 0, 0, spacing[2], 0, 0, 0, 0, 1];
}

/** Builds a Volume, checking that data length and shape agree. */
export function makeVolume<D extends VolumeData>(
  data: D,
  shape: Vec3,
  affine: number[],
  metadata: VolumeMetadata = { format: 'derived', fileName: '', header: {} },
): Volume<D> {
  if (shape.length !== 3 || shape.some((n) => !Number.isInteger(n) || n < 1)) {
    throw new SdsError('E_SHAPE_MISMATCH', `volume shape must be three positive integers [X, Y, Z], found [${shape.join(', ')}]`);
  }
  if (data.length !== voxelCount(shape)) {
    throw new SdsError(
      'E_SHAPE_MISMATCH',
      `volume data holds ${data.length} voxels but shape [${shape.join(', ')}] needs ${voxelCount(shape)}`,
    );
  }
  if (affine.length !== 16 || affine.some((v) => !Number.isFinite(v))) {
    throw new SdsError('E_INVALID_ARGUMENT', `affine must be 16 finite numbers (row-major 4x4), found ${affine.length} values`);
  }
  return { data, shape: [...shape] as Vec3, spacing: spacingFromAffine(affine), affine: [...affine], dtype: dtypeOfData(data), metadata };
}

/** A new volume on the same grid as `like` (same shape, affine, spacing) holding `data`. */
export function withData<D extends VolumeData>(like: Volume, data: D, format: VolumeMetadata['format'] = 'derived'): Volume<D> {
  return makeVolume(data, like.shape, like.affine, { format, fileName: like.metadata.fileName, header: { ...like.metadata.header } });
}

/**
 * The label map as a uint8 volume on the same grid: what NiiVue / Cornerstone3D take as an overlay
 * (x fastest, the image's own voxel order). Float label files (two hippocampus labels are float32)
 * are accepted when every value is an integer in 0..255.
 */
export function toLabelVolume(volume: Volume): Volume<Uint8Array> {
  if (volume.data instanceof Uint8Array) return volume as Volume<Uint8Array>;
  const labels = new Uint8Array(volume.data.length);
  for (let i = 0; i < labels.length; i++) {
    const v = volume.data[i];
    if (!(v >= 0 && v <= 255 && Math.round(v) === v)) {
      throw new SdsError(
        'E_INVALID_ARGUMENT',
        `${volume.metadata.fileName || 'label volume'}: label maps hold integers 0..255, found ${v} at voxel ${i}`,
      );
    }
    labels[i] = v;
  }
  return withData(volume, labels, volume.metadata.format);
}
