/**
 * One DICOM file -> one slice record (geometry tags + raw pixel values), via dicom-parser.
 * Only uncompressed transfer syntaxes are decoded; compressed ones fail by name before any parsing
 * of pixel data, so the user learns what to convert (e.g. `gdcmconv --raw`, `dcmdjpeg`).
 */
import dicomParser from 'dicom-parser';
import { SdsError } from '../core/errors.js';

export const TRANSFER_SYNTAX = {
  implicitLittle: '1.2.840.10008.1.2',
  explicitLittle: '1.2.840.10008.1.2.1',
  explicitBig: '1.2.840.10008.1.2.2',
} as const;

const COMPRESSED_NAMES: Record<string, string> = {
  '1.2.840.10008.1.2.1.99': 'Deflated Explicit VR Little Endian',
  '1.2.840.10008.1.2.4.50': 'JPEG Baseline (Process 1)',
  '1.2.840.10008.1.2.4.51': 'JPEG Extended (Process 2 & 4)',
  '1.2.840.10008.1.2.4.57': 'JPEG Lossless (Process 14)',
  '1.2.840.10008.1.2.4.70': 'JPEG Lossless SV1',
  '1.2.840.10008.1.2.4.80': 'JPEG-LS Lossless',
  '1.2.840.10008.1.2.4.81': 'JPEG-LS Near-Lossless',
  '1.2.840.10008.1.2.4.90': 'JPEG 2000 Lossless',
  '1.2.840.10008.1.2.4.91': 'JPEG 2000',
  '1.2.840.10008.1.2.5': 'RLE Lossless',
};

export interface DicomSlice {
  fileName: string;
  seriesUid: string;
  rows: number;
  columns: number;
  /** (0020,0032) in LPS mm */
  position: number[];
  /** (0020,0037): row direction cosines then column direction cosines, LPS */
  orientation: number[];
  /** (0028,0030): spacing between rows, then between columns (mm) */
  pixelSpacing: number[];
  sliceThickness: number;
  rescaleSlope: number;
  rescaleIntercept: number;
  /** stored pixel values, row by row (column index fastest) */
  pixels: Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array;
  transferSyntax: string;
}

const fail = (fileName: string, what: string): SdsError => new SdsError('E_DICOM_CORRUPT', `${fileName}: ${what}`, { fileName });

export function parseDicomSlice(bytes: Uint8Array, fileName: string): DicomSlice {
  const transferSyntax = readTransferSyntax(bytes, fileName);
  let ds: dicomParser.DataSet;
  try {
    ds = dicomParser.parseDicom(bytes);
  } catch (e) {
    throw fail(fileName, `not a readable DICOM file (${describeError(e)})`);
  }
  try {
    return readSlice(ds, fileName, transferSyntax);
  } catch (e) {
    // dicom-parser's accessors trust element lengths: a damaged one makes them throw a TypeError or
    // RangeError (found by bench/fuzz.ts); every such failure is a corrupt file to the caller
    if (e instanceof SdsError) throw e;
    throw fail(fileName, `damaged element (${describeError(e)})`);
  }
}

function readSlice(ds: dicomParser.DataSet, fileName: string, transferSyntax: string): DicomSlice {
  const required = (tag: string, label: string): number => {
    const v = ds.uint16(tag);
    if (v === undefined) throw fail(fileName, `missing ${label} (${tag})`);
    return v;
  };
  const numbers = (tag: string, label: string, count: number): number[] => {
    const out: number[] = [];
    for (let i = 0; i < count; i++) {
      const v = ds.floatString(tag, i);
      if (v === undefined || !Number.isFinite(v))
        throw fail(fileName, `${label} (${tag}) must hold ${count} numbers, found "${ds.string(tag) ?? ''}"`);
      out.push(v);
    }
    return out;
  };
  const samples = ds.uint16('x00280002') ?? 1;
  if (samples !== 1)
    throw new SdsError('E_DICOM_UNSUPPORTED', `${fileName}: ${samples} samples per pixel (colour); expected 1 (greyscale)`, { fileName });
  const frames = ds.intString('x00280008') ?? 1;
  if (frames !== 1)
    throw new SdsError('E_DICOM_UNSUPPORTED', `${fileName}: multi-frame image with ${frames} frames; expected one slice per file`, {
      fileName,
    });
  const rows = required('x00280010', 'Rows');
  const columns = required('x00280011', 'Columns');
  const bitsAllocated = required('x00280100', 'BitsAllocated');
  const bitsStored = ds.uint16('x00280101') ?? bitsAllocated;
  const signed = (ds.uint16('x00280103') ?? 0) === 1;
  const pixels = readPixels(
    ds,
    fileName,
    rows * columns,
    bitsAllocated,
    bitsStored,
    signed,
    transferSyntax === TRANSFER_SYNTAX.explicitBig,
  );
  return {
    fileName,
    seriesUid: ds.string('x0020000e') ?? '',
    rows,
    columns,
    position: numbers('x00200032', 'ImagePositionPatient', 3),
    orientation: numbers('x00200037', 'ImageOrientationPatient', 6),
    pixelSpacing: numbers('x00280030', 'PixelSpacing', 2),
    sliceThickness: ds.floatString('x00180050') ?? 0,
    rescaleSlope: ds.floatString('x00281053') ?? 1,
    rescaleIntercept: ds.floatString('x00281052') ?? 0,
    pixels,
    transferSyntax,
  };
}

function describeError(e: unknown): string {
  if (e instanceof Error) return e.message;
  if (typeof e === 'string') return e;
  // dicom-parser throws plain objects ({ exception, dataSet }) for some failures
  if (e && typeof e === 'object' && 'exception' in e) return String((e as { exception: unknown }).exception);
  return String(e);
}

function readTransferSyntax(bytes: Uint8Array, fileName: string): string {
  let uid: string | undefined;
  try {
    uid = dicomParser.readPart10Header(bytes).string('x00020010');
  } catch (e) {
    throw fail(fileName, `no DICOM Part 10 header ("DICM" at byte 128) (${describeError(e)})`);
  }
  const ts = (uid ?? TRANSFER_SYNTAX.implicitLittle).trim();
  if (ts === TRANSFER_SYNTAX.implicitLittle || ts === TRANSFER_SYNTAX.explicitLittle || ts === TRANSFER_SYNTAX.explicitBig) return ts;
  const name = COMPRESSED_NAMES[ts] ?? 'unknown or compressed';
  throw new SdsError(
    'E_DICOM_UNSUPPORTED',
    `${fileName}: transfer syntax ${ts} (${name}) is not supported; expected uncompressed Implicit/Explicit VR Little Endian or Explicit VR Big Endian ` +
      `(decompress first, e.g. gdcmconv --raw)`,
    { fileName, transferSyntax: ts },
  );
}

function readPixels(
  ds: dicomParser.DataSet,
  fileName: string,
  count: number,
  bits: number,
  bitsStored: number,
  signed: boolean,
  bigEndian: boolean,
): DicomSlice['pixels'] {
  const element = ds.elements.x7fe00010;
  if (!element) throw fail(fileName, 'missing PixelData (7FE0,0010)');
  if (bits !== 8 && bits !== 16 && bits !== 32) {
    throw new SdsError('E_DICOM_UNSUPPORTED', `${fileName}: BitsAllocated ${bits}; expected 8, 16 or 32`, { fileName });
  }
  const width = bits / 8;
  if (element.length < count * width || element.dataOffset + count * width > ds.byteArray.length) {
    throw new SdsError(
      'E_DICOM_CORRUPT',
      `${fileName}: PixelData holds ${element.length} bytes, ${count} pixels of ${bits} bits need ${count * width}`,
      { fileName },
    );
  }
  const raw = new Uint8Array(count * width);
  raw.set(ds.byteArray.subarray(element.dataOffset, element.dataOffset + count * width));
  if (bigEndian && width > 1) {
    for (let i = 0; i < raw.length; i += width) raw.subarray(i, i + width).reverse();
  }
  const pixels =
    bits === 8
      ? signed
        ? new Int8Array(raw.buffer)
        : raw
      : bits === 16
        ? signed
          ? new Int16Array(raw.buffer)
          : new Uint16Array(raw.buffer)
        : signed
          ? new Int32Array(raw.buffer)
          : new Uint32Array(raw.buffer);
  if (signed && bitsStored < bits) {
    // sign-extend from the stored high bit (e.g. 12-bit CT in 16-bit words)
    const shift = 32 - bitsStored;
    for (let i = 0; i < pixels.length; i++) pixels[i] = (pixels[i] << shift) >> shift;
  } else if (!signed && bitsStored < bits) {
    const mask = bitsStored >= 32 ? 0xffffffff : (1 << bitsStored) - 1;
    for (let i = 0; i < pixels.length; i++) pixels[i] = pixels[i] & mask;
  }
  return pixels;
}
