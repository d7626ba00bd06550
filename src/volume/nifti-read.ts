/**
 * NIfTI-1 / NIfTI-2 reader for `.nii` and `.nii.gz` (gzip detected by its magic bytes, not the name).
 * Browser-safe: takes the file's bytes and a name for messages. Geometry follows nibabel: sform when
 * sform_code > 0, else the qform quaternion when qform_code > 0, else nibabel's base affine.
 */
import { Gunzip } from 'fflate';
import { SdsError } from '../core/errors.js';
import { baseAffine, qformAffine } from './affine.js';
import { parseNiftiHeader, type NiftiHeader } from './nifti-header.js';
import { checkFinite, type NonFinitePolicy } from './validate.js';
import { BYTES_PER_VOXEL, allocateVolumeData, makeVolume, type Vec3, type Volume, type VolumeDType, type VolumeData } from './volume.js';

export interface ReadNiftiOptions {
  /** 'reject' (default) throws E_NONFINITE on NaN/Inf voxels; 'report' keeps them and counts them in metadata. */
  nonFinite?: NonFinitePolicy;
}

export const NIFTI_DATATYPES: Record<number, VolumeDType> = {
  2: 'uint8',
  4: 'int16',
  8: 'int32',
  16: 'float32',
  64: 'float64',
  256: 'int8',
  512: 'uint16',
  768: 'uint32',
};

const UNSUPPORTED_DATATYPES: Record<number, string> = {
  1: 'binary (1 bit)',
  32: 'complex64',
  128: 'RGB24',
  1024: 'int64',
  1280: 'uint64',
  1536: 'float128',
  1792: 'complex128',
  2048: 'complex256',
  2304: 'RGBA32',
};

export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

// deflate cannot compress better than about 1032:1; more output than that means a damaged stream or a bomb
const MAX_DEFLATE_RATIO = 1032;

/**
 * Inflates through fflate's streaming Gunzip rather than gunzipSync: gunzipSync allocates the whole
 * output from the trailer's ISIZE field up front, which a damaged or truncated file can set to 4 GB.
 * Streaming allocates only what really inflates, capped by the deflate ratio, and also reads
 * multi-member gzip files (bgzip).
 */
export function gunzip(bytes: Uint8Array, fileName: string): Uint8Array {
  const limit = MAX_DEFLATE_RATIO * bytes.length + 1024;
  const chunks: Uint8Array[] = [];
  let total = 0;
  let finished = false;
  const stream = new Gunzip((chunk, final) => {
    total += chunk.length;
    if (total > limit) {
      throw new SdsError(
        'E_NIFTI_CORRUPT',
        `${fileName}: gzip stream inflates past ${limit} bytes, more than ${bytes.length} compressed bytes can hold`,
        {
          fileName,
        },
      );
    }
    chunks.push(chunk);
    if (final) finished = true;
  });
  try {
    stream.push(bytes, true);
  } catch (e) {
    if (e instanceof SdsError) throw e;
    const reason = e instanceof Error ? e.message : String(e);
    const truncated = /unexpected EOF|end of/i.test(reason);
    throw new SdsError(
      truncated ? 'E_NIFTI_TRUNCATED' : 'E_NIFTI_CORRUPT',
      `${fileName}: gzip stream is ${truncated ? 'truncated' : 'corrupt'} (${reason})`,
      {
        fileName,
      },
    );
  }
  if (!finished)
    throw new SdsError('E_NIFTI_TRUNCATED', `${fileName}: gzip stream is truncated (it ends before its last block)`, { fileName });
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

export function readNifti(input: ArrayBuffer | Uint8Array, fileName: string, options: ReadNiftiOptions = {}): Volume {
  const raw = input instanceof Uint8Array ? input : new Uint8Array(input);
  const bytes = isGzip(raw) ? gunzip(raw, fileName) : raw;
  const header = parseNiftiHeader(bytes, fileName);
  const sourceDtype = datatypeOf(header, fileName);
  const shape = volumeShape(header, fileName);
  const stored = readVoxels(bytes, header, sourceDtype, shape, fileName);
  const data = applyScaling(stored, header);
  const nonFiniteCount = checkFinite(data, fileName, options.nonFinite ?? 'reject');
  const affine = affineOf(header, shape, fileName);
  return makeVolume(data, shape, affine, {
    format: header.version === 1 ? 'nifti1' : 'nifti2',
    fileName,
    header: {
      littleEndian: header.littleEndian,
      datatype: header.datatype,
      sourceDtype,
      sclSlope: header.sclSlope,
      sclInter: header.sclInter,
      qformCode: header.qformCode,
      sformCode: header.sformCode,
      intentCode: header.intentCode,
      pixdim: header.pixdim.slice(0, 4),
      xyztUnits: header.xyztUnits,
      descrip: header.descrip,
      nonFiniteCount,
    },
  });
}

function datatypeOf(h: NiftiHeader, fileName: string): VolumeDType {
  const dtype = NIFTI_DATATYPES[h.datatype];
  if (dtype === undefined) {
    const name = UNSUPPORTED_DATATYPES[h.datatype];
    throw new SdsError(
      name ? 'E_FORMAT' : 'E_NIFTI_CORRUPT',
      `${fileName}: NIfTI datatype ${h.datatype}${name ? ` (${name})` : ' (unknown)'} is not supported; expected a scalar type: ` +
        `uint8, int8, int16, uint16, int32, uint32, float32 or float64`,
      { fileName, datatype: h.datatype },
    );
  }
  if (h.bitpix !== BYTES_PER_VOXEL[dtype] * 8) {
    throw new SdsError(
      'E_NIFTI_CORRUPT',
      `${fileName}: bitpix ${h.bitpix} does not match datatype ${h.datatype} (${dtype}, ${BYTES_PER_VOXEL[dtype] * 8} bits)`,
      {
        fileName,
      },
    );
  }
  return dtype;
}

/** [X, Y, Z] from dim; trailing dimensions (time, components) must be 1: a Volume is one 3-D frame. */
function volumeShape(h: NiftiHeader, fileName: string): Vec3 {
  const rank = h.dim[0];
  const size = (i: number): number => (i <= rank ? h.dim[i] : 1);
  const extra = [4, 5, 6, 7].filter((i) => size(i) !== 1);
  if (extra.length > 0) {
    throw new SdsError(
      'E_FORMAT',
      `${fileName}: expected a single 3-D volume, found dim = [${h.dim.slice(0, rank + 1).join(', ')}] (${extra.map((i) => `dim[${i}] = ${size(i)}`).join(', ')})`,
      { fileName },
    );
  }
  return [size(1), size(2), size(3)];
}

/**
 * Copies the voxel bytes into an aligned buffer and swaps them to native (little-endian) order.
 * The size check comes first, so absurd dims fail against the file's real size before any allocation.
 */
function readVoxels(bytes: Uint8Array, h: NiftiHeader, dtype: VolumeDType, shape: Vec3, fileName: string): VolumeData {
  const count = shape[0] * shape[1] * shape[2];
  const width = BYTES_PER_VOXEL[dtype];
  const needed = count * width;
  // nibabel's repair for single files written with vox_offset 0: data follows header + 4 extension bytes
  const offset = Math.max(h.voxOffset, h.headerSize + 4);
  const available = bytes.byteLength - offset;
  if (available < needed) {
    throw new SdsError(
      'E_NIFTI_TRUNCATED',
      `${fileName}: dims [${shape.join(', ')}] of ${dtype} need ${needed} bytes of voxel data from offset ${offset}, the file has ${Math.max(available, 0)}`,
      { fileName, needed, available },
    );
  }
  const data = allocateVolumeData(dtype, count);
  const out = new Uint8Array(data.buffer);
  out.set(bytes.subarray(offset, offset + needed));
  if (!h.littleEndian && width > 1) swapBytes(out, width);
  return data;
}

function swapBytes(b: Uint8Array, width: number): void {
  for (let i = 0; i < b.length; i += width) {
    for (let lo = i, hi = i + width - 1; lo < hi; lo++, hi--) {
      const t = b[lo];
      b[lo] = b[hi];
      b[hi] = t;
    }
  }
}

/** scl_slope / scl_inter as nibabel applies them: only when slope is finite, non-zero and not (1, 0). */
function applyScaling(stored: VolumeData, h: NiftiHeader): VolumeData {
  const slope = h.sclSlope;
  const inter = Number.isFinite(h.sclInter) ? h.sclInter : 0;
  if (!Number.isFinite(slope) || slope === 0 || (slope === 1 && inter === 0)) return stored;
  const out = stored instanceof Float64Array ? new Float64Array(stored.length) : new Float32Array(stored.length);
  for (let i = 0; i < stored.length; i++) out[i] = stored[i] * slope + inter;
  return out;
}

function affineOf(h: NiftiHeader, shape: Vec3, fileName: string): number[] {
  if (h.sformCode > 0) {
    if (h.srow.some((v) => !Number.isFinite(v))) {
      throw new SdsError(
        'E_NIFTI_CORRUPT',
        `${fileName}: sform_code ${h.sformCode} but srow holds non-finite values [${h.srow.join(', ')}]`,
        { fileName },
      );
    }
    return [...h.srow, 0, 0, 0, 1];
  }
  if (h.qformCode > 0) return qformAffine(h.quatern, h.pixdim, h.qoffset, fileName);
  const zooms = h.pixdim.slice(1, 4).map((z) => (z > 0 && Number.isFinite(z) ? z : 1)) as Vec3;
  return baseAffine(shape, zooms);
}
