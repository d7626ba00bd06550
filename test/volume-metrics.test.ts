// Dice, Jaccard, HD95, ASD and the exact EDT, against scipy (distance_transform_edt) values from the
// fixture script and against hand-made cases with distances known in closed form.
import { describe, expect, it } from 'vitest';
import { distanceTransform, makeVolume, readNifti, segmentationMetrics, surfaceOf, toLabelVolume, type Vec3 } from '../src/volume/index.js';
import { catchError, dataBytes, expected, fixtureBytes } from './fixtures/volume/fixtures.js';

function cube(shape: Vec3, from: Vec3, size: number, value = 1): Uint8Array {
  const out = new Uint8Array(shape[0] * shape[1] * shape[2]);
  for (let z = from[2]; z < from[2] + size; z++)
    for (let y = from[1]; y < from[1] + size; y++)
      for (let x = from[0]; x < from[0] + size; x++) out[x + shape[0] * (y + shape[1] * z)] = value;
  return out;
}

const grid = (data: Uint8Array, shape: Vec3, spacing: Vec3 = [1, 1, 1]): ReturnType<typeof makeVolume<Uint8Array>> =>
  makeVolume(data, shape, [spacing[0], 0, 0, 0, 0, spacing[1], 0, 0, 0, 0, spacing[2], 0, 0, 0, 0, 1]);

describe('distance transform', () => {
  it('equals scipy.ndimage.distance_transform_edt on an anisotropic random blob', () => {
    const { shape, spacing, mask, distance } = expected['edt-blob'];
    const d = distanceTransform(mask, shape, spacing);
    let worst = 0;
    for (let i = 0; i < d.length; i++) worst = Math.max(worst, Math.abs(d[i] - distance[i]));
    expect(worst).toBeLessThan(1e-9);
  });

  it('is Infinity everywhere without features, 0 on them', () => {
    expect([...distanceTransform(new Uint8Array(8), [2, 2, 2])].every((v) => v === Infinity)).toBe(true);
    const one = new Uint8Array(27);
    one[13] = 1;
    const d = distanceTransform(one, [3, 3, 3], [1, 2, 3]);
    expect(d[13]).toBe(0);
    expect(d[0]).toBeCloseTo(Math.sqrt(1 + 4 + 9), 12);
  });
});

describe('segmentationMetrics', () => {
  it('two offset cubes: Dice, Jaccard and surface distances in closed form', () => {
    const shape: Vec3 = [16, 12, 12];
    // 4-voxel cubes, the second shifted by 2 voxels along x
    const a = grid(cube(shape, [3, 4, 4], 4), shape, [2, 1, 1]);
    const b = grid(cube(shape, [5, 4, 4], 4), shape, [2, 1, 1]);
    const [m] = segmentationMetrics(b, a);
    expect(m.dice).toBeCloseTo((2 * 32) / 128, 12);
    expect(m.jaccard).toBeCloseTo(32 / 96, 12);
    // HD95 in closed form: every voxel of a 4-cube but its 2x2x2 core is surface (56). The far x-face of
    // each cube (16 voxels, 29% > 5%) lies 2 voxels = 4 mm from the other cube's face, nothing is further,
    // so both directed 95th percentiles are 4 mm. ASD against an exhaustive O(n^2) search.
    const brute = bruteForce(b.data, a.data, shape, [2, 1, 1]);
    expect(m.hd95).toBeCloseTo(brute.hd95, 12);
    expect(m.asd).toBeCloseTo(brute.asd, 12);
    expect(m.hd95).toBe(4);
  });

  it('empty masks: NaN Dice when both are empty (or emptyScore), Infinity distances when one is', () => {
    const shape: Vec3 = [6, 6, 6];
    const empty = grid(new Uint8Array(216), shape);
    const full = grid(cube(shape, [1, 1, 1], 3), shape);
    const [both] = segmentationMetrics(empty, empty, { classes: [1] });
    expect(both.dice).toBeNaN();
    expect(both.hd95).toBeNaN();
    expect(both.asd).toBeNaN();
    expect(segmentationMetrics(empty, empty, { classes: [1], emptyScore: 1 })[0].dice).toBe(1);
    const [one] = segmentationMetrics(empty, full);
    expect(one.dice).toBe(0);
    expect(one.hd95).toBe(Infinity);
    expect(one.asd).toBe(Infinity);
  });

  it('a real hippocampus label vs a shifted/eroded version matches the scipy computation, per class, in mm', () => {
    const truthRaw = readNifti(dataBytes('hippocampus/labels/hippocampus_003.nii.gz'), 'truth');
    const truth = toLabelVolume(truthRaw); // the file is float32 holding integers
    const pred = readNifti(fixtureBytes('hippocampus_003-pred.nii.gz'), 'pred');
    const ref = expected['metrics-hippocampus_003'];
    for (const [metrics, want] of [
      [segmentationMetrics(pred, truth), ref.spacing1],
      [segmentationMetrics(pred, truth, { spacing: ref.spacingAniso.spacing }), ref.spacingAniso.values],
    ]) {
      expect(metrics.map((m: { label: number }) => m.label)).toEqual([1, 2]);
      for (const m of metrics) {
        const w = want[String(m.label)];
        expect(m.dice).toBeCloseTo(w.dice, 12);
        expect(m.jaccard).toBeCloseTo(w.jaccard, 12);
        expect(m.hd95).toBeCloseTo(w.hd95, 10);
        expect(m.asd).toBeCloseTo(w.asd, 10);
      }
    }
  });

  it('surfaces use the 26-neighbourhood and the grid border counts as background', () => {
    const shape: Vec3 = [5, 5, 5];
    const s = surfaceOf(cube(shape, [0, 0, 0], 5), shape);
    expect(s.reduce((a, b) => a + b, 0)).toBe(125 - 27);
    const diag = cube(shape, [1, 1, 1], 3);
    diag[4 + 5 * (4 + 5 * 4)] = 0;
    // centre voxel (2,2,2) is interior: every 26-neighbour is foreground
    expect(surfaceOf(diag, shape)[2 + 5 * (2 + 5 * 2)]).toBe(0);
  });

  it('refuses label maps on different grids with E_GRID_MISMATCH', () => {
    const a = grid(new Uint8Array(8), [2, 2, 2]);
    const b = grid(new Uint8Array(8), [2, 2, 2], [1, 1, 2]);
    expect(catchError(() => segmentationMetrics(a, b)).code).toBe('E_GRID_MISMATCH');
  });
});

/** O(n^2) reference: surfaces by definition, distances by exhaustive search, MONAI's aggregation. */
function bruteForce(a: ArrayLike<number>, b: ArrayLike<number>, shape: Vec3, spacing: Vec3): { hd95: number; asd: number } {
  const pts = (m: ArrayLike<number>): number[][] => {
    const s = surfaceOf(Uint8Array.from(m), shape);
    const out: number[][] = [];
    s.forEach(
      (v, i) =>
        v &&
        out.push([
          (i % shape[0]) * spacing[0],
          (Math.floor(i / shape[0]) % shape[1]) * spacing[1],
          Math.floor(i / (shape[0] * shape[1])) * spacing[2],
        ]),
    );
    return out;
  };
  const pa = pts(a);
  const pb = pts(b);
  const directed = (from: number[][], to: number[][]): number[] =>
    from.map((p) => Math.min(...to.map((q) => Math.hypot(p[0] - q[0], p[1] - q[1], p[2] - q[2]))));
  const pct = (d: number[]): number => {
    const s = [...d].sort((x, y) => x - y);
    const pos = 0.95 * (s.length - 1);
    const lo = Math.floor(pos);
    return s[lo] + (s[Math.min(lo + 1, s.length - 1)] - s[lo]) * (pos - lo);
  };
  const ab = directed(pa, pb);
  const ba = directed(pb, pa);
  return { hd95: Math.max(pct(ab), pct(ba)), asd: [...ab, ...ba].reduce((x, y) => x + y, 0) / (ab.length + ba.length) };
}
