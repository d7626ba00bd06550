import { SdsError } from '../../core/errors.js';
import { type Shape, shapeString, sizeOf } from '../../core/shape.js';

/**
 * The safetensors container (https://huggingface.co/docs/safetensors): an 8-byte little-endian header
 * length, a JSON header {name: {dtype, shape, data_offsets: [begin, end]}} with an optional
 * "__metadata__" map of strings, then the raw little-endian tensor bytes, offsets relative to the end
 * of the header. Host-side only: it knows nothing of backends or networks.
 */
export type SafetensorsDType = 'F32' | 'F64' | 'I64' | 'I32' | 'U8';

export type SafetensorsArray = Float32Array | Float64Array | BigInt64Array | Int32Array | Uint8Array;

export interface SafetensorsTensor {
  readonly dtype: SafetensorsDType;
  readonly shape: Shape;
  readonly data: SafetensorsArray;
}

export interface SafetensorsFile {
  /** In the header's order (the order the writer gave them). */
  readonly tensors: ReadonlyMap<string, SafetensorsTensor>;
  readonly metadata: Readonly<Record<string, string>>;
}

const BYTES_PER_ELEMENT: Record<SafetensorsDType, number> = { F32: 4, F64: 8, I64: 8, I32: 4, U8: 1 };

// Tensor data is little-endian on disk; every platform sds-web targets is too, but a big-endian host
// would read garbage silently, so it takes the slow DataView path instead.
const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Guards against a corrupt length field asking for gigabytes of JSON. */
const MAX_HEADER_BYTES = 100 * 1024 * 1024;

function formatError(message: string, details: Record<string, unknown> = {}): SdsError {
  return new SdsError('E_FORMAT', `safetensors: ${message}`, details);
}

export function dtypeOfArray(data: SafetensorsArray): SafetensorsDType {
  if (data instanceof Float32Array) return 'F32';
  if (data instanceof Float64Array) return 'F64';
  if (data instanceof BigInt64Array) return 'I64';
  if (data instanceof Int32Array) return 'I32';
  return 'U8';
}

function decode(dtype: SafetensorsDType, bytes: Uint8Array): SafetensorsArray {
  // slice() copies into a fresh, aligned ArrayBuffer: the typed array owns its data.
  const own = bytes.slice().buffer;
  if (HOST_IS_LITTLE_ENDIAN || dtype === 'U8') {
    switch (dtype) {
      case 'F32':
        return new Float32Array(own);
      case 'F64':
        return new Float64Array(own);
      case 'I64':
        return new BigInt64Array(own);
      case 'I32':
        return new Int32Array(own);
      default:
        return new Uint8Array(own);
    }
  }
  const view = new DataView(own);
  const n = bytes.length / BYTES_PER_ELEMENT[dtype];
  switch (dtype) {
    case 'F32':
      return Float32Array.from({ length: n }, (_, i) => view.getFloat32(4 * i, true));
    case 'F64':
      return Float64Array.from({ length: n }, (_, i) => view.getFloat64(8 * i, true));
    case 'I64':
      return BigInt64Array.from({ length: n }, (_, i) => view.getBigInt64(8 * i, true));
    default:
      return Int32Array.from({ length: n }, (_, i) => view.getInt32(4 * i, true));
  }
}

function encode(data: SafetensorsArray): Uint8Array {
  if (HOST_IS_LITTLE_ENDIAN || data instanceof Uint8Array) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const out = new DataView(new ArrayBuffer(data.byteLength));
  for (let i = 0; i < data.length; i++) {
    if (data instanceof Float32Array) out.setFloat32(4 * i, data[i], true);
    else if (data instanceof Float64Array) out.setFloat64(8 * i, data[i], true);
    else if (data instanceof BigInt64Array) out.setBigInt64(8 * i, data[i], true);
    else out.setInt32(4 * i, data[i], true);
  }
  return new Uint8Array(out.buffer);
}

function parseHeader(bytes: Uint8Array): { header: Record<string, unknown>; dataStart: number } {
  if (bytes.length < 8) throw formatError(`expected at least 8 bytes (the header length), found ${bytes.length}`);
  const headerLength = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (headerLength > BigInt(Math.min(bytes.length - 8, MAX_HEADER_BYTES))) {
    throw formatError(`header length ${headerLength} does not fit in a file of ${bytes.length} bytes`, {
      headerLength: Number(headerLength),
    });
  }
  const dataStart = 8 + Number(headerLength);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, dataStart)));
  } catch (e) {
    throw formatError(`header is not valid UTF-8 JSON (${(e as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    throw formatError(`expected the header to be a JSON object, found ${Array.isArray(header) ? 'an array' : typeof header}`);
  }
  return { header: header as Record<string, unknown>, dataStart };
}

function parseMetadata(raw: unknown): Record<string, string> {
  if (raw === undefined) return {};
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw formatError('expected "__metadata__" to be an object of strings');
  for (const [key, value] of Object.entries(raw)) {
    if (typeof value !== 'string') throw formatError(`expected "__metadata__.${key}" to be a string, found ${typeof value}`);
  }
  return { ...(raw as Record<string, string>) };
}

function parseEntry(
  name: string,
  raw: unknown,
  dataLength: number,
): { dtype: SafetensorsDType; shape: number[]; begin: number; end: number } {
  const entry = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
  if (typeof raw !== 'object' || raw === null) throw formatError(`tensor "${name}": expected an object {dtype, shape, data_offsets}`);
  const dtype = entry.dtype;
  if (typeof dtype !== 'string' || !(dtype in BYTES_PER_ELEMENT)) {
    throw formatError(
      `tensor "${name}": expected dtype one of ${Object.keys(BYTES_PER_ELEMENT).join(', ')}, found ${JSON.stringify(dtype)}`,
    );
  }
  const shape = entry.shape;
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
    throw formatError(`tensor "${name}": expected shape to be an array of non-negative integers, found ${JSON.stringify(shape)}`);
  }
  const offsets = entry.data_offsets;
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isInteger(o) && o >= 0) || offsets[0] > offsets[1]) {
    throw formatError(`tensor "${name}": expected data_offsets [begin, end] with 0 <= begin <= end, found ${JSON.stringify(offsets)}`);
  }
  const [begin, end] = offsets as [number, number];
  const byteLength = sizeOf(shape) * BYTES_PER_ELEMENT[dtype as SafetensorsDType];
  if (end - begin !== byteLength) {
    throw formatError(
      `tensor "${name}": shape ${shapeString(shape)} of ${dtype} needs ${byteLength} bytes, data_offsets span ${end - begin}`,
    );
  }
  if (end > dataLength)
    throw formatError(`tensor "${name}": data ends at byte ${end} but the file holds ${dataLength} data bytes (truncated?)`);
  return { dtype: dtype as SafetensorsDType, shape, begin, end };
}

/** Parses a whole safetensors file. Bad files fail with E_FORMAT saying what was wrong and where. */
export function readSafetensors(bytes: Uint8Array): SafetensorsFile {
  const { header, dataStart } = parseHeader(bytes);
  const metadata = parseMetadata(header['__metadata__']);
  const data = bytes.subarray(dataStart);
  const tensors = new Map<string, SafetensorsTensor>();
  for (const [name, raw] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const { dtype, shape, begin, end } = parseEntry(name, raw, data.length);
    tensors.set(name, { dtype, shape: Object.freeze(shape), data: decode(dtype, data.subarray(begin, end)) });
  }
  return { tensors, metadata };
}

/** Serialises tensors (in iteration order) and string metadata into one safetensors file. */
export function writeSafetensors(
  tensors: ReadonlyMap<string, { readonly shape: Shape; readonly data: SafetensorsArray }>,
  metadata: Readonly<Record<string, string>> = {},
): Uint8Array {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header['__metadata__'] = metadata;
  let offset = 0;
  const blobs: Uint8Array[] = [];
  for (const [name, t] of tensors) {
    if (name === '__metadata__')
      throw new SdsError('E_INVALID_ARGUMENT', 'safetensors: "__metadata__" is reserved and cannot name a tensor');
    if (t.data.length !== sizeOf(t.shape)) {
      throw new SdsError(
        'E_SHAPE_MISMATCH',
        `safetensors: tensor "${name}" has ${t.data.length} values, shape ${shapeString(t.shape)} needs ${sizeOf(t.shape)}`,
      );
    }
    const blob = encode(t.data);
    header[name] = { dtype: dtypeOfArray(t.data), shape: [...t.shape], data_offsets: [offset, offset + blob.length] };
    blobs.push(blob);
    offset += blob.length;
  }
  let json = new TextEncoder().encode(JSON.stringify(header));
  // The reference implementation pads the header with spaces so the data starts 8-byte aligned.
  const padding = (8 - (json.length % 8)) % 8;
  if (padding > 0) json = new TextEncoder().encode(JSON.stringify(header) + ' '.repeat(padding));
  const out = new Uint8Array(8 + json.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let at = 8 + json.length;
  for (const blob of blobs) {
    out.set(blob, at);
    at += blob.length;
  }
  return out;
}
