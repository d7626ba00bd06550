// The readers under fuzz, each with its seed files (real fixtures) and its format's header fields.
// Shared by bench/fuzz.ts (10,000+ inputs per reader, in a watched worker) and
// test/reliability-fuzz.test.ts (a fixed-seed slice). A target's run() builds one mutated input from
// the random stream and calls the reader; the harness classifies what came back.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync, gzipSync } from 'fflate';
import h5wasm from 'h5wasm';
import { createBackend } from '../../src/api/create-backend.js';
import { loadVNet, saveVNet } from '../../src/nn/checkpoint/vnet-checkpoint.js';
import { readSafetensors } from '../../src/nn/checkpoint/safetensors.js';
import { VNet } from '../../src/nn/vnet.js';
import { readDicomSeries, readHdf5Volumes, readNifti } from '../../src/volume/index.js';
import { type Field, type Random, integerFields, int, mutate, pick } from './fuzz-mutate.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const VOLUME = join(ROOT, 'test', 'fixtures', 'volume');
const read = (path: string): Uint8Array => new Uint8Array(readFileSync(path));

export interface FuzzInput {
  /** what was done to the seed, for the per-kind counts */
  mutation: string;
  /** total bytes handed to the reader */
  bytes: number;
  /** the most memory (bytes) a correct reader may need for this input: anything above is a lying header obeyed */
  allocationCap: number;
}

export interface FuzzTarget {
  name: string;
  /** Builds one mutated input and runs the reader on it; throws what the reader throws. */
  run(r: Random, report: (input: FuzzInput) => void): Promise<void>;
}

// ---------------------------------------------------------------- NIfTI

function niftiFields(raw: Uint8Array): Field[] {
  const v = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const le = v.getInt32(0, true) === 348 || v.getInt32(0, true) === 540;
  const version = v.getInt32(0, le) === 540 ? 2 : 1;
  const f = (offset: number, kind: Field['kind']): Field => ({ offset, kind, littleEndian: le });
  if (version === 1) {
    return [
      f(0, 'i32'),
      ...Array.from({ length: 8 }, (_, k) => f(40 + 2 * k, 'i16')),
      f(70, 'i16'), // datatype
      f(72, 'i16'), // bitpix
      ...Array.from({ length: 8 }, (_, k) => f(76 + 4 * k, 'f32')), // pixdim
      f(108, 'f32'), // vox_offset
      f(112, 'f32'), // scl_slope
      f(116, 'f32'), // scl_inter
      f(252, 'i16'), // qform_code
      f(254, 'i16'), // sform_code
      ...Array.from({ length: 6 }, (_, k) => f(256 + 4 * k, 'f32')), // quatern, qoffset
      ...Array.from({ length: 12 }, (_, k) => f(280 + 4 * k, 'f32')), // srow
    ];
  }
  return [
    f(0, 'i32'),
    f(12, 'i16'),
    f(14, 'i16'),
    ...Array.from({ length: 8 }, (_, k) => f(16 + 8 * k, 'i64')),
    ...Array.from({ length: 8 }, (_, k) => f(104 + 8 * k, 'f64')),
    f(168, 'i64'),
    f(176, 'f64'),
    f(184, 'f64'),
    f(344, 'i32'),
    f(348, 'i32'),
    ...Array.from({ length: 12 }, (_, k) => f(400 + 8 * k, 'f64')),
  ];
}

// deflate's best ratio is about 1032:1 (the reader's own cap); a NIfTI needs one copy of the voxels
// plus a scaled float64 copy at most, so 3x the inflated bound plus a little fixed slack.
const gzipCap = (n: number): number => 3 * (1032 * n + 1024) + (4 << 20);
const rawCap = (n: number): number => 3 * n + (4 << 20);

export function niftiTarget(): FuzzTarget {
  const names = readdirSync(VOLUME).filter((n) => /\.nii(\.gz)?$/.test(n));
  const seeds = names.map((name) => {
    const file = read(join(VOLUME, name));
    const gz = name.endsWith('.gz');
    const inner = gz ? gunzipSync(file) : file;
    return { name, file, gz, inner, fields: niftiFields(inner) };
  });
  return {
    name: 'nifti',
    async run(r, report) {
      const s = pick(r, seeds);
      let bytes: Uint8Array;
      let mutation: string;
      if (s.gz && r() < 0.7) {
        // mutate the header inside the gzip, or the parser would only ever see broken deflate streams
        const m = mutate(s.inner, s.fields, r);
        bytes = gzipSync(m.bytes, { level: 1 });
        mutation = `${m.kind} (inside gzip)`;
      } else {
        const m = mutate(s.file, s.gz ? [] : s.fields, r);
        bytes = m.bytes;
        mutation = m.kind;
      }
      report({ mutation, bytes: bytes.length, allocationCap: s.gz ? gzipCap(bytes.length) : rawCap(bytes.length) });
      readNifti(bytes, s.name);
    },
  };
}

// ---------------------------------------------------------------- HDF5

export function hdf5Target(): FuzzTarget {
  const file = read(join(VOLUME, 'la-small.h5'));
  const fields = integerFields(file);
  return {
    name: 'hdf5',
    async run(r, report) {
      const m = mutate(file, fields, r);
      // the reader keeps the file in h5wasm's heap and reads both datasets once, plus float copies
      report({ mutation: m.kind, bytes: m.bytes.length, allocationCap: 16 * m.bytes.length + (8 << 20) });
      await readHdf5Volumes(m.bytes, 'la-small.h5');
    },
  };
}

// ---------------------------------------------------------------- DICOM

/** Value and length fields of the tags the reader trusts, found by their tag bytes in either byte order. */
function dicomFields(bytes: Uint8Array): Field[] {
  const tags: Array<[number, number]> = [
    [0x0028, 0x0010], // Rows
    [0x0028, 0x0011], // Columns
    [0x0028, 0x0100], // BitsAllocated
    [0x0028, 0x0101], // BitsStored
    [0x0028, 0x0103], // PixelRepresentation
    [0x0028, 0x0002], // SamplesPerPixel
    [0x7fe0, 0x0010], // PixelData
    [0x0020, 0x0032], // ImagePositionPatient
    [0x0002, 0x0010], // TransferSyntaxUID
  ];
  const out: Field[] = [];
  for (const le of [true, false]) {
    for (const [g, e] of tags) {
      const pattern = le ? [g & 0xff, g >> 8, e & 0xff, e >> 8] : [g >> 8, g & 0xff, e >> 8, e & 0xff];
      for (let o = 0; o + 12 <= bytes.length; o++) {
        if (pattern.every((b, i) => bytes[o + i] === b)) {
          out.push({ offset: o + 8, kind: 'u16', littleEndian: le }); // US value (explicit or implicit VR)
          out.push({ offset: o + 6, kind: 'u16', littleEndian: le }); // explicit short-VR length
          out.push({ offset: o + 4, kind: 'u32', littleEndian: le }); // implicit VR length
          out.push({ offset: o + 8, kind: 'u32', littleEndian: le }); // explicit long-VR length (OB/OW)
        }
      }
    }
  }
  return out;
}

export function dicomTarget(): FuzzTarget {
  const series = ['dicom-big-endian', 'dicom-hippocampus_003'].map((dir) =>
    readdirSync(join(VOLUME, dir))
      .sort()
      .map((name) => {
        const bytes = read(join(VOLUME, dir, name));
        return { name, bytes, fields: dicomFields(bytes) };
      }),
  );
  return {
    name: 'dicom',
    async run(r, report) {
      const files = pick(r, series);
      const victim = int(r, 0, files.length - 1);
      const m = mutate(files[victim].bytes, files[victim].fields, r);
      const input = files.map((f, i) => ({ name: f.name, bytes: i === victim ? m.bytes : f.bytes }));
      const total = input.reduce((s, f) => s + f.bytes.length, 0);
      // pixels are copied, then rescaled to float32 (4 bytes per <= 1-byte stored pixel at worst)
      report({ mutation: m.kind, bytes: total, allocationCap: 10 * total + (4 << 20) });
      readDicomSeries(input);
    },
  };
}

// ---------------------------------------------------------------- safetensors (+ loadVNet)

/** Rewrites one header entry of a safetensors file with a lie (huge shape, offsets past the end, ...). */
function mutateSafetensorsHeader(bytes: Uint8Array, r: Random): Uint8Array | null {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))) as Record<string, Record<string, unknown>>;
  const names = Object.keys(header);
  const name = pick(r, names);
  const entry = header[name];
  const lies: unknown[] = [0, -1, 1e300, 2 ** 53, 2 ** 31, 1.5, '7', null, [], [2 ** 40, 2 ** 40], [1, 2, 3, 4, 5, 6, 7, 8, 9]];
  if (name === '__metadata__') {
    const key = pick(r, Object.keys(entry));
    entry[key] = pick(r, ['', '{', '{"nFilters": 1e9}', '-1', '1e400', '{"nClasses": 0}', 'null', '[]']);
  } else {
    const key = pick(r, ['dtype', 'shape', 'data_offsets', 'shape', 'data_offsets']);
    if (key === 'dtype') entry.dtype = pick(r, ['F16', 'BF16', 'I64', 'U8', 'F64', '', 7]);
    else if (key === 'shape') entry.shape = pick(r, [[2 ** 20, 2 ** 20, 2 ** 20], [0], [-1], [1.5], 'x', ...lies]);
    else entry.data_offsets = pick(r, [[0, 2 ** 40], [2 ** 40, 2 ** 40 + 4], [-4, 0], [8, 4], ...lies]);
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + (bytes.length - 8 - n));
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(bytes.subarray(8 + n), 8 + json.length);
  return out;
}

const safetensorsCap = (n: number): number => 4 * n + (4 << 20);

export async function safetensorsTargets(): Promise<FuzzTarget[]> {
  const backend = await createBackend('reference');
  const net = new VNet(backend, { nFilters: 1 }, { seed: 1 });
  // a checkpoint written by sds-web itself (what a resume reads) and one written by PyTorch
  const ours = await saveVNet(backend, net, { iteration: 3 });
  const pytorch = read(join(ROOT, 'test', 'fixtures', 'vnet', 'vnet-extra-head.safetensors'));
  const headerLength: Field = { offset: 0, kind: 'i64', littleEndian: true };
  const mutateFile = (seed: Uint8Array, r: Random): { bytes: Uint8Array; kind: string } => {
    if (r() < 0.4) {
      const lied = mutateSafetensorsHeader(seed, r);
      if (lied) return { bytes: lied, kind: 'header-lie' };
    }
    return mutate(seed, [headerLength, headerLength, ...integerFields(seed.subarray(0, 64))], r);
  };
  return [
    {
      name: 'safetensors',
      async run(r, report) {
        const m = mutateFile(r() < 0.5 ? ours : pytorch, r);
        report({ mutation: m.kind, bytes: m.bytes.length, allocationCap: safetensorsCap(m.bytes.length) });
        readSafetensors(m.bytes);
      },
    },
    {
      name: 'loadVNet',
      async run(r, report) {
        const m = mutateFile(ours, r);
        report({ mutation: m.kind, bytes: m.bytes.length, allocationCap: safetensorsCap(m.bytes.length) });
        loadVNet(backend, net, m.bytes);
      },
    },
  ];
}

// ---------------------------------------------------------------- ONNX (when src/onnx exists)

/** importVNetOnnx from src/onnx, written by another engineer; null while it does not exist. */
export async function onnxTarget(): Promise<FuzzTarget | null> {
  const path = '../../src/onnx/index.js';
  let mod: Record<string, unknown>;
  try {
    mod = (await import(/* @vite-ignore */ path)) as Record<string, unknown>;
  } catch (e) {
    console.warn(`onnx: cannot import src/onnx (${e instanceof Error ? e.message : String(e)})`);
    return null;
  }
  const importVNetOnnx = mod.importVNetOnnx as ((bytes: Uint8Array, ...rest: unknown[]) => unknown) | undefined;
  if (typeof importVNetOnnx !== 'function') return null;
  const dirs = [join(ROOT, 'test', 'fixtures', 'onnx'), join(ROOT, 'examples', 'models')];
  const seeds: Uint8Array[] = [];
  for (const dir of dirs) {
    try {
      for (const n of readdirSync(dir)) if (n.endsWith('.onnx')) seeds.push(read(join(dir, n)));
    } catch {
      // folder absent
    }
  }
  const small = seeds.filter((s) => s.length < 4 << 20);
  if (small.length === 0) return null;
  return {
    name: 'onnx',
    async run(r, report) {
      const seed = pick(r, small);
      const m = mutate(seed, integerFields(seed.subarray(0, 256)), r);
      report({ mutation: m.kind, bytes: m.bytes.length, allocationCap: 8 * m.bytes.length + (16 << 20) });
      await importVNetOnnx(m.bytes);
    },
  };
}

export async function allTargets(): Promise<FuzzTarget[]> {
  const onnx = await onnxTarget();
  return [niftiTarget(), hdf5Target(), dicomTarget(), ...(await safetensorsTargets()), ...(onnx ? [onnx] : [])];
}

/** Bytes the readers can hold on to outside the JS heap: ArrayBuffers plus h5wasm's wasm heap. */
export async function offHeapBytes(): Promise<number> {
  const module = await h5wasm.ready;
  return process.memoryUsage().arrayBuffers + (module.HEAPU8?.length ?? 0);
}
