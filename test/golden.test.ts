/**
 * PyTorch golden fixtures (scripts/make-golden.py) against each backend's ops. Backends join the list
 * as their factories land; the WebGPU and wasm test files may instead call describeGolden themselves.
 */
import { describe, expect, it } from 'vitest';
import type { Backend } from '../src/backend/backend.js';
import { createReferenceBackend } from '../src/ops/reference/index.js';
import { goldenCase, loadGolden, parseGolden, tensorOf } from './support/golden.js';
import { describeGolden } from './support/golden-suite.js';

const GOLDEN_FILES = [
  'conv3d.json',
  'conv-transpose3d.json',
  'batch-norm.json',
  'losses.json',
  'sgd.json',
  'elementwise.json',
  'rot90-flip.json',
  'la-ema.json',
];

interface GoldenBackend {
  readonly name: string;
  readonly make: () => Promise<Backend>;
}

const backends: GoldenBackend[] = [{ name: 'reference', make: async () => createReferenceBackend() }];

describe.each(backends)('$name', ({ name, make }) => {
  describeGolden(name, make);
});

describe('golden fixture loader', () => {
  it('loads every fixture file with float32 inputs and float64 expected values', () => {
    for (const file of GOLDEN_FILES) {
      const golden = loadGolden(file);
      expect(golden.cases.length, file).toBeGreaterThan(0);
      for (const c of golden.cases) {
        for (const t of Object.values(c.tensors)) expect(t.data.length).toBe(t.shape.reduce((a, b) => a * b, 1));
      }
    }
    const conv = goldenCase(loadGolden('conv3d.json'), 'k3 s1 p1 3->5 bias');
    expect(tensorOf(conv, 'x').data).toBeInstanceOf(Float32Array);
    expect(tensorOf(conv, 'y').data).toBeInstanceOf(Float64Array);
    expect(tensorOf(conv, 'y').shape).toEqual([2, 5, 6, 5, 7]);
  });

  it('rejects malformed fixtures with E_FORMAT saying what was expected', () => {
    const bad = { cases: [{ name: 'c', tensors: { x: { shape: [2, 3], dtype: 'float32', data: [1, 2, 3] } } }] };
    expect(() => parseGolden('bad.json', bad)).toThrow(/E_FORMAT.*holds 6 values, found 3/);
    expect(() => parseGolden('bad.json', { cases: [{ name: 'c', tensors: { x: { shape: [1], dtype: 'float16', data: [1] } } }] })).toThrow(
      /expected dtype/,
    );
    expect(() => goldenCase(loadGolden('sgd.json'), 'nope')).toThrow(/no case 'nope'; cases are 'sgd two steps'/);
  });
});
