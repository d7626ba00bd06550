// Connected components and largest-component cleaning against scikit-image
// (skimage.measure.label(connectivity=1|2|3)) on fixtures from scripts/make-lcc-fixtures.py.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { SdsError } from '../src/core/errors.js';
import { type Connectivity, keepLargestComponent, keepLargestComponentPerSample, labelComponents } from '../src/infer/index.js';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'lcc');
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const expected: Record<string, any> = JSON.parse(readFileSync(join(FIXTURES, 'expected.json'), 'utf8'));
const bytes = (name: string): Uint8Array => gunzipSync(new Uint8Array(readFileSync(join(FIXTURES, name))));
const uint16 = (name: string): Uint16Array => {
  const b = bytes(name);
  return new Uint16Array(b.buffer, b.byteOffset, b.length / 2);
};

const CASES = ['blobs', 'hippocampus-noisy'];
const CONNECTIVITIES: Connectivity[] = [6, 18, 26];

describe.each(CASES)('connected components of %s vs scikit-image', (name) => {
  const want = expected[name];
  const labels = bytes(`${name}.labels.u8.gz`);

  it.each(CONNECTIVITIES)('connectivity %i: same component count and sizes per class, same partition', (connectivity) => {
    const perClass = want.classes[String(connectivity)] as Record<string, { count: number; sizes: number[] }>;
    for (const [cls, w] of Object.entries(perClass)) {
      const only = labels.map((v) => (v === Number(cls) ? 1 : 0));
      const got = labelComponents(only, want.shape, connectivity);
      expect(got.count).toBe(w.count);
      expect([...got.sizes].sort((a, b) => b - a)).toEqual(w.sizes);
    }
    // All classes at once: the partition equals skimage's, up to renumbering (a bijection of labels).
    const ours = labelComponents(labels, want.shape, connectivity).labels;
    const theirs = uint16(`${name}.c${connectivity}.components.u16.gz`);
    const forward = new Map<number, number>();
    const backward = new Map<number, number>();
    let conflicts = 0;
    for (let i = 0; i < ours.length; i++) {
      if ((ours[i] === 0) !== (theirs[i] === 0)) conflicts++;
      if (ours[i] === 0) continue;
      // A voxel whose pair disagrees with an earlier pairing means a split or a merge of components.
      if ((forward.get(ours[i]) ?? theirs[i]) !== theirs[i] || (backward.get(theirs[i]) ?? ours[i]) !== ours[i]) conflicts++;
      forward.set(ours[i], theirs[i]);
      backward.set(theirs[i], ours[i]);
    }
    expect(conflicts).toBe(0);
    expect(forward.size).toBe(Object.values(perClass).reduce((n, w) => n + w.count, 0));
  });

  it.each(CONNECTIVITIES)('connectivity %i: keepLargestComponent equals the skimage-based cleaning voxel for voxel', (connectivity) => {
    const got = keepLargestComponent(labels, want.shape, { connectivity });
    const truth = bytes(`${name}.c${connectivity}.lcc.u8.gz`);
    let differ = 0;
    for (let i = 0; i < got.length; i++) differ += got[i] === truth[i] ? 0 : 1;
    expect(differ).toBe(0);
    expect(got).not.toBe(labels); // a copy: the input is unchanged
    expect(labels.some((v, i) => v !== got[i])).toBe(true);
  });
});

describe('keepLargestComponent details', () => {
  it('on a tie keeps the component that starts first in memory, and leaves unlisted classes alone', () => {
    // 5x1x1 row: class 1 has two singletons (x = 0 and x = 2), class 2 one voxel (x = 4).
    const labels = Uint8Array.from([1, 0, 1, 0, 2]);
    expect([...keepLargestComponent(labels, [5, 1, 1])]).toEqual([1, 0, 0, 0, 2]);
    expect([...keepLargestComponent(labels, [5, 1, 1], { classes: [2] })]).toEqual([1, 0, 1, 0, 2]);
  });

  it('diagonal neighbours join under 26-connectivity only', () => {
    // (0,0,0) and (1,1,1) touch at a corner; (3,3,3) is alone.
    const shape = [4, 4, 4];
    const labels = new Uint8Array(64);
    for (const [x, y, z] of [
      [0, 0, 0],
      [1, 1, 1],
      [3, 3, 3],
    ])
      labels[x + 4 * (y + 4 * z)] = 1;
    expect(labelComponents(labels, shape, 26).count).toBe(2);
    expect(labelComponents(labels, shape, 18).count).toBe(3);
    expect(labelComponents(labels, shape, 6).count).toBe(3);
  });

  it('per sample of an NDHW batch equals cleaning each sample on its own', () => {
    const want = expected['blobs'];
    const one = bytes('blobs.labels.u8.gz');
    const [X, Y, Z] = want.shape;
    const batch = new Uint8Array(2 * one.length);
    batch.set(one, 0);
    batch.set(
      one.map((v) => (v === 1 ? 2 : v === 2 ? 1 : 0)),
      one.length,
    ); // classes swapped
    const got = keepLargestComponentPerSample(batch, [2, Z, Y, X]);
    const truth = bytes('blobs.c26.lcc.u8.gz');
    expect(Buffer.from(got.subarray(0, one.length)).equals(truth)).toBe(true);
    expect(Buffer.from(got.subarray(one.length)).equals(truth.map((v) => (v === 1 ? 2 : v === 2 ? 1 : 0)))).toBe(true);
  });

  it('rejects a wrong voxel count and an unknown connectivity with typed errors', () => {
    expect(() => keepLargestComponent(new Uint8Array(10), [2, 2, 2])).toThrow(SdsError);
    expect(() => keepLargestComponent(new Uint8Array(10), [2, 2, 2])).toThrow(/E_SHAPE_MISMATCH: .*expected 8 voxels.*found 10/);
    expect(() => labelComponents(new Uint8Array(8), [2, 2, 2], 4 as Connectivity)).toThrow(
      /E_INVALID_ARGUMENT: .*expected 6, 18 or 26, found 4/,
    );
  });
});
