/**
 * NIfTI-1 (348-byte) and NIfTI-2 (540-byte) header parsing, either endianness. Offsets from the
 * official nifti1.h / nifti2.h. Only fields the SDK uses are decoded; the header is validated here
 * so the reader can trust it.
 */
import { SdsError } from '../core/errors.js';
import type { Vec3 } from './volume.js';

export interface NiftiHeader {
  version: 1 | 2;
  littleEndian: boolean;
  headerSize: number;
  /** dim[0] = rank, dim[1..7] sizes */
  dim: number[];
  datatype: number;
  bitpix: number;
  /** pixdim[0] = qfac, pixdim[1..3] voxel sizes */
  pixdim: number[];
  voxOffset: number;
  sclSlope: number;
  sclInter: number;
  qformCode: number;
  sformCode: number;
  quatern: Vec3;
  qoffset: Vec3;
  /** srow_x, srow_y, srow_z: the first three rows of the sform affine */
  srow: number[];
  intentCode: number;
  intentName: string;
  descrip: string;
  xyztUnits: number;
  magic: string;
}

export const NIFTI1_HEADER_SIZE = 348;
export const NIFTI2_HEADER_SIZE = 540;

/** Reads a NUL-terminated ASCII field. */
function ascii(bytes: Uint8Array, offset: number, length: number): string {
  let s = '';
  for (let i = 0; i < length; i++) {
    const c = bytes[offset + i];
    if (c === 0) break;
    s += String.fromCharCode(c);
  }
  return s;
}

function detectVersion(view: DataView, fileName: string): { version: 1 | 2; littleEndian: boolean } {
  if (view.byteLength < 4) {
    throw new SdsError('E_NIFTI_TRUNCATED', `${fileName}: ${view.byteLength} bytes is too short for a NIfTI header (348 or 540 bytes)`, {
      fileName,
    });
  }
  for (const littleEndian of [true, false]) {
    const size = view.getInt32(0, littleEndian);
    if (size === NIFTI1_HEADER_SIZE) return { version: 1, littleEndian };
    if (size === NIFTI2_HEADER_SIZE) return { version: 2, littleEndian };
  }
  throw new SdsError(
    'E_NIFTI_CORRUPT',
    `${fileName}: not a NIfTI file: sizeof_hdr must be 348 (NIfTI-1) or 540 (NIfTI-2) in either byte order, found ${view.getInt32(0, true)} (little-endian)`,
    { fileName },
  );
}

export function parseNiftiHeader(bytes: Uint8Array, fileName: string): NiftiHeader {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const { version, littleEndian: le } = detectVersion(view, fileName);
  const headerSize = version === 1 ? NIFTI1_HEADER_SIZE : NIFTI2_HEADER_SIZE;
  if (bytes.byteLength < headerSize) {
    throw new SdsError(
      'E_NIFTI_TRUNCATED',
      `${fileName}: NIfTI-${version} header needs ${headerSize} bytes, file has ${bytes.byteLength}`,
      { fileName },
    );
  }
  const header = version === 1 ? parseNifti1(view, bytes, le) : parseNifti2(view, bytes, le, fileName);
  validateHeader(header, fileName);
  return header;
}

function parseNifti1(v: DataView, bytes: Uint8Array, le: boolean): NiftiHeader {
  const f32 = (o: number): number => v.getFloat32(o, le);
  const i16 = (o: number): number => v.getInt16(o, le);
  return {
    version: 1,
    littleEndian: le,
    headerSize: NIFTI1_HEADER_SIZE,
    dim: Array.from({ length: 8 }, (_, i) => i16(40 + 2 * i)),
    intentCode: i16(68),
    datatype: i16(70),
    bitpix: i16(72),
    pixdim: Array.from({ length: 8 }, (_, i) => f32(76 + 4 * i)),
    voxOffset: f32(108),
    sclSlope: f32(112),
    sclInter: f32(116),
    xyztUnits: bytes[123],
    descrip: ascii(bytes, 148, 80),
    qformCode: i16(252),
    sformCode: i16(254),
    quatern: [f32(256), f32(260), f32(264)],
    qoffset: [f32(268), f32(272), f32(276)],
    srow: Array.from({ length: 12 }, (_, i) => f32(280 + 4 * i)),
    intentName: ascii(bytes, 328, 16),
    magic: ascii(bytes, 344, 4),
  };
}

function parseNifti2(v: DataView, bytes: Uint8Array, le: boolean, fileName: string): NiftiHeader {
  const f64 = (o: number): number => v.getFloat64(o, le);
  const i64 = (o: number): number => {
    const big = v.getBigInt64(o, le);
    if (big > BigInt(Number.MAX_SAFE_INTEGER) || big < -BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new SdsError('E_NIFTI_CORRUPT', `${fileName}: 64-bit header field at byte ${o} holds ${big}, beyond any real volume`, {
        fileName,
      });
    }
    return Number(big);
  };
  const i32 = (o: number): number => v.getInt32(o, le);
  return {
    version: 2,
    littleEndian: le,
    headerSize: NIFTI2_HEADER_SIZE,
    magic: ascii(bytes, 4, 8),
    datatype: v.getInt16(12, le),
    bitpix: v.getInt16(14, le),
    dim: Array.from({ length: 8 }, (_, i) => i64(16 + 8 * i)),
    pixdim: Array.from({ length: 8 }, (_, i) => f64(104 + 8 * i)),
    voxOffset: i64(168),
    sclSlope: f64(176),
    sclInter: f64(184),
    descrip: ascii(bytes, 240, 80),
    qformCode: i32(344),
    sformCode: i32(348),
    quatern: [f64(352), f64(360), f64(368)],
    qoffset: [f64(376), f64(384), f64(392)],
    srow: Array.from({ length: 12 }, (_, i) => f64(400 + 8 * i)),
    xyztUnits: i32(500),
    intentCode: i32(504),
    intentName: ascii(bytes, 508, 16),
  };
}

function validateHeader(h: NiftiHeader, fileName: string): void {
  const fail = (what: string): never => {
    throw new SdsError('E_NIFTI_CORRUPT', `${fileName}: ${what}`, { fileName });
  };
  if (h.version === 1 && h.magic !== 'n+1') {
    if (h.magic === 'ni1') fail(`two-file NIfTI (.hdr/.img, magic "ni1") is not supported; expected a single .nii file (magic "n+1")`);
    fail(`magic must be "n+1" for a single-file NIfTI-1, found ${JSON.stringify(h.magic)}`);
  }
  if (h.version === 2 && h.magic !== 'n+2') {
    fail(`magic must be "n+2" for a single-file NIfTI-2, found ${JSON.stringify(h.magic)}`);
  }
  const rank = h.dim[0];
  if (!(rank >= 1 && rank <= 7)) fail(`dim[0] (rank) must be 1..7, found ${rank}`);
  for (let i = 1; i <= rank; i++) {
    if (!(h.dim[i] >= 1)) fail(`dim[${i}] must be >= 1, found ${h.dim[i]} (dim = [${h.dim.join(', ')}])`);
  }
  if (!Number.isFinite(h.voxOffset) || h.voxOffset < 0) fail(`vox_offset must be a non-negative number, found ${h.voxOffset}`);
}
