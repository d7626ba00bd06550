// DICOM series reading against the real hippocampus scan the fixture script wrote as slices with pydicom.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readDicomSeries, readNifti } from '../src/volume/index.js';
import { readDicomFolder } from '../src/volume/node-io.js';
import { FIXTURES, catchError, dataBytes, expectMatches, expected, fixtureBytes } from './fixtures/volume/fixtures.js';

const SERIES = join(FIXTURES, 'dicom-hippocampus_003');
const seriesFiles = (): { name: string; bytes: Uint8Array }[] =>
  readdirSync(SERIES)
    .sort()
    .map((name) => ({ name, bytes: new Uint8Array(readFileSync(join(SERIES, name))) }));

describe('readDicomSeries', () => {
  it('sorts shuffled slices, derives spacing and the RAS affine, applies rescale (implicit VR LE)', async () => {
    const volume = await readDicomFolder(SERIES);
    const want = expected['dicom-hippocampus_003'];
    expectMatches(volume, want, { affine: 1e-5, relative: 1e-6 });
    volume.spacing.forEach((s, i) => expect(s).toBeCloseTo(want.spacing[i], 5));
    expect(volume.dtype).toBe('float32');
    expect(volume.metadata.format).toBe('dicom');
  });

  it('holds the source NIfTI voxels to within half a rescale step', () => {
    const volume = readDicomSeries(seriesFiles());
    const source = readNifti(dataBytes('hippocampus/images/hippocampus_003.nii.gz'), 'hippocampus_003.nii.gz');
    expect(volume.shape).toEqual(source.shape);
    let worst = 0;
    for (let i = 0; i < source.data.length; i++) worst = Math.max(worst, Math.abs(volume.data[i] - source.data[i]));
    expect(worst).toBeLessThanOrEqual(expected['dicom-hippocampus_003'].slope / 2 + 1e-3);
  });

  it('does not depend on the order the files come in', () => {
    const files = seriesFiles();
    const a = readDicomSeries(files);
    const b = readDicomSeries([...files].reverse());
    expect(b.data).toEqual(a.data);
    expect(b.affine).toEqual(a.affine);
  });

  it('reads explicit VR big endian', async () => {
    const volume = await readDicomFolder(join(FIXTURES, 'dicom-big-endian'));
    expectMatches(volume, expected['dicom-big-endian']);
    expect(volume.dtype).toBe('int16'); // slope 1, intercept 0: stored values kept
  });

  it('refuses a compressed transfer syntax with E_DICOM_UNSUPPORTED naming it', () => {
    const error = catchError(() => readDicomSeries([{ name: 'jpeg.dcm', bytes: fixtureBytes('dicom-jpeg-baseline.dcm') }]));
    expect(error.code).toBe('E_DICOM_UNSUPPORTED');
    expect(error.message).toMatch(/jpeg\.dcm: transfer syntax 1\.2\.840\.10008\.1\.2\.4\.50 \(JPEG Baseline/);
  });

  it('detects a missing slice, a duplicated slice and a non-DICOM file', () => {
    const files = seriesFiles();
    const volume = readDicomSeries(files);
    const order = String(volume.metadata.header.files).split('\n');
    const middle = order[Math.floor(order.length / 2)];
    const gap = catchError(() => readDicomSeries(files.filter((f) => f.name !== middle)));
    expect(gap.code).toBe('E_DICOM_CORRUPT');
    expect(gap.message).toMatch(/uneven slice spacing/);
    const dup = catchError(() => readDicomSeries([...files, { ...files[0], name: 'copy.dcm' }]));
    expect(dup.message).toMatch(/share slice position/);
    const junk = catchError(() => readDicomSeries([{ name: 'notes.txt', bytes: new TextEncoder().encode('hello') }]));
    expect(junk.code).toBe('E_DICOM_CORRUPT');
    expect(junk.message).toMatch(/notes\.txt/);
  });
});
