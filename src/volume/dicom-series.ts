/**
 * A DICOM series (one file per slice) -> Volume.
 *
 * Voxel axes follow the DICOM pixel grid, not a reoriented one: x = column index (along the row
 * direction cosines), y = row index (along the column direction cosines), z = slice index after sorting
 * by ImagePositionPatient projected on the slice normal (row x column cosines), ascending. Each slice's
 * pixel frame (column fastest) is therefore exactly one z-plane of Volume.data.
 * Affine: built in DICOM's LPS frame (columns: rowcos * column spacing, colcos * row spacing, the step
 * between first and last slice positions / (n - 1); origin: first slice position), then converted to
 * RAS by negating its first two rows, as nibabel and dcm2niix do. RescaleSlope/Intercept are applied per
 * slice; the result is float32 unless every slice has (1, 0), when the stored integer type is kept.
 */
import { SdsError } from '../core/errors.js';
import { parseDicomSlice, type DicomSlice } from './dicom-slice.js';
import { checkFinite } from './validate.js';
import { makeVolume, type Vec3, type Volume, type VolumeData } from './volume.js';

export interface DicomFile {
  name: string;
  bytes: ArrayBuffer | Uint8Array;
}

export interface ReadDicomOptions {
  /** pick one series when the files hold several (SeriesInstanceUID) */
  seriesUid?: string;
  /** allowed relative deviation between consecutive slice gaps; default 1% */
  sliceGapTolerance?: number;
}

const dot = (a: number[], b: number[]): number => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
const cross = (a: number[], b: number[]): number[] => [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];

export function readDicomSeries(files: readonly DicomFile[], options: ReadDicomOptions = {}): Volume {
  if (files.length === 0) throw new SdsError('E_INVALID_ARGUMENT', 'expected at least one DICOM file, found none');
  const all = files.map((f) => parseDicomSlice(f.bytes instanceof Uint8Array ? f.bytes : new Uint8Array(f.bytes), f.name));
  const slices = pickSeries(all, options.seriesUid);
  const first = slices[0];
  const label = `DICOM series ${first.seriesUid || '(no SeriesInstanceUID)'}`;
  for (const s of slices) {
    if (s.rows !== first.rows || s.columns !== first.columns) {
      throw new SdsError(
        'E_GRID_MISMATCH',
        `${s.fileName}: ${s.rows}x${s.columns} pixels, but ${first.fileName} has ${first.rows}x${first.columns}`,
        { fileName: s.fileName },
      );
    }
    if (s.orientation.some((v, i) => Math.abs(v - first.orientation[i]) > 1e-4)) {
      throw new SdsError(
        'E_GRID_MISMATCH',
        `${s.fileName}: ImageOrientationPatient [${s.orientation}] differs from ${first.fileName} [${first.orientation}]`,
        {
          fileName: s.fileName,
        },
      );
    }
  }
  const rowCos = first.orientation.slice(0, 3);
  const colCos = first.orientation.slice(3, 6);
  const normal = cross(rowCos, colCos);
  const sorted = slices.map((s) => ({ s, d: dot(s.position, normal) })).sort((a, b) => a.d - b.d);
  const sliceStep = checkSliceGaps(sorted, label, options.sliceGapTolerance ?? 0.01);

  const n = sorted.length;
  const origin = sorted[0].s.position;
  const last = sorted[n - 1].s.position;
  const zStep = n > 1 ? [0, 1, 2].map((i) => (last[i] - origin[i]) / (n - 1)) : normal.map((v) => v * (first.sliceThickness || 1));
  const [rowSpacing, columnSpacing] = first.pixelSpacing;
  const lps = [
    [rowCos[0] * columnSpacing, colCos[0] * rowSpacing, zStep[0], origin[0]],
    [rowCos[1] * columnSpacing, colCos[1] * rowSpacing, zStep[1], origin[1]],
    [rowCos[2] * columnSpacing, colCos[2] * rowSpacing, zStep[2], origin[2]],
  ];
  // LPS -> RAS: x and y change sign
  const affine = [...lps[0].map((v) => -v), ...lps[1].map((v) => -v), ...lps[2], 0, 0, 0, 1];

  const shape: Vec3 = [first.columns, first.rows, n];
  const data = assemble(sorted.map((e) => e.s));
  checkFinite(data, label, 'reject');
  return makeVolume(data, shape, affine, {
    format: 'dicom',
    fileName: label,
    header: {
      seriesUid: first.seriesUid,
      transferSyntax: first.transferSyntax,
      files: sorted.map((e) => e.s.fileName).join('\n'),
      sliceStep,
      qformCode: 1, // scanner coordinates
      sformCode: 1,
    },
  });
}

function pickSeries(all: DicomSlice[], wanted: string | undefined): DicomSlice[] {
  const uids = [...new Set(all.map((s) => s.seriesUid))];
  if (wanted !== undefined) {
    const chosen = all.filter((s) => s.seriesUid === wanted);
    if (chosen.length === 0) throw new SdsError('E_INVALID_ARGUMENT', `series ${wanted} not found; the files hold [${uids.join(', ')}]`);
    return chosen;
  }
  if (uids.length > 1) {
    throw new SdsError('E_FORMAT', `the files hold ${uids.length} series [${uids.join(', ')}]; pass { seriesUid } to choose one`, {
      seriesUids: uids,
    });
  }
  return all;
}

/** Slices must be distinct and evenly spaced: a gap means a missing file, which would distort geometry. */
function checkSliceGaps(sorted: { s: DicomSlice; d: number }[], label: string, tolerance: number): number {
  if (sorted.length < 2) return 0;
  const gaps = sorted.slice(1).map((e, i) => e.d - sorted[i].d);
  const mean = (sorted[sorted.length - 1].d - sorted[0].d) / gaps.length;
  // duplicates first: a repeated file would otherwise be reported as uneven spacing
  gaps.forEach((g, i) => {
    if (!(g > 1e-6)) {
      throw new SdsError(
        'E_DICOM_CORRUPT',
        `${label}: ${sorted[i].s.fileName} and ${sorted[i + 1].s.fileName} share slice position ${sorted[i].d.toFixed(4)} mm`,
        {
          fileName: sorted[i + 1].s.fileName,
        },
      );
    }
  });
  gaps.forEach((g, i) => {
    if (Math.abs(g - mean) > tolerance * mean + 1e-4) {
      throw new SdsError(
        'E_DICOM_CORRUPT',
        `${label}: uneven slice spacing: expected about ${mean.toFixed(4)} mm between slices, found ${g.toFixed(4)} mm between ${sorted[i].s.fileName} and ${sorted[i + 1].s.fileName} (a missing slice?)`,
        { fileName: sorted[i + 1].s.fileName },
      );
    }
  });
  return mean;
}

function assemble(slices: DicomSlice[]): VolumeData {
  const frame = slices[0].rows * slices[0].columns;
  const identity = slices.every((s) => s.rescaleSlope === 1 && s.rescaleIntercept === 0);
  const sameType = slices.every((s) => s.pixels.constructor === slices[0].pixels.constructor);
  if (identity && sameType) {
    const Ctor = slices[0].pixels.constructor as new (n: number) => DicomSlice['pixels'];
    const out = new Ctor(frame * slices.length);
    slices.forEach((s, k) => out.set(s.pixels, k * frame));
    return out;
  }
  const out = new Float32Array(frame * slices.length);
  slices.forEach((s, k) => {
    for (let i = 0; i < frame; i++) out[k * frame + i] = s.pixels[i] * s.rescaleSlope + s.rescaleIntercept;
  });
  return out;
}
