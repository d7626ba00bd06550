/**
 * Loads the PyTorch golden fixtures written by scripts/make-golden.py (test/fixtures/golden/*.json)
 * into typed arrays. Inputs are stored as float32 and load as Float32Array, ready to upload; expected
 * values are float64 and load as Float64Array so comparisons see the reference framework's full
 * precision. Parsing is separate from file access so a browser harness can feed it fetched JSON.
 */
import { readFileSync } from 'node:fs';
import { SdsError } from '../../src/core/errors.js';
import type { Vec3 } from '../../src/core/shape.js';
import { sizeOf } from '../../src/core/shape.js';

export type GoldenDType = 'float32' | 'float64' | 'uint8' | 'int32';

export interface GoldenTensor {
  readonly shape: readonly number[];
  readonly dtype: GoldenDType;
  readonly data: Float32Array | Float64Array | Uint8Array | Int32Array;
}

export interface GoldenCase {
  readonly name: string;
  readonly params: Readonly<Record<string, unknown>>;
  readonly tensors: Readonly<Record<string, GoldenTensor>>;
}

export interface GoldenFile {
  readonly file: string;
  /** Version of torch that produced the file. */
  readonly torch: string;
  readonly cases: readonly GoldenCase[];
}

export const GOLDEN_DIR = new URL('../fixtures/golden/', import.meta.url);

const fail = (where: string, message: string): never => {
  throw new SdsError('E_FORMAT', `golden fixture ${where}: ${message}`);
};

function toTypedArray(dtype: GoldenDType, values: number[]): GoldenTensor['data'] {
  switch (dtype) {
    case 'float32':
      return Float32Array.from(values);
    case 'float64':
      return Float64Array.from(values);
    case 'uint8':
      return Uint8Array.from(values);
    default:
      return Int32Array.from(values);
  }
}

function parseTensor(where: string, raw: unknown): GoldenTensor {
  const t = raw as { shape?: unknown; dtype?: unknown; data?: unknown };
  if (!Array.isArray(t?.shape) || !t.shape.every((d) => Number.isInteger(d) && d >= 0))
    fail(where, 'expected "shape" to be an array of non-negative integers');
  const shape = t.shape as number[];
  const dtype = t.dtype as GoldenDType;
  if (!['float32', 'float64', 'uint8', 'int32'].includes(dtype))
    fail(where, `expected dtype float32|float64|uint8|int32, found ${String(t.dtype)}`);
  if (!Array.isArray(t.data) || !t.data.every((v) => typeof v === 'number')) fail(where, 'expected "data" to be an array of numbers');
  const values = t.data as number[];
  if (values.length !== sizeOf(shape)) fail(where, `shape [${shape.join(', ')}] holds ${sizeOf(shape)} values, found ${values.length}`);
  return { shape, dtype, data: toTypedArray(dtype, values) };
}

/** Validates and converts one parsed fixture file. */
export function parseGolden(file: string, json: unknown): GoldenFile {
  const body = json as { torch?: unknown; cases?: unknown };
  if (!Array.isArray(body?.cases)) fail(file, 'expected a "cases" array');
  const cases = (body.cases as unknown[]).map((raw, i): GoldenCase => {
    const c = raw as { name?: unknown; params?: unknown; tensors?: unknown };
    const name = typeof c?.name === 'string' ? c.name : fail(`${file} case ${i}`, 'expected a string "name"');
    if (typeof c.tensors !== 'object' || c.tensors === null) fail(`${file} '${name}'`, 'expected a "tensors" object');
    const tensors: Record<string, GoldenTensor> = {};
    for (const [key, t] of Object.entries(c.tensors as Record<string, unknown>))
      tensors[key] = parseTensor(`${file} '${name}' tensor '${key}'`, t);
    return { name, params: (c.params ?? {}) as Record<string, unknown>, tensors };
  });
  return { file, torch: String(body.torch), cases };
}

/** Reads test/fixtures/golden/<file>; a missing file says how to regenerate it. */
export function loadGolden(file: string): GoldenFile {
  let text: string;
  try {
    text = readFileSync(new URL(file, GOLDEN_DIR), 'utf8');
  } catch (e) {
    throw new SdsError(
      'E_FORMAT',
      `golden fixture ${file} not found in test/fixtures/golden (regenerate with /usr/bin/python3 scripts/make-golden.py): ${String(e)}`,
    );
  }
  return parseGolden(file, JSON.parse(text));
}

/** The case called `name`; throws listing the available names when it is absent. */
export function goldenCase(file: GoldenFile, name: string): GoldenCase {
  const found = file.cases.find((c) => c.name === name);
  if (!found) fail(file.file, `no case '${name}'; cases are ${file.cases.map((c) => `'${c.name}'`).join(', ')}`);
  return found as GoldenCase;
}

/** Tensor `key` of a case, optionally required to have one dtype. */
export function tensorOf(c: GoldenCase, key: string, dtype?: GoldenDType): GoldenTensor {
  const t = c.tensors[key];
  if (!t) return fail(`'${c.name}'`, `no tensor '${key}'; tensors are ${Object.keys(c.tensors).join(', ')}`);
  if (dtype && t.dtype !== dtype) fail(`'${c.name}' tensor '${key}'`, `expected dtype ${dtype}, found ${t.dtype}`);
  return t;
}

export function paramNumber(c: GoldenCase, key: string): number {
  const v = c.params[key];
  return typeof v === 'number' ? v : fail(`'${c.name}'`, `expected numeric param '${key}', found ${JSON.stringify(v)}`);
}

export function paramVec3(c: GoldenCase, key: string): Vec3 {
  const v = c.params[key];
  if (!Array.isArray(v) || v.length !== 3 || !v.every((x) => Number.isInteger(x)))
    fail(`'${c.name}'`, `expected param '${key}' to be 3 integers, found ${JSON.stringify(v)}`);
  return v as unknown as Vec3;
}

export function paramIntegers(c: GoldenCase, key: string): number[] {
  const v = c.params[key];
  if (!Array.isArray(v) || !v.every((x) => Number.isInteger(x)))
    fail(`'${c.name}'`, `expected param '${key}' to be integers, found ${JSON.stringify(v)}`);
  return v as number[];
}

export function paramString(c: GoldenCase, key: string): string | null {
  const v = c.params[key];
  if (v === null || typeof v === 'string') return v;
  return fail(`'${c.name}'`, `expected string or null param '${key}', found ${JSON.stringify(v)}`);
}
