// NIfTI-1/2 reading against nibabel (values from scripts/make-volume-fixtures.py) and writing against a
// nibabel-written reference header.
import { describe, expect, it } from 'vitest';
import { gunzipSync } from 'fflate';
import {
  parseNiftiHeader,
  readNifti,
  writeImageNifti,
  writeLabelNifti,
  makeVolume,
  withData,
  NIFTI_INTENT_LABEL,
} from '../src/volume/index.js';
import { qformAffine, qformFromAffine } from '../src/volume/affine.js';
import { catchError, dataBytes, expectMatches, expected, fixtureBytes } from './fixtures/volume/fixtures.js';

const smallFixtures = [
  'dtype-uint8.nii.gz',
  'dtype-int8.nii.gz',
  'dtype-int16.nii.gz',
  'dtype-uint16.nii.gz',
  'dtype-int32.nii.gz',
  'dtype-uint32.nii.gz',
  'dtype-float32.nii',
  'dtype-float64.nii',
  'big-endian-int16-scaled.nii',
  'nifti2-float32.nii.gz',
  'nifti2-big-endian-int16.nii',
  'oblique-qform-only.nii.gz',
  'no-transform.nii',
];

describe('readNifti against nibabel', () => {
  it.each(smallFixtures)('%s: shape, affine, voxel values', (name) => {
    const want = expected[name];
    const volume = readNifti(fixtureBytes(name), name);
    expectMatches(volume, want);
    // values are exact for unscaled data; the dtype is the file's own unless scaling made it float
    expect(volume.dtype).toBe(want.scaled ? 'float32' : want.dtype);
  });

  it('reports the format, endianness and geometry codes in metadata', () => {
    const be = readNifti(fixtureBytes('nifti2-big-endian-int16.nii'), 'x.nii');
    expect(be.metadata.format).toBe('nifti2');
    expect(be.metadata.header.littleEndian).toBe(false);
    const q = readNifti(fixtureBytes('oblique-qform-only.nii.gz'), 'q.nii.gz');
    expect(q.metadata.header.sformCode).toBe(0);
    expect(q.metadata.header.qformCode).toBe(1);
    // left-handed qform (qfac -1): the affine's determinant is negative, spacing positive
    expect(q.spacing.map((s) => +s.toFixed(4))).toEqual([0.8, 1.3, 2.2]);
  });

  it('applies scl_slope / scl_inter', () => {
    const want = expected['big-endian-int16-scaled.nii'];
    const volume = readNifti(fixtureBytes('big-endian-int16-scaled.nii'), 'scaled.nii');
    expect(volume.metadata.header.sclSlope).toBe(want.slope);
    expect(volume.metadata.header.sclInter).toBe(want.inter);
    expect(volume.data).toBeInstanceOf(Float32Array);
  });

  it.each(['hippocampus_001', 'hippocampus_003'])('real scan %s (image and label) matches nibabel', (caseName) => {
    for (const kind of ['images', 'labels']) {
      const key = `hippocampus/${kind}/${caseName}.nii.gz`;
      const volume = readNifti(dataBytes(key), `${caseName}.nii.gz`);
      expectMatches(volume, expected[key]);
      expect(volume.spacing).toEqual([1, 1, 1]);
    }
  });

  it('refuses RGB24 with a clear E_FORMAT naming the datatype', () => {
    const error = catchError(() => readNifti(fixtureBytes('rgb24.nii'), 'rgb24.nii'));
    expect(error.code).toBe('E_FORMAT');
    expect(error.message).toMatch(/rgb24\.nii.*datatype 128 \(RGB24\)/);
  });
});

describe('writeLabelNifti / writeImageNifti', () => {
  const source = readNifti(dataBytes('hippocampus/labels/hippocampus_003.nii.gz'), 'hippocampus_003.nii.gz');
  const labels = withData(
    source,
    Uint8Array.from(source.data, (v) => Math.round(v)),
  );

  it('writes the header fields nibabel writes for a label map with the source geometry', () => {
    const ours = parseNiftiHeader(gunzipSync(writeLabelNifti(labels)), 'ours');
    const ref = parseNiftiHeader(gunzipSync(fixtureBytes('label-written-by-nibabel.nii.gz')), 'nibabel');
    const want = expected['label-written-by-nibabel.nii.gz'];
    expect(ours.intentCode).toBe(NIFTI_INTENT_LABEL);
    for (const field of [
      'version',
      'littleEndian',
      'datatype',
      'bitpix',
      'intentCode',
      'qformCode',
      'sformCode',
      'voxOffset',
      'xyztUnits',
      'magic',
    ] as const) {
      expect(ours[field], field).toEqual(ref[field]);
    }
    expect(ours.dim.slice(0, 4)).toEqual(ref.dim.slice(0, 4));
    expect(ours.dim.slice(0, 4)).toEqual(want.dim.slice(0, 4));
    expect(ours.pixdim.slice(0, 4)).toEqual(ref.pixdim.slice(0, 4));
    for (let i = 0; i < 3; i++) {
      expect(ours.quatern[i]).toBeCloseTo(ref.quatern[i], 6);
      expect(ours.qoffset[i]).toBeCloseTo(ref.qoffset[i], 6);
    }
    expect(ours.srow).toEqual(ref.srow);
  });

  it('round-trips labels and geometry, and its voxels equal the nibabel-written file', () => {
    const back = readNifti(writeLabelNifti(labels), 'back.nii.gz');
    const ref = readNifti(fixtureBytes('label-written-by-nibabel.nii.gz'), 'ref.nii.gz');
    expect(back.dtype).toBe('uint8');
    expect(back.data).toEqual(ref.data);
    expect(back.affine).toEqual(ref.affine);
    expect(back.metadata.header.intentCode).toBe(NIFTI_INTENT_LABEL);
  });

  it('round-trips an oblique, left-handed geometry through sform and qform', () => {
    const q = readNifti(fixtureBytes('oblique-qform-only.nii.gz'), 'q.nii.gz');
    const bytes = writeImageNifti(q, { gzip: false });
    const header = parseNiftiHeader(bytes, 'q');
    expect(header.pixdim[0]).toBe(-1);
    const back = readNifti(bytes, 'back.nii');
    back.affine.forEach((v, i) => expect(v).toBeCloseTo(q.affine[i], 5));
    // the qform alone must describe the same grid: drop the sform and read again
    const view = new DataView(bytes.buffer, bytes.byteOffset);
    view.setInt16(254, 0, true);
    const qOnly = readNifti(bytes, 'qonly.nii');
    qOnly.affine.forEach((v, i) => expect(v).toBeCloseTo(q.affine[i], 5));
    expect(Array.from(back.data)).toEqual(Array.from(q.data));
  });

  it('writes float32 images and rejects labels that are not 0..255 integers', () => {
    const image = makeVolume(
      Float32Array.from({ length: 24 }, (_, i) => i * 0.5 - 3),
      [2, 3, 4],
      [2, 0, 0, 1, 0, 3, 0, 2, 0, 0, 4, 3, 0, 0, 0, 1],
    );
    const back = readNifti(writeImageNifti(image), 'img.nii.gz');
    expect(back.dtype).toBe('float32');
    expect(back.data).toEqual(image.data);
    expect(back.affine).toEqual(image.affine);
    expect(catchError(() => writeLabelNifti(image)).code).toBe('E_INVALID_ARGUMENT');
  });
});

describe('qform algebra', () => {
  // rotations far from identity take the non-trace branches of the quaternion extraction
  const rotations: [number, number, number][] = [
    [0, 0, 0],
    [Math.PI, 0, 0],
    [0, 3.0, 0],
    [0, 0, -2.9],
    [2.5, -1.2, 2.0],
    [-3.0, 0.4, 1.7],
  ];
  it.each(rotations)('affine -> qform -> affine is exact for rotation (%f, %f, %f), both handednesses', (ax, ay, az) => {
    const c = Math.cos;
    const s = Math.sin;
    const rx = [1, 0, 0, 0, c(ax), -s(ax), 0, s(ax), c(ax)];
    const ry = [c(ay), 0, s(ay), 0, 1, 0, -s(ay), 0, c(ay)];
    const rz = [c(az), -s(az), 0, s(az), c(az), 0, 0, 0, 1];
    const mul = (a: number[], b: number[]): number[] =>
      a.map((_, i) => [0, 1, 2].reduce((t, k) => t + a[3 * Math.floor(i / 3) + k] * b[3 * k + (i % 3)], 0));
    const r = mul(rz, mul(ry, rx));
    for (const flip of [1, -1]) {
      const zooms = [0.7, 1.9, 2.5 * flip];
      const affine = [0, 1, 2]
        .flatMap((row) => [r[3 * row] * zooms[0], r[3 * row + 1] * zooms[1], r[3 * row + 2] * zooms[2], [5, -6, 7][row]])
        .concat([0, 0, 0, 1]);
      const q = qformFromAffine(affine);
      expect(q.qfac).toBe(flip);
      const back = qformAffine(q.quatern, [q.qfac, ...q.zooms], q.qoffset, 'test');
      back.forEach((v, i) => expect(v).toBeCloseTo(affine[i], 10));
    }
  });
});
