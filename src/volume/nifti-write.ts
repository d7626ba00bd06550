/**
 * NIfTI-1 writers: label maps as uint8 with intent NIFTI_INTENT_LABEL (1002), images as float32.
 * Both carry the volume's geometry as sform and qform (codes from the source file when it had them,
 * else 2 = aligned), little-endian, single file (vox_offset 352), gzip unless asked otherwise.
 * The whole file is built in memory and returned; nothing is written half-way.
 */
import { gzipSync } from 'fflate';
import { qformFromAffine } from './affine.js';
import { NIFTI1_HEADER_SIZE } from './nifti-header.js';
import { checkFinite } from './validate.js';
import { toLabelVolume, type Volume } from './volume.js';

export const NIFTI_INTENT_LABEL = 1002;
const VOX_OFFSET = NIFTI1_HEADER_SIZE + 4; // header + 4 zero bytes: "no extensions"
const XYZT_MM_SEC = 2 | 8;
const NIFTI_XFORM_ALIGNED_ANAT = 2;

export interface WriteNiftiOptions {
  /** gzip the file (`.nii.gz`), default true */
  gzip?: boolean;
  /** header description (80 ASCII bytes at most) */
  description?: string;
}

/** A uint8 label map file. Voxel values must be integers in 0..255. */
export function writeLabelNifti(volume: Volume, options: WriteNiftiOptions = {}): Uint8Array {
  return encode(volume, toLabelVolume(volume).data, 2, NIFTI_INTENT_LABEL, options);
}

/** A float32 image file; NaN/Inf voxels are refused (a reader would refuse them too). */
export function writeImageNifti(volume: Volume, options: WriteNiftiOptions = {}): Uint8Array {
  const data = volume.data instanceof Float32Array ? volume.data : Float32Array.from(volume.data);
  checkFinite(data, volume.metadata.fileName || 'image volume', 'reject');
  return encode(volume, data, 16, 0, options);
}

function encode(
  volume: Volume,
  data: Uint8Array | Float32Array,
  datatype: 2 | 16,
  intentCode: number,
  options: WriteNiftiOptions,
): Uint8Array {
  const voxelBytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const file = new Uint8Array(VOX_OFFSET + voxelBytes.byteLength);
  writeHeader(new DataView(file.buffer), file, volume, datatype, intentCode, options.description ?? 'sds-web');
  // typed arrays are little-endian on every platform JavaScript runs on, which is what we declare
  file.set(voxelBytes, VOX_OFFSET);
  return options.gzip === false ? file : gzipSync(file, { level: 6 });
}

function sourceCode(value: unknown): number {
  return typeof value === 'number' && value > 0 ? value : 0;
}

function writeHeader(v: DataView, bytes: Uint8Array, volume: Volume, datatype: 2 | 16, intentCode: number, description: string): void {
  const le = true;
  const { quatern, qoffset, zooms, qfac } = qformFromAffine(volume.affine);
  const header = volume.metadata.header;
  const sformCode = sourceCode(header.sformCode) || sourceCode(header.qformCode) || NIFTI_XFORM_ALIGNED_ANAT;
  const qformCode = sourceCode(header.qformCode) || sformCode;

  v.setInt32(0, NIFTI1_HEADER_SIZE, le);
  const dim = [3, volume.shape[0], volume.shape[1], volume.shape[2], 1, 1, 1, 1];
  dim.forEach((d, i) => v.setInt16(40 + 2 * i, d, le));
  v.setInt16(68, intentCode, le);
  v.setInt16(70, datatype, le);
  v.setInt16(72, datatype === 2 ? 8 : 32, le);
  const pixdim = [qfac, zooms[0], zooms[1], zooms[2], 1, 1, 1, 1];
  pixdim.forEach((p, i) => v.setFloat32(76 + 4 * i, p, le));
  v.setFloat32(108, VOX_OFFSET, le);
  v.setFloat32(112, 1, le); // scl_slope 1, scl_inter 0: stored values are the values
  v.setFloat32(116, 0, le);
  bytes[123] = typeof header.xyztUnits === 'number' && header.xyztUnits > 0 ? header.xyztUnits : XYZT_MM_SEC;
  writeAscii(bytes, 148, 80, description);
  v.setInt16(252, qformCode, le);
  v.setInt16(254, sformCode, le);
  quatern.forEach((q, i) => v.setFloat32(256 + 4 * i, q, le));
  qoffset.forEach((q, i) => v.setFloat32(268 + 4 * i, q, le));
  for (let i = 0; i < 12; i++) v.setFloat32(280 + 4 * i, volume.affine[i], le);
  writeAscii(bytes, 344, 4, 'n+1');
}

function writeAscii(bytes: Uint8Array, offset: number, length: number, text: string): void {
  for (let i = 0; i < Math.min(text.length, length - 1); i++) {
    const c = text.charCodeAt(i);
    bytes[offset + i] = c < 128 ? c : 63; // '?' for anything outside ASCII
  }
}
