/** Flags and helpers every `sds` command shares. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { BackendChoice } from '../api/types.js';
import { UsageError } from './exit-codes.js';

export const COMMON_OPTIONS = {
  backend: { type: 'string' },
  threads: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options'];

export interface Output {
  readonly json: boolean;
  /** A result: one JSON object per line with --json, else the human text. */
  result(object: Record<string, unknown>, text: string): void;
  /** A human note on stderr (silent with --json). */
  note(text: string): void;
}

export function output(json: boolean): Output {
  return {
    json,
    result: (object, text) => process.stdout.write(json ? `${JSON.stringify(object)}\n` : `${text}\n`),
    note: (text) => {
      if (!json) process.stderr.write(`${text}\n`);
    },
  };
}

type FlagValues<O> = { [K in keyof O]?: O[K] extends { type: 'boolean' } ? boolean : string };

export interface Parsed<O> {
  readonly values: FlagValues<O> & FlagValues<typeof COMMON_OPTIONS>;
  readonly positionals: string[];
}

/** node:util parseArgs with our usage errors (unknown flag, missing value). */
export function parse<O extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: O, command: string): Parsed<O> {
  try {
    return parseArgs({ args, options: { ...COMMON_OPTIONS, ...options }, allowPositionals: true, strict: true }) as unknown as Parsed<O>;
  } catch (e) {
    throw new UsageError(`sds ${command}: ${e instanceof Error ? e.message.replace(/\. To specify a positional.*$/s, '') : String(e)}`);
  }
}

export function backendOf(value: string | undefined): BackendChoice {
  const choices = ['auto', 'webgpu', 'wasm', 'reference'];
  if (value === undefined) return 'auto';
  if (!choices.includes(value)) throw new UsageError(`--backend: expected one of ${choices.join(', ')}, found "${value}"`);
  return value as BackendChoice;
}

export function integerOf(flag: string, value: string | undefined, min: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!(Number.isInteger(n) && n >= min)) throw new UsageError(`${flag}: expected an integer >= ${min}, found "${value}"`);
  return n;
}

/** "X,Y,Z" -> [X, Y, Z], each a positive multiple of 16 (the V-Net's four down-samplings). */
export function patchOf(value: string | undefined): [number, number, number] | undefined {
  if (value === undefined) return undefined;
  const parts = value.split(',').map((p) => Number(p.trim()));
  if (!(parts.length === 3 && parts.every((n) => Number.isInteger(n) && n > 0 && n % 16 === 0)))
    throw new UsageError(`--patch: expected X,Y,Z as three positive multiples of 16, found "${value}"`);
  return parts as [number, number, number];
}

export function numberOf(flag: string, value: string | undefined, lo: number, hi: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!(value.trim() !== '' && n >= lo && n < hi)) throw new UsageError(`${flag}: expected a number in [${lo}, ${hi}), found "${value}"`);
  return n;
}

export function required(flag: string, value: string | undefined, command: string): string {
  if (value === undefined || value === '') throw new UsageError(`sds ${command}: ${flag} is required`);
  return value;
}

export function noPositionals(positionals: string[], command: string): void {
  if (positionals.length > 0) throw new UsageError(`sds ${command}: unexpected argument "${positionals[0]}"`);
}

export const fmt = (v: number, digits: number): string => (Number.isFinite(v) ? v.toFixed(digits) : String(v));
export const seconds = (ms: number): string =>
  ms >= 60_000 ? `${Math.floor(ms / 60_000)}m${Math.round((ms % 60_000) / 1000)}s` : `${(ms / 1000).toFixed(1)}s`;
