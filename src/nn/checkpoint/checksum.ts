import { SdsError } from '../../core/errors.js';

/**
 * A CRC-32 of a whole safetensors file, kept inside the file so PyTorch's loader still reads it: the
 * writer puts `"sds.crc32": "00000000"` in __metadata__, computes the CRC of every byte (header with
 * the placeholder, then tensor data), and overwrites the 8 placeholder digits in place (same length,
 * so no offset moves). A reader finds the field, computes the CRC with the placeholder back, and
 * compares. Any flipped bit or missing tail (a crash mid-write, a bad disk) fails the comparison.
 */
export const METADATA_CRC32 = 'sds.crc32';
export const CRC32_PLACEHOLDER = '00000000';

const TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 (IEEE 802.3, as zlib and gzip) of `bytes`, continuing from `crc`. */
export function crc32(bytes: Uint8Array, crc = 0): number {
  let c = ~crc >>> 0;
  for (let i = 0; i < bytes.length; i++) c = TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

const FIELD = new TextEncoder().encode(`"${METADATA_CRC32}":"`);

/** Byte offset of the 8 digits of the CRC field in the header, or -1. JSON.stringify writes no spaces. */
function digitsAt(bytes: Uint8Array): number {
  // the field lives in the JSON header, which starts at byte 8; never look into tensor data
  const headerEnd =
    bytes.length >= 8
      ? Math.min(bytes.length, 8 + Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true) & 0xffffffffn))
      : 0;
  outer: for (let i = 8; i + FIELD.length + 8 <= headerEnd; i++) {
    for (let j = 0; j < FIELD.length; j++) if (bytes[i + j] !== FIELD[j]) continue outer;
    return i + FIELD.length;
  }
  return -1;
}

/** CRC of `bytes` with the digits at `at` read as the placeholder. */
function crcWithPlaceholder(bytes: Uint8Array, at: number): number {
  const zeros = new TextEncoder().encode(CRC32_PLACEHOLDER);
  return crc32(bytes.subarray(at + 8), crc32(zeros, crc32(bytes.subarray(0, at))));
}

/**
 * Fills in the CRC of a file written with `{ [METADATA_CRC32]: CRC32_PLACEHOLDER }` in its metadata.
 * Modifies `bytes` in place and returns it.
 */
export function sealChecksum(bytes: Uint8Array): Uint8Array {
  const at = digitsAt(bytes);
  if (at < 0)
    throw new SdsError(
      'E_INVALID_ARGUMENT',
      `sealChecksum: expected __metadata__["${METADATA_CRC32}"] = "${CRC32_PLACEHOLDER}", found none`,
    );
  const hex = crcWithPlaceholder(bytes, at).toString(16).padStart(8, '0');
  bytes.set(new TextEncoder().encode(hex), at);
  return bytes;
}

/**
 * 'verified' when the file's CRC field matches its bytes, 'absent' when it has none (PyTorch files,
 * checkpoints from before checksums); throws E_CHECKPOINT_CORRUPT on a mismatch.
 */
export function verifyChecksum(bytes: Uint8Array, what: string): 'verified' | 'absent' {
  const at = digitsAt(bytes);
  if (at < 0) return 'absent';
  const stored = new TextDecoder().decode(bytes.subarray(at, at + 8));
  const actual = crcWithPlaceholder(bytes, at).toString(16).padStart(8, '0');
  if (stored !== actual) {
    throw new SdsError(
      'E_CHECKPOINT_CORRUPT',
      `${what}: checksum mismatch: the file says CRC-32 ${stored}, its ${bytes.length} bytes give ${actual} (damaged or truncated; use an earlier checkpoint)`,
      { stored, actual, bytes: bytes.length },
    );
  }
  return 'verified';
}
