// Bad input: every failure is a typed SdsError that names the file and says what was expected and found.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'fflate';
import { afterAll, describe, expect, it } from 'vitest';
import { makeVolume, readNifti, writeImageNifti, writeLabelNifti } from '../src/volume/index.js';
import { gunzip } from '../src/volume/nifti-read.js';
import { writeFileAtomic } from '../src/volume/node-io.js';
import { catchError } from './fixtures/volume/fixtures.js';

const affine = [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1];
const image = makeVolume(
  Float32Array.from({ length: 4 * 3 * 2 }, (_, i) => i / 4),
  [4, 3, 2],
  affine,
);
/** A valid uncompressed NIfTI-1 float32 file to damage. */
const valid = (): Uint8Array => writeImageNifti(image, { gzip: false });
const view = (b: Uint8Array): DataView => new DataView(b.buffer, b.byteOffset, b.byteLength);

describe('corrupt NIfTI input', () => {
  it('truncated voxel data: E_NIFTI_TRUNCATED with bytes needed and found', () => {
    const bytes = valid().subarray(0, 352 + 50);
    const e = catchError(() => readNifti(bytes, 'cut.nii'));
    expect(e.code).toBe('E_NIFTI_TRUNCATED');
    expect(e.message).toMatch(/cut\.nii: dims \[4, 3, 2\] of float32 need 96 bytes .* the file has 50/);
  });

  it('truncated header and truncated gzip stream', () => {
    expect(catchError(() => readNifti(valid().subarray(0, 200), 'head.nii')).code).toBe('E_NIFTI_TRUNCATED');
    const gz = gzipSync(valid());
    const e = catchError(() => readNifti(gz.subarray(0, gz.length - 30), 'cut.nii.gz'));
    expect(e.code).toBe('E_NIFTI_TRUNCATED');
    expect(e.message).toMatch(/cut\.nii\.gz: gzip stream is truncated/);
  });

  it('a gzip trailer claiming 4 GB is not trusted for allocation: the real data inflates and reads', () => {
    const gz = gzipSync(valid());
    new DataView(gz.buffer).setUint32(gz.length - 4, 0xfffffff0, true);
    expect(readNifti(gz, 'trailer.nii.gz').data).toEqual(image.data);
    // fflate's gunzipSync would have allocated the claimed 4 GB (lazily, so the read still "works")
    expect(gunzip(gz, 'trailer.nii.gz').buffer.byteLength).toBeLessThan(100_000);
  });

  it('wrong magic, wrong sizeof_hdr, two-file NIfTI', () => {
    const magic = valid();
    magic.set([0x78, 0x78, 0x78], 344);
    expect(catchError(() => readNifti(magic, 'm.nii')).message).toMatch(/m\.nii: magic must be "n\+1".*found "xxx"/);
    const size = valid();
    view(size).setInt32(0, 1234, true);
    const e = catchError(() => readNifti(size, 'png.nii'));
    expect(e.code).toBe('E_NIFTI_CORRUPT');
    expect(e.message).toMatch(/sizeof_hdr must be 348 .* found 1234/);
    const pair = valid();
    pair.set([0x6e, 0x69, 0x31], 344); // "ni1"
    expect(catchError(() => readNifti(pair, 'pair.hdr')).message).toMatch(/two-file NIfTI/);
  });

  it('header dims that do not match the data, and absurd dims, fail before allocating', () => {
    const bigger = valid();
    view(bigger).setInt16(46, 3, true); // dim[3] 2 -> 3
    expect(catchError(() => readNifti(bigger, 'dims.nii')).code).toBe('E_NIFTI_TRUNCATED');
    const absurd = valid();
    [30000, 30000, 30000].forEach((d, i) => view(absurd).setInt16(42 + 2 * i, d, true));
    const e = catchError(() => readNifti(absurd, 'huge.nii'));
    expect(e.code).toBe('E_NIFTI_TRUNCATED');
    expect(e.message).toMatch(/huge\.nii: dims \[30000, 30000, 30000\] of float32 need 108000000000000 bytes/);
    const negative = valid();
    view(negative).setInt16(42, -4, true);
    expect(catchError(() => readNifti(negative, 'neg.nii')).message).toMatch(/dim\[1\] must be >= 1, found -4/);
  });

  it('bitpix that contradicts the datatype, a time series, unknown datatype', () => {
    const bitpix = valid();
    view(bitpix).setInt16(72, 16, true);
    expect(catchError(() => readNifti(bitpix, 'b.nii')).message).toMatch(/bitpix 16 does not match datatype 16 \(float32, 32 bits\)/);
    const series = valid();
    view(series).setInt16(40, 4, true);
    view(series).setInt16(48, 2, true);
    expect(catchError(() => readNifti(series, 't.nii')).code).toBe('E_FORMAT');
    const unknown = valid();
    view(unknown).setInt16(70, 999, true);
    expect(catchError(() => readNifti(unknown, 'u.nii')).code).toBe('E_NIFTI_CORRUPT');
  });

  it('NaN/Inf voxels: E_NONFINITE by default, counted with nonFinite: "report"', () => {
    const bytes = valid();
    view(bytes).setFloat32(352 + 4 * 5, NaN, true);
    view(bytes).setFloat32(352 + 4 * 7, -Infinity, true);
    const e = catchError(() => readNifti(bytes, 'nan.nii'));
    expect(e.code).toBe('E_NONFINITE');
    expect(e.message).toMatch(/nan\.nii: expected finite voxel values, found 2 NaN\/Inf voxel\(s\), the first at index 5/);
    const v = readNifti(bytes, 'nan.nii', { nonFinite: 'report' });
    expect(v.metadata.header.nonFiniteCount).toBe(2);
    expect(v.data[5]).toBeNaN();
  });

  it('random bytes are not a NIfTI file', () => {
    const noise = Uint8Array.from({ length: 600 }, (_, i) => (i * 7919) % 251);
    expect(catchError(() => readNifti(noise, 'noise.bin')).code).toBe('E_NIFTI_CORRUPT');
    expect(catchError(() => readNifti(new Uint8Array([0x1f, 0x8b, 8, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9]), 'bad.gz')).code).toMatch(
      /E_NIFTI_(CORRUPT|TRUNCATED)/,
    );
  });
});

describe('writers', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sds-volume-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('refuse bad volumes before producing any bytes, and files appear whole or not at all', async () => {
    const nan = makeVolume(Float32Array.from([1, NaN, 3, 4, 5, 6, 7, 8]), [2, 2, 2], affine);
    expect(catchError(() => writeImageNifti(nan)).code).toBe('E_NONFINITE');
    const negative = makeVolume(Int16Array.from([0, 1, 2, -1, 0, 0, 0, 0]), [2, 2, 2], affine);
    expect(catchError(() => writeLabelNifti(negative)).message).toMatch(/label maps hold integers 0\.\.255, found -1 at voxel 3/);
    const path = join(dir, 'label.nii.gz');
    const bytes = writeLabelNifti(makeVolume(Uint8Array.from([0, 1, 2, 1, 0, 0, 0, 3]), [2, 2, 2], affine));
    await writeFileAtomic(path, bytes);
    expect(readdirSync(dir)).toEqual(['label.nii.gz']); // no temporary left behind
    expect(Array.from(readNifti(readFileSync(path), 'label.nii.gz').data)).toEqual([0, 1, 2, 1, 0, 0, 0, 3]);
  });

  it('makeVolume checks data length against shape', () => {
    const e = catchError(() => makeVolume(new Uint8Array(7), [2, 2, 2], affine));
    expect(e.code).toBe('E_SHAPE_MISMATCH');
    expect(e.message).toMatch(/holds 7 voxels but shape \[2, 2, 2\] needs 8/);
  });
});
