// Deterministic mutations for the reader fuzzer (bench/fuzz.ts, test/reliability-fuzz.test.ts).
// Every mutated input is a pure function of (seed, index), so a failure found by the bench can be
// replayed alone, and a watchdog that kills a hung worker can restart at the next index.

/** mulberry32: a tiny, well-mixed 32-bit generator; good enough to pick positions and values. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type Random = () => number;
export const pick = <T>(r: Random, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
export const int = (r: Random, lo: number, hi: number): number => lo + Math.floor(r() * (hi - lo + 1));

/** A header field the format-aware mutation may set to an extreme value. */
export interface Field {
  offset: number;
  kind: 'i16' | 'u16' | 'i32' | 'u32' | 'i64' | 'f32' | 'f64';
  littleEndian: boolean;
}

const INT_EXTREMES = [0, -1, 1, 2, 3, 7, 8, 255, 256, 0x7fff, -0x8000, 0xffff, 0x7fffffff, -0x80000000, 0xffffffff, 1 << 20];
const FLOAT_EXTREMES = [0, -0, -1, 1e-30, 1e30, -1e30, 3.4e38, NaN, Infinity, -Infinity, 0.5, 1e9, 352, 351.5];

export function setField(bytes: Uint8Array, f: Field, r: Random): void {
  const width = { i16: 2, u16: 2, i32: 4, u32: 4, i64: 8, f32: 4, f64: 8 }[f.kind];
  if (f.offset + width > bytes.length) return;
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const le = f.littleEndian;
  if (f.kind === 'f32' || f.kind === 'f64') {
    const x = pick(r, FLOAT_EXTREMES);
    if (f.kind === 'f32') v.setFloat32(f.offset, x, le);
    else v.setFloat64(f.offset, x, le);
    return;
  }
  const x = pick(r, INT_EXTREMES);
  if (f.kind === 'i16' || f.kind === 'u16') v.setUint16(f.offset, x & 0xffff, le);
  else if (f.kind === 'i32' || f.kind === 'u32') v.setUint32(f.offset, x >>> 0, le);
  else v.setBigInt64(f.offset, pick(r, [BigInt(x), 1n << 62n, -(1n << 62n), BigInt(Number.MAX_SAFE_INTEGER) + 2n]), le);
}

/**
 * Integer-looking places of a binary file (small non-zero values at aligned offsets): in HDF5 those
 * are sizes, dimensions, addresses and lengths, exactly what a lying file gets wrong.
 */
export function integerFields(bytes: Uint8Array, littleEndian = true): Field[] {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Field[] = [];
  for (let o = 0; o + 8 <= bytes.length; o += 4) {
    const u32 = v.getUint32(o, littleEndian);
    if (u32 > 0 && u32 < 1 << 20)
      out.push({ offset: o, kind: o % 8 === 0 && v.getUint32(o + 4, littleEndian) === 0 ? 'i64' : 'u32', littleEndian });
  }
  return out;
}

export type MutationKind = 'bitflip' | 'truncate' | 'bytes' | 'field' | 'splice';

/**
 * One mutation of `seed`. `fields` are the format's header fields; with none, 'field' falls back to
 * random bytes. Returns a fresh array; `seed` is never modified.
 */
export function mutate(seed: Uint8Array, fields: readonly Field[], r: Random): { bytes: Uint8Array; kind: MutationKind } {
  const kind = pick<MutationKind>(r, ['bitflip', 'bitflip', 'truncate', 'bytes', 'field', 'field', 'field', 'splice']);
  const out = seed.slice();
  const n = out.length;
  switch (kind) {
    case 'bitflip': {
      const flips = int(r, 1, 16);
      for (let i = 0; i < flips; i++) out[int(r, 0, n - 1)] ^= 1 << int(r, 0, 7);
      return { bytes: out, kind };
    }
    case 'truncate':
      // short prefixes matter most (header cut), so half the cuts land in the first 1 KiB
      return { bytes: out.slice(0, r() < 0.5 ? int(r, 0, Math.min(n - 1, 1024)) : int(r, 0, n - 1)), kind };
    case 'bytes': {
      const count = int(r, 1, 8);
      for (let i = 0; i < count; i++) out[int(r, 0, n - 1)] = pick(r, [0x00, 0xff, 0x7f, 0x80, 0x01]);
      return { bytes: out, kind };
    }
    case 'field': {
      if (fields.length === 0) return mutate(seed, fields, r);
      const count = int(r, 1, 3);
      for (let i = 0; i < count; i++) setField(out, pick(r, fields), r);
      return { bytes: out, kind };
    }
    case 'splice': {
      // delete or duplicate a block: shifts every later offset, which headers then point past
      const at = int(r, 0, n - 1);
      const len = int(r, 1, Math.min(256, n - at));
      if (r() < 0.5) return { bytes: new Uint8Array([...out.subarray(0, at), ...out.subarray(at + len)]), kind };
      return { bytes: new Uint8Array([...out.subarray(0, at + len), ...out.subarray(at, at + len), ...out.subarray(at + len)]), kind };
    }
  }
}
