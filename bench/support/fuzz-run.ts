// Runs one fuzz input and says what happened. An input must either load or throw an SdsError; it must
// finish within the time limit and must not make the process hold more off-heap memory than the
// target's cap for that input (ArrayBuffers + h5wasm's heap, sampled before and after the call: a
// reader that obeys a lying header allocates before it fails, and that allocation is still held).
import { SdsError } from '../../src/core/errors.js';
import { rng } from './fuzz-mutate.js';
import { type FuzzInput, type FuzzTarget, offHeapBytes } from './fuzz-targets.js';

export type Outcome = 'loaded' | 'typed' | 'other' | 'timeout';

export interface FuzzResult {
  index: number;
  outcome: Outcome;
  /** SdsError code, or the other error's constructor name */
  code?: string;
  message?: string;
  mutation: string;
  ms: number;
  allocated: number;
  cap: number;
  overAllocation: boolean;
}

/** Input `index` of a run seeded with `seed`: the same pair always gives the same bytes. */
export const inputSeed = (seed: number, index: number): number => (Math.imul(seed, 0x9e3779b1) ^ Math.imul(index + 1, 0x85ebca6b)) >>> 0;

export async function runOne(target: FuzzTarget, seed: number, index: number, timeLimitMs: number): Promise<FuzzResult> {
  let input: FuzzInput = { mutation: '?', bytes: 0, allocationCap: Infinity };
  const before = await offHeapBytes();
  const start = performance.now();
  let outcome: Outcome = 'loaded';
  let code: string | undefined;
  let message: string | undefined;
  try {
    await target.run(rng(inputSeed(seed, index)), (i) => (input = i));
  } catch (e) {
    if (e instanceof SdsError) {
      outcome = 'typed';
      code = e.code;
    } else {
      outcome = 'other';
      code = e instanceof Error ? e.constructor.name : typeof e;
      message = e instanceof Error ? e.message : String(e);
    }
  }
  const ms = performance.now() - start;
  const allocated = (await offHeapBytes()) - before;
  if (ms > timeLimitMs) outcome = 'timeout';
  return {
    index,
    outcome,
    ...(code !== undefined ? { code } : {}),
    ...(message !== undefined ? { message } : {}),
    mutation: input.mutation,
    ms,
    allocated,
    cap: input.allocationCap,
    overAllocation: allocated > input.allocationCap,
  };
}
