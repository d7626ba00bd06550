// A fixed-seed slice of `npm run bench:fuzz`: 200 mutated inputs per reader
// (60 for ONNX import, the slowest) derived from the real fixtures by bit flips, truncation, header
// fields set to extremes and spliced blocks. Each must load or throw an SdsError, finish within the
// hang limit, and not hold more off-heap memory than its cap. Seed 20261127 is the bench's, so a
// failure here replays with `tsx bench/fuzz.ts --only <reader> --count <index + 1>`.
import { describe, expect, it } from 'vitest';
import { type FuzzResult, runOne } from '../bench/support/fuzz-run.js';
import { allTargets } from '../bench/support/fuzz-targets.js';

const SEED = 20261127;
/** A hang detector, not a performance bound: the slowest input in 60,000 took 2.4 s on a loaded 2-core machine. */
const HANG_MS = 15_000;
const COUNT: Record<string, number> = { onnx: 60 };

const targets = await allTargets();

describe('reader fuzzing, fixed-seed slice', () => {
  it('covers every reader (ONNX import included when src/onnx exists)', () => {
    expect(targets.map((t) => t.name)).toEqual(expect.arrayContaining(['nifti', 'hdf5', 'dicom', 'safetensors', 'loadVNet']));
  });

  for (const target of targets) {
    const count = COUNT[target.name] ?? 200;
    it(`${target.name}: ${count} mutated inputs each load or throw an SdsError, without hanging or over-allocating`, async () => {
      const results: FuzzResult[] = [];
      for (let i = 0; i < count; i++) results.push(await runOne(target, SEED, i, HANG_MS));
      const bad = results.filter((r) => r.outcome === 'other' || r.outcome === 'timeout' || r.overAllocation);
      expect(
        bad.map((r) => `#${r.index} ${r.mutation}: ${r.outcome} ${r.code ?? ''} ${r.message ?? ''} alloc ${r.allocated}/${r.cap}`),
      ).toEqual([]);
      // the mutations reach both sides: some inputs still load, most are refused with a typed error
      expect(results.filter((r) => r.outcome === 'loaded').length).toBeGreaterThan(0);
      expect(results.filter((r) => r.outcome === 'typed').length).toBeGreaterThan(count / 4);
    });
  }
});
