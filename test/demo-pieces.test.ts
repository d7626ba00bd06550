// The demo's own pieces (examples/): the simulated scanner shift and the PNG montage, on small
// synthetic volumes and one shipped scan, against values computed by hand.
import { decode } from 'fast-png';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SdsError } from '../src/core/errors.js';
import { diagonalAffine, makeVolume, percentiles, voxelIndex, type Volume } from '../src/volume/index.js';
import { readNiftiFile } from '../src/volume/node-io.js';
import { biasField, DEMO_SCANNER, simulateScanner } from '../examples/scanner-shift.js';
import { busiestSlice, encodeRgbaPng, LABEL_COLORS, renderMontage } from '../examples/montage.js';

const vol = (data: Float32Array | Uint8Array, shape: [number, number, number]): Volume =>
  makeVolume(data, shape, diagonalAffine([1, 1, 1]));

/** 0..n-1 ramp image (x fastest). */
const ramp = (shape: [number, number, number]): Volume =>
  vol(
    Float32Array.from({ length: shape[0] * shape[1] * shape[2] }, (_, i) => i + 1),
    shape,
  );

describe('simulated scanner shift', () => {
  it('is the identity with gamma 1, no bias field and no noise', () => {
    const image = ramp([5, 6, 7]);
    const out = simulateScanner(image, { gamma: 1, biasStrength: 0, noise: 0 }, 3);
    for (let i = 0; i < out.data.length; i++) expect(out.data[i]).toBeCloseTo(image.data[i], 3);
    expect(out.shape).toEqual([5, 6, 7]);
    expect(out.affine).toEqual(image.affine);
  });

  it('applies the contrast curve on the scale of the 99.5th percentile', () => {
    const image = ramp([4, 5, 6]);
    const [top] = percentiles(image, [99.5]);
    const out = simulateScanner(image, { gamma: 2, biasStrength: 0, noise: 0 }, 0);
    for (const i of [0, 17, 60, 119]) expect(out.data[i]).toBeCloseTo(((i + 1) / top) ** 2 * top, 2);
  });

  it('draws a smooth bias field whose log peaks at the strength, the same for the same seed', () => {
    const shape: [number, number, number] = [12, 16, 10];
    const b = biasField(shape, 0.4, 7);
    expect(Math.max(...b.map(Math.abs))).toBeCloseTo(0.4, 6);
    expect(biasField(shape, 0.4, 7)).toEqual(b);
    expect(biasField(shape, 0.4, 8)).not.toEqual(b);
    // Smooth: a quadratic of coordinates in [-1, 1] with coefficients in [-1, 1] changes by at most
    // 9 * 2 * (2 / (n - 1)) per voxel step before scaling; check neighbours differ far less than the range.
    let step = 0;
    for (let z = 0; z < shape[2]; z++)
      for (let y = 0; y < shape[1]; y++)
        for (let x = 1; x < shape[0]; x++)
          step = Math.max(step, Math.abs(b[voxelIndex(shape, x, y, z)] - b[voxelIndex(shape, x - 1, y, z)]));
    expect(step).toBeLessThan(0.2);
    expect(step).toBeGreaterThan(0);
  });

  it('adds Rician noise of the given sigma (relative to the 99.5th percentile)', () => {
    const n = 40;
    const image = vol(new Float32Array(n * n * n).fill(200), [n, n, n]);
    const out = simulateScanner(image, { gamma: 1, biasStrength: 0, noise: 0.1 }, 11);
    let s = 0;
    let s2 = 0;
    for (const v of out.data) {
      s += v / 200;
      s2 += (v / 200) ** 2;
    }
    const mean = s / out.data.length;
    const sd = Math.sqrt(s2 / out.data.length - mean * mean);
    // Rician with nu = 1, sigma = 0.1: mean ~ sqrt(1 + sigma^2) = 1.005, sd ~ sigma.
    expect(mean).toBeCloseTo(1.005, 2);
    expect(sd).toBeGreaterThan(0.095);
    expect(sd).toBeLessThan(0.105);
  });

  it('is deterministic per seed on a real scan and moves its intensities', async () => {
    const image = await readNiftiFile(join('examples', 'data', 'images', 'hippocampus_389.nii.gz'));
    const a = simulateScanner(image, DEMO_SCANNER, 1000);
    expect(simulateScanner(image, DEMO_SCANNER, 1000).data).toEqual(a.data);
    expect(simulateScanner(image, DEMO_SCANNER, 1001).data).not.toEqual(a.data);
    let diff = 0;
    for (let i = 0; i < a.data.length; i++) diff += Math.abs(a.data[i] - Number(image.data[i]));
    const [top] = percentiles(image, [99.5]);
    expect(diff / a.data.length / top).toBeGreaterThan(0.05);
  });

  it('rejects bad settings with SdsError', () => {
    const image = ramp([3, 3, 3]);
    expect(() => simulateScanner(image, { gamma: 0, biasStrength: 0, noise: 0 }, 0)).toThrow(SdsError);
    expect(() => simulateScanner(image, { gamma: 1, biasStrength: -1, noise: 0 }, 0)).toThrow(/biasStrength/);
    expect(() => simulateScanner(image, { gamma: 1, biasStrength: 0, noise: 2 }, 0)).toThrow(/noise/);
    expect(() => simulateScanner(image, DEMO_SCANNER, 1.5)).toThrow(/seed/);
    expect(() => simulateScanner(vol(new Float32Array(27), [3, 3, 3]), DEMO_SCANNER, 0)).toThrow(/positive intensities/);
  });
});

describe('montage', () => {
  // Image 2 x 3 x 2 (x, y, z); label 1 at (0, 1, 1), label 2 at (1, 2, 1) and (1, 0, 0): slice x = 1
  // holds two foreground voxels, x = 0 one; along z, z = 1 holds two, z = 0 one.
  const shape: [number, number, number] = [2, 3, 2];
  const image = vol(
    Float32Array.from({ length: 12 }, (_, i) => i),
    shape,
  );
  const labelData = new Uint8Array(12);
  labelData[voxelIndex(shape, 0, 1, 1)] = 1;
  labelData[voxelIndex(shape, 1, 2, 1)] = 2;
  labelData[voxelIndex(shape, 1, 0, 0)] = 2;
  const label = vol(labelData, shape) as Volume<Uint8Array>;

  it('picks the slice with the most foreground', () => {
    expect(busiestSlice(label, 0)).toBe(1);
    expect(busiestSlice(label, 2)).toBe(1);
  });

  it('lays out panels and blends label colours over the grey image', () => {
    const m = renderMontage([{ image, labels: [label, null] }], { axis: 0, scale: 2, gap: 1, opacity: 0.5 });
    // Panels: image, label, empty; each slice is y (3) wide and z (2) tall, scaled by 2.
    expect(m.width).toBe(3 * 6 + 2);
    expect(m.height).toBe(4);
    const [lo, hi] = percentiles(image, [0.5, 99.5]);
    const grey = (x: number, y: number, z: number): number =>
      Math.round(255 * Math.min(1, Math.max(0, (image.data[voxelIndex(shape, x, y, z)] - lo) / (hi - lo))));
    const px = (col: number, row: number): number[] =>
      Array.from(m.data.subarray((row * m.width + col) * 4, (row * m.width + col) * 4 + 4));
    // Slice x = 1. Image panel, pixel of voxel (1, y = 2, z = 1): column 2 * 2, top row (z = 1 is drawn on top).
    expect(px(4, 0)).toEqual([grey(1, 2, 1), grey(1, 2, 1), grey(1, 2, 1), 255]);
    // Label panel starts at column 7: the same voxel carries class 2, blended half and half.
    const g = grey(1, 2, 1);
    expect(px(7 + 4, 1)).toEqual([...LABEL_COLORS[2].map((c) => Math.round(0.5 * g + 0.5 * c)), 255]);
    // Voxel (1, 0, 0), class 2, bottom-left of the label panel; (1, 1, 0) is background: plain grey.
    const g0 = grey(1, 0, 0);
    expect(px(7, 3)).toEqual([...LABEL_COLORS[2].map((c) => Math.round(0.5 * g0 + 0.5 * c)), 255]);
    expect(px(7 + 2, 3)).toEqual([grey(1, 1, 0), grey(1, 1, 0), grey(1, 1, 0), 255]);
    // The gap column stays black; the third panel (no label map) shows the bare image.
    expect(px(6, 0)).toEqual([0, 0, 0, 255]);
    expect(px(13, 0)).toEqual([0, 0, 0, 255]);
    expect(px(14 + 3, 2)).toEqual([grey(1, 1, 0), grey(1, 1, 0), grey(1, 1, 0), 255]);
  });

  it('encodes a PNG that decodes to the same pixels', () => {
    const m = renderMontage([{ image, labels: [label] }], { axis: 2, scale: 3 });
    const png = decode(encodeRgbaPng(m));
    expect([png.width, png.height, png.channels, png.depth]).toEqual([m.width, m.height, 4, 8]);
    expect(Array.from(png.data as Uint8Array)).toEqual(Array.from(m.data));
  });

  it('rejects a label map on another grid', () => {
    const other = vol(new Uint8Array(8), [2, 2, 2]) as Volume<Uint8Array>;
    expect(() => renderMontage([{ image, labels: [other] }])).toThrow(/expected the image's shape/);
  });
});
