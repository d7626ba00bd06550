// Normalisation, crop/pad and resampling against numpy / scipy values from the fixture script.
import { describe, expect, it } from 'vitest';
import {
  cropOrPad,
  makeVolume,
  percentileNormalize,
  percentiles,
  readNifti,
  resampleToSpacing,
  voxelIndex,
  withData,
  zScoreNormalize,
} from '../src/volume/index.js';
import { meanAndStd } from '../src/volume/normalize.js';
import { catchError, dataBytes, expectMatches, expected } from './fixtures/volume/fixtures.js';

const image = readNifti(dataBytes('hippocampus/images/hippocampus_003.nii.gz'), 'hippocampus_003.nii.gz');
const labelFloat = readNifti(dataBytes('hippocampus/labels/hippocampus_003.nii.gz'), 'hippocampus_003 label');
const label = withData(labelFloat, Uint8Array.from(labelFloat.data, Math.round));
const want = expected.preprocess;

describe('normalisation', () => {
  it('z-score over the volume and within a mask matches numpy (population std)', () => {
    const z = zScoreNormalize(image);
    const { mean, std } = meanAndStd(z.data);
    expect(Math.abs(mean)).toBeLessThan(1e-5);
    expect(std).toBeCloseTo(1, 5);
    expect(z.data[0]).toBeCloseTo((image.data[0] - want.mean) / want.std, 5);
    const zm = zScoreNormalize(image, { mask: label });
    const i = label.data.findIndex((v) => v > 0);
    expect(zm.data[i]).toBeCloseTo((image.data[i] - want.maskedMean) / want.maskedStd, 5);
    expect(zm.affine).toEqual(image.affine);
  });

  it('percentiles match np.percentile, and percentile normalisation maps them to 0 and 1', () => {
    const [p05, p995] = percentiles(image, [0.5, 99.5]);
    expect(p05).toBeCloseTo(want.p0_5, 4);
    expect(p995).toBeCloseTo(want.p99_5, 3);
    const [m2, m98] = percentiles(image, [2, 98], label);
    expect(m2).toBeCloseTo(want.p2_masked, 4);
    expect(m98).toBeCloseTo(want.p98_masked, 4);
    const n = percentileNormalize(image, { lower: 2, upper: 98, mask: label, clip: false });
    const i = 1234;
    expect(n.data[i]).toBeCloseTo((image.data[i] - want.p2_masked) / (want.p98_masked - want.p2_masked), 5);
    const clipped = percentileNormalize(image);
    expect(Math.min(...clipped.data)).toBe(0);
    expect(Math.max(...clipped.data)).toBe(1);
  });

  it('refuses a mask on another grid with E_GRID_MISMATCH', () => {
    const other = makeVolume(new Uint8Array(8), [2, 2, 2], image.affine);
    expect(catchError(() => zScoreNormalize(image, { mask: other })).code).toBe('E_GRID_MISMATCH');
  });
});

describe('cropOrPad', () => {
  const v = makeVolume(
    Float32Array.from({ length: 5 * 4 * 3 }, (_, i) => i + 1),
    [5, 4, 3],
    [2, 0, 0, 10, 0, 3, 0, 20, 0, 0, 4, 30, 0, 0, 0, 1],
  );

  it('centres as MONAI does and keeps every voxel at the same world position', () => {
    const out = cropOrPad(v, [2, 7, 3], { padValue: -1 });
    // x: crop 5 -> 2, offset -(2 - 1) = -1; y: pad 4 -> 7, offset 1; z unchanged
    expect(out.shape).toEqual([2, 7, 3]);
    expect(out.data[voxelIndex(out.shape, 0, 1, 0)]).toBe(v.data[voxelIndex(v.shape, 1, 0, 0)]);
    expect(out.data[voxelIndex(out.shape, 1, 4, 2)]).toBe(v.data[voxelIndex(v.shape, 2, 3, 2)]);
    expect(out.data[voxelIndex(out.shape, 0, 0, 0)]).toBe(-1);
    expect(out.data[voxelIndex(out.shape, 0, 5, 0)]).toBe(-1);
    // world position of output voxel (0, 1, 0) = source voxel (1, 0, 0) = (12, 20, 30)
    expect([out.affine[3], out.affine[7], out.affine[11]]).toEqual([10 + 2 * 1, 20 - 3 * 1, 30]);
  });

  it('takes an explicit offset, and crop then pad back restores the overlap', () => {
    const out = cropOrPad(v, [3, 3, 3], { offset: [-2, 0, 1] });
    expect(out.data[voxelIndex(out.shape, 0, 0, 1)]).toBe(v.data[voxelIndex(v.shape, 2, 0, 0)]);
    expect(out.data[voxelIndex(out.shape, 0, 0, 0)]).toBe(0);
    const back = cropOrPad(out, [5, 4, 3], { offset: [2, 0, -1] });
    expect(back.affine).toEqual(v.affine);
    expect(back.data[voxelIndex(v.shape, 4, 2, 1)]).toBe(v.data[voxelIndex(v.shape, 4, 2, 1)]);
  });
});

describe('resampleToSpacing (MONAI Spacing convention)', () => {
  it('trilinear image resampling matches scipy map_coordinates(order=1, mode="nearest")', () => {
    const out = resampleToSpacing(image, want.resample.target, 'linear');
    expectMatches(out, want.resample.image, { affine: 1e-5, relative: 2e-6 });
    out.spacing.forEach((s, a) => expect(s).toBeCloseTo(want.resample.target[a], 6));
  });

  it('nearest-neighbour label resampling keeps the dtype and matches the reference voxel for voxel', () => {
    const out = resampleToSpacing(label, want.resample.target, 'nearest');
    expect(out.dtype).toBe('uint8');
    expectMatches(out, want.resample.label);
    const counts = [0, 0, 0];
    for (const v of out.data) counts[v]++;
    expect(counts).toEqual(want.resample.labelCounts);
  });
});
