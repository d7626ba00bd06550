// The tiny SDS run the reliability tests and bench/soak-run.ts share: two labeled and one unlabeled
// hippocampus scan (examples/data) cropped to 20x24x20, V-Net nFilters 2, 16^3 patches, stage 2 only.
import { fileURLToPath } from 'node:url';
import { loadCases } from '../../src/train/node-cases.js';
import { resolveSdsConfig, SDS_SMALL_CPU_PRESET, type SdsConfig } from '../../src/train/sds/config.js';
import { cropOrPad, type Volume } from '../../src/volume/index.js';

export interface TinyRun {
  readonly labeled: { image: Volume; label: Volume }[];
  readonly unlabeled: Volume[];
}

/** The scans the tiny run uses (`<folder>/images|labels/<case>.nii.gz`). */
export const TINY_CASES = ['hippocampus_001', 'hippocampus_003', 'hippocampus_004'] as const;

/** `folder` defaults to examples/data; a bundled bench (scripts/pack-gpu.sh soak) passes its own copy. */
export async function tinyScans(folder = fileURLToPath(new URL('../../examples/data', import.meta.url))): Promise<TinyRun> {
  const cases = await loadCases(folder, TINY_CASES);
  const crop = (v: Volume): Volume => cropOrPad(v, [20, 24, 20]);
  return { labeled: cases.slice(0, 2).map((c) => ({ image: crop(c.image), label: crop(c.label) })), unlabeled: [crop(cases[2].image)] };
}

export const tinyConfig = (iterations: number, checkpointEvery = 1, overrides: Parameters<typeof resolveSdsConfig>[0] = {}): SdsConfig =>
  resolveSdsConfig(
    {
      mode: 'sds',
      seed: 21,
      network: { nFilters: 2, nClasses: 3 },
      patch: [16, 16, 16],
      labeledBatch: 4,
      unlabeledBatch: 4,
      stage1Iterations: 0,
      iterations,
      checkpointEvery,
      validateEvery: 1_000_000,
      ...overrides,
    },
    SDS_SMALL_CPU_PRESET,
  );
